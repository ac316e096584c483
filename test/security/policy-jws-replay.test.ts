/**
 * Attack: in isolated mode the signed JWS of every policy ever set can be read anonymously from
 * `GET /policies/{type}`; PUT back later by anyone, it rolled a strict policy back to a permissive
 * one. A management signature now authorizes one change, once: a body that was applied before is
 * refused (ERR_ATTEST_POLICY_REPLAY), whatever type it is sent to, however its signature is
 * re-encoded, and the policy in force does not change.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { AttestationAdministrationClient } from '@azure/attestation';
import { compactVerify } from 'jose';
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
  readPolicyJws,
  resetPolicy,
  signedJws,
  startIsolated,
  type Signer,
} from './policy-support.ts';

const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/** The other valid ECDSA signature of the same JWS: (r, s) → (r, n − s). */
function negateS(jws: string): string {
  const [h, p, s] = jws.split('.') as [string, string, string];
  const sig = Buffer.from(s, 'base64url');
  const sv = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const flipped = Buffer.from((P256_ORDER - sv).toString(16).padStart(64, '0'), 'hex');
  return `${h}.${p}.${Buffer.concat([sig.subarray(0, 32), flipped]).toString('base64url')}`;
}

describe('isolated mode: replaying a signed policy JWS read from GET /policies', () => {
  let s: Started;
  let rsa: Signer;
  let ec: Signer;
  before(async () => {
    rsa = await newSigner('replay test RSA signer');
    ec = await newSigner('replay test EC signer', true);
    s = await startIsolated([rsa, ec]);
  });
  after(() => s.close());

  test('a captured permissive policy PUT back over a strict one is refused; the strict one stays', async () => {
    const permissive = await putSignedPolicy(s.url, 'SgxEnclave', rsa, permissivePolicy('v1'));
    assert.equal(permissive.status, 200, JSON.stringify(permissive.body));
    const captured = await readPolicyJws(s.url, 'SgxEnclave'); // anonymous read
    const strict = await putSignedPolicy(s.url, 'SgxEnclave', rsa, denyAllPolicy('v2'));
    assert.equal(strict.status, 200, JSON.stringify(strict.body));
    assert.equal((await attest(s.url, 'SgxEnclave', { quote: simQuote() })).status, 400);

    const replay = await putPolicy(s.url, 'SgxEnclave', captured);
    assert.equal(replay.status, 400, 'the replayed body must be refused');
    assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('v2'));
    const still = await attest(s.url, 'SgxEnclave', { quote: simQuote() });
    assert.equal(still.status, 400);
    assert.equal(still.code, 'ERR_ATTEST_POLICY_DENIED');
  });

  test('re-encoding the ECDSA signature (s → n − s, still valid) does not make a captured body new', async () => {
    const first = await putSignedPolicy(s.url, 'SgxEnclave', ec, permissivePolicy('ec1'));
    assert.equal(first.status, 200, JSON.stringify(first.body));
    const captured = await readPolicyJws(s.url, 'SgxEnclave');
    assert.equal((await putSignedPolicy(s.url, 'SgxEnclave', ec, denyAllPolicy('ec2'))).status, 200);

    const malleated = negateS(captured);
    assert.notEqual(malleated, captured);
    // The malleated signature really verifies: only the replay ledger can refuse it.
    await compactVerify(malleated, createPublicKey(ec.certPem));
    const replay = await putPolicy(s.url, 'SgxEnclave', malleated);
    assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('ec2'));
  });

  test('a body applied to OpenEnclave cannot be applied to SgxEnclave either', async () => {
    assert.equal((await putSignedPolicy(s.url, 'SgxEnclave', rsa, denyAllPolicy('sgx'))).status, 200);
    const oe = await putSignedPolicy(s.url, 'OpenEnclave', rsa, permissivePolicy('oe'));
    assert.equal(oe.status, 200);
    const captured = await readPolicyJws(s.url, 'OpenEnclave');
    const cross = await putPolicy(s.url, 'SgxEnclave', captured);
    assert.equal(cross.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('sgx'));
  });

  test('a replayed reset body is refused (the policy set after it stays)', async () => {
    const reset = await signedJws(rsa, '');
    assert.equal((await resetPolicy(s.url, 'SgxEnclave', reset)).status, 200);
    assert.equal((await putSignedPolicy(s.url, 'SgxEnclave', rsa, denyAllPolicy('after-reset'))).status, 200);
    const replay = await resetPolicy(s.url, 'SgxEnclave', reset);
    assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('after-reset'));
  });

  test('a refused body is not spent: a body refused for a syntax error is not recorded', async () => {
    const broken = await signedJws(rsa, policyPayload('version=1.0; authorizationrules { => permit() };'));
    const r = await putPolicy(s.url, 'OpenEnclave', broken);
    assert.equal(r.status, 400);
    assert.notEqual(r.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.notEqual((await putPolicy(s.url, 'OpenEnclave', broken)).code, 'ERR_ATTEST_POLICY_REPLAY');
  });

  test('the unchanged @azure/attestation SDK: each new change works; resending an identical RS256 body is a replay', async () => {
    const admin = new AttestationAdministrationClient(s.url, undefined as never, {
      allowInsecureConnection: true,
    });
    const key = { privateKey: rsa.keyPem, certificate: rsa.certPem };
    assert.equal(
      (await admin.setPolicy('OpenEnclave', permissivePolicy('sdk-a'), key)).body.policyResolution,
      'Updated',
    );
    assert.equal(
      (await admin.setPolicy('OpenEnclave', permissivePolicy('sdk-b'), key)).body.policyResolution,
      'Updated',
    );
    // RS256 is deterministic: the same text signed by the same key is byte-identical to the first body.
    await assert.rejects(admin.setPolicy('OpenEnclave', permissivePolicy('sdk-a'), key), (e: unknown) => {
      assert.equal((e as { statusCode?: number }).statusCode, 400);
      assert.equal((e as { code?: string }).code, 'InvalidOperation');
      return true;
    });
    assert.equal(await currentPolicyText(s.url, 'OpenEnclave'), permissivePolicy('sdk-b'));
    // ES256 signatures are randomized: the SDK's reset with an EC key is a new body each time.
    const ecKey = { privateKey: ec.keyPem, certificate: ec.certPem };
    assert.equal((await admin.resetPolicy('OpenEnclave', ecKey)).body.policyResolution, 'Removed');
    assert.equal(
      (await admin.setPolicy('OpenEnclave', permissivePolicy('sdk-c'), ecKey)).body.policyResolution,
      'Updated',
    );
    assert.equal((await admin.resetPolicy('OpenEnclave', ecKey)).body.policyResolution, 'Removed');
  });

  test('a replayed certificate add body does not bring back a removed signer', async () => {
    const extra = await newSigner('replay test extra signer');
    const jwk = { kty: 'RSA', x5c: [Buffer.from(extra.certDer).toString('base64')] };
    const add = await signedJws(rsa, { policyCertificate: jwk });
    const post = async (verb: string, jws: string): Promise<{ status: number; code: string | null }> => {
      const res = await fetch(`${s.url}/certificates:${verb}?api-version=2022-08-01`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(jws),
      });
      await res.arrayBuffer();
      return { status: res.status, code: res.headers.get('x-ccnodes-error-code') };
    };
    assert.equal((await post('add', add)).status, 200);
    // The remove body differs from the add body (another signer): an RS256 body of the same
    // payload and key would be byte-identical to the add body, hence a replay of it.
    assert.equal((await post('remove', add)).code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal((await post('remove', await signedJws(ec, { policyCertificate: jwk }))).status, 200);
    const replay = await post('add', add);
    assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY');
    const refused = await putSignedPolicy(s.url, 'SgxEnclave', extra, permissivePolicy('x'));
    assert.equal(refused.code, 'ERR_ATTEST_POLICY_SIGNER_UNTRUSTED');
  });
});
