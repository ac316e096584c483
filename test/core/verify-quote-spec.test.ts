/**
 * verifyQuote rules that only an unusual input can show, written from the survivors of
 * `npm run mutate -- src/core/verify-quote.ts` (docs/testing.md): each case changes one thing in a
 * valid generated quote + collateral and names the rule it checks.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  VerificationError,
  decodeQuote,
  prepareCollateral,
  verifyQuote,
  type Quote,
} from '../../src/core/index.ts';
import { VERIFY_CACHE_LIMIT, clearVerifyCaches } from '../../src/core/verify-quote.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import {
  DEFAULT_PLATFORM,
  TEST_NOW,
  SGX_OID,
  buildSgxCase,
  createTestPki,
  issueCert,
  sgxExtensionValue,
  type SgxCase,
  type TestPki,
} from '../support/test-pki.ts';
import { expectCode } from './verify-helpers.ts';

let pki: TestPki;
let base: SgxCase;

before(async () => {
  pki = await createTestPki();
  base = await buildSgxCase(pki);
});

test('the control case verifies', () => {
  assert.equal(verifyQuote(base.quote, base.collateral, base.options).status, 'SWHardeningNeeded');
});

test('a PCK chain whose (trusted) root is not named an SGX Root CA is refused at step 2', async () => {
  const other = await createTestPki({ rootCn: 'Example Root CA' });
  const c = await buildSgxCase(other);
  expectCode(() => verifyQuote(c.quote, c.collateral, c.options), 'ERR_VERIFY_CHAIN_INCOMPLETE', 2);
});

test('an already decoded quote verifies exactly as its bytes do', () => {
  const fromBytes = verifyQuote(base.quote, base.collateral, base.options);
  const fromDecoded = verifyQuote(decodeQuote(base.quote), base.collateral, base.options);
  assert.equal(fromDecoded.status, fromBytes.status);
  assert.deepEqual(fromDecoded.advisoryIds, fromBytes.advisoryIds);
  assert.equal(fromDecoded.fmspc, fromBytes.fmspc);
});

test('advisory IDs of the platform and QE levels are listed once each', async () => {
  const c = await buildSgxCase(pki, {
    qeIdentity: (body) => {
      const levels = body['tcbLevels'] as Record<string, unknown>[];
      levels[0] = { ...levels[0], advisoryIDs: ['INTEL-SA-TEST-1', 'INTEL-SA-QE-9'] };
      return body;
    },
  });
  const r = verifyQuote(c.quote, c.collateral, c.options);
  assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1', 'INTEL-SA-QE-9']);
});

test('a PEM block in the PCK chain that is not a certificate is refused with ERR_VERIFY_CERT_FORMAT at step 2', async () => {
  const junk = `-----BEGIN CERTIFICATE-----\n${Buffer.from('not a certificate').toString('base64')}\n-----END CERTIFICATE-----\n`;
  const c = await buildSgxCase(pki, { chainPems: (p, pck) => [pck.pem, junk, p.root.pem] });
  expectCode(() => verifyQuote(c.quote, c.collateral, c.options), 'ERR_VERIFY_CERT_FORMAT', 2);
});

test('a PCK certificate with an EC key on another curve (P-384) is refused with ERR_VERIFY_CERT_FORMAT at step 2', async () => {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
    'sign',
    'verify',
  ]);
  const pck = await issueCert({
    subject: 'CN=Intel SGX PCK Certificate, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
    issuer: pki.processorCa,
    ca: false,
    keys,
    extensions: [new x509.Extension(SGX_OID, false, sgxExtensionValue(DEFAULT_PLATFORM))],
  });
  // The quote's QE report is still signed with a P-256 key (its signature field has no room for
  // anything else); the P-384 certificate only sits in the chain, where step 2 must refuse it.
  const c = await buildSgxCase(pki, { chainPems: (p) => [pck.pem, p.processorCa.pem, p.root.pem] });
  expectCode(() => verifyQuote(c.quote, c.collateral, c.options), 'ERR_VERIFY_CERT_FORMAT', 2);
});

test('collateralExpiry is the earliest end of every validity window, whichever item it comes from', async () => {
  const pckCrlFirst = await buildSgxCase(pki, { pckCrl: { nextUpdate: new Date('2026-01-20T00:00:00Z') } });
  assert.equal(
    verifyQuote(
      pckCrlFirst.quote,
      pckCrlFirst.collateral,
      pckCrlFirst.options,
    ).collateralExpiry.toISOString(),
    '2026-01-20T00:00:00.000Z',
  );
  const tcbInfoFirst = await buildSgxCase(pki, {
    tcbInfo: (body) => ({ ...body, nextUpdate: '2026-01-18T00:00:00Z' }),
  });
  assert.equal(
    verifyQuote(
      tcbInfoFirst.quote,
      tcbInfoFirst.collateral,
      tcbInfoFirst.options,
    ).collateralExpiry.toISOString(),
    '2026-01-18T00:00:00.000Z',
  );
  const rootCrlFirst = await buildSgxCase(pki, { rootCrl: { nextUpdate: new Date('2026-01-16T00:00:00Z') } });
  assert.equal(
    verifyQuote(
      rootCrlFirst.quote,
      rootCrlFirst.collateral,
      rootCrlFirst.options,
    ).collateralExpiry.toISOString(),
    '2026-01-16T00:00:00.000Z',
  );
});

test('an extra trust anchor that cannot be parsed trusts nothing and does not break verification', () => {
  const options = { ...base.options, dangerous: { extraTrustAnchors: ['not a certificate', pki.root.pem] } };
  assert.equal(verifyQuote(base.quote, base.collateral, options).status, 'SWHardeningNeeded');
  expectCode(
    () =>
      verifyQuote(base.quote, base.collateral, {
        ...base.options,
        dangerous: { extraTrustAnchors: ['junk'] },
      }),
    'ERR_VERIFY_UNTRUSTED_ROOT',
    2,
  );
});

/** The refusal `run` throws (a VerificationError), for assertions on its message and details. */
function refusal(run: () => unknown): VerificationError {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof VerificationError, `expected VerificationError, got ${String(e)}`);
    return e;
  }
  assert.fail('verification succeeded');
}

