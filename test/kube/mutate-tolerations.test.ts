/**
 * Which existing tolerations and node-affinity entries count as already giving an SGX pod what the
 * webhook would add, and what the `none` affinity mode does. Written from the survivors of
 * `npm run mutate -- src/kube/mutate.ts` (docs/testing.md).
 *
 * - A toleration counts when it tolerates the configured taint: same key with `Exists`, or same
 *   key and value with `Equal`, and an effect that is absent or the same; a wildcard (empty key,
 *   `Exists`) tolerates everything. Anything else gets the configured toleration added beside it.
 * - A node-affinity entry that is not an object (null, a string) never counts as the pool
 *   requirement, and does not crash the webhook.
 * - `affinity: none` adds no node affinity at all.
 * - The patched pod the CLI shows (`mutatePodWithResult`, `applyJsonPatch`) is what an independent
 *   JSON Patch applier makes of the patch, also when the patch appends to arrays the pod has.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WEBHOOK_CONFIG,
  applyJsonPatch,
  mutatePod,
  mutatePodWithResult,
  type WebhookConfig,
} from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { AZURE, container, pod, type Json } from './fixtures.ts';

const WANTED = DEFAULT_WEBHOOK_CONFIG.tolerations[0];
assert.ok(WANTED !== undefined);
const TAINT_KEY = WANTED.key;
const POOL_KEY = DEFAULT_WEBHOOK_CONFIG.poolLabel.key;
const POOL = { key: POOL_KEY, operator: 'In', values: [...DEFAULT_WEBHOOK_CONFIG.poolLabel.values] };

const sgxPod = (spec: Json = {}): Json => pod([container('app', { [AZURE]: '4' })], { spec });

function after(p: Json, config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG): { spec: Record<string, unknown> } {
  return applyPatch(p, mutatePod(p, config, { namespace: 'apps' })) as { spec: Record<string, unknown> };
}

const tolerationsAfter = (existing: unknown[]): unknown[] =>
  after(sgxPod({ tolerations: existing })).spec['tolerations'] as unknown[];

describe('webhook tolerations: what counts as tolerating the confidential taint', () => {
  test('control: a pod without tolerations gets the configured one', () => {
    assert.deepEqual(tolerationsAfter([]), [{ ...WANTED }]);
  });

  test('same key with Exists tolerates it whatever the value: nothing is added', () => {
    const existing = { key: TAINT_KEY, operator: 'Exists', effect: WANTED.effect };
    assert.deepEqual(tolerationsAfter([existing]), [existing]);
  });

  test('same key, Equal with the same value and no effect tolerates it', () => {
    const existing = { key: TAINT_KEY, operator: 'Equal', value: WANTED.value };
    assert.deepEqual(tolerationsAfter([existing]), [existing]);
  });

  test('same key, Equal with another value does not: the configured toleration is added', () => {
    const existing = { key: TAINT_KEY, operator: 'Equal', value: `${String(WANTED.value)}-other` };
    assert.deepEqual(tolerationsAfter([existing]), [existing, { ...WANTED }]);
  });

  test('same key and value with another effect does not', () => {
    const existing = { key: TAINT_KEY, operator: 'Equal', value: WANTED.value, effect: 'PreferNoSchedule' };
    assert.deepEqual(tolerationsAfter([existing]), [existing, { ...WANTED }]);
  });

  test('a wildcard toleration (no key, Exists) tolerates it', () => {
    const existing = { operator: 'Exists' };
    assert.deepEqual(tolerationsAfter([existing]), [existing]);
  });

  test('another key does not, and entries that are not objects are skipped without a crash', () => {
    const other = { key: 'example.com/other', operator: 'Exists' };
    assert.deepEqual(tolerationsAfter([null, 'x', other]), [null, 'x', other, { ...WANTED }]);
  });
});

describe('webhook node affinity: entries that are not expressions, and mode none', () => {
  const required = (expressions: unknown[]): Json =>
    sgxPod({
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: expressions }],
          },
        },
      },
    });
  const termsOf = (p: { spec: Record<string, unknown> }): { matchExpressions: unknown[] }[] =>
    (
      p.spec['affinity'] as {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: { matchExpressions: unknown[] }[];
          };
        };
      }
    ).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;

  test('a null or string entry is not the pool requirement: it is added beside them', () => {
    const [term] = termsOf(after(required([null, POOL_KEY])));
    assert.deepEqual(term?.matchExpressions, [null, POOL_KEY, POOL]);
  });

  test('affinity none adds no node affinity, and still adds the toleration', () => {
    const config: WebhookConfig = { ...DEFAULT_WEBHOOK_CONFIG, affinity: 'none' };
    const patch = mutatePod(sgxPod(), config, { namespace: 'apps' });
    assert.ok(!patch.some((op) => op.path.startsWith('/spec/affinity')), JSON.stringify(patch));
    assert.ok(
      patch.some((op) => op.path.startsWith('/spec/tolerations')),
      JSON.stringify(patch),
    );
  });
});

describe('the patched pod shown by mutatePodWithResult', () => {
  test('appending to arrays the pod already has gives what an independent applier gives', () => {
    const p = pod(
      [
        container('app', { [AZURE]: '4' }),
        { ...container('side', { [AZURE]: '2' }), env: [{ name: 'A', value: '1' }], volumeMounts: [] },
      ],
      { spec: { tolerations: [{ key: 'example.com/other', operator: 'Exists' }], volumes: [] } },
    );
    const r = mutatePodWithResult(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'apps' });
    assert.ok(
      r.patch.some((op) => op.path.endsWith('/-')),
      JSON.stringify(r.patch),
    );
    assert.deepEqual(r.pod, applyPatch(p, r.patch));
    assert.deepEqual(applyJsonPatch(p, r.patch), r.pod);
  });

  test('a pod that asks for no SGX resource comes back unchanged, as a copy', () => {
    const p = pod([container('web')], { spec: { tolerations: [] } });
    const r = mutatePodWithResult(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'apps' });
    assert.deepEqual(r.patch, []);
    assert.deepEqual(r.pod, p);
    assert.notEqual(r.pod, p);
  });

  test('applyJsonPatch inserts at an array index and refuses a path whose parent does not exist', () => {
    const doc = { list: ['a', 'c'] };
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'add', path: '/list/1', value: 'b' }]), {
      list: ['a', 'b', 'c'],
    });
    assert.deepEqual(doc, { list: ['a', 'c'] }, 'the input is not changed');
    assert.throws(() => applyJsonPatch(doc, [{ op: 'add', path: '/missing/x', value: 1 }]), TypeError);
  });
});
