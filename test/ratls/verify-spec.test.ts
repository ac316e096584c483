/**
 * Specification of the RA-TLS verifier's decisions that the round-trip tests leave implicit: which
 * identity expectations are valid options (and the checked form they take), what counts as a pinned
 * measurement, the ISVPRODID and ISVSVN bounds, the certificate checks a CSR skips, the self-signature
 * checked once per certificate, and the reusable verifier (offline collateral, format,
 * checkServerIdentity).
 */
import { X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TdReport } from '../../src/core/index.ts';
import {
  checkExpectedIdentity,
  checkIdentity,
  createRatlsVerifier,
  verifyRatlsCertificate,
  createRatlsCertificate,
  createRatlsCsr,
  parseRatlsCertificate,
  simulatedQuoter,
  type RatlsExpectedIdentity,
  type RatlsVerifier,
} from '../../src/ratls/index.ts';
import {
  IDENTITY,
  MRENCLAVE,
  MRSIGNER,
  NOW,
  customCert,
  extensionOf,
  makeCert,
  simulation,
  verifyOptions,
  code,
} from './fixture.ts';

const PROD_ID = 7; // the fixture enclave's ISVPRODID and ISVSVN
const SVN = 3;

describe('identity expectations are checked as options (ERR_RATLS_OPTIONS)', () => {
  test('ISVPRODID and minimum ISVSVN are integers 0..65535', () => {
    for (const bad of [-1, 65536, 1.5, Number.NaN]) {
      assert.equal(
        code(() => checkIdentity({ isvProdId: bad })),
        'ERR_RATLS_OPTIONS',
        `isvProdId ${bad}`,
      );
      assert.equal(
        code(() => checkIdentity({ minIsvSvn: bad })),
        'ERR_RATLS_OPTIONS',
        `minIsvSvn ${bad}`,
      );
    }
    for (const ok of [0, 65535]) {
      assert.equal(checkIdentity({ isvProdId: ok, minIsvSvn: ok }).isvProdId, ok);
      assert.equal(checkIdentity({ isvProdId: ok, minIsvSvn: ok }).minIsvSvn, ok);
    }
  });
  test('measurements are 32 bytes (SGX) or 48 bytes (MRTD), as hex or bytes', () => {
    assert.equal(
      code(() => checkIdentity({ mrEnclave: new Uint8Array(31) })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => checkIdentity({ mrSigner: 'ab'.repeat(33) })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => checkIdentity({ mrTd: 'ab'.repeat(32) })),
      'ERR_RATLS_OPTIONS',
    );
    assert.deepEqual(
      checkIdentity({ mrEnclave: new Uint8Array(32).fill(1) }).mrEnclave,
      new Uint8Array(32).fill(1),
    );
    assert.deepEqual(checkIdentity({ mrTd: 'ab'.repeat(48) }).mrTd, new Uint8Array(48).fill(0xab));
  });
  test('SGX fields and MRTD exclude each other, also through an explicit tee', () => {
    assert.equal(
      code(() => checkIdentity({ mrSigner: MRSIGNER, mrTd: 'ab'.repeat(48) })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => checkIdentity({ tee: 'TDX', isvProdId: 1 })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => checkIdentity({ tee: 'SGX', mrTd: 'ab'.repeat(48) })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(checkIdentity({ tee: 'TDX' }).tee, 'TDX');
    assert.equal(checkIdentity({ tee: 'SGX', mrEnclave: MRENCLAVE }).tee, 'SGX');
    assert.equal(checkIdentity({ minIsvSvn: 1 }).tee, 'SGX', 'an SGX field implies SGX');
    assert.equal(checkIdentity({}).tee, undefined);
  });
  test('only MRENCLAVE, MRSIGNER or MRTD pin the identity; ISVPRODID and ISVSVN alone do not', () => {
    assert.equal(checkIdentity({}).pinned, false);
    assert.equal(checkIdentity({ isvProdId: 7, minIsvSvn: 3 }).pinned, false);
    assert.equal(checkIdentity({ mrEnclave: MRENCLAVE }).pinned, true);
    assert.equal(checkIdentity({ mrSigner: MRSIGNER }).pinned, true);
    assert.equal(checkIdentity({ mrTd: 'ab'.repeat(48) }).pinned, true);
  });
});

describe('the checked identity', () => {
  const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
  test('holds exactly the fields given (measurements as bytes), the TEE they imply and whether pinned', () => {
    assert.deepEqual(checkIdentity({}), { pinned: false });
    assert.deepEqual(checkIdentity(), { pinned: false });
    assert.deepEqual(checkIdentity({ mrEnclave: MRENCLAVE }), {
      tee: 'SGX',
      mrEnclave: bytes(MRENCLAVE),
      pinned: true,
    });
    assert.deepEqual(checkIdentity({ mrSigner: bytes(MRSIGNER), isvProdId: 0, minIsvSvn: 2 }), {
      tee: 'SGX',
      mrSigner: bytes(MRSIGNER),
      isvProdId: 0,
      minIsvSvn: 2,
      pinned: true,
    });
    assert.deepEqual(checkIdentity({ mrTd: 'ab'.repeat(48) }), {
      tee: 'TDX',
      mrTd: bytes('ab'.repeat(48)),
      pinned: true,
    });
  });
});

describe('which option a refusal names', () => {
  test('SGX identity fields with MRTD name mrTd; an explicit tee that contradicts them names tee', () => {
    const option = (e: RatlsExpectedIdentity): unknown => {
      try {
        checkIdentity(e);
      } catch (err) {
        return (err as { details?: { option?: unknown } }).details?.option;
      }
      return 'accepted';
    };
    assert.equal(option({ mrEnclave: MRENCLAVE, mrTd: 'ab'.repeat(48) }), 'mrTd');
    assert.equal(option({ minIsvSvn: 1, mrTd: 'ab'.repeat(48) }), 'mrTd');
    assert.equal(option({ tee: 'TDX', mrSigner: MRSIGNER }), 'tee');
    assert.equal(option({ tee: 'SGX', mrTd: 'ab'.repeat(48) }), 'tee');
  });
});

describe('the certificate checks', () => {
  test('the validity window includes both of its ends', async () => {
    const at = (notBefore: Date, notAfter: Date) =>
      createRatlsCertificate({
        format: 'gramine',
        quoter: simulatedQuoter(simulation().platform, IDENTITY),
        notBefore,
        notAfter,
      });
    const second = 1000;
    const startsNow = await at(NOW, new Date(NOW.getTime() + 86_400_000));
    const endsNow = await at(new Date(NOW.getTime() - 86_400_000), NOW);
    assert.equal(verifyRatlsCertificate(startsNow.der, verifyOptions()).format, 'gramine');
    assert.equal(verifyRatlsCertificate(endsNow.der, verifyOptions()).format, 'gramine');
    const startsLater = await at(new Date(NOW.getTime() + second), new Date(NOW.getTime() + 86_400_000));
    const endedBefore = await at(new Date(NOW.getTime() - 86_400_000), new Date(NOW.getTime() - second));
    assert.equal(
      code(() => verifyRatlsCertificate(startsLater.der, verifyOptions())),
      'ERR_RATLS_CERT_VALIDITY',
    );
    assert.equal(
      code(() => verifyRatlsCertificate(endedBefore.der, verifyOptions())),
      'ERR_RATLS_CERT_VALIDITY',
    );
  });
  test('a CSR is verified by its evidence alone: it has no self-signature to check and no validity', async () => {
    const csr = await createRatlsCsr({
      format: 'gramine',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const v = verifyRatlsCertificate(csr.pem, { ...verifyOptions(), expected: { mrEnclave: MRENCLAVE } });
    assert.equal(v.certificate.kind, 'csr');
  });
  test("a certificate's self-signature is checked once, however often the same certificate is verified", async () => {
    const c = await makeCert('gramine');
    const proto = X509Certificate.prototype;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its own `this` below
    const original = proto.verify;
    let checks = 0;
    proto.verify = function (this: X509Certificate, key) {
      if (this.raw.equals(c.der)) checks++;
      return original.call(this, key);
    };
    try {
      verifyRatlsCertificate(c.der, verifyOptions());
      verifyRatlsCertificate(c.pem, verifyOptions());
      verifyRatlsCertificate(c.der, { ...verifyOptions(), expected: { mrEnclave: MRENCLAVE } });
    } finally {
      proto.verify = original;
    }
    assert.equal(checks, 1);
  });
});

describe('identity decisions on a verified quote', () => {
  test('ISVPRODID must equal the expected one; ISVSVN must be at least the minimum', async () => {
    const c = await makeCert('gramine-dice');
    const o = verifyOptions();
    const v = (expected: RatlsExpectedIdentity) => () => verifyRatlsCertificate(c.der, { ...o, expected });
    assert.equal(code(v({ isvProdId: PROD_ID })), 'accepted');
    assert.equal(code(v({ isvProdId: PROD_ID + 1 })), 'ERR_RATLS_ISVPRODID_MISMATCH');
    assert.equal(code(v({ minIsvSvn: SVN })), 'accepted');
    assert.equal(code(v({ minIsvSvn: SVN + 1 })), 'ERR_RATLS_ISVSVN_TOO_LOW');
    assert.equal(code(v({ tee: 'SGX', mrEnclave: MRENCLAVE, mrSigner: MRSIGNER })), 'accepted');
    const r = verifyRatlsCertificate(c.der, { ...o, expected: { mrSigner: MRSIGNER } });
    assert.deepEqual(r.identity, {
      tee: 'SGX',
      mrEnclave: MRENCLAVE,
      mrSigner: MRSIGNER,
      isvProdId: PROD_ID,
      isvSvn: SVN,
      debug: false,
    });
  });
  test('a TEE mismatch names the expected and the actual TEE', () => {
    const td = {
      mrTd: new Uint8Array(48),
      mrSignerSeam: new Uint8Array(48),
      tdAttributes: 0n,
    } as unknown as TdReport;
    assert.throws(
      () => {
        checkExpectedIdentity(td, checkIdentity({ tee: 'SGX' }));
      },
      (e: { code?: string; details?: { expected?: string; actual?: string } }) =>
        e.code === 'ERR_RATLS_TEE_MISMATCH' && e.details?.expected === 'SGX' && e.details.actual === 'TDX',
    );
    assert.equal(
      code(() => {
        checkExpectedIdentity(td, checkIdentity({ mrTd: new Uint8Array(48).fill(1) }));
      }),
      'ERR_RATLS_MRTD_MISMATCH',
    );
    assert.equal(
      code(() => {
        checkExpectedIdentity(td, checkIdentity({ mrTd: new Uint8Array(48) }));
      }),
      'accepted',
    );
  });
  test('on an SGX quote with TDX expected, the details say SGX', async () => {
    const c = await makeCert('gramine');
    assert.throws(
      () => verifyRatlsCertificate(c.der, { ...verifyOptions(), expected: { tee: 'TDX' } }),
      (e: { code?: string; details?: { actual?: string } }) =>
        e.code === 'ERR_RATLS_TEE_MISMATCH' && e.details?.actual === 'SGX',
    );
  });
});

describe('the reusable verifier', () => {
  const base = () => ({
    collateral: simulation().collateral,
    trustSimulatedRoot: simulation().rootPem,
    now: () => NOW,
  });
  test('refuses to be created without a pinned measurement unless allowAnyIdentity', () => {
    assert.equal(
      code(() => createRatlsVerifier({ ...base(), expected: { isvProdId: 7 } })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => createRatlsVerifier({ ...base() })),
      'ERR_RATLS_OPTIONS',
    );
    assert.equal(
      code(() => createRatlsVerifier({ ...base(), allowAnyIdentity: true })),
      'accepted',
    );
    assert.equal(
      code(() => createRatlsVerifier({ ...base(), expected: { mrSigner: MRSIGNER } })),
      'accepted',
    );
  });
  test('with offline collateral, verify() uses it (no fetch) and applies the pinned identity', async () => {
    const fetched: unknown[] = [];
    const v = createRatlsVerifier({
      ...base(),
      expected: { mrEnclave: MRENCLAVE },
      pccsUrl: 'http://127.0.0.1:9/unused',
      onFetch: (e) => fetched.push(e),
    });
    const c = await makeCert('gramine');
    assert.equal((await v.verify(c.pem)).identity.tee, 'SGX');
    assert.deepEqual(fetched, []);
    const wrong = createRatlsVerifier({ ...base(), expected: { mrEnclave: 'c3'.repeat(32) } });
    await assert.rejects(wrong.verify(c.pem), { code: 'ERR_RATLS_MRENCLAVE_MISMATCH' });
  });
  test('the format option restricts which extension is accepted (verify and verifySync)', async () => {
    const c = await makeCert('gramine');
    const only = createRatlsVerifier({ ...base(), allowAnyIdentity: true, format: 'ego' });
    assert.equal(
      code(() => only.verifySync(c.pem)),
      'ERR_RATLS_NO_EXTENSION',
    );
    await assert.rejects(only.verify(c.pem), { code: 'ERR_RATLS_NO_EXTENSION' });
    const any = createRatlsVerifier({ ...base(), allowAnyIdentity: true });
    assert.equal(any.verifySync(c.pem).format, 'gramine');
  });
  test('without offline collateral, the format is checked before any collateral is fetched', async () => {
    const c = await makeCert('gramine');
    const fetched: unknown[] = [];
    const v = createRatlsVerifier({
      allowAnyIdentity: true,
      format: 'ego',
      trustSimulatedRoot: simulation().rootPem,
      pccsUrl: 'http://127.0.0.1:9/unreachable',
      onFetch: (e) => fetched.push(e),
      now: () => NOW,
    });
    await assert.rejects(v.verify(c.pem), { code: 'ERR_RATLS_NO_EXTENSION' });
    assert.deepEqual(fetched, []);
  });
  test('without offline collateral, the key binding and validity are checked before any fetch', async () => {
    const c = await makeCert('gramine');
    const oid = parseRatlsCertificate(c.der).evidence.oid;
    const stolen = await customCert([{ oid, value: extensionOf(c.der, oid) }]); // another key, this quote
    const fetched: unknown[] = [];
    const verifier = (now: Date): RatlsVerifier =>
      createRatlsVerifier({
        allowAnyIdentity: true,
        trustSimulatedRoot: simulation().rootPem,
        pccsUrl: 'http://127.0.0.1:9/unreachable',
        onFetch: (e) => fetched.push(e),
        now: () => now,
      });
    await assert.rejects(verifier(NOW).verify(stolen), { code: 'ERR_RATLS_KEY_HASH_MISMATCH' });
    await assert.rejects(verifier(new Date('2040-01-01T00:00:00Z')).verify(c.der), {
      code: 'ERR_RATLS_CERT_VALIDITY',
    });
    assert.deepEqual(fetched, []);
  });
  test('verifySync needs offline collateral; checkServerIdentity returns the error or undefined', async () => {
    const c = await makeCert('gramine');
    const noCollateral = createRatlsVerifier({
      allowAnyIdentity: true,
      trustSimulatedRoot: simulation().rootPem,
    });
    assert.equal(
      code(() => noCollateral.verifySync(c.pem)),
      'ERR_RATLS_OPTIONS',
    );
    const v = createRatlsVerifier({ ...base(), expected: { mrSigner: MRSIGNER } });
    assert.equal(v.checkServerIdentity('peer', { raw: Buffer.from(c.der) }), undefined);
    const err = v.checkServerIdentity('peer', { raw: Buffer.from('not a certificate') });
    assert.ok(err instanceof Error);
    assert.equal((err as { code?: string }).code, 'ERR_RATLS_CERT_FORMAT');
  });
  test('checkServerIdentity returns an Error even when what failed threw something else', async () => {
    const c = await makeCert('gramine');
    const v = createRatlsVerifier({
      ...base(),
      expected: { mrSigner: MRSIGNER },
      now: () => {
        // a caller's clock that throws a string
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'clock unavailable';
      },
    });
    const err = v.checkServerIdentity('peer', { raw: Buffer.from(c.der) });
    assert.ok(err instanceof Error);
    assert.equal(err.message, 'clock unavailable');
  });
});
