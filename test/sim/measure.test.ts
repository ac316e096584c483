/**
 * MRENCLAVE (ECREATE/EADD/EEXTEND) against every vector in shared/testdata/sgx, and MRSIGNER from
 * the little-endian modulus of every real SIGSTRUCT and key.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeSigstruct } from '../../src/core/index.ts';
import {
  MeasurementBuilder,
  measurePages,
  mrSignerFromModulus,
  sigstructModulusOf,
  type MeasuredPage,
} from '../../src/sim/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

interface VectorPage {
  offset: number;
  secinfoFlags: number;
  measured: boolean;
  content: { fill?: number; pattern?: string; text?: string };
}
interface Vector {
  name: string;
  enclaveSize: number;
  ssaFrameSize: number;
  pages: VectorPage[];
  expectedMrenclave: string;
  ecreateRecordHex: string;
  firstEaddRecordHex?: string;
  firstEextendHeaderHex?: string;
}

function pageContent(c: VectorPage['content']): Uint8Array {
  const page = new Uint8Array(4096);
  if (c.fill !== undefined) page.fill(c.fill);
  else if (c.pattern === 'index-mod-256') for (let i = 0; i < 4096; i++) page[i] = i & 0xff;
  else if (c.text !== undefined) page.set(Buffer.from(c.text, 'utf8'));
  else throw new Error(`unknown content rule ${JSON.stringify(c)}`);
  return page;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('MRENCLAVE: synthetic vectors', { skip: testdataSkip }, () => {
  const file = JSON.parse(
    testdataSkip === false
      ? readFileSync(testdataPath('sgx', 'synthetic', 'mrenclave-vectors.json'), 'utf8')
      : '{"vectors":[]}',
  ) as { vectors: Vector[] };

  test('there are vectors to check', () => {
    assert.ok(file.vectors.length >= 4);
  });

  for (const v of file.vectors) {
    test(v.name, () => {
      const pages: MeasuredPage[] = v.pages.map((p) => ({
        offset: p.offset,
        secinfoFlags: p.secinfoFlags,
        measured: p.measured,
        content: pageContent(p.content),
      }));
      const { mrEnclave, log } = measurePages(
        { enclaveSize: v.enclaveSize, ssaFrameSize: v.ssaFrameSize, pages },
        { keepLog: true },
      );
      assert.equal(hex(mrEnclave), v.expectedMrenclave);
      assert.ok(log);
      // The log is the exact record stream: its hash is MRENCLAVE and its records match the vector.
      assert.equal(createHash('sha256').update(log).digest('hex'), v.expectedMrenclave);
      assert.equal(hex(log.subarray(0, 64)), v.ecreateRecordHex);
      if (v.firstEaddRecordHex !== undefined) assert.equal(hex(log.subarray(64, 128)), v.firstEaddRecordHex);
      if (v.firstEextendHeaderHex !== undefined)
        assert.equal(hex(log.subarray(128, 192)), v.firstEextendHeaderHex);
    });
  }

  test('negative: order, flags, measured bit, content and SSA frame size each change MRENCLAVE', () => {
    const v = file.vectors.find((x) => x.name === 'mixed-with-unmeasured');
    assert.ok(v);
    const base: MeasuredPage[] = v.pages.map((p) => ({
      offset: p.offset,
      secinfoFlags: p.secinfoFlags,
      measured: p.measured,
      content: pageContent(p.content),
    }));
    const m = (pages: MeasuredPage[], ssa = v.ssaFrameSize): string =>
      hex(measurePages({ enclaveSize: v.enclaveSize, ssaFrameSize: ssa, pages }).mrEnclave);
    assert.equal(m(base), v.expectedMrenclave);
    const swapped = [base[1]!, base[0]!, ...base.slice(2)];
    assert.notEqual(m(swapped), v.expectedMrenclave);
    assert.notEqual(
      m(base.map((p, i) => (i === 2 ? { ...p, secinfoFlags: 0x201 } : p))),
      v.expectedMrenclave,
    );
    assert.notEqual(m(base.map((p, i) => (i === 5 ? { ...p, measured: true } : p))), v.expectedMrenclave);
    const flipped = base.map((p, i) => (i === 4 ? { ...p, content: p.content.slice() } : p));
    flipped[4]!.content[4095] = 0;
    assert.notEqual(m(flipped), v.expectedMrenclave);
    assert.notEqual(m(base, 1), v.expectedMrenclave);
    // Unmeasured page content does not count (the hardware does not see it).
    const unmeasured = base.map((p, i) => (i === 6 ? { ...p, content: new Uint8Array(4096).fill(9) } : p));
    assert.equal(m(unmeasured), v.expectedMrenclave);
  });
});

describe('addPage', () => {
  test('is EADD then 16 EEXTENDs of the page, short content zero-padded: the same record stream, byte for byte', () => {
    for (const content of [
      new Uint8Array(4096).map((_, i) => i * 7),
      new Uint8Array(1000).fill(0xa5),
      new Uint8Array(0),
    ]) {
      const one = new MeasurementBuilder({ keepLog: true })
        .ecreate(1, 1 << 16)
        .addPage(0x3000, 0x201, content, true);
      const page = new Uint8Array(4096);
      page.set(content);
      const byHand = new MeasurementBuilder({ keepLog: true }).ecreate(1, 1 << 16).eadd(0x3000, 0x201);
      for (let i = 0; i < 4096; i += 256) byHand.eextend(0x3000 + i, page.subarray(i, i + 256));
      assert.deepEqual(one.log(), byHand.log());
      assert.deepEqual(one.finish(), byHand.finish());
    }
  });
});

describe('MeasurementBuilder input checks', () => {
  test('rejects sizes that are not powers of two and misaligned offsets', () => {
    assert.throws(() => new MeasurementBuilder().ecreate(1, 12288), { code: 'ERR_MEASURE_INPUT' });
    assert.throws(() => new MeasurementBuilder().ecreate(0, 8192), { code: 'ERR_MEASURE_INPUT' });
    const b = new MeasurementBuilder().ecreate(1, 8192);
    assert.throws(() => b.eadd(100, 0x201), { code: 'ERR_MEASURE_INPUT' });
    assert.throws(() => b.eadd(8192, 0x201), { code: 'ERR_MEASURE_INPUT' });
    assert.throws(() => b.eextend(0, new Uint8Array(255)), { code: 'ERR_MEASURE_INPUT' });
    assert.throws(() => new MeasurementBuilder().eadd(0, 0x201), { code: 'ERR_MEASURE_INPUT' });
  });
});

interface SigExpect {
  mrenclave: string;
  mrsigner: string;
}

describe('real SIGSTRUCTs: ENCLAVEHASH and MRSIGNER', { skip: testdataSkip }, () => {
  const expected =
    testdataSkip === false
      ? (JSON.parse(readFileSync(testdataPath('sgx', 'expected.json'), 'utf8')) as {
          sigstructs: Record<string, SigExpect>;
          keys: Record<string, { mrsigner: string; wrongIfModulusHashedBigEndian?: string }>;
        })
      : { sigstructs: {}, keys: {} };

  for (const [name, exp] of Object.entries(expected.sigstructs)) {
    test(name, () => {
      const s = decodeSigstruct(readFileSync(testdataPath('sgx', name)));
      assert.equal(hex(s.enclaveHash), exp.mrenclave);
      assert.equal(hex(mrSignerFromModulus(s.modulus)), exp.mrsigner);
    });
  }

  for (const [name, exp] of Object.entries(expected.keys)) {
    test(`key ${name}`, () => {
      const key = createPublicKey(readFileSync(testdataPath('sgx', name), 'utf8'));
      const modulus = sigstructModulusOf(key);
      assert.equal(hex(mrSignerFromModulus(modulus)), exp.mrsigner);
      if (exp.wrongIfModulusHashedBigEndian !== undefined) {
        const be = Uint8Array.from(modulus).reverse();
        assert.equal(hex(mrSignerFromModulus(be)), exp.wrongIfModulusHashedBigEndian);
      }
    });
  }

  test('the synthetic SIGSTRUCT ENCLAVEHASH equals our MRENCLAVE of its tcs-plus-pattern input', () => {
    const s = decodeSigstruct(readFileSync(testdataPath('sgx', 'synthetic', 'sigstruct-synthetic.bin')));
    const pattern = new Uint8Array(4096).map((_, i) => i & 0xff);
    const { mrEnclave } = measurePages({
      enclaveSize: 8192,
      ssaFrameSize: 1,
      pages: [
        { offset: 0, secinfoFlags: 0x100, measured: true, content: new Uint8Array(4096) },
        { offset: 4096, secinfoFlags: 0x203, measured: true, content: pattern },
      ],
    });
    assert.equal(hex(mrEnclave), hex(s.enclaveHash));
  });
});
