/**
 * A negative corpus through the HTTP service: each case changes ONE thing in a valid quote +
 * collateral built with the core's test PKI (test/support/test-pki.ts), and the service must refuse
 * it with exactly the code the library gives for the same input (`x-ccnodes-error-code`), as MAA's
 * InvalidParameter. The baseline must attest.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { VerificationError, verifyQuote } from '../../src/core/index.ts';
import { createDcapEvidenceVerifier, type CollateralProvider } from '../../src/attestation/index.ts';
import {
  buildSgxCase,
  createTestPki,
  TEST_NOW,
  type SgxCase,
  type SgxCaseOptions,
  type TestPki,
} from '../support/test-pki.ts';
import { postJson, startService, type Started } from './support.ts';

const DAY = 86_400_000;

const CASES: {
  name: string;
  options: (pki: TestPki) => SgxCaseOptions;
  mutate?: (q: Uint8Array) => Uint8Array;
}[] = [
  {
    name: 'QE report data does not bind the attestation key',
    options: () => ({ qeReportData: new Uint8Array(64).fill(1) }),
  },
  {
    name: 'TCB Info value edited after signing',
    options: () => ({
      tcbInfoText: (d) => d.replace('"tcbEvaluationDataNumber":18', '"tcbEvaluationDataNumber":19'),
    }),
  },
  {
    name: 'QE Identity value edited after signing',
    options: () => ({
      qeIdentityText: (d) => d.replace('"tcbEvaluationDataNumber":18', '"tcbEvaluationDataNumber":17'),
    }),
  },
  {
    name: 'PCK certificate revoked in the PCK CRL',
    options: (pki) => ({ pckCrl: { revoked: [pki.pck.serial] } }),
  },
  {
    name: 'PCK CRL expired',
    options: () => ({
      pckCrl: {
        thisUpdate: new Date(TEST_NOW.getTime() - 40 * DAY),
        nextUpdate: new Date(TEST_NOW.getTime() - DAY),
      },
    }),
  },
  {
    name: 'QE identity MRSIGNER mismatch',
    options: () => ({ qeIdentity: (b) => ({ ...b, mrsigner: 'AB'.repeat(32) }) }),
  },
  {
    name: 'ISV report byte flipped after signing',
    options: () => ({}),
    mutate: (q) => {
      const c = Uint8Array.from(q);
      c[48 + 70] = (c[48 + 70] ?? 0) ^ 1;
      return c;
    },
  },
];

describe('negative corpus through the HTTP service (same code as the library)', () => {
  let pki: TestPki;
  let current: SgxCase | undefined;
  let s: Started;
  before(async () => {
    pki = await createTestPki();
    const provider: CollateralProvider = () =>
      current === undefined ? Promise.reject(new Error('no case')) : Promise.resolve(current.collateral);
    s = await startService({
      verifier: async (quote) => {
        if (current === undefined) throw new Error('no case');
        return createDcapEvidenceVerifier({
          collateral: provider,
          now: () => TEST_NOW,
          ...(current.options.dangerous === undefined ? {} : { dangerous: current.options.dangerous }),
        })(quote);
      },
    });
  });
  after(() => s.close());

  const attest = (quote: Uint8Array) =>
    postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
      quote: Buffer.from(quote).toString('base64url'),
    });

  test('baseline attests', async () => {
    current = await buildSgxCase(pki);
    const res = await attest(current.quote);
    assert.equal(res.status, 200, JSON.stringify(res.body));
  });

  for (const c of CASES) {
    test(c.name, async () => {
      current = await buildSgxCase(pki, c.options(pki));
      const quote = c.mutate === undefined ? current.quote : c.mutate(current.quote);
      let expected = '';
      try {
        verifyQuote(quote, current.collateral, current.options);
      } catch (e) {
        assert.ok(e instanceof VerificationError);
        expected = e.code;
      }
      assert.notEqual(expected, '', 'the library rejects the case');
      const res = await attest(quote);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body['error'] as Record<string, string>)['code'], 'InvalidParameter');
      assert.equal(res.headers.get('x-ccnodes-error-code'), expected);
    });
  }
});