test('a validity window includes both its ends; a millisecond outside names the item and which end', async () => {
  // A PCK CRL valid for an instant: thisUpdate = nextUpdate = TEST_NOW (whole seconds, as DER stores them).
  const c = await buildSgxCase(pki, { pckCrl: { thisUpdate: TEST_NOW, nextUpdate: TEST_NOW } });
  const at = (ms: number): Parameters<typeof verifyQuote>[2] => ({
    ...c.options,
    now: new Date(TEST_NOW.getTime() + ms),
  });
  const r = verifyQuote(c.quote, c.collateral, at(0));
  assert.equal(r.collateralExpired, false);
  assert.equal(r.collateralExpiry.toISOString(), TEST_NOW.toISOString());

  const early = refusal(() => verifyQuote(c.quote, c.collateral, at(-1)));
  assert.equal(early.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
  assert.equal(early.step, 5);
  assert.match(early.message, /^PCK CRL is not yet valid at 2026-01-14T23:59:59\.999Z$/);
  assert.equal(early.details['what'], 'PCK CRL');
  assert.equal(early.details['notBefore'], TEST_NOW.toISOString());

  const late = refusal(() => verifyQuote(c.quote, c.collateral, at(1)));
  assert.equal(late.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
  assert.match(late.message, /^PCK CRL is expired at 2026-01-15T00:00:00\.001Z$/);
  assert.equal(late.details['notAfter'], TEST_NOW.toISOString());
});

test('a decoded quote whose certification data is not a PCK chain (type 6) is refused at step 1', () => {
  const q = decodeQuote(base.quote);
  const type6: Quote = { ...q, certification: { ...q.certification, type: 6 } };
  const e = refusal(() => verifyQuote(type6, base.collateral, base.options));
  assert.equal(e.code, 'ERR_VERIFY_UNSUPPORTED_QUOTE');
  assert.equal(e.step, 1);
  assert.equal(e.details['certificationType'], 6);
});

test('a debug SGX enclave is refused at step 15 with a message naming an enclave (not a TD)', async () => {
  const c = await buildSgxCase(pki, { report: { attributes: { flags: 0x07n, xfrm: 0x03n } } });
  const e = refusal(() => verifyQuote(c.quote, c.collateral, c.options));
  assert.equal(e.code, 'ERR_VERIFY_DEBUG_ENCLAVE');
  assert.equal(e.step, 15);
  assert.equal(e.message, 'the enclave runs in debug mode');
});

test('a CRL lacking only its CRL Number, or only its Authority Key Identifier, is refused at step 3', async () => {
  const ski = pki.processorCa.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  assert.ok(ski !== null);
  const crlNumber = new x509.Extension('2.5.29.20', false, Uint8Array.of(0x02, 0x01, 0x01));
  const aki = new x509.AuthorityKeyIdentifierExtension(ski.keyId, false);
  const pckCrlWith = async (extensions: x509.Extension[]): Promise<Uint8Array> =>
    new Uint8Array(
      (
        await x509.X509CrlGenerator.create({
          issuer: pki.processorCa.cert.subject,
          thisUpdate: new Date('2026-01-01T00:00:00Z'),
          nextUpdate: new Date('2026-02-01T00:00:00Z'),
          signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
          signingKey: pki.processorCa.keys.privateKey,
          extensions,
        })
      ).rawData,
    );
  // Control: both extensions, generated the same way, verify.
  const both = { ...base.collateral, pckCrl: await pckCrlWith([crlNumber, aki]) };
  assert.equal(verifyQuote(base.quote, both, base.options).status, 'SWHardeningNeeded');
  for (const extensions of [[aki], [crlNumber]]) {
    const collateral = { ...base.collateral, pckCrl: await pckCrlWith(extensions) };
    expectCode(() => verifyQuote(base.quote, collateral, base.options), 'ERR_VERIFY_CRL_INVALID', 3);
  }
});

test(`the PCK-chain cache keeps refusals too, for at most ${VERIFY_CACHE_LIMIT} certification data`, () => {
  // Certification data that holds no certificate is refused at step 2. The refusal is cached like a
  // parsed chain: the same data is refused again with the very same error object, without a new
  // parse, as long as the cache holds it (a parsed chain's result is no witness of the cache here:
  // its certificates and PCK extensions are cached by the x509 and extension parsers as well).
  clearVerifyCaches();
  const q = decodeQuote(base.quote);
  const collateral = prepareCollateral(base.collateral);
  const junk = (i: number): Quote => ({
    ...q,
    certification: { type: 5, data: new Uint8Array(Buffer.from(`no certificate ${i}`)) },
  });
  const refused = (i: number): VerificationError => {
    const e = refusal(() => verifyQuote(junk(i), collateral, base.options));
    assert.equal(e.code, 'ERR_VERIFY_CHAIN_INCOMPLETE');
    assert.equal(e.step, 2);
    return e;
  };
  const first = refused(0);
  assert.equal(refused(0), first, 'the same data twice in a row');
  assert.notEqual(refused(1), first, 'other data is parsed on its own');
  assert.equal(refused(0), first, 'alternating data: the first refusal is still cached');

  clearVerifyCaches();
  const kept = refused(0);
  for (let i = 1; i < VERIFY_CACHE_LIMIT; i++) refused(i);
  assert.equal(refused(0), kept, `with ${VERIFY_CACHE_LIMIT} entries the first is still cached`);
  refused(VERIFY_CACHE_LIMIT);
  const again = refused(0);
  assert.notEqual(again, kept, 'one more entry empties the full cache: the data is parsed again');
  assert.equal(again.message, kept.message);
  // A verification after the others still gets the cached PCK chain of a real quote.
  assert.equal(verifyQuote(base.quote, collateral, base.options).status, 'SWHardeningNeeded');
});

test('a verification time that is not a valid Date is a TypeError, never a pass of every time check', () => {
  // NaN compares false both ways, so without the check every validity window would hold.
  assert.throws(
    () => verifyQuote(base.quote, base.collateral, { ...base.options, now: new Date('not a date') }),
    (e: unknown) => e instanceof TypeError && /options\.now is not a valid Date/.test(e.message),
  );
});

test('an expired CA certificate in the PCK CRL issuer chain is refused at step 5, even with a valid PCK chain', async () => {
  // The same CA (subject and key) as the PCK's issuer, in a certificate that expired before TEST_NOW:
  // it signs the same PCK CRL and is not revoked, so only its validity period refuses it.
  const expiredCa = await issueCert({
    subject: new Uint8Array(pki.processorCa.cert.subjectName.toArrayBuffer()),
    issuer: pki.root,
    ca: true,
    keys: pki.processorCa.keys,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-10T00:00:00Z'),
  });
  const c = await buildSgxCase(pki, { pckCrlChain: (p) => expiredCa.pem + p.root.pem });
  const e = refusal(() => verifyQuote(c.quote, c.collateral, c.options));
  assert.equal(e.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
  assert.equal(e.step, 5);
  assert.match(e.message, /^PCK CRL issuer chain: certificate "Intel SGX PCK Processor CA" is expired/);
});

test('an options object whose trust anchors change between calls is verified against its current anchors', () => {
  type Mutable = { now: Date; trustSimulatedRoot?: string; dangerous?: { extraTrustAnchors?: string[] } };
  const extra: Mutable = { now: TEST_NOW, dangerous: { extraTrustAnchors: [pki.root.pem] } };
  assert.equal(verifyQuote(base.quote, base.collateral, extra).status, 'SWHardeningNeeded');
  extra.dangerous = { extraTrustAnchors: ['junk'] };
  expectCode(() => verifyQuote(base.quote, base.collateral, extra), 'ERR_VERIFY_UNTRUSTED_ROOT', 2);

  const dcap = createSimDcap({ seed: 'verify-quote-spec' });
  const platform = dcap.platform('up-to-date');
  const quote = platform.quote(platform.syntheticReportBody({ reportData: new Uint8Array(64) }));
  const collateral = dcap.collateral(platform);
  const sim: Mutable = { now: new Date(), trustSimulatedRoot: dcap.rootPem };
  assert.equal(verifyQuote(quote, collateral, sim).simulated, true);
  sim.trustSimulatedRoot = createSimDcap({ seed: 'verify-quote-spec-other' }).rootPem;
  expectCode(() => verifyQuote(quote, collateral, sim), 'ERR_VERIFY_SIMULATED_ROOT', 2);
});

test('a PCK chain whose leaf is not named an SGX PCK Certificate is refused at step 2', async () => {
  // Issued by the PCK's (trusted) Processor CA with a valid SGX extension; only the CN differs.
  const leaf = await issueCert({
    subject: 'CN=Intel SGX TCB Signing, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
    issuer: pki.processorCa,
    ca: false,
    extensions: [new x509.Extension(SGX_OID, false, sgxExtensionValue(DEFAULT_PLATFORM))],
  });
  const c = await buildSgxCase(pki, { pck: leaf });
  const e = refusal(() => verifyQuote(c.quote, c.collateral, c.options));
  assert.equal(e.code, 'ERR_VERIFY_CHAIN_INCOMPLETE');
  assert.equal(e.step, 2);
  assert.match(e.message, /PCK leaf CN "Intel SGX TCB Signing" is not an SGX PCK Certificate/);
});

test('an expired TCB signing certificate in the TCB Info or QE Identity issuer chain is refused at step 6 or 7', async () => {
  // The TCB signing CA's subject and key in a certificate that expired before TEST_NOW: the
  // documents' signatures verify with it and it is not revoked; only its validity refuses it.
  const expiredSigner = await issueCert({
    subject: new Uint8Array(pki.tcbSigning.cert.subjectName.toArrayBuffer()),
    issuer: pki.root,
    ca: false,
    keys: pki.tcbSigning.keys,
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2026-01-10T00:00:00Z'),
  });
  const chain = expiredSigner.pem + pki.root.pem;
  const tcb = refusal(() =>
    verifyQuote(base.quote, { ...base.collateral, tcbInfoIssuerChain: chain }, base.options),
  );
  assert.equal(tcb.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
  assert.equal(tcb.step, 6);
  assert.match(tcb.message, /^TCB Info issuer chain: certificate "Intel SGX TCB Signing" is expired/);
  const qe = refusal(() =>
    verifyQuote(base.quote, { ...base.collateral, qeIdentityIssuerChain: chain }, base.options),
  );
  assert.equal(qe.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
  assert.equal(qe.step, 7);
  assert.match(qe.message, /^QE Identity issuer chain: certificate "Intel SGX TCB Signing" is expired/);
});

test('an SGX quote verifies against a version-2 TCB Info (the SGX-only format) as against version 3', async () => {
  // Version 2 names each component svn `sgxtcbcompNNsvn` and has no `id` (SGX by definition);
  // the version-3 check of step 8 applies to TDX quotes only.
  const c = await buildSgxCase(pki, {
    tcbInfo: (body) => {
      const { id: _id, ...rest } = body;
      const levels = body['tcbLevels'] as { tcb: { sgxtcbcomponents: { svn: number }[]; pcesvn: number } }[];
      return {
        ...rest,
        version: 2,
        tcbLevels: levels.map((level) => {
          const tcb: Record<string, number> = { pcesvn: level.tcb.pcesvn };
          level.tcb.sgxtcbcomponents.forEach((comp, i) => {
            tcb[`sgxtcbcomp${String(i + 1).padStart(2, '0')}svn`] = comp.svn;
          });
          return { ...level, tcb };
        }),
      };
    },
  });
  const r = verifyQuote(c.quote, c.collateral, c.options);
  assert.equal(r.status, 'SWHardeningNeeded');
  assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1']);
  assert.equal(r.tee, 'SGX');
});
