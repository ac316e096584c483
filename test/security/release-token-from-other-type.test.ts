/**
 * Attack: `POST /ccnodes/v1/secrets/{name}/release` accepted a token from `/attest/OpenEnclave` —
 * the same SGX quote wrapped in the OE report header, judged by the separate (default, permissive)
 * OpenEnclave policy — although the SgxEnclave policy denies that enclave. Now tokens record the
 * policy they were issued under (`x-ccnodes-attestation-type` + `x-ms-policy-hash`) and a release
 * policy accepts only the types it states (default: the type the secret was stored for, SgxEnclave)
 * and, when it lists them, only the policy hashes it names.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compactDecrypt } from 'jose';
import {
  MRENCLAVE,
  bindingFor,
  decodeJwt,
  simQuote,
  simQuoteBytes,
  type Started,
  startService,
} from '../attestation/support.ts';
import {
  attest,
  enclaveRuntime,
  oeReport,
  putPolicyAsAdmin,
  putSecret,
  releaseSecret,
} from './policy-support.ts';

const DENY_OUR_ENCLAVE = `version=1.0; authorizationrules { [type=="x-ms-sgx-mrenclave", value=="${MRENCLAVE}"] => deny(); => permit(); }; issuancerules {};`;
const PERMIT_ALL = 'version=1.0; authorizationrules { => permit(); }; issuancerules {};';
const releasePolicy = { anyOf: [{ allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE }] }] };

describe('secret release: a token issued under another attestation type than the secret accepts', () => {
  let s: Started;
  let enclave: Awaited<ReturnType<typeof enclaveRuntime>>;
  const runtimeData = (): Record<string, unknown> => ({
    data: enclave.runtime.toString('base64url'),
    dataType: 'JSON',
  });
  const oeToken = async (): Promise<string> => {
    const quote = simQuoteBytes({ reportData: bindingFor(enclave.runtime) });
    const r = await attest(s.url, 'OpenEnclave', {
      report: Buffer.from(oeReport(quote)).toString('base64url'),
      runtimeData: runtimeData(),
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return String(r.body['token']);
  };
  const sgxAttest = () =>
    attest(s.url, 'SgxEnclave', {
      quote: simQuote({ reportData: bindingFor(enclave.runtime) }),
      runtimeData: runtimeData(),
    });

  before(async () => {
    s = await startService();
    enclave = await enclaveRuntime();
    assert.equal((await putPolicyAsAdmin(s.url, 'SgxEnclave', DENY_OUR_ENCLAVE)).status, 200);
    assert.equal((await putSecret(s.url, 'sgx-only', releasePolicy)).status, 201);
  });
  after(() => s.close());

  test('the SgxEnclave policy denies the enclave; its OpenEnclave token does not release the secret', async () => {
    const denied = await sgxAttest();
    assert.equal(denied.code, 'ERR_ATTEST_POLICY_DENIED');
    const token = await oeToken();
    assert.equal(decodeJwt(token).payload['x-ccnodes-attestation-type'], 'OpenEnclave');
    const r = await releaseSecret(s.url, 'sgx-only', { token });
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.code, 'ERR_SECRET_ATTESTATION_TYPE');
  });

  test('the stored release policy states the type it accepts (the default: SgxEnclave)', async () => {
    const list = await fetch(`${s.url}/ccnodes/v1/secrets`, {
      headers: { authorization: 'Bearer admin-secret-token-for-tests' },
    });
    const { secrets } = (await list.json()) as { secrets: { name: string; releasePolicy: unknown }[] };
    const stored = secrets.find((x) => x.name === 'sgx-only')?.releasePolicy as Record<string, unknown>;
    assert.deepEqual(stored['attestationTypes'], ['SgxEnclave']);
  });

  test('a secret stored for OpenEnclave is released to the OpenEnclave token, and opens', async () => {
    assert.equal(
      (await putSecret(s.url, 'oe', releasePolicy, { attestationType: 'OpenEnclave' })).status,
      201,
    );
    const r = await releaseSecret(s.url, 'oe', { token: await oeToken() });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const { plaintext } = await compactDecrypt(String(r.body['jwe']), enclave.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), 'value of oe');
  });

  test('policyHashes: only tokens issued under a named policy release the secret', async () => {
    assert.equal((await putPolicyAsAdmin(s.url, 'SgxEnclave', PERMIT_ALL)).status, 200);
    const sgx = await sgxAttest();
    assert.equal(sgx.status, 200, JSON.stringify(sgx.body));
    const token = String(sgx.body['token']);
    const hash = String(decodeJwt(token).payload['x-ms-policy-hash']);
    assert.equal(
      (await putSecret(s.url, 'pinned', { ...releasePolicy, policyHashes: ['not-the-policy-hash'] })).status,
      201,
    );
    const wrong = await releaseSecret(s.url, 'pinned', { token });
    assert.equal(wrong.code, 'ERR_SECRET_POLICY_HASH');
    assert.equal((await putSecret(s.url, 'pinned', { ...releasePolicy, policyHashes: [hash] })).status, 201);
    assert.equal((await releaseSecret(s.url, 'pinned', { token })).status, 200);
    // The SgxEnclave token is refused by a secret that accepts only OpenEnclave.
    assert.equal((await releaseSecret(s.url, 'oe', { token })).code, 'ERR_SECRET_ATTESTATION_TYPE');
  });

  test('bad attestationTypes / policyHashes / attestationType are refused when the secret is stored', async () => {
    const cases: [Record<string, unknown>, Record<string, unknown>][] = [
      [{ ...releasePolicy, attestationTypes: [] }, {}],
      [{ ...releasePolicy, attestationTypes: ['Tpm'] }, {}],
      [{ ...releasePolicy, policyHashes: 'abc' }, {}],
      [{ anyOf: [{ ...releasePolicy.anyOf[0], attestationTypes: ['OpenEnclave'] }] }, {}],
      [releasePolicy, { attestationType: 'SevSnpVm' }],
      [{ ...releasePolicy, attestationTypes: ['SgxEnclave'] }, { attestationType: 'OpenEnclave' }],
    ];
    for (const [policy, extra] of cases) {
      const r = await putSecret(s.url, 'bad', policy, extra);
      assert.equal(r.status, 400, JSON.stringify({ policy, extra }));
      assert.equal(r.code, 'ERR_SECRET_RELEASE_POLICY');
    }
  });
});
