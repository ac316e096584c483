/**
 * Attack: a policy body signed earlier but never applied (or signed with a validity window) was
 * accepted whenever it arrived, so whoever held it could roll a newer policy back. Now a management
 * JWS's own times are honoured when it carries them: `iat` older than the latest change applied to
 * the same type is refused (ERR_ATTEST_POLICY_ROLLBACK), and `nbf` in the future, `exp` in the past
 * or `iat` in the future are refused (ERR_ATTEST_POLICY_JWS_TIME).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { simQuote, type Started } from '../attestation/support.ts';
import {
  attest,
  currentPolicyText,
  denyAllPolicy,
  newSigner,
  permissivePolicy,
  policyPayload,
  putPolicy,
  putSignedPolicy,
  resetPolicy,
  signedJws,
  startIsolated,
  type Signer,
} from './policy-support.ts';

const nowS = (): number => Math.floor(Date.now() / 1000);

describe('isolated mode: management JWS times', () => {
  let s: Started;
  let signer: Signer;
  before(async () => {
    signer = await newSigner('rollback test signer');
    s = await startIsolated([signer]);
  });
  after(() => s.close());

  test('an older, never-applied permissive body cannot replace a newer strict one', async () => {
    const older = await signedJws(signer, policyPayload(permissivePolicy('old'), { iat: nowS() - 3600 }));
    const newer = await signedJws(signer, policyPayload(denyAllPolicy('new'), { iat: nowS() - 60 }));
    assert.equal((await putPolicy(s.url, 'SgxEnclave', newer)).status, 200);

    const rollback = await putPolicy(s.url, 'SgxEnclave', older);
    assert.equal(rollback.status, 400);
    assert.equal(rollback.code, 'ERR_ATTEST_POLICY_ROLLBACK');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('new'));
    assert.equal((await attest(s.url, 'SgxEnclave', { quote: simQuote() })).code, 'ERR_ATTEST_POLICY_DENIED');
  });

  test('an older reset body cannot undo a newer policy; the high-water mark is per type', async () => {
    const oldReset = await signedJws(signer, { iat: nowS() - 1800 });
    const r = await resetPolicy(s.url, 'SgxEnclave', oldReset);
    assert.equal(r.code, 'ERR_ATTEST_POLICY_ROLLBACK');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('new'));
    // OpenEnclave has had no change with an iat: the same age is fine there.
    const oe = await putSignedPolicy(s.url, 'OpenEnclave', signer, permissivePolicy('oe'), {
      iat: nowS() - 1800,
    });
    assert.equal(oe.status, 200, JSON.stringify(oe.body));
  });

  test('nbf in the future, exp in the past and iat in the future are refused', async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['nbf in an hour', { nbf: nowS() + 3600 }, 'ERR_ATTEST_POLICY_JWS_TIME'],
      ['exp an hour ago', { exp: nowS() - 3600 }, 'ERR_ATTEST_POLICY_JWS_TIME'],
      ['iat in an hour', { iat: nowS() + 3600 }, 'ERR_ATTEST_POLICY_JWS_TIME'],
      ['iat not a number', { iat: 'yesterday' }, 'ERR_ATTEST_POLICY_JWS'],
    ];
    for (const [name, claims, code] of cases) {
      const r = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy(name), claims);
      assert.equal(r.status, 400, name);
      assert.equal(r.code, code, name);
    }
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('new'));
  });

  test('a body inside its window and newer than the last change is applied', async () => {
    const ok = await putPolicy(
      s.url,
      'SgxEnclave',
      await signedJws(
        signer,
        policyPayload(permissivePolicy('fresh'), { iat: nowS(), nbf: nowS() - 10, exp: nowS() + 600 }),
      ),
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal((await attest(s.url, 'SgxEnclave', { quote: simQuote() })).status, 200);
  });
});
