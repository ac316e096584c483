/**
 * Seeded, bounded fuzzing of the parsers (decodeQuote, decodeReportBody, decodeBinaryInput).
 *
 * Seeds: synthetic quotes (v3, v4, v5; always available) and the real quotes of the shared
 * manifest (when present). Mutations: byte flips, truncation at every structural boundary, random
 * values in every length field, appended junk, random buffers and random text. Property: the only
 * thing a parser may throw is a FormatError (never TypeError/RangeError, never a hang); a mutated
 * quote that still decodes must re-encode to the same bytes. Deterministic: a fixed PRNG seed
 * (mulberry32 of test/support/seeded-random.ts; `CCNODES_TEST_SEED` replaces it).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FormatError,
  INTEL_QE_VENDOR_ID,
  decodeBinaryInput,
  decodeQuote,
  decodeReportBody,
  emptyReportBody,
  encodeQuote,
  pemChainToCertificationData,
  type Quote,
} from '../../src/core/index.ts';
import { mulberry32, testSeed } from '../support/seeded-random.ts';
import { manifestQuotes } from './formats-helpers.ts';

/** The fixed seed of these cases; CCNODES_TEST_SEED explores others. */
const SEED = testSeed(0x5eed_cc01);
const rand = mulberry32(SEED);
const int = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const randomBytes = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => int(256));

