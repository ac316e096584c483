/**
 * End to end with real simulated quotes, the real DCAP verifier, and Microsoft's
 * `@azure/attestation` SDK as the client against a service on 127.0.0.1 (spec/maa.md §4):
 * attestation (the SDK validates our tokens with /certs), signers, OpenID metadata, policy get/set/
 * reset, policy management certificates (isolated mode), plus `jose` as a strict verifier.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AttestationAdministrationClient, AttestationClient } from '@azure/attestation';
import { createLocalJWKSet, exportJWK, importX509, jwtVerify } from 'jose';
import { createSimDcap, type SimDcap } from '../../src/sim/index.ts';
import { emptyReportBody, type ReportBodyInit } from '../../src/core/index.ts';
import { createDcapEvidenceVerifier, type CollateralProvider } from '../../src/attestation/index.ts';
import { ADMIN_TOKEN, decodeJwt, postJson, selfSignedPem, startService, type Started } from './support.ts';

const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

export function simProvider(dcap: SimDcap): CollateralProvider {
  return (req) => {
    const p = dcap.platforms.find(
      (x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca,
    );
    if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}`));
    return Promise.resolve(dcap.collateral(p));
  };
}

/** A quote from the up-to-date simulated platform binding `runtimeData` (and optional CONFIGID). */
export function simQuote(
  dcap: SimDcap,
  runtimeData: Uint8Array,
  opts: { debug?: boolean; configId?: Uint8Array; platform?: string } = {},
): Uint8Array {
  const platform = dcap.platform(opts.platform ?? 'up-to-date');
  const body: ReportBodyInit = platform.syntheticReportBody({
    reportData: sha256(runtimeData),
    mrEnclave: sha256('e2e enclave'),
    mrSigner: sha256('e2e signer'),
    isvProdId: 7,
    isvSvn: 3,
    ...(opts.debug === undefined ? {} : { debug: opts.debug }),
  });
  const withConfig =
    opts.configId === undefined ? body : emptyReportBody({ ...body, configId: opts.configId });
  return platform.quote(withConfig);
}

const dcap = createSimDcap({ seed: 'attestation-sdk-e2e' });

