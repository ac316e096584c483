/**
 * The crafted draft-policy attack of issue 12, item 6, shared by its regression test
 * (test/security/policy-draft-cpu-exhaustion.test.ts) and its benchmark (bench/policy-attack.ts),
 * so that both send the same thing.
 *
 * An anonymous `POST /attest/SgxEnclave` carries a valid quote and a `draftPolicyForAttestation`
 * that permits, builds 40 distinct 512 KiB strings with `AppendString` and compares them pairwise
 * in ~800 rules. Every comparison reads two 512 KiB strings that differ only at the end but used to
 * cost the step meter one unit, so the evaluation ran for many seconds on the event loop.
 */

/** Rules comparing the big strings pairwise in the issue's report. */
export const ISSUE_PAIRWISE_RULES = 800;

/**
 * The draft policy: the 64-character MRENCLAVE doubled 13 times (512 KiB), 40 copies with a
 * two-digit suffix each (claim type `b`), then `rules` rules that compare every `b` with every
 * other one. The rules are written compactly so that 800 of them fit in the service's 64 KiB limit
 * on draft policy text.
 */
export function pairwiseBigStringPolicy(rules = ISSUE_PAIRWISE_RULES): string {
  const lines = ['version=1.2;', 'authorizationrules { => permit(); };', 'issuancerules {'];
  lines.push('c:[type=="x-ms-sgx-mrenclave"] => add(type="s0", value=c.value);');
  for (let i = 0; i < 13; i += 1) {
    lines.push(`c:[type=="s${i}"] => add(type="s${i + 1}", value=AppendString(c.value, c.value));`);
  }
  for (let i = 10; i < 50; i += 1) {
    lines.push(`c:[type=="s13"] => add(type="b", value=AppendString(c.value, "${i}"));`);
  }
  for (let i = 0; i < rules; i += 1) {
    lines.push('c:[type=="b"]&&d:[type=="b",value!=c.value]=>add(type="x",value=1);');
  }
  lines.push('};');
  return lines.join('\n');
}

/**
 * The JSON body of the attack request: `quote` must bind SHA-256(`runtimeData`) in REPORTDATA so
 * that the request passes verification and reaches the policy.
 */
export function pairwiseDraftAttackBody(
  quote: Uint8Array,
  runtimeData: Uint8Array,
  rules = ISSUE_PAIRWISE_RULES,
): Record<string, unknown> {
  return {
    quote: Buffer.from(quote).toString('base64url'),
    runtimeData: { data: Buffer.from(runtimeData).toString('base64url'), dataType: 'Binary' },
    draftPolicyForAttestation: pairwiseBigStringPolicy(rules),
  };
}
