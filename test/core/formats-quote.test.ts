/**
 * Quote decoding and encoding against every real quote of the shared DCAP manifest, plus
 * synthetic quotes built from parts (v3/v4/v5 SGX, certification data types 1..5 and 7).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CERT_DATA_TYPE,
  INTEL_QE_VENDOR_ID,
  decodeQuote,
  decodeReportBody,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  encodeTdReport,
  decodeTdReport,
  decodeCertificationData,
  encodeCertificationData,
  ByteReader,
  pemChainToCertificationData,
  sgxAttributeFlagNames,
  tdAttributeFlagNames,
  toHex,
  type Quote,
  type QuoteInit,
  type TdReport,
} from '../../src/core/index.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestQuotes } from './formats-helpers.ts';

/** Seeded random bytes (CCNODES_TEST_SEED; the seed is printed when this file fails). */
const rng = seededRandom(import.meta.url);
const randomBytes = (n: number): Buffer => rng.buffer(n);

/** A quote without the fields that depend on the input buffer rather than on the structure. */
function structure(q: Quote): Omit<Quote, 'raw' | 'trailingBytes'> {
  const { raw: _raw, trailingBytes: _t, ...rest } = q;
  return rest;
}

describe('decodeQuote on the real quotes of the manifest', { skip: testdataSkip }, () => {
  const quotes = manifestQuotes();

  test('the manifest lists SGX and TDX quotes of versions 3, 4 and 5', () => {
    const kinds = new Set(quotes.map((q) => `${q.info.teeType}${q.info.version}`));
    for (const k of ['SGX3', 'TDX4', 'TDX5']) assert.ok(kinds.has(k), k);
  });

  for (const m of quotes) {
    test(`${m.id}: fields as the manifest states`, () => {
      const q = decodeQuote(m.bytes);
      assert.equal(q.header.version, m.info.version);
      assert.equal(q.header.teeType, m.info.teeType === 'SGX' ? 0 : 0x81);
      assert.equal(q.header.attestationKeyType, 2);
      assert.deepEqual(q.header.qeVendorId, INTEL_QE_VENDOR_ID);
      assert.equal(q.raw.length, m.info.size);
      assert.equal(q.trailingBytes, m.info.trailingBytes);
      assert.equal(q.qeReport.isvSvn, m.info.qeSvn);
      if (m.info.version === 3) {
        assert.equal(q.header.qeSvn, m.info.qeSvn);
        assert.equal(q.header.pceSvn, m.info.pceSvn);
      }
      const [outer, inner] = m.info.certDataType.split('->').map(Number);
      if (inner === undefined) {
        assert.equal(q.outerCertification, undefined);
        assert.equal(q.certification.type, outer);
      } else {
        assert.deepEqual(q.outerCertification?.type, outer);
        assert.equal(q.certification.type, inner);
      }
      // Body kind and signed-data length follow the version (spec §1.2).
      if (m.info.teeType === 'SGX') {
        assert.equal(q.body.kind, 'sgx');
        assert.equal(q.signedData.length, 432);
      } else if (m.info.version === 4) {
        assert.equal(q.body.kind, 'td10');
        assert.equal(q.signedData.length, 632);
      } else {
        assert.equal(q.body.kind, 'td15');
        assert.deepEqual(q.bodyDescriptor, { type: 3, size: 648 });
        assert.equal(q.signedData.length, 702);
      }
      assert.equal(
        q.signedData.length + 4 + q.signatureDataLength + q.trailingBytes,
        q.raw.length,
        'header, body, length, signature data and trailing bytes cover the input',
      );
      assert.equal(q.signature.length, 64);
      assert.equal(q.attestationKey.length, 64);
      assert.equal(q.qeReportSignature.length, 64);
      assert.equal(q.qeAuthData.length, 32);
      assert.deepEqual(decodeReportBody(q.qeReportRaw), q.qeReport);
      const chain = q.certification.pckChainPem ?? [];
      assert.equal(chain.length, 3, 'PCK leaf, intermediate CA, root');
      for (const pem of chain)
        assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/);
      // Byte fields are views into the input, not copies.
      assert.equal(q.signature.buffer, m.bytes.buffer);
      assert.equal(q.certification.data.buffer, m.bytes.buffer);
    });

    test(`${m.id}: encodeQuote(decodeQuote(x)) reproduces x byte for byte, minus trailing bytes`, () => {
      const q = decodeQuote(m.bytes);
      const again = encodeQuote(q);
      assert.deepEqual(again, m.bytes.subarray(0, m.bytes.length - m.info.trailingBytes));
      assert.deepEqual(encodeQuoteSignedData(q), q.signedData);
      const withTrailing = encodeQuote(q, {
        trailing: m.bytes.subarray(m.bytes.length - m.info.trailingBytes),
      });
      assert.deepEqual(withTrailing, m.bytes);
      assert.deepEqual(structure(decodeQuote(again)), structure(q));
    });
  }

  test('known values of the phala SGX v3 quote (PROVENANCE.md)', () => {
    const q = decodeQuote(quotes.find((m) => m.id === 'phala-sgx-v3')!.bytes);
    assert.equal(q.body.kind, 'sgx');
    assert.equal(Buffer.from(q.body.report.reportData.subarray(0, 13)).toString('latin1'), 'Hello, world!');
    assert.ok(toHex(q.body.report.mrEnclave).startsWith('33d8736d'));
    assert.ok(toHex(q.body.report.mrSigner).startsWith('815f42f1'));
  });

  test('known values of the mobilecoin SGX v3 quote', () => {
    const q = decodeQuote(quotes.find((m) => m.id === 'mobilecoin-sgx-v3')!.bytes);
    assert.equal(
      q.body.kind === 'sgx' && toHex(q.body.report.mrEnclave),
      '840d61b0585dc8b4dc90f53af293c760fda06bee75978a6a86263ffb296423f4',
    );
  });

  test('known values of the TDX quotes (TEE_TCB_SVN, TD attributes)', () => {
    const v4 = decodeQuote(quotes.find((m) => m.id === 'phala-tdx-v4')!.bytes);
    assert.ok(v4.body.kind === 'td10' && toHex(v4.body.report.teeTcbSvn).startsWith('060103'));
    const spr = decodeQuote(quotes.find((m) => m.id === 'gotdx-tdx-v4-spr-e4')!.bytes);
    assert.ok(spr.body.kind === 'td10');
    assert.ok(toHex(spr.body.report.teeTcbSvn).startsWith('030004'));
    assert.equal(tdAttributeFlagNames(spr.body.report.tdAttributes).includes('SEPT_VE_DISABLE'), false);
    const v5 = decodeQuote(quotes.find((m) => m.id === 'phala-tdx-v5-outdated')!.bytes);
    assert.ok(v5.body.kind === 'td15');
    assert.ok(toHex(v5.body.report.teeTcbSvn).startsWith('070103'));
    assert.equal(v5.body.report.mrServiceTd?.length, 48);
  });

  test('a Buffer input decodes to the same structure as a Uint8Array input', () => {
    const m = quotes[0]!;
    assert.deepEqual(structure(decodeQuote(Buffer.from(m.bytes))), structure(decodeQuote(m.bytes)));
  });
});