describe('@azure/attestation SDK against the service (simulated quotes, real verifier)', () => {
  let s: Started;
  before(async () => {
    s = await startService({
      simulationMode: true,
      // Debug enclaves pass verification (a named relaxation) so that the policy decides about them.
      verifier: createDcapEvidenceVerifier({
        collateral: simProvider(dcap),
        trustSimulatedRoot: dcap.rootPem,
        dangerous: { allowDebugEnclave: true },
      }),
    });
  });
  after(() => s.close());

  test('attestSgxEnclave: the SDK validates our token and maps the SGX claims', async () => {
    const client = new AttestationClient(s.url, { allowInsecureConnection: true });
    const runtime = Buffer.from('enclave public key bytes');
    const res = await client.attestSgxEnclave(simQuote(dcap, runtime), { runTimeData: runtime });
    assert.equal(res.body.mrEnclave, sha256('e2e enclave').toString('hex'));
    assert.equal(res.body.mrSigner, sha256('e2e signer').toString('hex'));
    assert.equal(res.body.productId, 7);
    assert.equal(res.body.svn, 3);
    assert.equal(res.body.isDebuggable, false);
    assert.equal(res.body.issuer, s.url);
    assert.deepEqual(Buffer.from(res.body.enclaveHeldData ?? new Uint8Array()), runtime);
    const claims = decodeJwt(res.token.serialize()).payload;
    assert.equal(claims['x-ccnodes-simulated'], true);
    assert.equal(claims['x-ccnodes-tcb-status'], 'UpToDate');
    assert.equal(
      claims['x-ms-sgx-report-data'],
      Buffer.concat([sha256(runtime), Buffer.alloc(32)]).toString('hex'),
    );
  });

  test('attestSgxEnclave with runTimeJson and initTimeData (CONFIGID binding), draft policy', async () => {
    const client = new AttestationClient(s.url, { allowInsecureConnection: true });
    const runtime = Buffer.from(JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }));
    const init = Buffer.from('init time data');
    const configId = new Uint8Array(64);
    configId.set(sha256(init));
    const res = await client.attestSgxEnclave(simQuote(dcap, runtime, { configId }), {
      runTimeJson: runtime,
      initTimeData: init,
    });
    assert.deepEqual(res.body.runTimeClaims, { keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] });
    const claims = decodeJwt(res.token.serialize()).payload;
    assert.equal(claims['x-ms-sgx-config-id'], Buffer.from(configId).toString('hex'));
    const draft = await client.attestSgxEnclave(simQuote(dcap, runtime), {
      runTimeJson: runtime,
      draftPolicyForAttestation: 'version=1.0; authorizationrules{=> permit();}; issuancerules{};',
    });
    assert.equal(decodeJwt(draft.token.serialize()).header['alg'], 'none');
  });

  test('attestOpenEnclave: OE report header around a simulated quote', async () => {
    const client = new AttestationClient(s.url, { allowInsecureConnection: true });
    const runtime = Buffer.from('oe runtime');
    const quote = simQuote(dcap, runtime);
    const header = Buffer.alloc(16);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(2, 4);
    header.writeBigUInt64LE(BigInt(quote.length), 8);
    const res = await client.attestOpenEnclave(Buffer.concat([header, quote]), { runTimeData: runtime });
    assert.equal(res.body.mrEnclave, sha256('e2e enclave').toString('hex'));
  });

  test('getAttestationSigners and getOpenIdMetadata', async () => {
    const client = new AttestationClient(s.url, { allowInsecureConnection: true });
    const signers = await client.getAttestationSigners();
    assert.ok(signers.length >= 1);
    assert.match(signers[0]?.certificates[0] ?? '', /BEGIN CERTIFICATE/);
    const meta = await client.getOpenIdMetadata();
    assert.equal(meta['jwks_uri'], `${s.url}/certs`);
  });

  test('jose as a strict verifier of a token signed for simulated evidence', async () => {
    const runtime = Buffer.from('jose');
    const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
      quote: Buffer.from(simQuote(dcap, runtime)).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
      nonce: 'abc',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const certs = (await (await fetch(`${s.url}/certs`)).json()) as {
      keys: { kid: string; x5c: string[] }[];
    };
    const keys = await Promise.all(
      certs.keys.map(async (k) => ({
        ...(await exportJWK(
          await importX509(
            `-----BEGIN CERTIFICATE-----\n${k.x5c[0] ?? ''}\n-----END CERTIFICATE-----`,
            'RS256',
          ),
        )),
        kid: k.kid,
      })),
    );
    const { payload } = await jwtVerify(String(res.body['token']), createLocalJWKSet({ keys }), {
      issuer: s.url,
      algorithms: ['RS256'],
      typ: 'JWT',
    });
    assert.equal(payload['nonce'], 'abc');
  });

  const negatives: { name: string; quote: () => Uint8Array; runtime?: Buffer; code: string }[] = [
    {
      name: 'tampered quote (a report-body byte flipped)',
      quote: () => {
        const q = simQuote(dcap, Buffer.from('x'));
        q[48 + 100] = (q[48 + 100] ?? 0) ^ 1;
        return q;
      },
      runtime: Buffer.from('x'),
      code: 'ERR_VERIFY_',
    },
    {
      name: 'runtime data not bound',
      quote: () => simQuote(dcap, Buffer.from('a')),
      runtime: Buffer.from('b'),
      code: 'ERR_ATTEST_REPORT_DATA_MISMATCH',
    },
    { name: 'truncated quote', quote: () => simQuote(dcap, Buffer.from('x')).subarray(0, 200), code: 'ERR_' },
    {
      name: 'revoked platform TCB',
      quote: () => simQuote(dcap, Buffer.from('x'), { platform: 'revoked' }),
      code: 'ERR_ATTEST_TCB_REJECTED',
    },
    {
      name: 'out-of-date platform TCB (opt-in only)',
      quote: () => simQuote(dcap, Buffer.from('x'), { platform: 'out-of-date' }),
      code: 'ERR_ATTEST_TCB_REJECTED',
    },
  ];
  for (const n of negatives) {
    test(`rejects through HTTP: ${n.name}`, async () => {
      const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
        quote: Buffer.from(n.quote()).toString('base64url'),
        ...(n.runtime === undefined
          ? {}
          : { runtimeData: { data: n.runtime.toString('base64url'), dataType: 'Binary' } }),
      });
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal((res.body['error'] as Record<string, string>)['code'], 'InvalidParameter');
      assert.ok(
        String(res.headers.get('x-ccnodes-error-code')).startsWith(n.code),
        String(res.headers.get('x-ccnodes-error-code')),
      );
    });
  }

  test('SDK surfaces our errors as RestError with MAA code and status', async () => {
    const client = new AttestationClient(s.url, { allowInsecureConnection: true });
    await assert.rejects(
      client.attestSgxEnclave(simQuote(dcap, Buffer.from('a')), { runTimeData: Buffer.from('b') }),
      (e: unknown) => {
        const err = e as { statusCode?: number; code?: string };
        assert.equal(err.statusCode, 400);
        assert.equal(err.code, 'InvalidParameter');
        return true;
      },
    );
  });

  test('policy: SDK getPolicy works anonymously; setPolicy without the admin credential is 401', async () => {
    const admin = new AttestationAdministrationClient(s.url, undefined as never, {
      allowInsecureConnection: true,
    });
    const current = await admin.getPolicy('SgxEnclave');
    assert.match(current.body, /authorizationrules/);
    await assert.rejects(
      admin.setPolicy('SgxEnclave', 'version=1.0; authorizationrules{=>permit();}; issuancerules{};'),
      (e: unknown) => {
        assert.equal((e as { statusCode?: number }).statusCode, 401);
        assert.equal((e as { code?: string }).code, 'Unauthorized');
        return true;
      },
    );
  });

  test('policy via HTTP with the admin bearer: set (hash checked), deny debug enclaves, reset', async () => {
    const policy =
      'version=1.0; authorizationrules { [type=="x-ms-sgx-is-debuggable", value==true] => deny(); => permit(); }; issuancerules { c:[type=="x-ms-sgx-svn"] => issue(type="custom-svn", value=c.value); };';
    const jws = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(policy).toString('base64url') })).toString('base64url')}.`;
    const put = (auth: string) =>
      fetch(`${s.url}/policies/SgxEnclave?api-version=2020-10-01`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', authorization: auth },
        body: jws,
      });
    assert.equal((await put('Bearer wrong')).status, 401);
    const ok = await put(`Bearer ${ADMIN_TOKEN}`);
    assert.equal(ok.status, 200);
    const result = decodeJwt(((await ok.json()) as { token: string }).token).payload;
    assert.equal(result['x-ms-policy-result'], 'Updated');
    assert.equal(result['x-ms-policy-token-hash'], sha256(jws).toString('base64url'));

    const attest = (debug: boolean) =>
      postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
        quote: Buffer.from(simQuote(dcap, Buffer.from(''), { debug })).toString('base64url'),
      });
    const denied = await attest(true);
    assert.equal(denied.status, 400);
    assert.equal((denied.body['error'] as Record<string, string>)['code'], 'PolicyEvaluationError');
    const allowed = await attest(false);
    assert.equal(allowed.status, 200);
    assert.equal(decodeJwt(String(allowed.body['token'])).payload['x-ccnodes-relaxations'], undefined);
    assert.equal(decodeJwt(String(allowed.body['token'])).payload['custom-svn'], 3);

    const reset = await fetch(`${s.url}/policies/SgxEnclave:reset?api-version=2020-10-01`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: 'eyJhbGciOiJub25lIn0..',
    });
    assert.equal(reset.status, 200);
    assert.equal(
      decodeJwt(((await reset.json()) as { token: string }).token).payload['x-ms-policy-result'],
      'Removed',
    );
    const debugOk = await attest(true);
    assert.equal(debugOk.status, 200, 'default simulation policy permits debug enclaves again');
    assert.ok(
      JSON.stringify(decodeJwt(String(debugOk.body['token'])).payload['x-ccnodes-relaxations']).includes(
        'ebug',
      ),
    );
  });

  test('a policy with a syntax error is refused with PolicyParsingError and a position', async () => {
    const jws = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from('version=1.0;\nauthorizationrules {\n => permit()\n};').toString('base64url') })).toString('base64url')}.`;
    const res = await fetch(`${s.url}/policies/SgxEnclave?api-version=2020-10-01`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: jws,
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'PolicyParsingError');
    assert.match(body.error.message, /\d+:\d+/);
  });
});

