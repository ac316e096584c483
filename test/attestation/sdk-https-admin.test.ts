/**
 * AAD trust model with the real SDK: over HTTPS (our TLS certificate trusted through the SDK's
 * `tlsOptions`), `AttestationAdministrationClient` with a `TokenCredential` that hands out the admin
 * bearer token — setPolicy / getPolicy / resetPolicy succeed; a wrong credential gets 401.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AttestationAdministrationClient, createAttestationPolicyToken } from '@azure/attestation';
import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ADMIN_TOKEN, selfSignedPem, startService, type Started } from './support.ts';

function credential(token: string): TokenCredential {
  return {
    getToken: (): Promise<AccessToken> =>
      Promise.resolve({ token, expiresOnTimestamp: Date.now() + 3600_000 }),
  };
}

describe('SDK admin client over HTTPS with a bearer credential (AAD mode)', () => {
  let s: Started;
  let ca = '';
  let httpsUrl = '';
  before(async () => {
    const tls = await selfSignedPem({ cn: '127.0.0.1', ec: true, ipSan: '127.0.0.1' });
    ca = tls.certPem;
    s = await startService({ https: { cert: tls.certPem, key: tls.keyPem } });
    httpsUrl = s.url.replace('http://', 'https://');
  });
  after(() => s.close());

  test('setPolicy, getPolicy, resetPolicy with the admin token', async () => {
    const admin = new AttestationAdministrationClient(httpsUrl, credential(ADMIN_TOKEN), {
      tlsOptions: { ca },
    });
    const text =
      'version=1.0; authorizationrules{=>permit();}; issuancerules{ => issue(type="aad", value=true); };';
    const set = await admin.setPolicy('SgxEnclave', text);
    assert.equal(set.body.policyResolution, 'Updated');
    // The SDK's own recipe: the hash is SHA-256 of the exact (unsigned, deterministic) JWS it sent.
    const sent = createAttestationPolicyToken(text).serialize();
    assert.deepEqual(Buffer.from(set.body.policyTokenHash), createHash('sha256').update(sent).digest());
    assert.equal((await admin.getPolicy('SgxEnclave')).body, text);
    assert.equal((await admin.resetPolicy('SgxEnclave')).body.policyResolution, 'Removed');
    assert.notEqual((await admin.getPolicy('SgxEnclave')).body, text);
  });

  test('a wrong credential is refused with 401 Unauthorized', async () => {
    const admin = new AttestationAdministrationClient(httpsUrl, credential('not-the-admin-token'), {
      tlsOptions: { ca },
    });
    await assert.rejects(
      admin.setPolicy('SgxEnclave', 'version=1.0; authorizationrules{=>permit();}; issuancerules{};'),
      (e: unknown) => {
        assert.equal((e as { statusCode?: number }).statusCode, 401);
        return true;
      },
    );
  });
});
