/**
 * The policy evaluation pool: outcomes and policy errors cross the thread boundary unchanged, an
 * evaluation past its deadline is stopped (and the next one runs on a fresh worker), and a full
 * queue refuses work instead of growing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
  PolicyEvaluationError,
} from '../../src/policy/index.ts';
import { PolicyEvaluatorPool } from '../../src/attestation/policy-pool.ts';

const CLAIMS = claimsFromObject({ 'x-ms-sgx-svn': 3, 'x-ms-sgx-mrenclave': 'ab'.repeat(32) });
const PERMIT = `version=1.2;
authorizationrules { c:[type=="x-ms-sgx-svn", value>=2] => permit(); };
issuancerules { c:[type=="x-ms-sgx-mrenclave"] => issue(type="m", value=AppendString(c.value, "!")); };`;

/** About a million steps per rule: 1,000 claims compared with 1,000 values. */
function slowPolicy(rules: number): string {
  const arr = JSON.stringify(Array.from({ length: 1000 }, (_, i) => i)).replace(/"/g, '\\"');
  const lines = ['version=1.2;', 'authorizationrules { => permit(); };', 'issuancerules {'];
  lines.push(`c:[type=="x-ms-sgx-svn"] => add(type="n", value=JsonToClaimValue("${arr}"));`);
  for (let i = 0; i < rules; i += 1) {
    lines.push('c:[type=="n"] && d:[type=="n", value!=c.value] => add(type="q", value=1);');
  }
  lines.push('};');
  return lines.join('\n');
}

test('an outcome from the worker equals the inline outcome', async () => {
  const pool = new PolicyEvaluatorPool();
  try {
    const got = await pool.evaluate(PERMIT, CLAIMS, 'stored');
    assert.deepEqual(got, evaluatePolicy(parsePolicy(PERMIT), CLAIMS));
    assert.equal(got.permitted, true);
  } finally {
    await pool.close();
  }
});

test('a policy error keeps its class, code and rule position', async () => {
  const pool = new PolicyEvaluatorPool();
  const text = `version=1.2;
authorizationrules { => permit(); };
issuancerules { c:[type=="x-ms-sgx-svn"] => issue(type="j", value=JsonToClaimValue("{")); };`;
  try {
    await assert.rejects(pool.evaluate(text, CLAIMS, 'draft'), (err: unknown) => {
      assert.ok(err instanceof PolicyEvaluationError);
      assert.equal(err.code, 'ERR_POLICY_EVAL_JSON');
      assert.equal(err.line, 3);
      assert.match(err.message, /^3:\d+: JsonToClaimValue/);
      return true;
    });
  } finally {
    await pool.close();
  }
});

test('an evaluation past its deadline is stopped; the next one runs on a fresh worker', async () => {
  // Budgets lifted so that only the deadline can stop it. The slow policy (990 rules, near the
  // 1,000-rule cap) takes ~0.9 s on the bench machine at its fastest, 18 times the deadline: with
  // 500 rules and a 300 ms deadline (the first version) a fast minute let it finish in time.
  const pool = new PolicyEvaluatorPool({ deadlineMs: 50, budget: { maxSteps: 1e12 } });
  try {
    await pool.evaluate(PERMIT, CLAIMS, 'draft'); // the worker is up: the deadline measures evaluation only
    const started = performance.now();
    await assert.rejects(pool.evaluate(slowPolicy(990), CLAIMS, 'draft'), {
      code: 'ERR_ATTEST_POLICY_TIMEOUT',
    });
    const ms = performance.now() - started;
    assert.ok(ms < 3000, `stopped after ${ms.toFixed(0)} ms`);
    assert.equal((await pool.evaluate(PERMIT, CLAIMS, 'draft')).permitted, true);
  } finally {
    await pool.close();
  }
});

test('a full queue refuses new evaluations with ERR_ATTEST_BUSY', async () => {
  const pool = new PolicyEvaluatorPool({ maxQueue: 1 });
  // Both are submitted before the worker has started: the first waits in the queue, the second
  // finds it full.
  const first = pool.evaluate(PERMIT, CLAIMS, 'stored');
  await assert.rejects(pool.evaluate(PERMIT, CLAIMS, 'stored'), { code: 'ERR_ATTEST_BUSY' });
  assert.equal((await first).permitted, true);
  await pool.close();
});