describe('service without --trust-simulated-root', () => {
  let s: Started;
  before(async () => {
    s = await startService({
      simulationMode: false,
      verifier: createDcapEvidenceVerifier({ collateral: simProvider(dcap) }),
    });
  });
  after(() => s.close());

  test('refuses simulated evidence (ERR_VERIFY_SIMULATED_ROOT as InvalidParameter)', async () => {
    const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
      quote: Buffer.from(simQuote(dcap, Buffer.from(''))).toString('base64url'),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_VERIFY_SIMULATED_ROOT');
  });
});

describe('isolated mode: signed policies and policy management certificates through the SDK', () => {
  let s: Started;
  let signer: Awaited<ReturnType<typeof selfSignedPem>>;
  let other: Awaited<ReturnType<typeof selfSignedPem>>;
  before(async () => {
    signer = await selfSignedPem({ cn: 'policy signer 1' });
    other = await selfSignedPem({ cn: 'policy signer 2' });
    s = await startService({
      simulationMode: true,
      isolated: true,
      policySignerCerts: [signer.certDer],
      verifier: createDcapEvidenceVerifier({
        collateral: simProvider(dcap),
        trustSimulatedRoot: dcap.rootPem,
      }),
    });
  });
  after(() => s.close());

  test('unsigned setPolicy is refused; signed by a registered cert is accepted; signed by another is refused', async () => {
    const admin = new AttestationAdministrationClient(s.url, undefined as never, {
      allowInsecureConnection: true,
    });
    const text =
      'version=1.0; authorizationrules{=>permit();}; issuancerules{ => issue(type="isolated", value=true); };';
    await assert.rejects(
      admin.setPolicy('SgxEnclave', text),
      (e: unknown) => (e as { code?: string }).code === 'InvalidOperation',
    );
    const ok = await admin.setPolicy('SgxEnclave', text, {
      privateKey: signer.keyPem,
      certificate: signer.certPem,
    });
    assert.equal(ok.body.policyResolution, 'Updated');
    assert.ok(ok.body.policySigner?.certificates[0]?.includes('BEGIN CERTIFICATE'));
    await assert.rejects(
      admin.setPolicy('SgxEnclave', text, { privateKey: other.keyPem, certificate: other.certPem }),
      (e: unknown) => (e as { statusCode?: number }).statusCode === 400,
    );
    const got = await admin.getPolicy('SgxEnclave');
    assert.equal(got.body, text);
    const reset = await admin.resetPolicy('SgxEnclave', {
      privateKey: signer.keyPem,
      certificate: signer.certPem,
    });
    assert.equal(reset.body.policyResolution, 'Removed');
  });

  test('policy management certificates: list, add, remove, refuse removing the last', async () => {
    const admin = new AttestationAdministrationClient(s.url, undefined as never, {
      allowInsecureConnection: true,
    });
    const list = await admin.getPolicyManagementCertificates();
    assert.equal(list.body.length, 1);
    const added = await admin.addPolicyManagementCertificate(other.certPem, signer.keyPem, signer.certPem);
    assert.equal(added.body.certificateResolution, 'IsPresent');
    assert.equal(
      added.body.certificateThumbprint.toLowerCase(),
      createHash('sha1').update(other.certDer).digest('hex'),
    );
    assert.equal((await admin.getPolicyManagementCertificates()).body.length, 2);
    const removed = await admin.removePolicyManagementCertificate(
      signer.certPem,
      other.keyPem,
      other.certPem,
    );
    assert.equal(removed.body.certificateResolution, 'IsAbsent');
    await assert.rejects(
      admin.removePolicyManagementCertificate(other.certPem, other.keyPem, other.certPem),
      (e: unknown) => (e as { code?: string }).code === 'InvalidOperation',
    );
    await assert.rejects(
      admin.addPolicyManagementCertificate(signer.certPem, signer.keyPem, signer.certPem),
      (e: unknown) => (e as { statusCode?: number }).statusCode === 400,
      'the removed signer can no longer authorize changes',
    );
  });
});