function syntheticParts(version: number, certType: number, certData: Uint8Array): QuoteInit {
  return {
    header: {
      version,
      attestationKeyType: 2,
      teeType: 0,
      qeSvn: 7,
      pceSvn: 13,
      qeVendorId: INTEL_QE_VENDOR_ID,
      userData: randomBytes(20),
    },
    body: {
      kind: 'sgx',
      report: emptyReportBody({
        mrEnclave: randomBytes(32),
        mrSigner: randomBytes(32),
        reportData: randomBytes(64),
        isvProdId: 3,
        isvSvn: 0xffff,
        attributes: { flags: 0x7n, xfrm: 0xe7n },
      }),
    },
    signature: randomBytes(64),
    attestationKey: randomBytes(64),
    qeReport: emptyReportBody({ isvSvn: 7, reportData: randomBytes(64) }),
    qeReportSignature: randomBytes(64),
    qeAuthData: randomBytes(32),
    certification: { type: certType, data: certData },
  };
}

describe('encodeQuote/decodeQuote on synthetic quotes', () => {
  const pem = `-----BEGIN CERTIFICATE-----\n${randomBytes(48).toString('base64')}\n-----END CERTIFICATE-----\n`;
  const chain = pemChainToCertificationData([pem, pem.trimEnd(), pem]);
  for (const version of [3, 4, 5]) {
    test(`SGX v${version}, cert type 5: decode(encode(parts)) gives the parts back`, () => {
      const parts = syntheticParts(version, 5, chain);
      const bytes = encodeQuote(parts);
      const q = decodeQuote(bytes);
      assert.deepEqual(q.header, { ...parts.header, userData: new Uint8Array(parts.header.userData) });
      assert.equal(q.body.kind, 'sgx');
      assert.deepEqual(q.body.report, decodeReportBody(encodeReportBody(parts.body.report as never)));
      assert.deepEqual(q.certification.pckChainPem, [pem, pem, pem]);
      assert.equal(q.certification.data.at(-1), 0, 'type 5 ends with a NUL byte');
      assert.equal(
        q.outerCertification?.type,
        version === 3 ? undefined : CERT_DATA_TYPE.QE_REPORT_CERTIFICATION,
      );
      assert.deepEqual(q.bodyDescriptor, version === 5 ? { type: 1, size: 384 } : undefined);
      assert.equal(q.trailingBytes, 0);
      assert.deepEqual(encodeQuote(q), bytes);
      assert.deepEqual(structure(decodeQuote(encodeQuote(q))), structure(q));
    });
  }

  test('certification data types 1..3 are split into PPID, CPUSVN, PCESVN and PCE-ID', () => {
    for (const [type, ppidSize] of [
      [1, 16],
      [2, 256],
      [3, 384],
    ] as const) {
      const ppid = randomBytes(ppidSize);
      const cpuSvn = randomBytes(16);
      const data = Buffer.concat([ppid, cpuSvn, Buffer.from([0x0d, 0x00, 0x00, 0x00])]);
      const q = decodeQuote(encodeQuote(syntheticParts(3, type, data)));
      assert.equal(q.certification.type, type);
      assert.deepEqual(q.certification.ppid, new Uint8Array(ppid));
      assert.deepEqual(q.certification.cpuSvn, new Uint8Array(cpuSvn));
      assert.equal(q.certification.pceSvn, 13);
      assert.equal(q.certification.pceId, 0);
    }
  });

  test('certification data type 4 is kept as raw data; type 7 is refused where 1..5 are required', () => {
    const data = randomBytes(100);
    const q = decodeQuote(encodeQuote(syntheticParts(4, 4, data)));
    assert.equal(q.certification.type, 4);
    assert.deepEqual(q.certification.data, new Uint8Array(data));
    assert.equal(q.certification.pckChainPem, undefined);
    const sevenBytes = encodeCertificationData({ type: 7, data: new Uint8Array([1, 2, 3]) });
    assert.deepEqual(sevenBytes, new Uint8Array([7, 0, 3, 0, 0, 0, 1, 2, 3]));
    const seven = new ByteReader(sevenBytes);
    const platformManifest = decodeCertificationData(seven, { field: 'cert', minType: 1, maxType: 7 });
    assert.deepEqual(platformManifest, { type: 7, data: new Uint8Array([1, 2, 3]) });
    assert.throws(() => decodeQuote(encodeQuote(syntheticParts(3, 7, data))), {
      code: 'ERR_FORMAT_CERT_TYPE',
    });
    assert.throws(() => decodeQuote(encodeQuote(syntheticParts(4, 7, data))), {
      code: 'ERR_FORMAT_CERT_TYPE',
    });
  });

  test('report body: encode(decode(x)) === x for random bodies, including reserved bytes', () => {
    for (let i = 0; i < 50; i++) {
      const bytes = new Uint8Array(randomBytes(384));
      const body = decodeReportBody(bytes);
      assert.deepEqual(encodeReportBody(body), bytes);
    }
  });

  test('TD reports 1.0 and 1.5: encode(decode(x)) === x', () => {
    for (const [version, size] of [
      ['1.0', 584],
      ['1.5', 648],
    ] as const) {
      const bytes = new Uint8Array(randomBytes(size));
      const report: TdReport = decodeTdReport(new ByteReader(bytes), version);
      assert.equal(report.version, version);
      assert.deepEqual(encodeTdReport(report), bytes);
    }
  });

  test('attribute flags are named', () => {
    assert.deepEqual(sgxAttributeFlagNames(0x7n | 0x10n | 0x80n | (1n << 40n)), [
      'INIT',
      'DEBUG',
      'MODE64BIT',
      'PROVISIONKEY',
      'KSS',
      'bit40',
    ]);
    assert.deepEqual(tdAttributeFlagNames((1n << 28n) | 1n), ['DEBUG', 'SEPT_VE_DISABLE']);
  });
});
