/**
 * Attack: a signed reset body made for `OpenEnclave` also reset `SgxEnclave` (the MAA reset body is
 * an empty payload, so nothing in it names a type). Now: a body that names its type
 * (`x-ccnodes-attestation-type`, in a reset or a set payload) is refused for any other type, and a
 * body without a type — all the `@azure/attestation` SDK can send — is spent by its first use, so
 * once applied to OpenEnclave it cannot reset SgxEnclave.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AttestationAdministrationClient } from '@azure/attestation';
import type { Started } from '../attestation/support.ts';
import {
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

describe('isolated mode: a reset (or set) body made for one attestation type used on another', () => {
  let s: Started;
  let signer: Signer;
  before(async () => {
    signer = await newSigner('cross-type test signer');
    s = await startIsolated([signer]);
    for (const type of ['SgxEnclave', 'OpenEnclave']) {
      const r = await putSignedPolicy(s.url, type, signer, denyAllPolicy(type));
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
  });
  after(() => s.close());

  test('a reset body naming OpenEnclave is refused on SgxEnclave and accepted on OpenEnclave', async () => {
    const body = await signedJws(signer, { 'x-ccnodes-attestation-type': 'OpenEnclave' });
    const wrong = await resetPolicy(s.url, 'SgxEnclave', body);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.code, 'ERR_ATTEST_POLICY_TYPE_MISMATCH');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('SgxEnclave'));
    const right = await resetPolicy(s.url, 'OpenEnclave', body);
    assert.equal(right.status, 200, JSON.stringify(right.body));
    assert.notEqual(await currentPolicyText(s.url, 'OpenEnclave'), denyAllPolicy('OpenEnclave'));
  });

  test("the SDK's reset body (no type in it) applied to OpenEnclave cannot then reset SgxEnclave", async () => {
    assert.equal((await putSignedPolicy(s.url, 'OpenEnclave', signer, denyAllPolicy('oe-2'))).status, 200);
    // Capture exactly what the unchanged SDK sends for resetPolicy('OpenEnclave').
    let captured = '';
    const admin = new AttestationAdministrationClient(s.url, undefined as never, {
      allowInsecureConnection: true,
      additionalPolicies: [
        {
          position: 'perCall',
          policy: {
            name: 'capture-reset-body',
            sendRequest: (request, next) => {
              if (request.url.includes(':reset') && typeof request.body === 'string') captured = request.body;
              return next(request);
            },
          },
        },
      ],
    });
    const reset = await admin.resetPolicy('OpenEnclave', {
      privateKey: signer.keyPem,
      certificate: signer.certPem,
    });
    assert.equal(reset.body.policyResolution, 'Removed');
    assert.equal(captured.split('.')[1], '', 'the SDK sends an empty payload: no type to bind');

    const cross = await resetPolicy(s.url, 'SgxEnclave', captured);
    assert.equal(cross.status, 400);
    assert.equal(cross.code, 'ERR_ATTEST_POLICY_REPLAY');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('SgxEnclave'));
  });

  test('a set body naming OpenEnclave is refused on SgxEnclave', async () => {
    const body = await signedJws(
      signer,
      policyPayload(permissivePolicy('meant-for-oe'), { 'x-ccnodes-attestation-type': 'OpenEnclave' }),
    );
    const wrong = await putPolicy(s.url, 'SgxEnclave', body);
    assert.equal(wrong.code, 'ERR_ATTEST_POLICY_TYPE_MISMATCH');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('SgxEnclave'));
    assert.equal((await putPolicy(s.url, 'OpenEnclave', body)).status, 200);
  });

  test('a reset payload may carry only the binding claims (a set body is not a reset)', async () => {
    const setBody = await signedJws(signer, policyPayload(permissivePolicy('not-a-reset')));
    const r = await resetPolicy(s.url, 'SgxEnclave', setBody);
    assert.equal(r.status, 400);
    assert.equal(r.code, 'ERR_ATTEST_POLICY_JWS');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('SgxEnclave'));
  });
});
