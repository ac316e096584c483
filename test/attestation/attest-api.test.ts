/**
 * The MAA attest endpoints over HTTP with a stand-in verifier: request decoding, report-data
 * binding, policy, token shape, and every request-level error path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import {
  ADMIN_TOKEN,
  MRENCLAVE,
  bindingFor,
  decodeJwt,
  fakeQuote,
  postJson,
  startService,
  type Started,
} from './support.ts';

describe('attest endpoints (stand-in verifier)', () => {
  let s: Started;
  let jwks: ReturnType<typeof createLocalJWKSet>;
  before(async () => {
    s = await startService();
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
  after(() => s.close());

  const attest = (body: unknown, version = '2020-10-01', path = 'SgxEnclave') =>
    postJson(`${s.url}/attest/${path}?api-version=${version}`, body);

  test('issues an RS256 token with MAA header, SGX claims and runtime-data binding', async () => {
    const runtime = Buffer.from('{"keys":[]}');
    const res = await attest({
      quote: fakeQuote({ reportData: bindingFor(runtime) }),
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
    assert.equal(payload['x-ms-sgx-product-id'], 1);
    assert.equal(payload['x-ms-sgx-svn'], 2);
    assert.equal(payload['x-ms-sgx-report-data'], bindingFor(runtime));
    assert.equal(payload['x-ms-sgx-ehd'], runtime.toString('base64url'));
    assert.deepEqual(payload['x-ms-runtime'], { keys: [] });
    assert.equal(payload['x-ccnodes-tcb-status'], 'UpToDate');
    assert.equal(payload['x-ccnodes-simulated'], false);
    assert.equal(payload['sgx-mrenclave'], MRENCLAVE, 'default policy re-issues legacy names');
    assert.equal(payload['tee'], 'sgx');
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 8 * 3600);
    assert.equal(payload.nbf, payload.iat);
    assert.match(String(payload.jti), /^[0-9a-f]{64}$/);
    assert.match(String(payload['x-ms-policy-hash']), /^[A-Za-z0-9_-]{43}$/);
    assert.equal(typeof (payload['x-ms-sgx-collateral'] as Record<string, unknown>)['quotehash'], 'string');
  });

  test('accepts padded base64url and standard base64; echoes nonce on 2022-08-01 only', async () => {
    const quote = Buffer.from(JSON.stringify({})).toString('base64');
    const padded = await attest({ quote, nonce: 'n-1' }, '2022-08-01');
    assert.equal(padded.status, 200, JSON.stringify(padded.body));
    assert.equal(decodeJwt(String(padded.body['token'])).payload['nonce'], 'n-1');
    const old = await attest({ quote, nonce: 'n-1' }, '2020-10-01');
    assert.equal(decodeJwt(String(old.body['token'])).payload['nonce'], undefined);
  });

  test('OpenEnclave: strips the 16-byte OE report header; rejects a wrong header', async () => {
    const quote = Buffer.from(JSON.stringify({}));
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
    const res = await attest({ quote: fakeQuote({}), draftPolicyForAttestation: draft });
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
        quote: fakeQuote({ reportData: bindingFor('other') }),
        runtimeData: { data: 'AAAA', dataType: 'Binary' },
      },
      code: 'ERR_ATTEST_REPORT_DATA_MISMATCH',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'initTimeData not bound to CONFIGID',
      body: { quote: fakeQuote({}), initTimeData: { data: 'AAAA', dataType: 'Binary' } },
      code: 'ERR_ATTEST_INIT_DATA_MISMATCH',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'JSON runtime data that is not JSON',
      body: {
        quote: fakeQuote({ reportData: bindingFor('xx') }),
        runtimeData: { data: Buffer.from('xx').toString('base64url'), dataType: 'JSON' },
      },
      code: 'ERR_ATTEST_BAD_JSON_DATA',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'unknown dataType',
      body: { quote: fakeQuote({}), runtimeData: { data: 'AAAA', dataType: 'Text' } },
      code: 'ERR_ATTEST_BAD_REQUEST',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'missing api-version',
      body: { quote: fakeQuote({}) },
      version: '',
      code: 'ERR_ATTEST_BAD_API_VERSION',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'unknown api-version',
      body: { quote: fakeQuote({}) },
      version: '2019-01-01',
      code: 'ERR_ATTEST_BAD_API_VERSION',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'verifier rejects the quote',
      body: { quote: fakeQuote({ reject: true }) },
      code: 'ERR_ATTEST_EVIDENCE_REJECTED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'simulated evidence without trust',
      body: { quote: fakeQuote({ simulated: true }) },
      code: 'ERR_ATTEST_EVIDENCE_REJECTED',
      maa: 'InvalidParameter',
      status: 400,
    },
    {
      name: 'draft policy denies debug enclaves',
      body: {
        quote: fakeQuote({ debug: true }),
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
        quote: fakeQuote({}),
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
      const res = await attest(c.body, c.version ?? '2020-10-01');
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
      quote: fakeQuote({}),
      draftPolicyForAttestation: 'version=1.0;\nauthorizationrules {\n  => permit() \n};',
    });
    assert.match(String((res.body['error'] as Record<string, unknown>)['message']), /\d+:\d+/);
  });

  test('errors leak nothing internal (no stack, no file paths)', async () => {
    const res = await attest({ quote: fakeQuote({ reject: true }) });
    const text = JSON.stringify(res.body);
    assert.doesNotMatch(text, /\.ts|at \w+ \(|node_modules/);
    assert.deepEqual(Object.keys(res.body), ['error']);
    assert.deepEqual(Object.keys(res.body['error'] as object).sort(), ['code', 'message']);
  });

  test('unknown attestation types and routes', async () => {
    const res = await attest({ quote: fakeQuote({}) }, '2020-10-01', 'SevSnpVm');
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
