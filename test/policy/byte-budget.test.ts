/**
 * The byte meter of the policy work budget: comparisons, built strings and JSON are paid for by the
 * characters they touch, so a policy cannot stay inside the step limit while reading gigabytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
  POLICY_LIMITS,
  type Claim,
} from '../../src/policy/index.ts';
import { Budget, JSON_CHAR_COST, equalityCost, stringifyBounded } from '../../src/policy/budget.ts';

const run = (text: string, claims: Claim[], maxBytesTouched?: number): ReturnType<typeof evaluatePolicy> =>
  evaluatePolicy(parsePolicy(text), claims, maxBytesTouched === undefined ? {} : { maxBytesTouched });

test('equal-length string comparisons cost both lengths; other comparisons cost nothing', () => {
  assert.equal(equalityCost('abcd', 'abce'), 8);
  assert.equal(equalityCost('abcd', 'abc'), 0);
  assert.equal(equalityCost('abcd', 4), 0);
  assert.equal(equalityCost(true, true), 0);
});

test('the byte meter throws ERR_POLICY_EVAL_LIMIT naming the meter, independently of steps', () => {
  const b = new Budget(1_000_000, 100);
  b.chargeBytes(60);
  b.chargeJson(2); // 2 * JSON_CHAR_COST
  assert.equal(b.bytesSpent, 60 + 2 * JSON_CHAR_COST);
  assert.throws(
    () => {
      b.chargeBytes(100);
    },
    (err: unknown) => {
      assert.equal((err as { code: string }).code, 'ERR_POLICY_EVAL_LIMIT');
      assert.equal((err as { details: Record<string, unknown> }).details['meter'], 'bytes');
      return true;
    },
  );
  assert.equal(b.spent, 0);
});

test('comparing a long claim value is charged by its length', () => {
  const long = 'a'.repeat(10_000);
  const policy = `version=1.2; authorizationrules { c:[type=="blob", value=="${'b'.repeat(10_000)}"] => deny(); => permit(); }; issuancerules { };`;
  const claims = claimsFromObject({ blob: long });
  assert.equal(run(policy, claims).permitted, true);
  // One comparison reads 2 x 10,000 characters (plus short type comparisons): a 15,000 budget is too small.
  assert.throws(() => run(policy, claims, 15_000), { code: 'ERR_POLICY_EVAL_LIMIT' });
  // A value of a different length is not read, so the same budget suffices.
  assert.equal(run(policy, claimsFromObject({ blob: 'a'.repeat(9_999) }), 15_000).permitted, true);
});

test('AppendString pays for the string it builds', () => {
  const policy = `version=1.2; authorizationrules { => permit(); };
issuancerules { c:[type=="s"] => issue(type="t", value=AppendString(c.value, c.value)); };`;
  const claims = claimsFromObject({ s: 'x'.repeat(5_000) });
  assert.equal(run(policy, claims).issued.length, 1);
  assert.throws(() => run(policy, claims, 9_000), { code: 'ERR_POLICY_EVAL_LIMIT' });
});

test('JSON parsed by JmesPath/JsonToClaimValue costs JSON_CHAR_COST per character', () => {
  const doc = JSON.stringify({ items: Array.from({ length: 200 }, (_, i) => ({ i })) });
  const policy = `version=1.2; authorizationrules { => permit(); };
issuancerules { c:[type=="doc"] => issue(type="n", value=JmesPath(c.value, "length(items)")); };`;
  const claims = claimsFromObject({ doc });
  assert.equal(run(policy, claims).issued[0]?.value, '200');
  assert.throws(() => run(policy, claims, doc.length * JSON_CHAR_COST - 1), {
    code: 'ERR_POLICY_EVAL_LIMIT',
  });
});

test('a JmesPath result that repeats its input is sized before it is serialised', () => {
  const doc = JSON.stringify({ s: 'y'.repeat(100_000) });
  // 20 copies of a 100,000-character document: 2,000,000 characters, past maxJsonChars.
  const query = `[${Array(20).fill('@').join(',')}]`;
  const policy = `version=1.2; authorizationrules { => permit(); };
issuancerules { c:[type=="doc"] => issue(type="r", value=JmesPath(c.value, "${query}")); };`;
  assert.throws(
    () => run(policy, claimsFromObject({ doc })),
    (err: unknown) => {
      assert.equal((err as { code: string }).code, 'ERR_POLICY_EVAL_LIMIT');
      assert.match((err as Error).message, /longer than/);
      return true;
    },
  );
  const b = new Budget();
  assert.throws(() => stringifyBounded(Array(20).fill({ s: 'y'.repeat(100_000) }), 'test', b, undefined), {
    code: 'ERR_POLICY_EVAL_LIMIT',
  });
  assert.equal(b.bytesSpent, 0, 'nothing was serialised');
});

test('the default byte limit is part of POLICY_LIMITS', () => {
  assert.equal(POLICY_LIMITS.maxBytesTouched, 64 * 1024 * 1024);
});
