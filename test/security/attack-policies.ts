/**
 * Hostile inputs shared by the availability regression tests (issue 12, item 8). The draft-policy
 * attack of item 6 is in test/support/policy-attack.ts (shared with bench/policy-attack.ts).
 */

/** JSON text of `depth` nested objects: {"a":{"a":…{"a":1}…}}. */
export function deeplyNestedJson(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}
