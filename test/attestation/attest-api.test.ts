/**
 * The MAA attest endpoints over HTTP with the real DCAP verifier and real quotes from simulated
 * platforms (support.ts): request decoding, report-data binding, policy, token shape (including the
 * `x-ms-sgx-collateral` hash values), and every request-level error path, each through the
 * verifier/pipeline step that really produces it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  ADMIN_TOKEN,
  ISV_PROD_ID,
  ISV_SVN,
  MRENCLAVE,
  bindingFor,
  decodeJwt,
  expectedCollateralHashes,
  postJson,
  simCollateral,
  simQuote,
  simQuoteBytes,
  startService,
  tamperedQuote,
  type Started,
} from './support.ts';

/** Which service a case is sent to (see `before`). */
type Target = 'default' | 'debug' | 'untrusting' | 'production';

describe('attest endpoints (real verifier, simulated quotes)', () => {
  let s: Started;
  /** Same, with the CLI's `--dangerously-allow-debug-enclaves`: debug enclaves reach the policy. */
  let debug: Started;
  /** CLI without `--trust-simulated-root`: the verifier refuses the simulated root. */
  let untrusting: Started;
  /** A verifier that trusts the simulated root in a production-mode service (defence in depth). */
  let production: Started;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  before(async () => {
    s = await startService();
    debug = await startService({ sim: { allowDebugEnclave: true } });
    untrusting = await startService({ sim: { trustSimulatedRoot: false } });
    production = await startService({ simulationMode: false });
    const certs = (await (await fetch(`${s.url}/certs`)).json()) as { keys: Record<string, unknown>[] };
    // jose needs n/e; derive them from x5c as a strict relying party would.
    const { importX509, exportJWK } = await import('jose');
    const keys = await Promise.all(
      certs.keys.map(async (k) => {
        const pem = `-----BEGIN CERTIFICATE-----\n${String((k['x5c'] as string[])[0])}\n-----END CERTIFICATE-----`;
        return { ...(await exportJWK(await importX509(pem, 'RS256'))), kid: String(k['kid']) };
      }),
    );
    jwks = createLocalJWKSet({ keys });
  });
  after(async () => {
    await Promise.all([s.close(), debug.close(), untrusting.close(), production.close()]);
  });

  const urlOf = (t: Target): string => ({ default: s, debug, untrusting, production })[t].url;
  const attest = (body: unknown, version = '2020-10-01', path = 'SgxEnclave', target: Target = 'default') =>
    postJson(`${urlOf(target)}/attest/${path}?api-version=${version}`, body);

  test('issues an RS256 token with MAA header, SGX claims and runtime-data binding', async () => {
    const runtime = Buffer.from('{"keys":[]}');
    const quote = simQuote({ reportData: bindingFor(runtime) });
    const res = await attest({
      quote,
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const token = String(res.body['token']);
    const { payload, protectedHeader } = await jwtVerify(token, jwks, {
      issuer: s.url,
      algorithms: ['RS256'],
    });
    assert.equal(protectedHeader.typ, 'JWT');
    assert.equal(protectedHeader.jku, `${s.url}/certs`);
    assert.equal(typeof protectedHeader.kid, 'string');
    assert.equal(payload['x-ms-ver'], '1.0');
    assert.equal(payload['x-ms-attestation-type'], 'sgx');
    assert.equal(payload['x-ms-sgx-mrenclave'], MRENCLAVE);
    assert.equal(payload['x-ms-sgx-is-debuggable'], false);
    assert.equal(payload['x-ms-sgx-product-id'], ISV_PROD_ID);
    assert.equal(payload['x-ms-sgx-svn'], ISV_SVN);
    assert.equal(payload['x-ms-sgx-report-data'], bindingFor(runtime));
    assert.equal(payload['x-ms-sgx-ehd'], runtime.toString('base64url'));
    assert.deepEqual(payload['x-ms-runtime'], { keys: [] });
    assert.equal(payload['x-ccnodes-tcb-status'], 'UpToDate');
    assert.deepEqual(payload['x-ccnodes-advisory-ids'], []);
    assert.equal(payload['x-ccnodes-simulated'], true, 'the quote chains to the simulated root');
    assert.equal(payload['sgx-mrenclave'], MRENCLAVE, 'default policy re-issues legacy names');
    assert.equal(payload['tee'], 'sgx');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 8 * 3600);
    assert.equal(payload.nbf, payload.iat);
    assert.match(String(payload.jti), /^[0-9a-f]{64}$/);
    assert.match(String(payload['x-ms-policy-hash']), /^[A-Za-z0-9_-]{43}$/);
    // SHA-256 of each collateral document the verifier used, and of the quote as sent.
    assert.deepEqual(payload['x-ms-sgx-collateral'], expectedCollateralHashes(quote));
  });

  test('initTimeData bound to CONFIGID attests and is reported as x-ms-sgx-config-id', async () => {
    const init = Buffer.from('init time data');
    const configId = bindingFor(init);
    const res = await attest({
      quote: simQuote({ configId }),
      initTimeData: { data: init.toString('base64url'), dataType: 'Binary' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(decodeJwt(String(res.body['token'])).payload['x-ms-sgx-config-id'], configId);
  });

  test('the platform TCB status and its advisories reach the token', async () => {
    const res = await attest({ quote: simQuote({ platform: 'sw-hardening-needed' }) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { payload } = await jwtVerify(String(res.body['token']), jwks, { issuer: s.url });
    assert.equal(payload['x-ccnodes-tcb-status'], 'SWHardeningNeeded');
    assert.deepEqual(payload['x-ccnodes-advisory-ids'], ['CCNODES-SIM-SA-00001']);
  });

  test('with the debug relaxation a debug enclave reaches the policy, which sees it as debuggable', async () => {
    const res = await attest({ quote: simQuote({ debug: true }) }, '2020-10-01', 'SgxEnclave', 'debug');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(decodeJwt(String(res.body['token'])).payload['x-ms-sgx-is-debuggable'], true);
  });

  test('accepts padded base64url and standard base64; echoes nonce on 2022-08-01 only', async () => {
    // The multi-package platform's quote is 5120 bytes, so its base64 text ends in padding.
    const bytes = simQuoteBytes({ platform: 'multi-package' });
    const quote = Buffer.from(bytes).toString('base64');
    assert.ok(quote.endsWith('=') && /[+/]/.test(quote), 'standard alphabet, padded');
    const padded = await attest({ quote, nonce: 'n-1' }, '2022-08-01');
    assert.equal(padded.status, 200, JSON.stringify(padded.body));
    assert.equal(decodeJwt(String(padded.body['token'])).payload['nonce'], 'n-1');
    const old = await attest({ quote, nonce: 'n-1' }, '2020-10-01');
    assert.equal(old.status, 200, JSON.stringify(old.body));
    assert.equal(decodeJwt(String(old.body['token'])).payload['nonce'], undefined);
    const url = await attest({ quote: quote.replace(/\+/g, '-').replace(/\//g, '_') });
    assert.equal(url.status, 200, 'padded base64url');
    assert.deepEqual(
      decodeJwt(String(url.body['token'])).payload['x-ms-sgx-collateral'],
      expectedCollateralHashes(bytes, simCollateral('multi-package')),
      'the quote hashed is the decoded bytes, whatever the alphabet',
    );
  });

  test('OpenEnclave: strips the 16-byte OE report header; rejects a wrong header', async () => {
    const quote = simQuoteBytes();
    const header = Buffer.alloc(16);
    header.writeUInt32LE(1, 0);
    header.writeUInt32LE(2, 4);
    header.writeBigUInt64LE(BigInt(quote.length), 8);
    const ok = await attest(
      { report: Buffer.concat([header, quote]).toString('base64url') },
      '2020-10-01',
      'OpenEnclave',
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(decodeJwt(String(ok.body['token'])).payload['x-ms-sgx-mrenclave'], MRENCLAVE);
    header.writeUInt32LE(3, 4);
    const bad = await attest(
      { report: Buffer.concat([header, quote]).toString('base64url') },
      '2020-10-01',
      'OpenEnclave',
    );
    assert.equal(bad.status, 400);
    assert.equal((bad.body['error'] as Record<string, unknown>)['code'], 'InvalidParameter');
    assert.equal(bad.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_BAD_OE_REPORT');
  });

  test('draft policy gives an unsigned token (alg none) and is evaluated instead of the stored one', async () => {
    const draft =
      'version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="draft", value=true); };';
    const res = await attest({ quote: simQuote(), draftPolicyForAttestation: draft });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const token = String(res.body['token']);
    assert.ok(token.endsWith('.'));
    const { header, payload } = decodeJwt(token);
    assert.equal(header['alg'], 'none');
    assert.equal(payload['draft'], true);
    await assert.rejects(jwtVerify(token, jwks), 'an unsigned token never verifies');
  });

  const cases: {
    name: string;
    body: unknown;
    version?: string;
    target?: Target;
    code: string;
    maa: string;
    status: number;
  }[] = [
    { name: 'missing quote', body: {}, code: 'ERR_ATTEST_BAD_REQUEST', maa: 'InvalidParameter', status: 400 },
    {
      name: 'bad base64',
      body: { quote: 'ab$cd' },
      code: 'ERR_ATTEST_BAD_BASE64',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'impossible base64 length',
      body: { quote: 'abcde' },
      code: 'ERR_ATTEST_BAD_BASE64',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'runtimeData not bound',
      body: {
        quote: simQuote({ reportData: bindingFor('other') }),
        runtimeData: { data: 'AAAA', dataType: 'Binary' },
      },
      code: 'ERR_ATTEST_REPORT_DATA_MISMATCH',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'initTimeData not bound to CONFIGID',
      body: { quote: simQuote(), initTimeData: { data: 'AAAA', dataType: 'Binary' } },
      code: 'ERR_ATTEST_INIT_DATA_MISMATCH',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'JSON runtime data that is not JSON',
      body: {
        quote: simQuote({ reportData: bindingFor('xx') }),
        runtimeData: { data: Buffer.from('xx').toString('base64url'), dataType: 'JSON' },
      },
      code: 'ERR_ATTEST_BAD_JSON_DATA',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'unknown dataType',
      body: { quote: simQuote(), runtimeData: { data: 'AAAA', dataType: 'Text' } },
      code: 'ERR_ATTEST_BAD_REQUEST',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'missing api-version',
      body: { quote: simQuote() },
      version: '',
      code: 'ERR_ATTEST_BAD_API_VERSION',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'unknown api-version',
      body: { quote: simQuote() },
      version: '2019-01-01',
      code: 'ERR_ATTEST_BAD_API_VERSION',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'verifier rejects the quote (ISV report byte flipped after signing)',
      body: { quote: Buffer.from(tamperedQuote(simQuoteBytes())).toString('base64url') },
      code: 'ERR_VERIFY_QUOTE_SIGNATURE',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'simulated evidence without trust (the verifier does not trust the simulated root)',
      body: { quote: simQuote() },
      target: 'untrusting',
      code: 'ERR_VERIFY_SIMULATED_ROOT',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'simulated evidence in a production-mode service (even if the verifier trusts it)',
      body: { quote: simQuote() },
      target: 'production',
      code: 'ERR_ATTEST_EVIDENCE_REJECTED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'debug enclave without the debug relaxation',
      body: { quote: simQuote({ debug: true }) },
      code: 'ERR_VERIFY_DEBUG_ENCLAVE',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'TCB status below the baseline (OutOfDate)',
      body: { quote: simQuote({ platform: 'out-of-date' }) },
      code: 'ERR_ATTEST_TCB_REJECTED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'PCK certificate revoked',
      body: { quote: simQuote({ platform: 'revoked-pck' }) },
      code: 'ERR_VERIFY_PCK_REVOKED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'not a quote at all',
      body: { quote: Buffer.from('{}').toString('base64url') },
      code: 'ERR_FORMAT_TRUNCATED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'draft policy denies this MRENCLAVE',
      body: {
        quote: simQuote(),
        draftPolicyForAttestation: `version=1.0; authorizationrules { [type=="x-ms-sgx-mrenclave", value=="${MRENCLAVE}"] => deny(); => permit(); }; issuancerules {};`,
      },
      code: 'ERR_ATTEST_POLICY_DENIED',
      maa: 'PolicyEvaluationError',
      status: 400,
    },
    {
      name: 'draft policy denies debug enclaves',
      target: 'debug',
      body: {
        quote: simQuote({ debug: true }),
        draftPolicyForAttestation:
          'version=1.0; authorizationrules { [type=="x-ms-sgx-is-debuggable", value==true] => deny(); => permit(); }; issuancerules {};',
      },
      code: 'ERR_ATTEST_POLICY_DENIED',
      maa: 'PolicyEvaluationError',
      status: 400,
    },
    {
      name: 'draft policy with a syntax error',
      body: {
        quote: simQuote(),
        draftPolicyForAttestation: 'version=1.0; authorizationrules { => permit() };',
      },
      code: 'ERR_POLICY_',
      maa: 'PolicyParsingError',
      status: 400,
    },
    {
      name: 'body is an array',
      body: [1],
      code: 'ERR_ATTEST_BAD_REQUEST',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'malformed JSON',
      body: '{"quote":',
      code: 'FST_ERR_CTP_INVALID_JSON_BODY',
      maa: 'InvalidParameter',
      status: 400,
    },
  ];
  for (const c of cases) {
    test(`rejects: ${c.name}`, async () => {
      const res = await attest(c.body, c.version ?? '2020-10-01', 'SgxEnclave', c.target);
      assert.equal(res.status, c.status, JSON.stringify(res.body));
      const err = res.body['error'] as Record<string, unknown>;
      assert.equal(err['code'], c.maa);
      assert.equal(typeof err['message'], 'string');
      assert.ok(
        String(res.headers.get('x-ccnodes-error-code')).startsWith(c.code),
        String(res.headers.get('x-ccnodes-error-code')),
      );
      assert.equal(res.body['token'], undefined);
    });
  }

  test('oversized body is 413 PayloadTooLarge', async () => {
    const res = await attest({ quote: 'A'.repeat(2 * 1024 * 1024) });
    assert.equal(res.status, 413);
    assert.equal((res.body['error'] as Record<string, unknown>)['code'], 'PayloadTooLarge');
  });

  test('the policy error message names the rule position', async () => {
    const res = await attest({
      quote: simQuote(),
      draftPolicyForAttestation: 'version=1.0;\nauthorizationrules {\n  => permit() \n};',
    });
    assert.match(String((res.body['error'] as Record<string, unknown>)['message']), /\d+:\d+/);
  });

  test('errors leak nothing internal (no stack, no file paths)', async () => {
    const res = await attest({ quote: Buffer.from(tamperedQuote(simQuoteBytes())).toString('base64url') });
    const text = JSON.stringify(res.body);
    assert.doesNotMatch(text, /\.ts|at \w+ \(|node_modules/);
    assert.deepEqual(Object.keys(res.body), ['error']);
    assert.deepEqual(Object.keys(res.body['error'] as object).sort(), ['code', 'message']);
  });

  test('unknown attestation types and routes', async () => {
    const res = await attest({ quote: simQuote() }, '2020-10-01', 'SevSnpVm');
    assert.equal(res.status, 400);
    const nf = await fetch(`${s.url}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(((await nf.json()) as { error: { code: string } }).error.code, 'NotFound');
  });

  test('/certs and /certs/ serve the JWKS with x5c; openid-configuration points at it', async () => {
    for (const path of ['/certs', '/certs/', '/certs?api-version=2025-06-01']) {
      const res = await fetch(`${s.url}${path}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { keys: Record<string, unknown>[] };
      assert.ok(body.keys.length >= 1);
      for (const k of body.keys) {
        assert.deepEqual(Object.keys(k).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use', 'x5c']);
        assert.equal(k['kty'], 'RSA');
        assert.match(String((k['x5c'] as string[])[0]), /^[A-Za-z0-9+/]+=*$/);
      }
    }
    const oidc = (await (await fetch(`${s.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(oidc['issuer'], s.url);
    assert.equal(oidc['jwks_uri'], `${s.url}/certs`);
    assert.deepEqual(oidc['id_token_signing_alg_values_supported'], ['RS256']);
  });

  test('audit log records attestation decisions (admin only)', async () => {
    const denied = await fetch(`${s.url}/ccnodes/v1/audit`);
    assert.equal(denied.status, 401);
    const wrong = await fetch(`${s.url}/ccnodes/v1/audit`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const res = await fetch(`${s.url}/ccnodes/v1/audit?limit=500`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await res.json()) as { entries: { action: string; decision: string; subject: string }[] };
    assert.ok(
      body.entries.some(
        (e) => e.action === 'attest' && e.decision === 'allow' && e.subject === `mrenclave:${MRENCLAVE}`,
      ),
    );
    assert.ok(body.entries.some((e) => e.action === 'attest' && e.decision === 'deny'));
  });

  test('health and metrics', async () => {
    const h = (await (await fetch(`${s.url}/ccnodes/v1/health`)).json()) as Record<string, unknown>;
    assert.equal(h['status'], 'ok');
    assert.equal(h['storage'], 'sqlite');
    const m = await (await fetch(`${s.url}/ccnodes/v1/metrics`)).text();
    assert.match(m, /ccnodes_attestation_attest_total\{endpoint="SgxEnclave",outcome="issued"\} \d+/);
    assert.match(m, /ccnodes_attestation_attest_total\{endpoint="SgxEnclave",outcome="denied"\} \d+/);
  });
});
