/** The background node PATCH: capped exponential backoff, state transitions, stop. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DevicePluginMetrics,
  NodePatchLoop,
  nodePatchRetryDelay,
  type NodePatches,
} from '../../src/node/device-plugin/index.ts';

const EMPTY: NodePatches = { statusPatch: [], nodePatch: [] };

describe('node PATCH retry loop', () => {
  test('delays double from 1 s to a 60 s cap; jitter keeps them within [d/2, d]', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => nodePatchRetryDelay(n)),
      [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000],
    );
    assert.equal(nodePatchRetryDelay(3, { initialMs: 100, maxMs: 250 }), 250);
    // A seeded source (a fixed sequence) gives reproducible delays.
    const seq = [0, 0.5, 0.999];
    let i = 0;
    const random = (): number => seq[i++ % seq.length] ?? 0;
    assert.deepEqual(
      [1, 1, 1].map((n) => nodePatchRetryDelay(n, { random })),
      [500, 750, 1000],
    );
  });

  test('pending → failing (with the error) → applied; metrics follow', async () => {
    const metrics = new DevicePluginMetrics();
    let calls = 0;
    const loop = new NodePatchLoop({
      nodeName: 'n',
      apply: () => {
        calls += 1;
        if (calls <= 2) return Promise.reject(Object.assign(new Error(`down ${calls}`), { code: 'ERR_X' }));
        return Promise.resolve(EMPTY);
      },
      backoff: { initialMs: 5, maxMs: 10 },
      metrics,
    });
    assert.equal(loop.status().state, 'pending');
    loop.start();
    const first = await loop.whenFirstAttemptDone();
    assert.equal(first.state, 'failing');
    assert.equal(first.lastError, 'down 1');
    assert.equal(first.lastErrorCode, 'ERR_X');
    assert.equal(first.nextRetryMs, 5);
    await loop.whenApplied();
    const done = loop.status();
    assert.equal(done.state, 'applied');
    assert.equal(done.attempts, 3);
    assert.equal(done.lastError, 'down 2', 'the last failure stays on record');
    assert.equal(done.nextRetryMs, undefined);
    const text = await metrics.registry.metrics();
    assert.match(text, /ccnodes_device_plugin_node_patch_state\{state="applied"\} 1/);
    assert.match(text, /ccnodes_device_plugin_node_patch_state\{state="failing"\} 0/);
    assert.match(text, /ccnodes_device_plugin_node_patch_attempts_total\{result="error"\} 2/);
    assert.match(text, /ccnodes_device_plugin_node_patch_attempts_total\{result="ok"\} 1/);
  });

  test('stop() ends the retries and rejects whenApplied', async () => {
    let calls = 0;
    const loop = new NodePatchLoop({
      nodeName: 'n',
      apply: () => {
        calls += 1;
        return Promise.reject(new Error('down'));
      },
      backoff: { initialMs: 3_600_000, maxMs: 3_600_000 },
    });
    loop.start();
    await loop.whenFirstAttemptDone();
    loop.stop();
    await assert.rejects(loop.whenApplied(), /stopped before the node was patched/);
    assert.equal(calls, 1);
    assert.equal(loop.status().state, 'failing');
  });
});
