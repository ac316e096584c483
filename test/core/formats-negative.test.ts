/**
 * Negative cases for the quote decoders: one change per case, each expecting one error code and a
 * message naming the field and absolute byte offset. Offsets come from spec/dcap.md §1.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_QUOTE_SIZE,
  ByteReader,
  decodeCertificationData,
  decodeQuote,
  decodeReportBody,
  encodeQuote,
  splitPemChain,
} from '../../src/core/index.ts';
import { testdataSkip } from '../support/testdata.ts';
import { assertFormatError, patched, quoteOf, u32At } from './formats-helpers.ts';

/** Offsets in an SGX v3 quote (header 48, body 384, L at 432, signature data from 436). */
const V3 = {
  sig: 436,
  key: 500,
  qeReport: 564,
  qeReportSig: 948,
  authSize: 1012,
  auth: 1014,
  certType: 1046,
  certSize: 1048,
  certData: 1052,
} as const;
/** Offsets in a TDX v4 quote (body 584, L at 632, signature data from 636). */
const V4 = {
  length: 632,
  outerType: 764,
  outerSize: 766,
  qeReport: 770,
  authSize: 1218,
  innerType: 1252,
  innerSize: 1254,
};
/** Offsets in a TDX v5 quote (descriptor at 48, body 648 from 54, L at 702). */
const V5 = { bodyType: 48, bodySize: 50, length: 702, outerType: 834, innerType: 1322 };

/** The quote cut to `at` bytes inside its signature data, with L patched to match. */
function cutInsideSignatureData(quote: Uint8Array, lengthAt: number, at: number): Uint8Array {
  return patched(quote.subarray(0, at), lengthAt, at - lengthAt - 4, 4);
}

describe('quote header checks', { skip: testdataSkip }, () => {
  const v3 = (): Uint8Array => quoteOf(3, 'SGX');
  const v4 = (): Uint8Array => quoteOf(4, 'TDX');

  for (const version of [0, 1, 2, 6, 0xffff]) {
    test(`version ${version} → ERR_FORMAT_VERSION`, () => {
      assertFormatError(
        () => decodeQuote(patched(v3(), 0, version, 2)),
        'ERR_FORMAT_VERSION',
        'header.version',
        0,
      );
    });
  }
  for (const keyType of [0, 1, 3, 0x102]) {
    test(`attestation key type ${keyType} → ERR_FORMAT_KEY_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(v3(), 2, keyType, 2)),
        'ERR_FORMAT_KEY_TYPE',
        'header.attestationKeyType',
        2,
      );
    });
  }
  for (const tee of [1, 0x80, 0x82, 0x81000000]) {
    test(`TEE type 0x${tee.toString(16)} → ERR_FORMAT_TEE_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(v4(), 4, tee, 4)),
        'ERR_FORMAT_TEE_TYPE',
        'header.teeType',
        4,
      );
    });
  }
  test('a v3 quote with TEE type TDX → ERR_FORMAT_TEE_TYPE', () => {
    assertFormatError(
      () => decodeQuote(patched(v3(), 4, 0x81, 4)),
      'ERR_FORMAT_TEE_TYPE',
      'header.teeType',
      4,
    );
  });
  for (const i of [0, 7, 15]) {
    test(`QE vendor ID with byte ${i} changed → ERR_FORMAT_QE_VENDOR`, () => {
      const q = v3();
      assertFormatError(
        () => decodeQuote(patched(q, 12 + i, (q[12 + i]! ^ 0x01) & 0xff, 1)),
        'ERR_FORMAT_QE_VENDOR',
        'header.qeVendorId',
        12,
      );
    });
  }
  test('an SGX v4 header on the TDX v4 quote reads an SGX body and fails on the signature data', () => {
    // TEE type 0 makes the body 384 bytes, so the length field is read from the middle of the TD report.
    assert.throws(
      () => decodeQuote(patched(v4(), 4, 0, 4)),
      (err: { code?: string }) => err.code === 'ERR_FORMAT_LENGTH',
    );
  });
});