function syntheticSeed(version: number): Uint8Array {
  const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(randomBytes(60)).toString('base64')}\n-----END CERTIFICATE-----\n`;
  return encodeQuote({
    header: {
      version,
      attestationKeyType: 2,
      teeType: 0,
      qeSvn: 1,
      pceSvn: 2,
      qeVendorId: INTEL_QE_VENDOR_ID,
      userData: randomBytes(20),
    },
    body: { kind: 'sgx', report: emptyReportBody({ reportData: randomBytes(64) }) },
    signature: randomBytes(64),
    attestationKey: randomBytes(64),
    qeReport: emptyReportBody(),
    qeReportSignature: randomBytes(64),
    qeAuthData: randomBytes(32),
    certification: { type: 5, data: pemChainToCertificationData([pem, pem]) },
  });
}

interface Layout {
  /** Offsets where a structure or field starts. */
  readonly boundaries: number[];
  /** Length fields: [offset, width]. */
  readonly lengths: [number, 2 | 4][];
}

/** Field offsets of a decoded quote, computed from its decoded structure. */
function layoutOf(q: Quote): Layout {
  const boundaries = [0, 2, 4, 8, 10, 12, 28, 48];
  const lengths: [number, 2 | 4][] = [];
  if (q.bodyDescriptor !== undefined) {
    boundaries.push(50, 54);
    lengths.push([50, 4]);
  }
  const l = q.signedData.length;
  lengths.push([l, 4]);
  const sd = l + 4;
  boundaries.push(l, sd, sd + 64, sd + 128);
  let p = sd + 128;
  if (q.outerCertification !== undefined) {
    boundaries.push(p + 2, p + 6);
    lengths.push([p + 2, 4]);
    p += 6;
  }
  boundaries.push(p + 384, p + 448);
  lengths.push([p + 448, 2]);
  p += 450 + q.qeAuthData.length;
  boundaries.push(p, p + 2, p + 6);
  lengths.push([p + 2, 4]);
  boundaries.push(p + 6 + q.certification.data.length, q.raw.length);
  return { boundaries, lengths };
}

let decoded = 0;
let rejected = 0;

/** Runs `fn`; passes if it returns or throws a FormatError; fails the test on anything else. */
function typedOnly<T>(what: string, fn: () => T): T | undefined {
  try {
    const v = fn();
    decoded++;
    return v;
  } catch (err) {
    if (err instanceof FormatError && err.code.startsWith('ERR_FORMAT_')) {
      rejected++;
      return undefined;
    }
    assert.fail(
      `${what}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)} (seed ${SEED})`,
    );
  }
}

/** decodeQuote must reject with a FormatError or decode to something that re-encodes exactly. */
function checkQuote(bytes: Uint8Array, what: string): void {
  const q = typedOnly(what, () => decodeQuote(bytes));
  if (q === undefined) return;
  assert.equal(q.signedData.length + 4 + q.signatureDataLength + q.trailingBytes, bytes.length, what);
  const again = encodeQuote(q);
  const expected = bytes.subarray(0, bytes.length - q.trailingBytes);
  assert.ok(
    Buffer.from(again.buffer, again.byteOffset, again.length).equals(expected),
    `${what}: re-encodes`,
  );
}

function setLe(bytes: Uint8Array, at: number, value: number, width: 2 | 4): void {
  for (let i = 0; i < width && at + i < bytes.length; i++) bytes[at + i] = (value >>> (8 * i)) & 0xff;
}

describe('parser fuzzing (seeded, bounded)', () => {
  const seeds = [3, 4, 5].map(syntheticSeed).concat(manifestQuotes().map((m) => m.bytes));
  const layouts = seeds.map((s) => layoutOf(decodeQuote(s)));
  const started = performance.now();
  // CPU time rather than wall time: the bound must hold on a loaded CI machine too.
  const cpuStart = process.cpuUsage();

  test('truncation at every structural boundary (and one byte either side)', () => {
    seeds.forEach((s, i) => {
      for (const b of layouts[i]!.boundaries) {
        for (const cut of [b - 1, b, b + 1]) {
          if (cut >= 0 && cut < s.length) checkQuote(s.subarray(0, cut), `seed ${i} cut at ${cut}`);
        }
      }
    });
  });

  test('random values in every length field', () => {
    const edge = (len: number): number[] => [
      0,
      1,
      0xff,
      0xffff,
      0x7fffffff,
      0xffffffff,
      len - 1,
      len,
      len + 1,
    ];
    seeds.forEach((s, i) => {
      for (const [at, width] of layouts[i]!.lengths) {
        const values = [
          ...edge(s.length - at),
          ...Array.from({ length: 40 }, () => int(width === 2 ? 0x10000 : 0x100000000)),
        ];
        for (const v of values) {
          const m = new Uint8Array(s);
          setLe(m, at, v, width);
          checkQuote(m, `seed ${i} length at ${at} = ${v}`);
        }
      }
    });
  });

  test('byte flips (structure-biased), appended junk, splices', () => {
    for (let n = 0; n < 9000; n++) {
      const i = int(seeds.length);
      const s = seeds[i]!;
      const m = new Uint8Array(s);
      const kind = int(4);
      if (kind === 0) {
        // Flip 1..4 bytes anywhere.
        for (let k = 1 + int(4); k > 0; k--) m[int(m.length)] = int(256);
        checkQuote(m, `seed ${i} flips #${n}`);
      } else if (kind === 1) {
        // Flip one byte near a structural boundary (header, types, sizes).
        const b = pick(layouts[i]!.boundaries);
        const at = Math.min(m.length - 1, Math.max(0, b + int(8) - 2));
        m[at] = int(256);
        checkQuote(m, `seed ${i} boundary flip at ${at} #${n}`);
      } else if (kind === 2) {
        const junk = randomBytes(int(200));
        const out = new Uint8Array(m.length + junk.length);
        out.set(m);
        out.set(junk, m.length);
        checkQuote(out, `seed ${i} junk #${n}`);
      } else {
        // Splice: cut a random range out.
        const a = int(m.length);
        const b = Math.min(m.length, a + 1 + int(64));
        const out = new Uint8Array(m.length - (b - a));
        out.set(m.subarray(0, a));
        out.set(m.subarray(b), a);
        checkQuote(out, `seed ${i} splice ${a}..${b} #${n}`);
      }
    }
  });

  test('random buffers, some with a valid header prefix', () => {
    const prefix = seeds[0]!.subarray(0, 48);
    for (let n = 0; n < 4000; n++) {
      const buf = randomBytes(int(n % 2 === 0 ? 100 : 6000));
      if (n % 4 === 1 && buf.length >= 48) buf.set(prefix);
      checkQuote(buf, `random buffer #${n}`);
      typedOnly(`report body #${n}`, () => decodeReportBody(buf.subarray(0, n % 3 === 0 ? 384 : buf.length)));
    }
  });

  test('decodeBinaryInput on random text and binary', () => {
    const alphabets = [
      '0123456789abcdefABCDEF',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=',
      ' \n\t\r=+/-_xX0',
      '!"#$%&\'()*,.:;<>?@[\\]^`{|}~',
    ];
    for (let n = 0; n < 5000; n++) {
      const len = int(300);
      let input: Uint8Array;
      if (n % 5 === 4) {
        input = randomBytes(len);
      } else {
        const alphabet = alphabets[n % 4 === 0 ? int(alphabets.length) : n % 3]!;
        input = Buffer.from(
          Array.from({ length: len }, () => alphabet[int(alphabet.length)]).join(''),
          'latin1',
        );
      }
      const out = typedOnly(`binary input #${n}`, () => decodeBinaryInput(input));
      if (out !== undefined) checkQuote(out, `decoded input #${n}`);
    }
  });

  test('finishes quickly and exercises both outcomes', (t) => {
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuStart);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    assert.ok(decoded + rejected >= 20000, `${decoded + rejected} runs`);
    assert.ok(decoded > 100 && rejected > 1000, `decoded ${decoded}, rejected ${rejected}`);
    assert.ok(cpuMs < 5000, `fuzzing took ${Math.round(cpuMs)} ms of CPU`);
    t.diagnostic(
      `${decoded + rejected} parser runs (${decoded} decoded, ${rejected} rejected) in ${Math.round(ms)} ms (${Math.round(cpuMs)} ms CPU), seed 0x${SEED.toString(16)}`,
    );
  });
});
