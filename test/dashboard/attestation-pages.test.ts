/**
 * The Attestations and Policies & secrets pages against a real attestation service (real quotes from
 * the simulated platform, the real DCAP verifier): refusals appear with their reason, filters narrow
 * the timeline, the policy hash equals the one in issued tokens, secrets are listed by name — and no
 * response of the dashboard carries a secret value or the admin token.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  attestationApiSource,
  createDashboard,
  CONTENT_SECURITY_POLICY,
  type Dashboard,
} from '../../src/dashboard/index.ts';
import {
  ADMIN_TOKEN,
  attestSgx,
  bindingFor,
  decodeJwt,
  postJson,
  putSecretAsAdmin,
  simQuoteBytes,
  startService,
  tamperedQuote,
  unsignedPolicyJws,
  type Started,
} from '../attestation/support.ts';
import { dataValues } from './page-values.ts';

const GOOD = 'a1'.repeat(32);
const DENIED = 'dd'.repeat(32);
const OTHER = 'c3'.repeat(32);
const SIGNER = 'b7'.repeat(32);
const GOOD2 = 'e4'.repeat(32);
const SIGNER2 = '5a'.repeat(32);
const SECRET_VALUE = 'S3cr3t-db-password-NEVER-in-the-dashboard';
const POLICY = `version=1.0; authorizationrules { [type=="x-ms-sgx-mrenclave", value=="${DENIED}"] => deny(); => permit(); }; issuancerules {};`;

let s: Started;
let dashboard: Dashboard;
let url: string;
let tokenPolicyHash: string;

async function attest(
  mrEnclave: string,
  mrSigner = SIGNER,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const runtime = Buffer.from(JSON.stringify({ keys: [] }));
  return attestSgx(s.url, simQuoteBytes({ mrEnclave, mrSigner, reportData: bindingFor(runtime) }), runtime);
}

before(async () => {
  s = await startService({ logger: false });
  const put = await fetch(`${s.url}/policies/SgxEnclave?api-version=2022-08-01`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: unsignedPolicyJws(POLICY),
  });
  assert.equal(put.status, 200, await put.text());
  const ok = await attest(GOOD);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  tokenPolicyHash = decodeJwt(String(ok.body['token'])).payload['x-ms-policy-hash'] as string;
  assert.equal((await attest(DENIED)).status, 400); // policy refusal
  assert.equal((await attest(GOOD2, SIGNER2)).status, 200); // another signer
  const runtime = Buffer.from('rt');
  const bad = await attestSgx(
    s.url,
    tamperedQuote(simQuoteBytes({ mrEnclave: OTHER, reportData: bindingFor(runtime) })),
    runtime,
  );
  assert.equal(bad.status, 400); // quote signature refusal
  assert.equal(
    await putSecretAsAdmin(s.url, 'db-password', SECRET_VALUE, {
      anyOf: [{ claim: 'x-ms-sgx-mrenclave', equals: OTHER }],
    }),
    201,
  );
  const released = await postJson(`${s.url}/ccnodes/v1/secrets/db-password/release`, {
    token: ok.body['token'],
  });
  assert.equal(released.status, 403); // release refused: GOOD is not OTHER
  dashboard = createDashboard({
    attestation: attestationApiSource({ url: s.url, adminToken: ADMIN_TOKEN }),
    sampleIntervalMs: 0,
    cacheMs: 0,
  });
  url = await dashboard.listen('127.0.0.1', 0);
});
after(async () => {
  await dashboard.close();
  await s.close();
});

interface Event {
  action: string;
  decision: string;
  subject: string;
  reason: string;
  refusalCode?: string;
}

async function events(query = ''): Promise<{ events: Event[]; allowed: number; refused: number }> {
  const res = await fetch(`${url}/api/attestations${query}`);
  assert.equal(res.status, 200);
  return (await res.json()) as { events: Event[]; allowed: number; refused: number };
}

test('Attestations: the timeline shows each refusal with its code and reason, next to the tokens issued', async () => {
  const v = await events();
  const attests = v.events.filter((e) => e.action === 'attest');
  assert.ok(attests.some((e) => e.decision === 'allow' && e.subject === `mrenclave:${GOOD}`));
  const refusals = v.events.filter((e) => e.decision !== 'allow');
  assert.equal(refusals.length, 3, JSON.stringify(refusals));
  const policyDenial = refusals.find(
    (e) =>
      e.action === 'attest' &&
      /authorization|deny|denied/i.test(e.reason) &&
      e.refusalCode !== undefined &&
      /POLICY/.test(e.refusalCode),
  );
  assert.ok(policyDenial, JSON.stringify(refusals));
  const quoteRefusal = refusals.find((e) => e.action === 'attest' && e !== policyDenial);
  assert.ok(quoteRefusal?.refusalCode?.startsWith('ERR_'), JSON.stringify(quoteRefusal));
  const releaseRefusal = refusals.find((e) => e.action === 'secret-release');
  assert.equal(releaseRefusal?.refusalCode, 'ERR_SECRET_POLICY_DENIED');
  assert.equal(v.refused, 3);

  const res = await fetch(`${url}/attestations`);
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  const page = await res.text();
  for (const r of refusals) {
    assert.ok(page.includes(`<code class="code">${r.refusalCode ?? ''}</code>`), `${r.refusalCode} shown`);
  }
  assert.ok(page.includes('ERR_SECRET_POLICY_DENIED'));
  assert.equal(dataValues(page).get('refused'), '3');
});

test('Attestations: filters by MRENCLAVE, by type and by decision', async () => {
  const byEnclave = await events(`?mrenclave=${GOOD.slice(0, 12)}`);
  assert.ok(byEnclave.events.length >= 2);
  assert.ok(
    byEnclave.events.every((e) => e.subject.includes(GOOD)),
    JSON.stringify(byEnclave.events),
  );
  const releases = await events('?type=secret-release');
  assert.deepEqual([...new Set(releases.events.map((e) => e.action))], ['secret-release']);
  const denied = await events('?decision=deny');
  assert.ok(denied.events.length >= 2 && denied.events.every((e) => e.decision === 'deny'));
  const none = await events(`?mrsigner=${'ef'.repeat(32)}`);
  assert.equal(none.events.length, 0);
  const page = await (await fetch(`${url}/attestations?type=secret-release&decision=deny`)).text();
  assert.equal(dataValues(page).get('events.length'), '1');
});

interface IdentityEvent extends Event {
  mrenclave?: string;
  mrsigner?: string;
}

test('the service records the enclave identity in its audit lines: MRSIGNER, product ID and SVN of allowed attestations and releases, MRENCLAVE and MRSIGNER of policy denials', async () => {
  const res = await fetch(`${s.url}/ccnodes/v1/audit?limit=100`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  const lines = ((await res.json()) as { entries: Event[] }).entries;
  const allowed = lines.find((l) => l.action === 'attest' && l.subject === `mrenclave:${GOOD2}`);
  assert.match(
    allowed?.reason ?? '',
    new RegExp(`^token issued; .*; mrsigner:${SIGNER2} isvprodid:\\d+ isvsvn:\\d+$`),
  );
  const denial = lines.find((l) => l.action === 'attest' && l.reason.startsWith('ERR_ATTEST_POLICY_DENIED'));
  assert.ok(denial, JSON.stringify(lines));
  assert.ok(denial.reason.endsWith(`(mrenclave:${DENIED} mrsigner:${SIGNER})`), denial.reason);
  assert.equal(denial.subject, 'SgxEnclave'); // the existing fields are kept
  const release = lines.find((l) => l.action === 'secret-release');
  assert.equal(release?.subject, `db-password → mrenclave:${GOOD}`);
  assert.match(release.reason, new RegExp(`^ERR_SECRET_POLICY_DENIED: .*; mrsigner:${SIGNER} isvprodid:`));
});

test('Attestations: the MRSIGNER filter finds every line of that signer (allowed, policy-denied, release refused) and nothing else', async () => {
  const bySigner = (await events(`?mrsigner=${SIGNER.slice(0, 10).toUpperCase()}`)) as unknown as {
    events: IdentityEvent[];
  };
  assert.ok(
    bySigner.events.every((e) => e.mrsigner === SIGNER),
    JSON.stringify(bySigner.events),
  );
  const kinds = bySigner.events.map((e) => `${e.action}/${e.decision}/${e.mrenclave ?? '?'}`).sort();
  assert.deepEqual(kinds, [`attest/allow/${GOOD}`, `attest/deny/${DENIED}`, `secret-release/deny/${GOOD}`]);
  const other = (await events(`?mrsigner=${SIGNER2}`)) as unknown as { events: IdentityEvent[] };
  assert.deepEqual(
    other.events.map((e) => [e.action, e.decision, e.mrenclave]),
    [['attest', 'allow', GOOD2]],
  );
  // The policy denial is found by its MRENCLAVE too, now that the service records it.
  const denied = (await events(`?mrenclave=${DENIED.slice(0, 8)}`)) as unknown as { events: IdentityEvent[] };
  assert.deepEqual(
    denied.events.map((e) => e.decision),
    ['deny'],
  );
  const page = await (await fetch(`${url}/attestations?mrsigner=${SIGNER2}`)).text();
  assert.equal(dataValues(page).get('events.length'), '1');
  assert.ok(page.includes(`title="${SIGNER2}"`), 'the MRSIGNER is shown');
});

test('Policies & secrets: current policy text and hash (equal to the tokens’ x-ms-policy-hash), history, secret names', async () => {
  const res = await fetch(`${url}/api/policies`);
  assert.equal(res.status, 200);
  const v = (await res.json()) as {
    policies: { type: string; text: string; hash: string }[];
    history: { type: string; action: string; hash?: string }[];
    secrets: Record<string, unknown>[];
  };
  const sgx = v.policies.find((p) => p.type === 'SgxEnclave');
  assert.equal(sgx?.text, POLICY);
  assert.equal(sgx.hash, tokenPolicyHash);
  assert.deepEqual(v.history[0], {
    ...v.history[0],
    type: 'SgxEnclave',
    action: 'policy-set',
    hash: tokenPolicyHash,
  });
  assert.deepEqual(
    v.secrets.map((x) => x['name']),
    ['db-password'],
  );
  assert.deepEqual(Object.keys(v.secrets[0] ?? {}).sort(), [
    'contentType',
    'createdAt',
    'name',
    'releasePolicy',
    'updatedAt',
  ]);
  const page = await (await fetch(`${url}/policies`)).text();
  assert.ok(page.includes(tokenPolicyHash));
  assert.ok(page.includes('db-password'));
});

test('token latency percentiles are sampled from the service metrics', async () => {
  await dashboard.sample();
  const h = (await (await fetch(`${url}/api/history`)).json()) as {
    tokenLatencyMs: { name: string; points: { v: number }[] }[];
  };
  assert.deepEqual(
    h.tokenLatencyMs.map((x) => x.name),
    ['p50', 'p90', 'p99'],
  );
  for (const x of h.tokenLatencyMs) assert.ok((x.points[0]?.v ?? -1) > 0);
});

test('no dashboard response carries a secret value or the admin token', async () => {
  const forbidden = [
    SECRET_VALUE,
    Buffer.from(SECRET_VALUE).toString('base64'),
    Buffer.from(SECRET_VALUE).toString('base64url'),
    ADMIN_TOKEN,
    Buffer.from(ADMIN_TOKEN).toString('base64'),
    'PRIVATE KEY',
  ];
  const paths = [
    '/nodes',
    '/workloads',
    '/attestations',
    '/policies',
    '/collateral',
    '/api/nodes',
    '/api/workloads',
    '/api/attestations?type=all',
    '/api/policies',
    '/api/collateral',
    '/api/history',
    '/assets/dashboard.css',
    '/healthz',
    '/nope',
  ];
  for (const p of paths) {
    const res = await fetch(`${url}${p}`);
    const body = await res.text();
    const headers = JSON.stringify([...res.headers.entries()]);
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, p);
    for (const f of forbidden) {
      assert.ok(!body.includes(f), `${p} body contains ${f.slice(0, 12)}…`);
      assert.ok(!headers.includes(f), `${p} headers contain ${f.slice(0, 12)}…`);
    }
  }
});
