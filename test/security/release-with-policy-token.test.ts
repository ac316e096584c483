/**
 * Attack: tokens returned by the anonymous `GET /policies/{type}` and `GET /certificates` (and the
 * results of policy changes) are signed by the same key, with the same issuer and `typ`, as
 * attestation tokens, and passed the release endpoint's token check and a permissive release
 * policy. Now every signed token names its purpose (`x-ccnodes-token-purpose`:
 * attestation | policy | certificates) and only `attestation` tokens release secrets; a token
 * without a purpose (an earlier version's) is refused too (ERR_SECRET_TOKEN_PURPOSE).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import {
  ADMIN_TOKEN,
  bindingFor,
  decodeJwt,
  simQuote,
  startService,
  type Started,
} from '../attestation/support.ts';
import { attest, enclaveRuntime, putSecret, releaseSecret } from './policy-support.ts';

const API = 'api-version=2022-08-01';

describe('secret release: only attestation tokens release secrets', () => {
  let s: Started;
  before(async () => {
    s = await startService();
    // A release policy that asks nothing of the claims but the issuer: the token check is all that
    // stands between a management token and the secret.
    const policy = { anyOf: [{ authority: s.url, allOf: [{ claim: 'iss', exists: true }] }] };
    assert.equal((await putSecret(s.url, 'weak', policy)).status, 201);
  });
  after(() => s.close());

  const tokenOf = async (res: Response): Promise<string> => {
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  };

  test('the anonymous GET /policies token is refused', async () => {
    const token = await tokenOf(await fetch(`${s.url}/policies/SgxEnclave?${API}`));
    assert.equal(decodeJwt(token).payload['x-ccnodes-token-purpose'], 'policy');
    const r = await releaseSecret(s.url, 'weak', { token });
    assert.equal(r.status, 401, JSON.stringify(r.body));
    assert.equal(r.code, 'ERR_SECRET_TOKEN_PURPOSE');
  });

  test('the anonymous GET /certificates token is refused', async () => {
    const token = await tokenOf(await fetch(`${s.url}/certificates?${API}`));
    assert.equal(decodeJwt(token).payload['x-ccnodes-token-purpose'], 'certificates');
    const r = await releaseSecret(s.url, 'weak', { token });
    assert.equal(r.code, 'ERR_SECRET_TOKEN_PURPOSE');
  });

  test('a policy-change result token is refused', async () => {
    const jws = `${Buffer.from('{"alg":"none"}').toString('base64url')}..`;
    const token = await tokenOf(
      await fetch(`${s.url}/policies/OpenEnclave:reset?${API}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: jws,
      }),
    );
    assert.equal((await releaseSecret(s.url, 'weak', { token })).code, 'ERR_SECRET_TOKEN_PURPOSE');
  });

  test('a token signed by the service key without a purpose (an earlier version) is refused', async () => {
    const key = s.service.keys.active;
    const token = await new SignJWT({
      'x-ms-attestation-type': 'sgx',
      'x-ccnodes-attestation-type': 'SgxEnclave',
    })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .setIssuer(s.url)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(key.privateKey);
    assert.equal((await releaseSecret(s.url, 'weak', { token })).code, 'ERR_SECRET_TOKEN_PURPOSE');
  });

  test('an attestation token still releases the secret', async () => {
    const enclave = await enclaveRuntime();
    const a = await attest(s.url, 'SgxEnclave', {
      quote: simQuote({ reportData: bindingFor(enclave.runtime) }),
      runtimeData: { data: enclave.runtime.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const token = String(a.body['token']);
    assert.equal(decodeJwt(token).payload['x-ccnodes-token-purpose'], 'attestation');
    const r = await releaseSecret(s.url, 'weak', { token });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });

  test('a policy cannot issue a purpose or an attestation type of its choosing', async () => {
    const enclave = await enclaveRuntime();
    const draft =
      'version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="x-ccnodes-token-purpose", value="policy"); => issue(type="x-ccnodes-attestation-type", value="OpenEnclave"); };';
    const res = await fetch(`${s.url}/policies/SgxEnclave?${API}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(draft).toString('base64url') })).toString('base64url')}.`,
    });
    assert.equal(res.status, 200);
    const a = await attest(s.url, 'SgxEnclave', {
      quote: simQuote({ reportData: bindingFor(enclave.runtime) }),
      runtimeData: { data: enclave.runtime.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const claims = decodeJwt(String(a.body['token'])).payload;
    assert.equal(claims['x-ccnodes-token-purpose'], 'attestation');
    assert.equal(claims['x-ccnodes-attestation-type'], 'SgxEnclave');
  });
});
