/**
 * Issue 12, item 6: an anonymous attest request whose `draftPolicyForAttestation` builds 40
 * strings of 512 KiB with AppendString and compares them pairwise in 800 rules (the attack,
 * built by test/support/policy-attack.ts) used to hold the event loop for seconds, and every other
 * request (health included) waited as long. The fix: the byte meter of the policy budget stops such
 * an evaluation early, evaluation runs in a worker thread with a deadline, and drafts are rate
 * limited per client. Bounds are generous (2-core CI): health under 1 s while the attack runs, the
 * attack answered 4xx within 5 s. `npm run bench -- policy-attack` measures the real figures (health
 * p50/p99/max unloaded and under a repeated attack from several client addresses, with the rate
 * limit on and off, against the service started from the CLI).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pairwiseDraftAttackBody } from '../support/policy-attack.ts';
import { attest, b64u, startSimService, type SimService } from './support.ts';

/** Polls GET /ccnodes/v1/health until `done` resolves; returns the slowest answer (ms). */
async function slowestHealthWhile(url: string, done: Promise<unknown>): Promise<number> {
  let finished = false;
  void done.finally(() => {
    finished = true;
  });
  let slowest = 0;
  while (!finished) {
    const t = performance.now();
    const res = await fetch(`${url}/ccnodes/v1/health`);
    await res.text();
    assert.equal(res.status, 200);
    slowest = Math.max(slowest, performance.now() - t);
    await new Promise((r) => setTimeout(r, 20));
  }
  return slowest;
}

describe('draft policy CPU exhaustion (pairwise comparisons of 512 KiB strings)', () => {
  let s: SimService;
  before(async () => {
    s = await startSimService({ draftRateLimit: { perMinute: 6, burst: 2 } });
  });
  after(() => s.close());

  test('the crafted draft ends with a 4xx quickly and health keeps answering meanwhile', async () => {
    const runtime = Buffer.from('attacker runtime data');
    const body = pairwiseDraftAttackBody(s.quote(runtime), runtime);
    // Health answers before the attack (and warms the connection path).
    assert.equal((await fetch(`${s.url}/ccnodes/v1/health`)).status, 200);
    const started = performance.now();
    const attack = attest(s.url, body).then((r) => ({ ...r, ms: performance.now() - started }));
    const slowest = await slowestHealthWhile(s.url, attack);
    const result = await attack;
    assert.ok(slowest < 1000, `health took up to ${slowest.toFixed(0)} ms during the attack`);
    assert.ok(result.ms < 5000, `the attack took ${result.ms.toFixed(0)} ms`);
    assert.ok(result.status >= 400 && result.status < 500, `attack answered ${result.status}`);
    assert.equal(result.code, 'ERR_POLICY_EVAL_LIMIT');
  });

  test('drafts are rate limited per client: 429 with Retry-After once the burst is spent', async () => {
    const runtime = Buffer.from('rate limited');
    const body = {
      quote: b64u(s.quote(runtime)),
      runtimeData: { data: b64u(runtime), dataType: 'Binary' },
      draftPolicyForAttestation: 'version=1.0; authorizationrules { => permit(); }; issuancerules { };',
    };
    // The first test spent one token of the burst of 2.
    const statuses: number[] = [];
    const replies: Awaited<ReturnType<typeof attest>>[] = [];
    for (let i = 0; i < 3; i += 1) replies.push(await attest(s.url, body));
    const last = replies[2];
    assert.ok(last !== undefined);
    for (const r of replies) statuses.push(r.status);
    assert.deepEqual(statuses.slice(0, 1), [200]);
    assert.equal(statuses[2], 429);
    assert.equal(last.code, 'ERR_ATTEST_RATE_LIMITED');
    assert.ok(Number(last.headers.get('retry-after')) >= 1);
    // Attestation under the stored policy is not rate limited.
    const plain = await attest(s.url, { quote: body.quote, runtimeData: body.runtimeData });
    assert.equal(plain.status, 200, JSON.stringify(plain.body));
  });
});
