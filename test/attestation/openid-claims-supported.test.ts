/**
 * `claims_supported` of `/.well-known/openid-configuration` names every claim an attestation token
 * of this service can carry under the default policy: the JWT's own (`iss`, `iat`, `nbf`, `exp`,
 * `jti`), the request's `nonce`, the service claims (MAA's `x-ms-*`, ours `x-ccnodes-*`, the
 * legacy duplicates) and the default policy's issued claims. Claims that a custom policy's issuance
 * rules add are the policy's, not the service's, and are not listed. Checked against real tokens
 * that exercise every optional claim: KSS fields, runtime and init-time JSON, nonce, a relaxation
 * (debug enclave allowed), the SgxEnclave, OpenEnclave and TdxVm types, and a signed policy
 * (isolated mode).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DEFAULT_SGX_POLICY_SIMULATION } from '../../src/policy/index.ts';
import {
  newSigner,
  oeReport,
  policyPayload,
  putPolicy,
  signedJws,
  startIsolated,
} from '../security/policy-support.ts';
import {
  decodeJwt,
  postJson,
  simQuote,
  simQuoteBytes,
  startService,
  testDcap,
  type Started,
} from './support.ts';

/**
 * Listed for parity with Microsoft Azure Attestation's metadata (its TPM/VBS claims); never issued
 * by this service, which attests SGX enclaves only.
 */
const MAA_ONLY = ['device_id', 'component_0_id', 'expected_components'];

const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest();

/**
 * An attest body with every optional input: runtime and init-time JSON (bound), a nonce, KSS; for
 * TdxVm a v5 TD quote (TD report 1.5) binding them in REPORTDATA and MRCONFIGID.
 */
function fullRequest(kind: 'SgxEnclave' | 'OpenEnclave' | 'TdxVm'): Record<string, unknown> {
  const runtime = Buffer.from(JSON.stringify({ keys: [], purpose: 'claims test' }));
  const init = Buffer.from(JSON.stringify({ config: 'claims test' }));
  if (kind === 'TdxVm') {
    const reportData = new Uint8Array(64);
    reportData.set(sha256(runtime));
    const td = testDcap()
      .tdx('up-to-date')
      .quote(
        { reportData, mrConfigId: createHash('sha384').update(init).digest(), debug: true },
        { version: 5 },
      );
    return {
      quote: Buffer.from(td).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
      initTimeData: { data: init.toString('base64url'), dataType: 'JSON' },
      nonce: 'claims-test-nonce',
    };
  }
  const quote = simQuoteBytes({
    reportData: sha256(runtime).toString('hex'),
    configId: sha256(init).toString('hex'),
    debug: true,
  });
  const evidence =
    kind === 'OpenEnclave'
      ? { report: Buffer.from(oeReport(quote)).toString('base64url') }
      : { quote: Buffer.from(quote).toString('base64url') };
  return {
    ...evidence,
    runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    initTimeData: { data: init.toString('base64url'), dataType: 'JSON' },
    nonce: 'claims-test-nonce',
  };
}

async function claimsSupported(url: string): Promise<string[]> {
  const meta = (await (await fetch(`${url}/.well-known/openid-configuration`)).json()) as {
    claims_supported: string[];
  };
  return meta.claims_supported;
}

async function tokenClaims(url: string, kind: string, body: unknown): Promise<Record<string, unknown>> {
  const version = kind === 'TdxVm' ? '2025-06-01' : '2022-08-01';
  const res = await postJson(`${url}/attest/${kind}?api-version=${version}`, body);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return decodeJwt((res.body as { token: string }).token).payload;
}

describe('OpenID metadata claims_supported against real attestation tokens', () => {
  let s: Started;
  before(async () => {
    s = await startService({ sim: { allowDebugEnclave: true } });
  });
  after(() => s.close());

  test('every claim of a default-policy token (both types, every optional input) is listed, and every listed claim is issued', async () => {
    const supported = await claimsSupported(s.url);
    assert.equal(new Set(supported).size, supported.length, 'no duplicates');
    const seen = new Set<string>();
    for (const kind of ['SgxEnclave', 'OpenEnclave', 'TdxVm'] as const) {
      const claims = await tokenClaims(s.url, kind, fullRequest(kind));
      // The inputs did reach the token (otherwise the comparison would prove less).
      for (const name of [
        'nonce',
        kind === 'TdxVm' ? 'x-ccnodes-tdx-mrservicetd' : 'x-ms-sgx-config-id',
        'x-ms-inittime',
        'x-ms-runtime',
        'x-ccnodes-relaxations',
      ])
        assert.ok(name in claims, `${kind} token carries ${name}`);
      assert.equal(claims['x-ccnodes-attestation-type'], kind);
      assert.equal(claims['x-ccnodes-token-purpose'], 'attestation');
      for (const name of Object.keys(claims)) {
        seen.add(name);
        assert.ok(supported.includes(name), `${kind} token claim ${name} is missing from claims_supported`);
      }
    }
    // A plain request (no optional inputs) adds nothing new but must be covered too.
    for (const name of Object.keys(await tokenClaims(s.url, 'SgxEnclave', { quote: simQuote() }))) {
      seen.add(name);
      assert.ok(supported.includes(name), `claim ${name} is missing from claims_supported`);
    }

    // The other direction: nothing listed is stale, except the signer claim of isolated mode
    // (next test) and the MAA-only names.
    const unissued = supported.filter((n) => !seen.has(n) && !MAA_ONLY.includes(n));
    assert.deepEqual(unissued, ['x-ms-policy-signer']);
  });

  test('a token issued under a signed policy (isolated mode) carries x-ms-policy-signer, which is listed', async () => {
    const signer = await newSigner('claims_supported signer');
    const iso = await startIsolated([signer]);
    try {
      const put = await putPolicy(
        iso.url,
        'SgxEnclave',
        await signedJws(signer, policyPayload(DEFAULT_SGX_POLICY_SIMULATION)),
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const supported = await claimsSupported(iso.url);
      const claims = await tokenClaims(iso.url, 'SgxEnclave', { quote: simQuote() });
      assert.ok('x-ms-policy-signer' in claims);
      for (const name of Object.keys(claims))
        assert.ok(supported.includes(name), `claim ${name} is missing from claims_supported`);
    } finally {
      await iso.close();
    }
  });
});
