/**
 * The webhook's pool affinity is judged by the configured VALUES, not by the label key alone: an
 * existing node-affinity expression on the pool key counts as the pool requirement only when it is
 * `In` and every value it allows is a configured pool value. Any other expression on that key (other
 * pool, NotIn, Exists, a superset of the pools) gets the configured requirement added beside it
 * (expressions of a term are ANDed), in every required term and in the preferences.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WEBHOOK_CONFIG, mutatePod, type WebhookConfig } from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { AZURE, container, pod, type Json } from './fixtures.ts';

const KEY = DEFAULT_WEBHOOK_CONFIG.poolLabel.key;
const POOL = { key: KEY, operator: 'In', values: [...DEFAULT_WEBHOOK_CONFIG.poolLabel.values] };

interface Term {
  matchExpressions?: Json[];
}

/** An SGX pod whose required node affinity has one term with `expressions`. */
function podWithRequired(expressions: Json[]): Json {
  return pod([container('app', { [AZURE]: '4' })], {
    spec: {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: expressions }],
          },
        },
      },
    },
  });
}

/** Mutates, applies with the independent applier, checks idempotence; returns the required terms. */
function requiredTermsAfter(p: Json, config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG): Term[] {
  const patched = applyPatch(p, mutatePod(p, config, { namespace: 'apps' })) as {
    spec: {
      affinity: {
        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: Term[] } };
      };
    };
  };
  assert.deepEqual(mutatePod(patched, config, { namespace: 'apps' }), [], 'second pass adds nothing');
  return patched.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
}

describe('webhook pool affinity: values, not just the key (required)', () => {
  const wrong: [string, Json][] = [
    ['another pool', { key: KEY, operator: 'In', values: ['regular'] }],
    ['NotIn the confidential pool', { key: KEY, operator: 'NotIn', values: ['confidential'] }],
    ['Exists (any pool)', { key: KEY, operator: 'Exists' }],
    ['In a superset of the pools', { key: KEY, operator: 'In', values: ['confidential', 'regular'] }],
    ['In with no values', { key: KEY, operator: 'In', values: [] }],
    ['DoesNotExist', { key: KEY, operator: 'DoesNotExist' }],
  ];
  for (const [name, existing] of wrong) {
    test(`pool key with ${name}: the configured requirement is added beside it`, () => {
      const [term] = requiredTermsAfter(podWithRequired([existing]));
      assert.deepEqual(term?.matchExpressions, [existing, POOL]);
    });
  }

  test('pool key In exactly the configured values: nothing is added', () => {
    const p = podWithRequired([{ key: KEY, operator: 'In', values: ['confidential'] }]);
    const patch = mutatePod(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'apps' });
    assert.ok(!patch.some((op) => op.path.startsWith('/spec/affinity')), JSON.stringify(patch));
  });

  test('several configured pools: In a subset of them is kept; In another pool gains all of them', () => {
    const config: WebhookConfig = {
      ...DEFAULT_WEBHOOK_CONFIG,
      poolLabel: { key: KEY, values: ['confidential', 'confidential-large'] },
    };
    const subset = podWithRequired([{ key: KEY, operator: 'In', values: ['confidential-large'] }]);
    assert.ok(
      !mutatePod(subset, config, { namespace: 'apps' }).some((op) => op.path.startsWith('/spec/affinity')),
    );
    const [term] = requiredTermsAfter(
      podWithRequired([{ key: KEY, operator: 'In', values: ['regular'] }]),
      config,
    );
    assert.deepEqual(term?.matchExpressions?.[1], {
      key: KEY,
      operator: 'In',
      values: ['confidential', 'confidential-large'],
    });
  });

  test('a configured label value other than the default is the one written', () => {
    const config: WebhookConfig = {
      ...DEFAULT_WEBHOOK_CONFIG,
      poolLabel: { key: 'example.com/tier', values: ['sgx'] },
    };
    const [term] = requiredTermsAfter(
      podWithRequired([{ key: 'example.com/tier', operator: 'In', values: ['confidential'] }]),
      config,
    );
    assert.deepEqual(term?.matchExpressions, [
      { key: 'example.com/tier', operator: 'In', values: ['confidential'] },
      { key: 'example.com/tier', operator: 'In', values: ['sgx'] },
    ]);
  });

  test('every term is checked on its own: the right term is kept, the wrong one fixed', () => {
    const p = pod([container('app', { [AZURE]: '4' })], {
      spec: {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: KEY, operator: 'In', values: ['confidential'] }] },
                { matchExpressions: [{ key: KEY, operator: 'In', values: ['regular'] }] },
              ],
            },
          },
        },
      },
    });
    const terms = requiredTermsAfter(p);
    assert.deepEqual(terms[0]?.matchExpressions, [POOL]);
    assert.deepEqual(terms[1]?.matchExpressions, [{ key: KEY, operator: 'In', values: ['regular'] }, POOL]);
  });
});

describe('webhook pool affinity: values, not just the key (preferred)', () => {
  const preferred: WebhookConfig = { ...DEFAULT_WEBHOOK_CONFIG, affinity: 'preferred' };
  const withPreference = (expr: Json): Json =>
    pod([container('app', { [AZURE]: '4' })], {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              { weight: 10, preference: { matchExpressions: [expr] } },
            ],
          },
        },
      },
    });
  const prefsAfter = (p: Json): Json[] => {
    const patched = applyPatch(p, mutatePod(p, preferred, { namespace: 'apps' })) as {
      spec: { affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: Json[] } } };
    };
    assert.deepEqual(mutatePod(patched, preferred, { namespace: 'apps' }), []);
    return patched.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution;
  };

  test('a preference for another pool does not count: the configured preference is added', () => {
    const prefs = prefsAfter(withPreference({ key: KEY, operator: 'In', values: ['regular'] }));
    assert.equal(prefs.length, 2);
    assert.deepEqual(prefs[1], { weight: 100, preference: { matchExpressions: [POOL] } });
  });

  test('a preference for exactly the configured pool is kept as it is', () => {
    const prefs = prefsAfter(withPreference({ key: KEY, operator: 'In', values: ['confidential'] }));
    assert.equal(prefs.length, 1);
  });
});
