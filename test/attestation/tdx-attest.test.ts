/**
 * `POST /attest/TdxVm` over HTTP with the real DCAP verifier and simulated TD quotes (v4 and v5):
 * the token carries the documented claims (docs/tdx.md §2) and verifies against `/certs`; the
 * runtime-data and init-time-data bindings, a tampered quote, a debug TD, the wrong TEE, an API
 * version without TdxVm, untrusted simulated evidence and a production-mode service are refused
 * with their codes; the TdxVm policy decides (default policy, stored policy deny and permit paths).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, exportJWK, importX509, jwtVerify } from 'jose';
import {
  DEFAULT_TDX_POLICY,
  DEFAULT_TDX_POLICY_SIMULATION,
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
} from '../../src/policy/index.ts';
import { SIM_TD_MRTD, SIM_TDX_MODULE_MRSEAM, SIM_TDX_MODULE_MRSIGNER } from '../../src/sim/index.ts';
import { ADMIN_TOKEN, decodeJwt, postJson, simQuote, unsignedPolicyJws, type Started } from './support.ts';
import { TDX_API, startTdxService, tdBinding, tdQuote, tdQuoteBytes } from './tdx-support.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const MRTD_HEX = hex(SIM_TD_MRTD);

type Target = 'default' | 'debug' | 'untrusting' | 'production';

describe('POST /attest/TdxVm (real verifier, simulated TD quotes)', () => {
  let s: Started;
  let debug: Started;
  let untrusting: Started;
  let production: Started;
  before(async () => {
    [s, debug, untrusting, production] = await Promise.all([
      startTdxService(),
      startTdxService({ allowDebugEnclave: true }),
      startTdxService({ trustSimulatedRoot: false }),
      startTdxService({ simulationMode: false }),
    ]);
  });
  after(async () => {
    await Promise.all([s.close(), debug.close(), untrusting.close(), production.close()]);
  });

  const urlOf = (t: Target): string => ({ default: s, debug, untrusting, production })[t].url;
  const attest = (body: unknown, version = TDX_API, target: Target = 'default', path = 'TdxVm') =>
    postJson(`${urlOf(target)}/attest/${path}?api-version=${version}`, body);

  test('a v4 TD quote gets an RS256 token with the TDX claims, verifiable against /certs', async () => {
    const runtime = Buffer.from(JSON.stringify({ keys: [], purpose: 'tdx test' }));
    const rtmr1 = new Uint8Array(48).fill(0x11);
    const quote = tdQuoteBytes({
      reportData: tdBinding(runtime),
      rtmr: [new Uint8Array(48), rtmr1, new Uint8Array(48), new Uint8Array(48)],
    });
    const res = await attest({
      quote: Buffer.from(quote).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
      nonce: 'tdx-nonce',
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const certs = (await (await fetch(`${s.url}/certs`)).json()) as { keys: Record<string, unknown>[] };
    const keys = await Promise.all(
      certs.keys.map(async (k) => {
        const pem = `-----BEGIN CERTIFICATE-----\n${String((k['x5c'] as string[])[0])}\n-----END CERTIFICATE-----`;
        return { ...(await exportJWK(await importX509(pem, 'RS256'))), kid: String(k['kid']) };
      }),
    );
    const { payload: c } = await jwtVerify(String(res.body['token']), createLocalJWKSet({ keys }), {
      issuer: s.url,
      algorithms: ['RS256'],
    });
    assert.equal(c['x-ms-ver'], '1.0');
    assert.equal(c['x-ms-attestation-type'], 'tdxvm');
    assert.equal(c['x-ccnodes-attestation-type'], 'TdxVm');
    assert.equal(c['eat_profile'], 'https://aka.ms/maa-eat-profile-tdxvm');
    assert.equal(c['dbgstat'], 'disabled-since-boot');
    assert.equal(c['tdx_mrtd'], MRTD_HEX);
    assert.equal(c['tdx_rtmr1'], hex(rtmr1));
    assert.equal(c['tdx_rtmr3'], '00'.repeat(48));
    assert.equal(c['tdx_report_data'], hex(tdBinding(runtime)));
    assert.equal(c['tdx_mrconfigid'], '00'.repeat(48));
    assert.equal(c['tdx_td_attributes'], '0000001000000000');
    assert.equal(c['tdx_td_attributes_debug'], false);
    assert.equal(c['tdx_td_attributes_septve_disable'], true);
    assert.equal(c['tdx_td_attributes_perfmon'], false);
    assert.equal(c['tdx_xfam'], 'e718060000000000');
    assert.equal(c['tdx_seam_attributes'], '0000000000000000');
    assert.equal(c['tdx_tee_tcb_svn'], '05010300000000000000000000000000');
    assert.equal(c['tdx_seamsvn'], 5);
    assert.equal(c['tdx_mrsignerseam'], hex(SIM_TDX_MODULE_MRSIGNER));
    assert.equal(c['tdx_mrseam'], hex(SIM_TDX_MODULE_MRSEAM));
    assert.equal(c['attester_tcb_status'], 'UpToDate');
    assert.equal(c['x-ccnodes-tcb-status'], 'UpToDate');
    assert.deepEqual(c['x-ccnodes-advisory-ids'], []);
    assert.equal(c['x-ccnodes-simulated'], true);
    assert.equal(c['x-ccnodes-tdx-report-version'], '1.0');
    assert.deepEqual(c['x-ms-runtime'], { keys: [], purpose: 'tdx test' });
    assert.equal(c['nonce'], 'tdx-nonce');
    const collateral = c['x-ccnodes-collateral'] as Record<string, string>;
    assert.equal(collateral['quotehash'], createHash('sha256').update(quote).digest('hex'));
    assert.equal(Object.keys(collateral).length, 7);
    // SGX claims and the SGX legacy duplicates are not in a TDX token.
    for (const name of ['x-ms-sgx-mrenclave', 'x-ms-sgx-is-debuggable', 'maa-attestationcollateral'])
      assert.equal(c[name], undefined, name);
  });

  test('a v5 TD quote (TD report 1.5) attests with api-version 2023-04-01-preview', async () => {
    const res = await attest({ quote: tdQuote({}, { version: 5 }) }, '2023-04-01-preview');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const c = decodeJwt(String(res.body['token'])).payload;
    assert.equal(c['x-ccnodes-tdx-report-version'], '1.5');
    assert.equal(c['x-ccnodes-tdx-mrservicetd'], '00'.repeat(48));
    assert.equal(c['tdx_mrtd'], MRTD_HEX);
  });

  test('the platform preset decides the TCB status claim (SWHardeningNeeded with its advisory)', async () => {
    const res = await attest({ quote: tdQuote({}, { platform: 'sw-hardening-needed' }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const c = decodeJwt(String(res.body['token'])).payload;
    assert.equal(c['attester_tcb_status'], 'SWHardeningNeeded');
    assert.deepEqual(c['x-ccnodes-advisory-ids'], ['CCNODES-SIM-SA-00001']);
  });

  test('initTimeData is bound to MRCONFIGID by SHA-384', async () => {
    const init = Buffer.from(JSON.stringify({ config: 'td' }));
    const mrConfigId = new Uint8Array(createHash('sha384').update(init).digest());
    const ok = await attest({
      quote: tdQuote({ mrConfigId }),
      initTimeData: { data: init.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(decodeJwt(String(ok.body['token'])).payload['x-ms-inittime'], { config: 'td' });
  });

  const flipped = (offset: number): string => {
    const q = tdQuoteBytes({ reportData: tdBinding('k') });
    q[offset] = (q[offset] ?? 0) ^ 0x01;
    return Buffer.from(q).toString('base64url');
  };

  const rejections: {
    name: string;
    body: Record<string, unknown>;
    code: string;
    version?: string;
    target?: Target;
    path?: string;
  }[] = [
    {
      name: 'no quote',
      body: { runtimeData: { data: 'AAAA', dataType: 'Binary' } },
      code: 'ERR_ATTEST_BAD_REQUEST',
    },
    {
      name: 'a quote that is not a DCAP quote',
      body: { quote: Buffer.from('not a quote at all').toString('base64url') },
      code: 'ERR_FORMAT_TRUNCATED',
    },
    {
      name: 'runtime data not bound by REPORTDATA (wrong report data)',
      body: {
        quote: tdQuote({ reportData: tdBinding('another key') }),
        runtimeData: { data: Buffer.from('my key').toString('base64url'), dataType: 'Binary' },
      },
      code: 'ERR_ATTEST_REPORT_DATA_MISMATCH',
    },
    {
      name: 'initTimeData not bound to MRCONFIGID',
      body: { quote: tdQuote(), initTimeData: { data: 'AAAA', dataType: 'Binary' } },
      code: 'ERR_ATTEST_INIT_DATA_MISMATCH',
    },
    {
      name: 'tampered TD report body (MRTD byte flipped after signing)',
      body: { quote: flipped(48 + 136) },
      code: 'ERR_VERIFY_QUOTE_SIGNATURE',
    },
    {
      name: 'debug TD',
      body: { quote: tdQuote({ debug: true }) },
      code: 'ERR_VERIFY_DEBUG_ENCLAVE',
    },
    {
      name: 'an SGX quote at /attest/TdxVm',
      body: { quote: simQuote() },
      code: 'ERR_ATTEST_UNSUPPORTED_TEE',
    },
    {
      name: 'a TDX quote at /attest/SgxEnclave',
      body: { quote: tdQuote() },
      code: 'ERR_ATTEST_UNSUPPORTED_TEE',
      path: 'SgxEnclave',
    },
    {
      name: 'an API version without TdxVm',
      body: { quote: tdQuote() },
      version: '2022-08-01',
      code: 'ERR_ATTEST_BAD_API_VERSION',
    },
    {
      name: 'simulated TD evidence without trust in the simulated root',
      body: { quote: tdQuote() },
      target: 'untrusting',
      code: 'ERR_VERIFY_SIMULATED_ROOT',
    },
    {
      name: 'simulated TD evidence in a production-mode service',
      body: { quote: tdQuote() },
      target: 'production',
      code: 'ERR_ATTEST_EVIDENCE_REJECTED',
    },
    {
      name: 'TCB below the baseline (OutOfDate platform)',
      body: { quote: tdQuote({}, { platform: 'out-of-date' }) },
      code: 'ERR_ATTEST_TCB_REJECTED',
    },
    {
      name: 'a revoked PCK',
      body: { quote: tdQuote({}, { platform: 'revoked-pck' }) },
      code: 'ERR_VERIFY_PCK_REVOKED',
    },
  ];
  for (const c of rejections) {
    test(`rejects: ${c.name} (${c.code})`, async () => {
      const res = await attest(c.body, c.version ?? TDX_API, c.target ?? 'default', c.path ?? 'TdxVm');
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-ccnodes-error-code'), c.code, JSON.stringify(res.body));
      assert.equal(res.body['token'], undefined);
    });
  }

  test('a debug TD reaches the policy only with the debug relaxation, and says so', async () => {
    const res = await attest({ quote: tdQuote({ debug: true }) }, TDX_API, 'debug');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const c = decodeJwt(String(res.body['token'])).payload;
    assert.equal(c['tdx_td_attributes_debug'], true);
    assert.equal(c['dbgstat'], 'enabled');
    assert.deepEqual(c['x-ccnodes-relaxations'], ['dangerous.allowDebugEnclave']);
  });
});

describe('TdxVm policies', () => {
  let s: Started;
  before(async () => {
    s = await startTdxService();
  });
  after(() => s.close());

  const policyUrl = (): string => `${s.url}/policies/TdxVm?api-version=${TDX_API}`;
  const setPolicy = async (text: string): Promise<number> => {
    const res = await fetch(policyUrl(), {
      method: 'PUT',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: unsignedPolicyJws(text),
    });
    await res.arrayBuffer();
    return res.status;
  };
  const attest = (quote: string) => postJson(`${s.url}/attest/TdxVm?api-version=${TDX_API}`, { quote });

  test('the production default TdxVm policy denies simulated evidence and permits the rest', () => {
    const policy = parsePolicy(DEFAULT_TDX_POLICY);
    const run = (simulated: unknown) =>
      evaluatePolicy(policy, claimsFromObject({ 'x-ccnodes-simulated': simulated, tdx_mrtd: MRTD_HEX }));
    assert.equal(run(true).permitted, false);
    assert.equal(run('true').permitted, false, 'a mistyped value fails closed');
    assert.equal(run(false).permitted, true);
    assert.equal(
      evaluatePolicy(
        parsePolicy(DEFAULT_TDX_POLICY_SIMULATION),
        claimsFromObject({ 'x-ccnodes-simulated': true }),
      ).permitted,
      true,
    );
  });

  test('GET /policies/TdxVm answers with the TdxVm default policy', async () => {
    const res = await fetch(policyUrl());
    assert.equal(res.status, 200);
    const body = (await res.json()) as { token: string };
    const policy = decodeJwt(body.token).payload['x-ms-policy'] as string;
    const encoded = decodeJwt(policy).payload['AttestationPolicy'];
    assert.equal(typeof encoded, 'string');
    const text = Buffer.from(encoded as string, 'base64url').toString('utf8');
    assert.equal(text, DEFAULT_TDX_POLICY_SIMULATION);
  });

  test('a stored TdxVm policy denies TDs with another MRTD and permits the expected one', async () => {
    const expected = MRTD_HEX;
    const policy = `version=1.0;
authorizationrules {
  [type=="tdx_mrtd", value=="${expected}"] && [type=="tdx_td_attributes_debug", value==false] => permit();
};
issuancerules {
  c:[type=="tdx_mrtd"] => issue(type="td-measurement", value=c.value);
};`;
    assert.equal(await setPolicy(policy), 200);
    const denied = await attest(tdQuote({ mrTd: new Uint8Array(48).fill(0xee) }));
    assert.equal(denied.status, 400, JSON.stringify(denied.body));
    assert.equal(denied.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_POLICY_DENIED');
    const permitted = await attest(tdQuote());
    assert.equal(permitted.status, 200, JSON.stringify(permitted.body));
    const c = decodeJwt(String(permitted.body['token'])).payload;
    assert.equal(c['td-measurement'], expected);
    // The SgxEnclave policy is untouched by the TdxVm one.
    const sgx = await postJson(`${s.url}/attest/SgxEnclave?api-version=${TDX_API}`, { quote: simQuote() });
    assert.equal(sgx.status, 200, JSON.stringify(sgx.body));
    // POST /policies/TdxVm:reset brings the default back: the other MRTD is permitted again.
    const reset = await fetch(`${s.url}/policies/TdxVm:reset?api-version=${TDX_API}`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: `${Buffer.from('{"alg":"none"}').toString('base64url')}..`,
    });
    assert.equal(reset.status, 200, await reset.text());
    const again = await attest(tdQuote({ mrTd: new Uint8Array(48).fill(0xee) }));
    assert.equal(again.status, 200, JSON.stringify(again.body));
  });
});
