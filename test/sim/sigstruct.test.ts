/**
 * SIGSTRUCT codec, signer and verifier against the real SIGSTRUCTs in shared/testdata/sgx:
 * round-trip, signature + Q1/Q2 verification, byte-exact re-signing, and one flipped byte in each
 * signed region failing verification.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  decodeSigstruct,
  decodeSigstructDate,
  encodeSigstruct,
  encodeSigstructDate,
  SIGSTRUCT_SIGNED_REGIONS,
} from '../../src/core/index.ts';
import { signSigstruct, verifySigstruct } from '../../src/sim/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const REAL = [
  'enarx/encl.ss',
  'fortanix/test_enclave.sig',
  'intel-linux-sgx/le_prod_css.bin',
  'synthetic/sigstruct-synthetic.bin',
] as const;
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(testdataPath('sgx', name)));

interface Exp {
  vendor: string;
  dateU32: string;
  swdefined: string;
  miscselect: string;
  miscmask: string;
  attributesFlags: string;
  attributesXfrm: string;
  attributeMaskFlags: string;
  attributeMaskXfrm: string;
  isvProdId: number;
  isvSvn: number;
  mrsigner: string;
}

describe('SIGSTRUCT: real files', { skip: testdataSkip }, () => {
  const expected =
    testdataSkip === false
      ? (
          JSON.parse(readFileSync(testdataPath('sgx', 'expected.json'), 'utf8')) as {
            sigstructs: Record<string, Exp>;
          }
        ).sigstructs
      : {};

  for (const name of REAL) {
    test(`${name}: fields, round trip, signature and Q1/Q2`, () => {
      const bytes = read(name);
      const s = decodeSigstruct(bytes);
      const e = expected[name];
      assert.ok(e);
      assert.equal(BigInt(s.vendor), BigInt(e.vendor));
      assert.equal(BigInt(s.date), BigInt(e.dateU32));
      assert.equal(BigInt(s.swDefined), BigInt(e.swdefined));
      assert.equal(BigInt(s.miscSelect), BigInt(e.miscselect));
      assert.equal(BigInt(s.miscMask), BigInt(e.miscmask));
      assert.equal(s.attributes.flags, BigInt(e.attributesFlags));
      assert.equal(s.attributes.xfrm, BigInt(e.attributesXfrm));
      assert.equal(s.attributeMask.flags, BigInt(e.attributeMaskFlags));
      assert.equal(s.attributeMask.xfrm, BigInt(e.attributeMaskXfrm));
      assert.equal(s.isvProdId, e.isvProdId);
      assert.equal(s.isvSvn, e.isvSvn);
      assert.deepEqual(encodeSigstruct(s), bytes);
      const v = verifySigstruct(bytes);
      assert.equal(hex(v.mrSigner), e.mrsigner);
    });

    test(`${name}: one flipped byte in each signed region, in the signature and in Q1/Q2 fails`, () => {
      const bytes = read(name);
      const probes: [number, string][] = [];
      for (const [start, end] of SIGSTRUCT_SIGNED_REGIONS) {
        // Start, middle and last byte of every signed region.
        for (const at of [start, Math.floor((start + end) / 2), end - 1])
          probes.push([at, 'ERR_SIGSTRUCT_SIGNATURE']);
      }
      probes.push(
        [516, 'ERR_SIGSTRUCT_SIGNATURE'],
        [700, 'ERR_SIGSTRUCT_SIGNATURE'],
        [200, 'ERR_SIGSTRUCT_SIGNATURE'],
      );
      probes.push([1040, 'ERR_SIGSTRUCT_Q1Q2'], [1807, 'ERR_SIGSTRUCT_Q1Q2']);
      for (const [at, code] of probes) {
        const bad = bytes.slice();
        bad[at] = (bad[at] as number) ^ 0x01;
        assert.throws(
          () => verifySigstruct(bad),
          (err: unknown) => {
            const c = (err as { code?: string }).code;
            // A flip inside a reserved or constant field is already refused by the decoder.
            return c === code || c === 'ERR_FORMAT_VALUE';
          },
          `flip at ${at}`,
        );
      }
    });
  }

  test('exponent other than 3 fails with ERR_SIGSTRUCT_EXPONENT', () => {
    const bad = read('enarx/encl.ss');
    bad[512] = 0x11;
    assert.throws(() => verifySigstruct(bad), { code: 'ERR_SIGSTRUCT_EXPONENT' });
  });

  test('re-signing enarx/encl.ss with enarx/encl.pem reproduces it byte for byte', () => {
    const bytes = read('enarx/encl.ss');
    const s = decodeSigstruct(bytes);
    const out = signSigstruct(
      {
        enclaveHash: s.enclaveHash,
        attributes: s.attributes,
        attributeMask: s.attributeMask,
        miscSelect: s.miscSelect,
        miscMask: s.miscMask,
        isvProdId: s.isvProdId,
        isvSvn: s.isvSvn,
        date: s.date,
      },
      readFileSync(testdataPath('sgx', 'enarx', 'encl.pem'), 'utf8'),
    );
    assert.deepEqual(out.bytes, bytes);
  });

  test('signing the synthetic inputs reproduces synthetic/sigstruct-synthetic.bin byte for byte', () => {
    const out = signSigstruct(
      {
        enclaveHash: Buffer.from('4b777ba8de2ad776794366a13c73b00aba240bde06961d6ca47325bc4093d49b', 'hex'),
        attributes: { flags: 0x6n, xfrm: 0x3n },
        attributeMask: { flags: 0xffffffffffffffffn, xfrm: 0xfffffffffff9ff1bn },
        miscSelect: 0,
        miscMask: 0xffffffff,
        isvProdId: 0x1234,
        isvSvn: 7,
        date: '2024-01-02',
      },
      readFileSync(testdataPath('sgx', 'enarx', 'encl.pem')),
    );
    assert.deepEqual(out.bytes, read('synthetic/sigstruct-synthetic.bin'));
    assert.equal(hex(out.mrSigner), '2f9f8fd4fe12d77232f1d87571ca8252ca27714efe7705e46222cffd5a22e8c4');
  });

  test('dates decode as BCD', () => {
    assert.equal(decodeSigstructDate(decodeSigstruct(read('fortanix/test_enclave.sig')).date), '2016-12-14');
    assert.equal(decodeSigstructDate(0), undefined);
    assert.equal(encodeSigstructDate('2021-02-10'), 0x20210210);
    assert.throws(() => encodeSigstructDate('2021-13-01'), { code: 'ERR_FORMAT_VALUE' });
  });
});

describe('SIGSTRUCT: codec and key checks', () => {
  test('wrong size and bad reserved bytes are refused with field and offset', () => {
    assert.throws(() => decodeSigstruct(new Uint8Array(1807)), { code: 'ERR_FORMAT_LENGTH' });
    assert.throws(
      () => decodeSigstruct(new Uint8Array(1808)),
      (err: unknown) => {
        const e = err as { code: string; details: { field: string; offset: number } };
        return (
          e.code === 'ERR_FORMAT_VALUE' && e.details.field === 'SIGSTRUCT.HEADER' && e.details.offset === 0
        );
      },
    );
  });

  test('keys that are not RSA-3072 with e = 3 are refused', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 });
    const fields = {
      enclaveHash: new Uint8Array(32),
      attributes: { flags: 4n, xfrm: 3n },
      attributeMask: { flags: 0n, xfrm: 0n },
      miscSelect: 0,
      miscMask: 0,
      isvProdId: 0,
      isvSvn: 0,
    };
    assert.throws(() => signSigstruct(fields, privateKey), { code: 'ERR_SIGSTRUCT_KEY' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    assert.throws(() => signSigstruct(fields, ec), { code: 'ERR_SIGSTRUCT_KEY' });
    assert.throws(() => signSigstruct(fields, 'not a key'), { code: 'ERR_SIGSTRUCT_KEY' });
  });
});
