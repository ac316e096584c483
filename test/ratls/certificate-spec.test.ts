/**
 * Specification of RA-TLS certificate creation defaults, of how input is read (DER or PEM), of
 * what parsing reports about the extensions a certificate carries (used by `ratls verify` output
 * and the ERR_RATLS_NO_EXTENSION details) and about a CSR, and of the parse cache (the same peer
 * certificate comes back on every handshake).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRatlsCertificate,
  createRatlsCsr,
  parseRatlsCertificate,
  readCertificateInput,
  simulatedQuoter,
  type RatlsFormat,
} from '../../src/ratls/index.ts';
import { IDENTITY, customCert, extensionOf, makeCert, simulation } from './fixture.ts';

const DAY = 86_400_000;

describe('RA-TLS certificate creation', () => {
  test('by default a certificate is valid from an hour ago for a year', async () => {
    const before = Date.now();
    const c = await createRatlsCertificate({
      format: 'gramine',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const after = Date.now();
    const p = parseRatlsCertificate(c.der);
    assert.ok(p.notBefore !== undefined && p.notAfter !== undefined);
    // X.509 times are whole seconds: allow one second of truncation on each side
    assert.ok(
      p.notBefore.getTime() >= before - 3_600_000 - 1000 && p.notBefore.getTime() <= after - 3_600_000,
    );
    assert.ok(p.notAfter.getTime() >= before + 365 * DAY - 1000 && p.notAfter.getTime() <= after + 365 * DAY);
  });
});

describe('the formats a certificate carries', () => {
  test('a parsed certificate lists the RA-TLS formats present', async () => {
    const c = await makeCert('gramine');
    assert.deepEqual(parseRatlsCertificate(c.der).formatsPresent, ['gramine']);
  });
  test('asked for another format, ERR_RATLS_NO_EXTENSION names the format asked for and those present', async () => {
    const c = await makeCert('gramine-dice');
    assert.throws(
      () => parseRatlsCertificate(c.der, { format: 'ego' }),
      (e: { code?: string; details?: { format?: unknown; present?: unknown } }) => {
        assert.equal(e.code, 'ERR_RATLS_NO_EXTENSION');
        assert.equal(e.details?.format, 'ego');
        assert.deepEqual(e.details.present, ['gramine-dice']);
        return true;
      },
    );
  });
});

const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

describe('reading the input: DER or PEM', () => {
  // An RA-TLS certificate's quote embeds PEM text (the PCK chain), so bytes are DER when they are
  // one SEQUENCE whose encoded length covers them exactly, before any PEM marker is looked for.
  const der = [
    '3000', // empty SEQUENCE
    '300100', // short form
    '308100', // long form, one length byte
    '30810100',
    '3082000100', // two length bytes
    '3082' + '0102' + '00'.repeat(0x102),
    '308400000000', // four length bytes, the most read
  ];
  test('a SEQUENCE whose length covers the input exactly is DER', () => {
    for (const h of der) {
      const r = readCertificateInput(unhex(h));
      assert.deepEqual(r, { der: unhex(h), kind: 'certificate' }, h.slice(0, 12));
    }
  });
  test('anything else without a PEM block is ERR_RATLS_CERT_FORMAT naming its size', () => {
    for (const h of [
      '30', // too short
      '3001', // length beyond the input
      '300100ff', // a byte after the SEQUENCE
      '310100', // a SET
      '3080', // indefinite length
      '3080' + '00'.repeat(128), // indefinite length, not a short length of 128
      '30850000000000', // five length bytes
      '3082', // length bytes missing
      '30820001', // one of two length bytes
      '30810000', // one byte more than the long-form length says
    ])
      assert.throws(
        () => readCertificateInput(unhex(h)),
        (e: { code?: string; details?: unknown }) => {
          assert.equal(e.code, 'ERR_RATLS_CERT_FORMAT', h);
          assert.deepEqual(e.details, { bytes: h.length / 2 }, h.slice(0, 12));
          return true;
        },
      );
    assert.throws(() => readCertificateInput('no marker'), {
      code: 'ERR_RATLS_CERT_FORMAT',
      details: { bytes: 9 },
    });
  });
  test('DER-shaped input that is no certificate fails as an X.509 parse, with the cause', () => {
    assert.throws(
      () => parseRatlsCertificate(unhex('3000')),
      (e: { code?: string; cause?: unknown; details?: unknown }) => {
        assert.equal(e.code, 'ERR_RATLS_CERT_FORMAT');
        assert.ok(e.cause instanceof Error);
        return true;
      },
    );
  });
  test('PEM: exactly one CERTIFICATE or (NEW) CERTIFICATE REQUEST block of base64', async () => {
    const c = await makeCert('gramine');
    const body = Buffer.from(c.der).toString('base64');
    const block = (label: string, b = body): string =>
      `-----BEGIN ${label}-----\n${b}\n-----END ${label}-----\n`;
    assert.deepEqual(readCertificateInput(c.pem), { der: c.der, kind: 'certificate' });
    assert.deepEqual(readCertificateInput(Buffer.from(c.pem)), { der: c.der, kind: 'certificate' });
    assert.equal(readCertificateInput(block('CERTIFICATE REQUEST')).kind, 'csr');
    assert.equal(readCertificateInput(block('NEW CERTIFICATE REQUEST')).kind, 'csr');
    for (const [bad, details] of [
      [block('CERTIFICATE') + block('CERTIFICATE'), { blocks: 2 }],
      [block('PRIVATE KEY'), { blocks: 0 }],
      [`-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`, { blocks: 0 }],
      [block('CERTIFICATE', ''), undefined],
      [block('CERTIFICATE', 'not*base64'), undefined],
    ] as const)
      assert.throws(
        () => readCertificateInput(bad),
        (e: { code?: string; details?: unknown }) => {
          assert.equal(e.code, 'ERR_RATLS_CERT_FORMAT');
          if (details !== undefined) assert.deepEqual(e.details, details);
          return true;
        },
      );
  });
});

describe('what a parse result holds', () => {
  test('a certificate has an issuer and validity; a CSR has neither field', async () => {
    const c = await makeCert('gramine');
    const csr = await createRatlsCsr({
      format: 'gramine',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const keys = (o: object): string[] => Object.keys(o).sort();
    const common = ['der', 'evidence', 'formatsPresent', 'kind', 'selfIssued', 'spki', 'subject'];
    assert.deepEqual(
      keys(parseRatlsCertificate(c.der)),
      [...common, 'issuer', 'notAfter', 'notBefore'].sort(),
    );
    const p = parseRatlsCertificate(csr.pem);
    assert.deepEqual(keys(p), common);
    assert.equal(p.kind, 'csr');
    assert.equal(p.selfIssued, false);
  });
  test('DER input is told apart by its structure: a PKCS #10 request is a CSR, not a broken certificate', async () => {
    const csr = await createRatlsCsr({
      format: 'gramine',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const der = new Uint8Array(Buffer.from(csr.pem.replace(/-----[^-]+-----|\s/g, ''), 'base64'));
    assert.equal(readCertificateInput(der).kind, 'csr');
    const p = parseRatlsCertificate(der);
    assert.equal(p.kind, 'csr');
    assert.deepEqual(p.evidence, parseRatlsCertificate(csr.pem).evidence);
    assert.equal(readCertificateInput((await makeCert('gramine')).der).kind, 'certificate');
    // v1 TBSCertificate: INTEGER serial, then an AlgorithmIdentifier (SEQUENCE { OID }) — a certificate.
    const v1 = unhex('300d' + '300b' + '020101' + '3006' + '0604' + '2a864886');
    assert.equal(readCertificateInput(v1).kind, 'certificate');
    // CertificationRequestInfo with an empty subject: INTEGER 0, SEQUENCE {} — a request.
    assert.equal(readCertificateInput(unhex('3007' + '3005' + '020100' + '3000')).kind, 'csr');
  });
});

describe('refusals while taking a certificate apart', () => {
  test('a CSR block whose DER is no PKCS#10 request is ERR_RATLS_CERT_FORMAT', () => {
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => parseRatlsCertificate(pem), { code: 'ERR_RATLS_CERT_FORMAT' });
  });
  test('an RA-TLS extension present twice is ERR_RATLS_EXTENSION_PAYLOAD naming its OID', async () => {
    const c = await makeCert('gramine');
    const oid = parseRatlsCertificate(c.der).evidence.oid;
    const value = extensionOf(c.der, oid);
    const twice = await customCert([
      { oid, value },
      { oid, value },
    ]);
    assert.throws(() => parseRatlsCertificate(twice), {
      code: 'ERR_RATLS_EXTENSION_PAYLOAD',
      details: { oid },
    });
  });
});

describe('the format option', () => {
  test('an unknown format is refused as an option before the input is read', async () => {
    const c = await makeCert('gramine');
    for (const input of [c.der, 'not a certificate'])
      assert.throws(() => parseRatlsCertificate(input, { format: 'gramine-legacy' as RatlsFormat }), {
        code: 'ERR_RATLS_OPTIONS',
        details: { option: 'format' },
      });
  });
});

describe('the parse cache', () => {
  test('the same certificate is parsed once: DER or PEM, before or after others, gives the same result', async () => {
    const a = await makeCert('gramine');
    const b = await makeCert('ego');
    const first = parseRatlsCertificate(a.der);
    const other = parseRatlsCertificate(b.der);
    assert.equal(parseRatlsCertificate(a.pem), first);
    assert.equal(parseRatlsCertificate(b.pem), other);
    // kept per format asked for: the same bytes read for 'gramine' only are another result
    const only = parseRatlsCertificate(a.der, { format: 'gramine' });
    assert.notEqual(only, first);
    assert.equal(parseRatlsCertificate(a.pem, { format: 'gramine' }), only);
    assert.equal(parseRatlsCertificate(a.der), first);
  });
  test('the result keeps a private copy of the bytes: a caller reusing its buffer changes nothing', async () => {
    const a = await makeCert('gramine');
    const buffer = a.der.slice();
    const p = parseRatlsCertificate(buffer);
    buffer.fill(0);
    assert.deepEqual(p.der, a.der);
  });
});
