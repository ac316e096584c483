/**
 * Issue 12, item 8: runtimeData/initTimeData of dataType JSON nested thousands of levels deep,
 * bound to a valid quote, used to overflow the stack while the claims were built (HTTP 500). It is
 * now refused at parsing with 400 and ERR_ATTEST_BAD_JSON_DATA naming the field, using the policy
 * engine's JSON depth limit (POLICY_LIMITS.maxJsonDepth); JSON at that depth still attests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICY_LIMITS } from '../../src/policy/index.ts';
import { deeplyNestedJson } from './attack-policies.ts';
import { attest, b64u, startSimService, type SimService } from './support.ts';

describe('deeply nested runtimeData / initTimeData JSON bound to a valid quote', () => {
  let s: SimService;
  before(async () => {
    s = await startSimService();
  });
  after(() => s.close());

  test('runtimeData nested 20,000 deep: 400 naming runtimeData, not a 500', async () => {
    const runtime = Buffer.from(deeplyNestedJson(20_000));
    const res = await attest(s.url, {
      quote: b64u(s.quote(runtime)),
      runtimeData: { data: b64u(runtime), dataType: 'JSON' },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.code, 'ERR_ATTEST_BAD_JSON_DATA');
    assert.match((res.body['error'] as { message: string }).message, /^runtimeData\.data: .*deeper than 64/);
  });

  test('initTimeData nested 20,000 deep: 400 naming initTimeData', async () => {
    const runtime = Buffer.from('{"k":1}');
    const init = Buffer.from(deeplyNestedJson(20_000));
    const res = await attest(s.url, {
      quote: b64u(s.quote(runtime, init)),
      runtimeData: { data: b64u(runtime), dataType: 'JSON' },
      initTimeData: { data: b64u(init), dataType: 'JSON' },
    });
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.code, 'ERR_ATTEST_BAD_JSON_DATA');
    assert.match((res.body['error'] as { message: string }).message, /^initTimeData\.data: /);
  });

  test('the limit is the policy engine’s: depth 64 attests, depth 65 is refused', async () => {
    // deeplyNestedJson(n) has n objects and a scalar leaf: n + 1 levels as the policy engine counts.
    const ok = Buffer.from(deeplyNestedJson(POLICY_LIMITS.maxJsonDepth - 1));
    const accepted = await attest(s.url, {
      quote: b64u(s.quote(ok)),
      runtimeData: { data: b64u(ok), dataType: 'JSON' },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const deep = Buffer.from(deeplyNestedJson(POLICY_LIMITS.maxJsonDepth));
    const refused = await attest(s.url, {
      quote: b64u(s.quote(deep)),
      runtimeData: { data: b64u(deep), dataType: 'JSON' },
    });
    assert.equal(refused.status, 400);
    assert.equal(refused.code, 'ERR_ATTEST_BAD_JSON_DATA');
  });
});
