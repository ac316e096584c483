/**
 * Hostile inputs shared by the availability regression tests (issue 12, items 6 and 8).
 */

/**
 * A draft policy that permits, then builds 40 distinct 512 KiB strings with `AppendString`
 * (doubling the 64-character MRENCLAVE 13 times and appending a two-digit suffix) and compares them
 * pairwise in `rules` rules. Every comparison reads two 512 KiB strings that differ only at the
 * end, but costs the step meter a single unit; with 100 rules the old evaluator spent about twelve
 * seconds of uninterrupted CPU on it.
 */
export function pairwiseBigStringPolicy(rules = 100): string {
  const lines = ['version=1.2;', 'authorizationrules { => permit(); };', 'issuancerules {'];
  lines.push('c:[type=="x-ms-sgx-mrenclave"] => add(type="s0", value=c.value);');
  for (let i = 0; i < 13; i += 1) {
    lines.push(`c:[type=="s${i}"] => add(type="s${i + 1}", value=AppendString(c.value, c.value));`);
  }
  for (let i = 10; i < 50; i += 1) {
    lines.push(`c:[type=="s13"] => add(type="big", value=AppendString(c.value, "${i}"));`);
  }
  for (let i = 0; i < rules; i += 1) {
    lines.push('c:[type=="big"] && d:[type=="big", value!=c.value] => add(type="x", value=1);');
  }
  lines.push('};');
  return lines.join('\n');
}

/** JSON text of `depth` nested objects: {"a":{"a":…{"a":1}…}}. */
export function deeplyNestedJson(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
