/**
 * Secret release to a TD: a secret whose release policy accepts TdxVm tokens and pins the TD's MRTD
 * is released as a JWE to the key the TD put (by SHA-256) into its REPORTDATA — through a TdxVm
 * token and through inline TD evidence — and only that key opens it. A TD quote that binds another
 * key, a TD with another MRTD, a debug TD, and an SGX token for a TdxVm-only secret are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { SIM_TD_MRTD } from '../../src/sim/index.ts';
import { ADMIN_TOKEN, bindingFor, postJson, simQuote, type Started } from './support.ts';
import { TDX_API, startTdxService, tdBinding, tdQuote } from './tdx-support.ts';

const SECRET = 'the TD disk key';
const MRTD_HEX = Buffer.from(SIM_TD_MRTD).toString('hex');

describe('secret release to a TD', () => {
  let s: Started;
  let tdKey: Awaited<ReturnType<typeof generateKeyPair>>;
  let otherKey: Awaited<ReturnType<typeof generateKeyPair>>;
  let runtime: Buffer;
  let otherRuntime: Buffer;

  before(async () => {
    s = await startTdxService();
    tdKey = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    otherKey = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    runtime = Buffer.from(JSON.stringify({ keys: [{ ...(await exportJWK(tdKey.publicKey)), kid: 'td' }] }));
    otherRuntime = Buffer.from(JSON.stringify({ keys: [await exportJWK(otherKey.publicKey)] }));
    const put = await fetch(`${s.url}/ccnodes/v1/secrets/td-disk-key`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        value: Buffer.from(SECRET).toString('base64'),
        contentType: 'text/plain',
        releasePolicy: {
          attestationTypes: ['TdxVm'],
          anyOf: [
            {
              authority: s.url,
              allOf: [
                { claim: 'tdx_mrtd', equals: MRTD_HEX },
                { claim: 'tdx_td_attributes_debug', equals: false },
                { claim: 'x-ms-attestation-type', equals: 'tdxvm' },
              ],
            },
          ],
        },
      }),
    });
    assert.equal(put.status, 201, await put.text());
  });
  after(() => s.close());

  const release = (body: unknown) => postJson(`${s.url}/ccnodes/v1/secrets/td-disk-key/release`, body);
  const attestTd = (body: unknown) => postJson(`${s.url}/attest/TdxVm?api-version=${TDX_API}`, body);
  const runtimeData = (r: Buffer) => ({ data: r.toString('base64url'), dataType: 'JSON' });

  test('a TdxVm token whose REPORTDATA binds the TD key releases the secret to that key only', async () => {
    const attested = await attestTd({
      quote: tdQuote({ reportData: tdBinding(runtime) }),
      runtimeData: runtimeData(runtime),
    });
    assert.equal(attested.status, 200, JSON.stringify(attested.body));
    const res = await release({ token: attested.body['token'] });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['alg'], 'ECDH-ES');
    const { plaintext, protectedHeader } = await compactDecrypt(String(res.body['jwe']), tdKey.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
    assert.equal(protectedHeader.kid, 'td');
    await assert.rejects(compactDecrypt(String(res.body['jwe']), otherKey.privateKey));
  });

  test('inline TD evidence (attestationType TdxVm, v5 quote) releases the secret too', async () => {
    const res = await release({
      attestationType: 'TdxVm',
      quote: tdQuote({ reportData: tdBinding(runtime) }, { version: 5 }),
      runtimeData: runtimeData(runtime),
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { plaintext } = await compactDecrypt(String(res.body['jwe']), tdKey.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
  });

  test('a key the TD did not bind in REPORTDATA is refused (no JWE for a substituted key)', async () => {
    // The quote binds the TD's key; the request swaps in another key as runtime data.
    const inline = await release({
      attestationType: 'TdxVm',
      quote: tdQuote({ reportData: tdBinding(runtime) }),
      runtimeData: runtimeData(otherRuntime),
    });
    assert.equal(inline.status, 400, JSON.stringify(inline.body));
    assert.equal(inline.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_REPORT_DATA_MISMATCH');
    assert.equal(inline.body['jwe'], undefined);
    const token = await attestTd({
      quote: tdQuote({ reportData: tdBinding(runtime) }),
      runtimeData: runtimeData(otherRuntime),
    });
    assert.equal(token.status, 400);
    assert.equal(token.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_REPORT_DATA_MISMATCH');
  });

  test('a TD with another MRTD does not satisfy the release policy', async () => {
    const res = await release({
      attestationType: 'TdxVm',
      quote: tdQuote({ reportData: tdBinding(runtime), mrTd: new Uint8Array(48).fill(0x01) }),
      runtimeData: runtimeData(runtime),
    });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_POLICY_DENIED');
  });

  test('an SGX enclave token is refused for a TdxVm-only secret', async () => {
    const attested = await postJson(`${s.url}/attest/SgxEnclave?api-version=${TDX_API}`, {
      quote: simQuote({ reportData: bindingFor(runtime) }),
      runtimeData: runtimeData(runtime),
    });
    assert.equal(attested.status, 200, JSON.stringify(attested.body));
    const res = await release({ token: attested.body['token'] });
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_ATTESTATION_TYPE');
  });

  test('an unknown attestationType for inline release is a bad request', async () => {
    const res = await release({ attestationType: 'SevSnpVm', quote: tdQuote() });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_BAD_REQUEST');
  });
});
