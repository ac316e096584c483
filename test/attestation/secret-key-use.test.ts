/**
 * A JWK the enclave marks for signing (`use: "sig"`, or `key_ops` without an encryption operation)
 * is never used to encrypt a released secret: the service skips it for the next usable key, and
 * refuses (ERR_SECRET_NO_ENCLAVE_KEY) when no key is meant for encryption. Through the HTTP API of
 * a service verifying simulated quotes with the real DCAP verifier.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compactDecrypt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK } from 'jose';
import { createSimDcap } from '../../src/sim/index.ts';
import {
  MRENCLAVE,
  bindingFor,
  postJson,
  putSecretAsAdmin,
  simQuoteBytes,
  startService,
  type Started,
} from './support.ts';

const SECRET = 'released only to an encryption key';

describe('secret release never encrypts to a signing key', () => {
  const dcap = createSimDcap({ seed: 'secret-key-use' });
  let s: Started;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  let rsaJwk: JWK;
  let ecJwk: JWK;

  before(async () => {
    s = await startService({ sim: { dcap } });
    rsa = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    rsaJwk = await exportJWK(rsa.publicKey);
    ecJwk = await exportJWK(ec.publicKey);
    const status = await putSecretAsAdmin(s.url, 'k', SECRET, {
      anyOf: [{ claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE }],
    });
    assert.equal(status, 201);
  });
  after(async () => {
    await s.close();
  });

  /** Inline-evidence release with runtime JSON `{keys}`. */
  function release(keys: JWK[]) {
    const runtime = Buffer.from(JSON.stringify({ keys }));
    return postJson(`${s.url}/ccnodes/v1/secrets/k/release`, {
      quote: Buffer.from(simQuoteBytes({ reportData: bindingFor(runtime) }, dcap)).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    });
  }

  test('control: an RSA key without "use" receives the secret', async () => {
    const res = await release([{ ...rsaJwk, kid: 'rsa' }]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['alg'], 'RSA-OAEP-256');
    const { plaintext } = await compactDecrypt(String(res.body['jwe']), rsa.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
  });

  test('a leading use:"sig" RSA key is skipped; the use:"enc" EC key after it receives the secret', async () => {
    const res = await release([
      { ...rsaJwk, kid: 'rsa-sig', use: 'sig' },
      { ...ecJwk, kid: 'ec-enc', use: 'enc' },
    ]);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['alg'], 'ECDH-ES');
    const jwe = String(res.body['jwe']);
    assert.equal(decodeProtectedHeader(jwe).kid, 'ec-enc');
    const { plaintext } = await compactDecrypt(jwe, ec.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
    await assert.rejects(compactDecrypt(jwe, rsa.privateKey));
  });

  test('only signing keys (use:"sig", or key_ops ["verify"]) → 400 ERR_SECRET_NO_ENCLAVE_KEY, no JWE', async () => {
    for (const keys of [
      [{ ...rsaJwk, use: 'sig' }],
      [{ ...ecJwk, use: 'sig' }],
      [
        { ...rsaJwk, use: 'sig' },
        { ...ecJwk, key_ops: ['verify'] },
      ],
    ]) {
      const res = await release(keys);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_NO_ENCLAVE_KEY');
      assert.equal(res.body['jwe'], undefined);
    }
  });
});
