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
import { decodeQuote, verifyQuote } from '../../src/core/index.ts';
import {
  DEFAULT_PLATFORM,
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