describe('v5 body descriptor checks', { skip: testdataSkip }, () => {
  const v5 = (): Uint8Array => quoteOf(5, 'TDX');
  for (const type of [0, 4, 0xffff]) {
    test(`body type ${type} → ERR_FORMAT_BODY_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(v5(), V5.bodyType, type, 2)),
        'ERR_FORMAT_BODY_TYPE',
        'bodyDescriptor.type',
        48,
      );
    });
  }
  test('body type 1 (SGX) in a TDX quote → ERR_FORMAT_BODY_TYPE', () => {
    assertFormatError(
      () => decodeQuote(patched(v5(), V5.bodyType, 1, 2)),
      'ERR_FORMAT_BODY_TYPE',
      'bodyDescriptor.type',
      48,
    );
  });
  for (const size of [0, 584, 649, 0xffffffff]) {
    test(`body size ${size} for type 3 → ERR_FORMAT_LENGTH`, () => {
      assertFormatError(
        () => decodeQuote(patched(v5(), V5.bodySize, size, 4)),
        'ERR_FORMAT_LENGTH',
        'bodyDescriptor.size',
        50,
      );
    });
  }
});

describe('certification data type checks', { skip: testdataSkip }, () => {
  for (const type of [0, 6, 7, 8, 0xffff]) {
    test(`v3 certification type ${type} → ERR_FORMAT_CERT_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(quoteOf(3, 'SGX'), V3.certType, type, 2)),
        'ERR_FORMAT_CERT_TYPE',
        'signatureData.certification.type',
        V3.certType,
      );
    });
  }
  for (const type of [0, 1, 5, 7]) {
    test(`v4 outer certification type ${type} → ERR_FORMAT_CERT_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(quoteOf(4, 'TDX'), V4.outerType, type, 2)),
        'ERR_FORMAT_CERT_TYPE',
        'signatureData.certification.type',
        V4.outerType,
      );
    });
  }
  for (const type of [0, 6, 7]) {
    test(`v4 inner certification type ${type} → ERR_FORMAT_CERT_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(quoteOf(4, 'TDX'), V4.innerType, type, 2)),
        'ERR_FORMAT_CERT_TYPE',
        'signatureData.qeReportCertificationData.certification.type',
        V4.innerType,
      );
    });
    test(`v5 inner certification type ${type} → ERR_FORMAT_CERT_TYPE`, () => {
      assertFormatError(
        () => decodeQuote(patched(quoteOf(5, 'TDX'), V5.innerType, type, 2)),
        'ERR_FORMAT_CERT_TYPE',
        'signatureData.qeReportCertificationData.certification.type',
        V5.innerType,
      );
    });
  }
  test('v5 outer certification type 5 → ERR_FORMAT_CERT_TYPE', () => {
    assertFormatError(
      () => decodeQuote(patched(quoteOf(5, 'TDX'), V5.outerType, 5, 2)),
      'ERR_FORMAT_CERT_TYPE',
      'signatureData.certification.type',
      V5.outerType,
    );
  });
  test('encodeQuote can write a wrong outer type, and decodeQuote rejects it', () => {
    const q = decodeQuote(quoteOf(4, 'TDX'));
    assertFormatError(
      () => decodeQuote(encodeQuote(q, { outerCertificationType: 5 })),
      'ERR_FORMAT_CERT_TYPE',
      'signatureData.certification.type',
      V4.outerType,
    );
  });
});

