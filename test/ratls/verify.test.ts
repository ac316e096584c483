/**
 * RA-TLS certificates in every format: created on the simulated platform, parsed and verified by
 * the library; each way a certificate can be wrong is refused with its own code.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { SIMULATED_ROOT_CN, VerificationError, decodeQuote, type TdReport } from '../../src/core/index.ts';
import {
  RATLS_FORMATS,
  RATLS_OIDS,
  cbor,
  checkExpectedIdentity,
  checkIdentity,
  createRatlsCertificate,
  createRatlsCsr,
  encodeCbor,
  parseRatlsCertificate,
  simulatedQuoter,
  verifyRatlsCertificate,
} from '../../src/ratls/index.ts';
import { TEST_NOW, createTestPki } from '../support/test-pki.ts';
import { buildTdxCase, tdxTcbInfo, type TdxCase } from '../core/tdx-helpers.ts';
import {
  IDENTITY,
  MRENCLAVE,
  MRSIGNER,
  NOW,
  OTHER,
  customCert,
  extensionOf,
  makeCert,
  simulation,
  verifyOptions,
  code,
} from './fixture.ts';

describe('RA-TLS round trip', () => {
  for (const format of RATLS_FORMATS) {
    test(`${format}: a created certificate verifies (PEM and DER) with its identity`, async () => {
      const c = await makeCert(format);
      for (const input of [c.pem, c.der]) {
        const v = verifyRatlsCertificate(input, {
          ...verifyOptions(),
          format,
          expected: { mrEnclave: MRENCLAVE },
        });
        assert.equal(v.format, format);
        assert.equal(v.quote.status, 'UpToDate');
        assert.equal(v.quote.simulated, true);
        assert.deepEqual(v.identity, {
          tee: 'SGX',
          mrEnclave: MRENCLAVE,
          mrSigner: MRSIGNER,
          isvProdId: 7,
          isvSvn: 3,
          debug: false,
        });
        assert.equal(v.keyBinding, format === 'gramine-dice' ? 'dice-claims' : 'spki-sha256');
      }
      const bySigner = verifyRatlsCertificate(c.pem, {
        ...verifyOptions(),
        expected: { mrSigner: MRSIGNER, isvProdId: 7, minIsvSvn: 3 },
      });
      assert.equal(bySigner.identity.tee, 'SGX');
    });

    test(`${format}: a CSR carries the same evidence and binds its key`, async () => {
      const csr = await createRatlsCsr({ format, quoter: simulatedQuoter(simulation().platform, IDENTITY) });
      assert.match(csr.pem, /BEGIN CERTIFICATE REQUEST/);
      const v = verifyRatlsCertificate(csr.pem, { ...verifyOptions(), expected: { mrEnclave: MRENCLAVE } });
      assert.equal(v.certificate.kind, 'csr');
      assert.equal(v.format, format);
    });
  }

  test('the formats use the OIDs Gramine, TCG DICE and EGo/Open Enclave use', async () => {
    assert.equal(
      parseRatlsCertificate((await makeCert('gramine')).der).evidence.oid,
      '0.6.9.42.840.113741.1337.6',
    );
    assert.equal(parseRatlsCertificate((await makeCert('gramine-dice')).der).evidence.oid, '2.23.133.5.4.9');
    assert.equal(parseRatlsCertificate((await makeCert('ego')).der).evidence.oid, '1.3.6.1.4.1.311.105.1');
  });
});

describe('RA-TLS refusals, each with its own code', () => {
  test('no RA-TLS extension: ERR_RATLS_NO_EXTENSION; another format than required: the same', async () => {
    const plain = await customCert([]);
    assert.equal(
      code(() => verifyRatlsCertificate(plain, verifyOptions())),
      'ERR_RATLS_NO_EXTENSION',
    );
    const ego = await makeCert('ego');
    assert.equal(
      code(() => verifyRatlsCertificate(ego.der, { ...verifyOptions(), format: 'gramine' })),
      'ERR_RATLS_NO_EXTENSION',
    );
  });

  test('not a certificate: ERR_RATLS_CERT_FORMAT', () => {
    assert.equal(
      code(() => parseRatlsCertificate(new Uint8Array([0x30, 0x03, 1, 2, 3]))),
      'ERR_RATLS_CERT_FORMAT',
    );
    assert.equal(
      code(() => parseRatlsCertificate('hello')),
      'ERR_RATLS_CERT_FORMAT',
    );
  });

  test("key hash mismatch: another key's certificate with this quote (each format)", async () => {
    for (const format of RATLS_FORMATS) {
      const c = await makeCert(format);
      const oid = parseRatlsCertificate(c.der).evidence.oid;
      const stolen = await customCert([{ oid, value: extensionOf(c.der, oid) }]);
      assert.equal(
        code(() => verifyRatlsCertificate(stolen, verifyOptions())),
        'ERR_RATLS_KEY_HASH_MISMATCH',
        format,
      );
    }
  });

  test('DICE: claims that are not the ones the quote hashed: ERR_RATLS_CLAIMS_HASH_MISMATCH', async () => {
    const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const c = await makeCert('gramine-dice');
    const quote = parseRatlsCertificate(c.der).evidence.quoteBytes;
    // Claims naming the new key correctly, but the quote was made over another key's claims.
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    const { diceClaims } = await import('../../src/ratls/index.ts');
    const value = encodeCbor(cbor.tag(60000, cbor.array(cbor.bytes(quote), cbor.bytes(diceClaims(spki)))));
    const forged = await customCert([{ oid: RATLS_OIDS.tcgDiceTaggedEvidence, value }], { keys });
    assert.equal(
      code(() => verifyRatlsCertificate(forged, verifyOptions())),
      'ERR_RATLS_CLAIMS_HASH_MISMATCH',
    );
  });

  test('wrong or malformed payloads: ERR_RATLS_EXTENSION_PAYLOAD', async () => {
    const dice = await makeCert('gramine-dice');
    const quote = parseRatlsCertificate(dice.der).evidence.quoteBytes;
    const cases: [string, string, Uint8Array][] = [
      [
        'DICE with another CBOR tag',
        RATLS_OIDS.tcgDiceTaggedEvidence,
        encodeCbor(cbor.tag(60001, cbor.array(cbor.bytes(quote), cbor.bytes(new Uint8Array([0xa0]))))),
      ],
      ['DICE that is not CBOR', RATLS_OIDS.tcgDiceTaggedEvidence, new Uint8Array([0xff, 0x00])],
      [
        'DICE claims without pubkey-hash',
        RATLS_OIDS.tcgDiceTaggedEvidence,
        encodeCbor(
          cbor.tag(
            60000,
            cbor.array(
              cbor.bytes(quote),
              cbor.bytes(encodeCbor(cbor.map([cbor.text('nonce'), cbor.bytes(new Uint8Array(4))]))),
            ),
          ),
        ),
      ],
      [
        'OE report with header version 2',
        RATLS_OIDS.oeNewQuote,
        Uint8Array.from([2, 0, 0, 0, 2, 0, 0, 0, ...new Uint8Array(8), ...quote]),
      ],
      [
        'OE report with a wrong size',
        RATLS_OIDS.oeNewQuote,
        Uint8Array.from([1, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, ...quote]),
      ],
      ['Gramine legacy value that is not a quote', RATLS_OIDS.gramineLegacy, new Uint8Array(100).fill(7)],
    ];
    for (const [name, oid, value] of cases) {
      const cert = await customCert([{ oid, value }]);
      assert.equal(
        code(() => parseRatlsCertificate(cert)),
        'ERR_RATLS_EXTENSION_PAYLOAD',
        name,
      );
    }
  });

  test('a certificate its key did not sign: ERR_RATLS_CERT_SIGNATURE', async () => {
    const c = await makeCert('ego');
    const keys = await webcrypto.subtle.importKey(
      'pkcs8',
      Buffer.from(c.keyPem.replace(/-----[^-]+-----|\s/g, ''), 'base64'),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign'],
    );
    const pub = await webcrypto.subtle.importKey(
      'spki',
      parseRatlsCertificate(c.der).spki,
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['verify'],
    );
    const other = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const good = await customCert(
      [{ oid: RATLS_OIDS.oeNewQuote, value: extensionOf(c.der, RATLS_OIDS.oeNewQuote) }],
      { keys: { publicKey: pub, privateKey: keys } },
    );
    assert.equal(
      code(() => verifyRatlsCertificate(good, verifyOptions())),
      'accepted',
    );
    const bad = await customCert(
      [{ oid: RATLS_OIDS.oeNewQuote, value: extensionOf(c.der, RATLS_OIDS.oeNewQuote) }],
      { keys: { publicKey: pub, privateKey: keys }, signer: other.privateKey },
    );
    assert.equal(
      code(() => verifyRatlsCertificate(bad, verifyOptions())),
      'ERR_RATLS_CERT_SIGNATURE',
    );
  });

  test('outside the certificate validity: ERR_RATLS_CERT_VALIDITY', async () => {
    const c = await makeCert('gramine');
    assert.equal(
      code(() =>
        verifyRatlsCertificate(c.der, { ...verifyOptions(), now: new Date(NOW.getTime() - 3 * 86_400_000) }),
      ),
      'ERR_RATLS_CERT_VALIDITY',
    );
  });

  test('expired collateral: core ERR_VERIFY_COLLATERAL_EXPIRED (step 5 or later), accepted only when relaxed', async () => {
    const c = await makeCert('gramine-dice');
    const later = new Date(NOW.getTime() + 60 * 86_400_000);
    let err: unknown;
    try {
      verifyRatlsCertificate(c.der, { ...verifyOptions(), now: later });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof VerificationError);
    assert.equal(err.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
    const relaxed = verifyRatlsCertificate(c.der, {
      ...verifyOptions(),
      now: later,
      allowExpiredCollateral: true,
    });
    assert.equal(relaxed.quote.collateralExpired, true);
  });

  test('debug enclave: ERR_VERIFY_DEBUG_ENCLAVE unless allowed', async () => {
    const c = await makeCert('ego', { ...IDENTITY, debug: true });
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, verifyOptions())),
      'ERR_VERIFY_DEBUG_ENCLAVE',
    );
    assert.equal(
      verifyRatlsCertificate(c.der, { ...verifyOptions(), allowDebug: true }).identity.debug,
      true,
    );
  });

  test('simulated root not trusted: core ERR_VERIFY_SIMULATED_ROOT', async () => {
    const c = await makeCert('gramine');
    const { trustSimulatedRoot: _t, ...untrusting } = verifyOptions();
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, untrusting)),
      'ERR_VERIFY_SIMULATED_ROOT',
    );
  });

  test('identity: wrong MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN each refused with its code', async () => {
    const c = await makeCert('gramine-dice');
    const o = verifyOptions();
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrEnclave: OTHER } })),
      'ERR_RATLS_MRENCLAVE_MISMATCH',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrSigner: OTHER } })),
      'ERR_RATLS_MRSIGNER_MISMATCH',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrSigner: MRSIGNER, isvProdId: 8 } })),
      'ERR_RATLS_ISVPRODID_MISMATCH',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrSigner: MRSIGNER, minIsvSvn: 4 } })),
      'ERR_RATLS_ISVSVN_TOO_LOW',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrTd: 'aa'.repeat(48) } })),
      'ERR_RATLS_TEE_MISMATCH',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(c.der, { ...o, expected: { mrEnclave: 'abc' } })),
      'ERR_RATLS_OPTIONS',
    );
  });
});

describe('TDX quotes', () => {
  test('a TDX RA-TLS certificate verifies end to end; MRTD pinned, TEE type checked', async () => {
    const pki = await createTestPki({ rootCn: SIMULATED_ROOT_CN });
    const info = tdxTcbInfo({
      tdxModule: {
        mrsigner: '00'.repeat(48),
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
      },
    });
    let tdx: TdxCase | undefined;
    const cert = await createRatlsCertificate({
      format: 'gramine-dice',
      quoter: async (reportData) => {
        tdx = await buildTdxCase(pki, info, { reportData });
        return tdx.quote;
      },
      notBefore: new Date(TEST_NOW.getTime() - 86_400_000),
      notAfter: new Date(TEST_NOW.getTime() + 86_400_000),
    });
    assert.ok(tdx !== undefined);
    const o = { collateral: tdx.collateral, now: TEST_NOW, trustSimulatedRoot: pki.root.pem };
    const report = decodeQuote(tdx.quote).body.report as TdReport;
    const mrTd = Buffer.from(report.mrTd).toString('hex');
    const v = verifyRatlsCertificate(cert.der, { ...o, expected: { mrTd } });
    assert.equal(v.identity.tee, 'TDX');
    assert.equal(v.quote.tee, 'TDX');
    assert.equal(
      code(() => verifyRatlsCertificate(cert.der, { ...o, expected: { mrTd: 'ab'.repeat(48) } })),
      'ERR_RATLS_MRTD_MISMATCH',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(cert.der, { ...o, expected: { mrEnclave: MRENCLAVE } })),
      'ERR_RATLS_TEE_MISMATCH',
    );
    assert.equal(
      code(() => {
        checkExpectedIdentity(report, checkIdentity({ tee: 'SGX' }));
      }),
      'ERR_RATLS_TEE_MISMATCH',
    );
  });
});
