/**
 * verifyQuote rules that only an unusual input can show, written from the survivors of
 * `npm run mutate -- src/core/verify-quote.ts` (docs/testing.md): each case changes one thing in a
 * valid generated quote + collateral and names the rule it checks.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  VerificationError,
  decodeQuote,
  verifyQuote,
  type VerificationErrorCode,
} from '../../src/core/index.ts';
import { buildSgxCase, createTestPki, type SgxCase, type TestPki } from '../support/test-pki.ts';

let pki: TestPki;
let base: SgxCase;

before(async () => {
  pki = await createTestPki();
  base = await buildSgxCase(pki);
});

function expectCode(run: () => unknown, code: VerificationErrorCode, step: number): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof VerificationError, `expected VerificationError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code} at step ${e.step}: ${e.message}`);
    assert.equal(e.step, step, e.message);
    return true;
  });
}

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