describe('length fields', { skip: testdataSkip }, () => {
  test('signature data length larger than the rest → ERR_FORMAT_LENGTH', () => {
    const q = quoteOf(3, 'SGX');
    for (const L of [u32At(q, 432) + 1, 0x7fffffff, 0xffffffff]) {
      assertFormatError(
        () => decodeQuote(patched(q, 432, L, 4)),
        'ERR_FORMAT_LENGTH',
        'signatureData.length',
        432,
      );
    }
    const t = quoteOf(4, 'TDX');
    // The TDX v4 quote has 70 trailing bytes: L may grow by 70 before it is out of bounds.
    assertFormatError(
      () => decodeQuote(patched(t, V4.length, u32At(t, V4.length) + 71, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData.length',
      V4.length,
    );
  });
  test('signature data length one short → the certification data no longer fits', () => {
    const q = quoteOf(3, 'SGX');
    assertFormatError(
      () => decodeQuote(patched(q, 432, u32At(q, 432) - 1, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData.certification.size',
      V3.certSize,
    );
  });
  test('signature data longer than its structure (bytes left inside L) → ERR_FORMAT_LENGTH', () => {
    const q = quoteOf(3, 'SGX');
    const longer = new Uint8Array(q.length + 1);
    longer.set(patched(q, 432, u32At(q, 432) + 1, 4));
    assertFormatError(() => decodeQuote(longer), 'ERR_FORMAT_LENGTH', 'signatureData', q.length);
  });
  test('trailing bytes after the signature data are tolerated and counted', () => {
    const q = quoteOf(3, 'SGX');
    const longer = new Uint8Array(q.length + 17);
    longer.set(q);
    longer.fill(0xaa, q.length);
    assert.equal(decodeQuote(longer).trailingBytes, 17);
  });
  test('QE auth data size larger than the rest → ERR_FORMAT_LENGTH', () => {
    for (const n of [0xffff, 4164 - 578 + 1]) {
      assertFormatError(
        () => decodeQuote(patched(quoteOf(3, 'SGX'), V3.authSize, n, 2)),
        'ERR_FORMAT_LENGTH',
        'signatureData.qeAuthData.size',
        V3.authSize,
      );
    }
  });
  test('QE auth data size changed → the structure no longer lines up', () => {
    // 33: the certification type is read one byte late (0x05 0x00 → 0x0500 → 0x00XX...).
    assert.throws(
      () => decodeQuote(patched(quoteOf(3, 'SGX'), V3.authSize, 33, 2)),
      (e: { code?: string }) => ['ERR_FORMAT_CERT_TYPE', 'ERR_FORMAT_LENGTH'].includes(e.code ?? ''),
    );
  });
  test('certification data size larger than the rest → ERR_FORMAT_LENGTH', () => {
    assertFormatError(
      () => decodeQuote(patched(quoteOf(3, 'SGX'), V3.certSize, 0xffffffff, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData.certification.size',
      V3.certSize,
    );
  });
  test('certification data size smaller than declared by L → leftover bytes in the signature data', () => {
    const q = quoteOf(3, 'SGX');
    const size = u32At(q, V3.certSize);
    assertFormatError(
      () => decodeQuote(patched(q, V3.certSize, size - 1, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData',
      q.length - 1,
    );
  });
  test('v4 outer (type 6) size larger than the rest → ERR_FORMAT_LENGTH', () => {
    const q = quoteOf(4, 'TDX');
    assertFormatError(
      () => decodeQuote(patched(q, V4.outerSize, u32At(q, V4.outerSize) + 1, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData.certification.size',
      V4.outerSize,
    );
  });
  test('v4 inner size one short → the type-6 payload has a leftover byte', () => {
    const q = quoteOf(4, 'TDX');
    const inner = u32At(q, V4.innerSize);
    const end = V4.innerSize + 4 + inner;
    assertFormatError(
      () => decodeQuote(patched(q, V4.innerSize, inner - 1, 4)),
      'ERR_FORMAT_LENGTH',
      'signatureData.qeReportCertificationData',
      end - 1,
    );
  });
  test('input larger than 1 MiB → ERR_FORMAT_LENGTH before any parsing', () => {
    const big = new Uint8Array(MAX_QUOTE_SIZE + 1);
    big.set(quoteOf(3, 'SGX'));
    assertFormatError(() => decodeQuote(big), 'ERR_FORMAT_LENGTH', 'quote', 0);
  });
});

describe('truncation at every structural boundary', { skip: testdataSkip }, () => {
  test('SGX v3 cut before the signature data length → ERR_FORMAT_TRUNCATED naming the part', () => {
    const q = quoteOf(3, 'SGX');
    for (const [len, field, offset] of [
      [0, 'header', 0],
      [1, 'header', 0],
      [2, 'header', 0],
      [47, 'header', 0],
      [48, 'body', 48],
      [300, 'body', 48],
      [431, 'body', 48],
      [432, 'signatureData.length', 432],
      [435, 'signatureData.length', 432],
    ] as const) {
      assertFormatError(() => decodeQuote(q.subarray(0, len)), 'ERR_FORMAT_TRUNCATED', field, offset);
    }
  });
  test('SGX v3 cut anywhere after the length field → ERR_FORMAT_LENGTH on signatureData.length', () => {
    const q = quoteOf(3, 'SGX');
    for (const len of [436, 437, 500, 1046, 1052, q.length - 1]) {
      assertFormatError(
        () => decodeQuote(q.subarray(0, len)),
        'ERR_FORMAT_LENGTH',
        'signatureData.length',
        432,
      );
    }
  });
  test('SGX v3 cut inside the signature data with L adjusted → the field at the cut', () => {
    const q = quoteOf(3, 'SGX');
    for (const [at, code, field, offset] of [
      [V3.sig + 10, 'ERR_FORMAT_TRUNCATED', 'signatureData.signature', V3.sig],
      [V3.key + 63, 'ERR_FORMAT_TRUNCATED', 'signatureData.attestationKey', V3.key],
      [V3.qeReport + 5, 'ERR_FORMAT_TRUNCATED', 'signatureData.qeReport', V3.qeReport],
      [V3.qeReportSig + 3, 'ERR_FORMAT_TRUNCATED', 'signatureData.qeReportSignature', V3.qeReportSig],
      [V3.authSize + 1, 'ERR_FORMAT_TRUNCATED', 'signatureData.qeAuthData.size', V3.authSize],
      [V3.auth + 10, 'ERR_FORMAT_LENGTH', 'signatureData.qeAuthData.size', V3.authSize],
      [V3.certType + 1, 'ERR_FORMAT_TRUNCATED', 'signatureData.certification.type', V3.certType],
      [V3.certSize + 3, 'ERR_FORMAT_TRUNCATED', 'signatureData.certification.size', V3.certSize],
      [V3.certData + 100, 'ERR_FORMAT_LENGTH', 'signatureData.certification.size', V3.certSize],
    ] as const) {
      assertFormatError(() => decodeQuote(cutInsideSignatureData(q, 432, at)), code, field, offset);
    }
  });
  test('TDX v4 cut inside the type-6 payload with both sizes adjusted → the field at the cut', () => {
    const q = quoteOf(4, 'TDX');
    const cut = (at: number): Uint8Array =>
      patched(cutInsideSignatureData(q, V4.length, at), V4.outerSize, at - V4.outerSize - 4, 4);
    assertFormatError(
      () => decodeQuote(cut(V4.qeReport + 100)),
      'ERR_FORMAT_TRUNCATED',
      'signatureData.qeReportCertificationData.qeReport',
      V4.qeReport,
    );
    assertFormatError(
      () => decodeQuote(cut(V4.authSize + 1)),
      'ERR_FORMAT_TRUNCATED',
      'signatureData.qeReportCertificationData.qeAuthData.size',
      V4.authSize,
    );
    assertFormatError(
      () => decodeQuote(cut(V4.innerSize + 10)),
      'ERR_FORMAT_LENGTH',
      'signatureData.qeReportCertificationData.certification.size',
      V4.innerSize,
    );
  });
  test('TDX v5 cut inside the body descriptor or body → ERR_FORMAT_TRUNCATED', () => {
    const q = quoteOf(5, 'TDX');
    assertFormatError(
      () => decodeQuote(q.subarray(0, 49)),
      'ERR_FORMAT_TRUNCATED',
      'bodyDescriptor.type',
      48,
    );
    assertFormatError(
      () => decodeQuote(q.subarray(0, 52)),
      'ERR_FORMAT_TRUNCATED',
      'bodyDescriptor.size',
      50,
    );
    assertFormatError(() => decodeQuote(q.subarray(0, 700)), 'ERR_FORMAT_TRUNCATED', 'body', 54);
  });
});

describe('report body and certification data', () => {
  test('decodeReportBody requires exactly 384 bytes', () => {
    for (const n of [0, 383, 385, 432]) {
      assertFormatError(() => decodeReportBody(new Uint8Array(n)), 'ERR_FORMAT_LENGTH', 'reportBody', 0);
    }
    assertFormatError(
      () => decodeReportBody(new ByteReader(new Uint8Array(100), { base: 7 })),
      'ERR_FORMAT_TRUNCATED',
      'reportBody',
      7,
    );
  });
  test('certification types 1..3 with the wrong size → ERR_FORMAT_LENGTH', () => {
    const r = new ByteReader(new Uint8Array([1, 0, 35, 0, 0, 0, ...new Uint8Array(35)]), { base: 100 });
    assertFormatError(
      () => decodeCertificationData(r, { field: 'c', minType: 1, maxType: 5 }),
      'ERR_FORMAT_LENGTH',
      'c.size',
      102,
    );
  });
  test('type 5 that is not a PEM chain → ERR_FORMAT_ENCODING', () => {
    const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
    const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    assertFormatError(() => splitPemChain(text(''), 'pck', 10), 'ERR_FORMAT_ENCODING', 'pck', 10);
    assertFormatError(() => splitPemChain(text('hello'), 'pck', 10), 'ERR_FORMAT_ENCODING', 'pck', 10);
    assertFormatError(
      () => splitPemChain(text(`${pem}x${pem}`), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      pem.length,
    );
    assertFormatError(
      () => splitPemChain(text(`${pem}\u00ff`), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      pem.length,
    );
    assertFormatError(
      () => splitPemChain(text(pem.replace('END', 'FIN')), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      0,
    );
    // Latin-1 NBSP (0xa0) is Unicode whitespace but not allowed in PEM, inside or between blocks.
    assertFormatError(
      () => splitPemChain(text(pem.replace('AAAA', 'AA\u00a0A')), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      30,
    );
    assertFormatError(
      () => splitPemChain(text(`${pem}\u00a0${pem}`), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      pem.length,
    );
    assertFormatError(
      () => splitPemChain(text(`${pem}${pem.slice(0, 40)}`), 'pck', 0),
      'ERR_FORMAT_ENCODING',
      'pck',
      pem.length,
    );
    assert.deepEqual(splitPemChain(text(`${pem}\0\0`)), [pem]);
  });
  test(
    'a real quote whose PEM chain is damaged → ERR_FORMAT_ENCODING at the damaged byte',
    { skip: testdataSkip },
    () => {
      const q = quoteOf(3, 'SGX');
      assertFormatError(
        () => decodeQuote(patched(q, V3.certData + 40, 0x01, 1)),
        'ERR_FORMAT_ENCODING',
        'signatureData.certification.data',
        V3.certData + 40,
      );
    },
  );
});
