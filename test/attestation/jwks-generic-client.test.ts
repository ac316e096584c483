/**
 * A generic relying party — jose's `createRemoteJWKSet`, as Envoy/Istio JWT authn or Kubernetes
 * OIDC would use — verifies a token the service issued for a real (simulated-platform) quote using
 * only `GET /certs`: each key publishes `n`/`e`/`alg`/`use` beside `x5c`, and they are the
 * certificate's own key.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createHash } from 'node:crypto';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { createSimDcap } from '../../src/sim/index.ts';
import { createDcapEvidenceVerifier, type CollateralProvider } from '../../src/attestation/index.ts';
import { postJson, startService, type Started } from './support.ts';

const dcap = createSimDcap({ seed: 'jwks-generic-client' });
const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

const simProvider: CollateralProvider = (req) => {
  const p = dcap.platforms.find((x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca);
  if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}`));
  return Promise.resolve(dcap.collateral(p));
};

/** A quote from the up-to-date simulated platform whose report data binds `runtimeData`. */
function simQuote(runtimeData: Uint8Array): Uint8Array {
  const platform = dcap.platform('up-to-date');
  return platform.quote(
    platform.syntheticReportBody({
      reportData: sha256(runtimeData),
      mrEnclave: sha256('jwks enclave'),
      mrSigner: sha256('jwks signer'),
    }),
  );
}

describe('generic JWKS client against /certs', () => {
  let s: Started;
  before(async () => {
    s = await startService({
      simulationMode: true,
      verifier: createDcapEvidenceVerifier({ collateral: simProvider, trustSimulatedRoot: dcap.rootPem }),
    });
  });
  after(() => s.close());

  test('every key carries kty, kid, use, alg, n, e, x5c; n/e are the certificate key', async () => {
    const body = (await (await fetch(`${s.url}/certs`)).json()) as { keys: Record<string, unknown>[] };
    assert.ok(body.keys.length >= 1);
    for (const k of body.keys) {
      assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use', 'x5c']);
      assert.equal(k['kty'], 'RSA');
      assert.equal(k['alg'], 'RS256');
      assert.equal(k['use'], 'sig');
      const cert = new X509Certificate(Buffer.from((k['x5c'] as string[])[0] ?? '', 'base64'));
      const fromCert = cert.publicKey.export({ format: 'jwk' });
      assert.equal(k['n'], fromCert.n);
      assert.equal(k['e'], fromCert.e);
      assert.equal(k['e'], 'AQAB');
      assert.equal(Buffer.from(String(k['n']), 'base64url').length, 256, 'RSA-2048 modulus');
    }
  });

  test('createRemoteJWKSet verifies a token issued for a real quote, and rejects a forged one', async () => {
    const runtime = Buffer.from('relying party nonce');
    const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
      quote: Buffer.from(simQuote(runtime)).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const token = String(res.body['token']);
    const jwks = createRemoteJWKSet(new URL(`${s.url}/certs`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: s.url,
      algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.jku, `${s.url}/certs`);
    assert.equal(payload['x-ms-attestation-type'], 'sgx');
    assert.equal(payload['x-ms-sgx-ehd'], runtime.toString('base64url'));

    // A flipped signature bit must not verify against the same key set.
    const [h, p, sig] = token.split('.') as [string, string, string];
    const raw = Buffer.from(sig, 'base64url');
    raw[0] = (raw[0] ?? 0) ^ 1;
    await assert.rejects(
      jwtVerify(`${h}.${p}.${raw.toString('base64url')}`, jwks, { issuer: s.url, algorithms: ['RS256'] }),
      { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' },
    );
  });

  test('after a key rotation the remote set still verifies tokens from both keys', async () => {
    const attest = async (): Promise<string> => {
      const runtime = Buffer.from('rotation');
      const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
        quote: Buffer.from(simQuote(runtime)).toString('base64url'),
        runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return String(res.body['token']);
    };
    const before = await attest();
    await s.service.keys.rotate();
    const afterRotation = await attest();
    const jwks = createRemoteJWKSet(new URL(`${s.url}/certs`));
    const a = await jwtVerify(before, jwks, { issuer: s.url });
    const b = await jwtVerify(afterRotation, jwks, { issuer: s.url });
    assert.notEqual(a.protectedHeader.kid, b.protectedHeader.kid);
  });
});
