/**
 * TCB Info and QE Identity must chain to the SAME root as the quote's PCK chain (verifyQuote steps
 * 6 and 7), even when the other root is itself trusted. Two PKIs, both trusted: the ccnodes
 * simulator's (src/sim, trusted with trustSimulatedRoot) and the test PKI (trusted with
 * dangerous.extraTrustAnchors). A collateral document signed under one root never vouches for a
 * PCK chain under the other.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { verifyQuote, type RawCollateral, type VerifyOptions } from '../../src/core/index.ts';
import { createSimDcap, type SimDcap } from '../../src/sim/index.ts';
import {
  TEST_NOW,
  buildSgxCase,
  createTestPki,
  signedDocument,
  type SgxCase,
  type TestPki,
} from '../support/test-pki.ts';
import { expectCode } from './verify-helpers.ts';

/** The text of the signed member (`tcbInfo` / `enclaveIdentity`) of a PCS document. */
function innerText(doc: string, member: string): string {
  const head = `{"${member}":`;
  assert.ok(doc.startsWith(head), `document starts with ${head}`);
  const end = doc.lastIndexOf(',"signature":"');
  assert.ok(end > head.length);
  return doc.slice(head.length, end);
}

describe('verifyQuote: collateral issuer chains are bound to the PCK root', () => {
  let dcap: SimDcap;
  let testPki: TestPki;
  let simQuote: Uint8Array;
  let simCollateral: RawCollateral;
  let testCase: SgxCase;
  let both: VerifyOptions;
  const now = new Date('2026-03-01T00:00:00Z');

  before(async () => {
    dcap = createSimDcap({ seed: 'verify-root-binding' });
    const platform = dcap.platform('up-to-date');
    simQuote = platform.quote(platform.syntheticReportBody({ reportData: new Uint8Array(64).fill(1) }));
    simCollateral = dcap.collateral(platform, { now });
    testPki = await createTestPki();
    testCase = await buildSgxCase(testPki);
    both = {
      now,
      trustSimulatedRoot: dcap.rootPem,
      dangerous: { extraTrustAnchors: [testPki.root.pem] },
    };
  });

  test('controls: each PKI verifies its own quote with both roots trusted', () => {
    assert.equal(verifyQuote(simQuote, simCollateral, both).status, 'UpToDate');
    const r = verifyQuote(testCase.quote, testCase.collateral, { ...both, now: TEST_NOW });
    assert.equal(r.status, 'SWHardeningNeeded');
  });

  test('sim PCK chain + TCB Info re-signed under the (trusted) test root → ERR_VERIFY_UNTRUSTED_ROOT at step 6', () => {
    const tcbInfo = signedDocument(
      'tcbInfo',
      innerText(simCollateral.tcbInfo, 'tcbInfo'),
      testPki.tcbSigning.privateKey,
    );
    const mixed: RawCollateral = {
      ...simCollateral,
      tcbInfo,
      tcbInfoIssuerChain: testPki.tcbSigning.pem + testPki.root.pem,
    };
    expectCode(() => verifyQuote(simQuote, mixed, both), 'ERR_VERIFY_UNTRUSTED_ROOT', 6);
  });

  test('sim PCK chain + QE Identity re-signed under the (trusted) test root → ERR_VERIFY_UNTRUSTED_ROOT at step 7', () => {
    const qeIdentity = signedDocument(
      'enclaveIdentity',
      innerText(simCollateral.qeIdentity, 'enclaveIdentity'),
      testPki.tcbSigning.privateKey,
    );
    const mixed: RawCollateral = {
      ...simCollateral,
      qeIdentity,
      qeIdentityIssuerChain: testPki.tcbSigning.pem + testPki.root.pem,
    };
    expectCode(() => verifyQuote(simQuote, mixed, both), 'ERR_VERIFY_UNTRUSTED_ROOT', 7);
  });

  test('test-PKI PCK chain + TCB Info / QE Identity signed by the (trusted) simulated TCB signer → step 6 / 7', () => {
    const simSign = (member: string, text: string): string => {
      const sig = dcap.pki.tcbSigning.key.signDeterministic(Buffer.from(text, 'utf8'));
      return `{"${member}":${text},"signature":"${Buffer.from(sig).toString('hex')}"}`;
    };
    const c = testCase.collateral;
    const tcbMixed: RawCollateral = {
      ...c,
      tcbInfo: simSign('tcbInfo', innerText(c.tcbInfo, 'tcbInfo')),
      tcbInfoIssuerChain: dcap.pki.tcbIssuerChainPem(),
    };
    expectCode(
      () => verifyQuote(testCase.quote, tcbMixed, { ...both, now: TEST_NOW }),
      'ERR_VERIFY_UNTRUSTED_ROOT',
      6,
    );
    const qeMixed: RawCollateral = {
      ...c,
      qeIdentity: simSign('enclaveIdentity', innerText(c.qeIdentity, 'enclaveIdentity')),
      qeIdentityIssuerChain: dcap.pki.tcbIssuerChainPem(),
    };
    expectCode(
      () => verifyQuote(testCase.quote, qeMixed, { ...both, now: TEST_NOW }),
      'ERR_VERIFY_UNTRUSTED_ROOT',
      7,
    );
  });

  test('collateral from a simulator with another seed (a root that is not trusted) → ERR_VERIFY_SIMULATED_ROOT', () => {
    const other = createSimDcap({ seed: 'verify-root-binding-other' });
    const foreign = other.collateral(other.platform('up-to-date'), { now });
    const mixed: RawCollateral = {
      ...simCollateral,
      tcbInfo: foreign.tcbInfo,
      tcbInfoIssuerChain: foreign.tcbInfoIssuerChain,
    };
    expectCode(() => verifyQuote(simQuote, mixed, both), 'ERR_VERIFY_SIMULATED_ROOT', 6);
  });
});
