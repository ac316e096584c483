/**
 * Documented cases of the behaviour the planner reproduces, each with its public source (facts read
 * from the sources, cases written for ccnodes; also listed in docs/planner.md, "Correctness cases"):
 *
 * - kube-scheduler TaintToleration filter: kubernetes pkg/scheduler/framework/plugins/tainttoleration
 *   (only NoSchedule and NoExecute taints filter) with k8s.io/api core/v1 Toleration.ToleratesTaint
 *   (an empty effect matches every effect, an empty key with Exists matches every taint, Exists
 *   ignores the value, Equal compares it);
 * - kube-scheduler NodeAffinity filter: k8s.io/component-helpers/scheduling/corev1/nodeaffinity
 *   (nodeSelector AND required affinity; terms ORed, expressions ANDed; NotIn / DoesNotExist match a
 *   node without the label; Gt / Lt compare integers);
 * - kube-scheduler NodeResourcesFit filter: pkg/scheduler/framework/plugins/noderesources/fit.go
 *   fitsRequest (every pod needs a pod slot; a zero request is never checked; an extended resource the
 *   node does not advertise is Insufficient; a request above allocatable is Unresolvable);
 * - cluster-autoscaler's binpacking estimator: cluster-autoscaler/estimator/binpacking_estimator.go
 *   and decreasing_pod_orderer.go (pods sorted by cpu/alloc + memory/alloc of the app containers,
 *   largest first, then first fit on the nodes added so far, else a new node from the template).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SKU_TABLE,
  autoscalerScore,
  estimateSku,
  filterNode,
  readWorkloads,
  selectSkus,
  skuShapes,
  type NodeShape,
  type PodGroup,
  type Taint,
} from '../../src/planner/index.ts';

/** One pod (no webhook: exactly as written). */
function pod(spec: Record<string, unknown>): PodGroup {
  const containers = (spec['containers'] as unknown[] | undefined) ?? [{ name: 'c' }];
  return readWorkloads([{ kind: 'Pod', metadata: { name: 'p' }, spec: { ...spec, containers } }], 't.yaml', {
    webhook: false,
  })[0]!;
}

function node(labels: Record<string, string>, taints: Taint[] = [], allocatable = {}): NodeShape {
  return {
    name: 'n1',
    labels,
    taints,
    allocatable: { cpu: 4000, memory: 8 * 2 ** 30, pods: 110, ...allocatable },
  };
}

const reasons = (p: PodGroup, n: NodeShape, used = {}, pods = 0) => filterNode(p, n, used, pods).reasons;

describe('TaintToleration (kube-scheduler)', () => {
  const pool: Taint = { key: 'ccnodes.io/pool', value: 'confidential', effect: 'NoSchedule' };

  test('an empty key with operator Exists tolerates every taint', () => {
    assert.deepEqual(reasons(pod({ tolerations: [{ operator: 'Exists' }] }), node({}, [pool])), []);
  });

  test('Exists ignores the value; Equal must match it', () => {
    const exists = pod({ tolerations: [{ key: 'ccnodes.io/pool', operator: 'Exists' }] });
    const wrong = pod({ tolerations: [{ key: 'ccnodes.io/pool', operator: 'Equal', value: 'other' }] });
    assert.deepEqual(reasons(exists, node({}, [pool])), []);
    assert.deepEqual(reasons(wrong, node({}, [pool])), [
      'node(s) had untolerated taint {ccnodes.io/pool: confidential}',
    ]);
  });

  test('a toleration for NoExecute does not tolerate the same taint with NoSchedule; an empty effect does', () => {
    const noExec = pod({
      tolerations: [{ key: 'ccnodes.io/pool', operator: 'Exists', effect: 'NoExecute' }],
    });
    const any = pod({ tolerations: [{ key: 'ccnodes.io/pool', operator: 'Exists' }] });
    assert.equal(reasons(noExec, node({}, [pool])).length, 1);
    assert.deepEqual(reasons(any, node({}, [{ ...pool, effect: 'NoExecute' }])), []);
  });

  test('PreferNoSchedule taints never filter; the first untolerated hard taint is named', () => {
    const soft: Taint = { key: 'soft', value: 'x', effect: 'PreferNoSchedule' };
    const hard: Taint = { key: 'hard', value: 'y', effect: 'NoExecute' };
    assert.deepEqual(reasons(pod({}), node({}, [soft])), []);
    const r = filterNode(pod({}), node({}, [soft, hard, pool]));
    assert.deepEqual(r.reasons, ['node(s) had untolerated taint {hard: y}']);
    assert.equal(r.unresolvable, true);
  });
});

describe('NodeAffinity (kube-scheduler)', () => {
  const MISMATCH = ["node(s) didn't match Pod's node affinity/selector"];
  const req = (...terms: unknown[]) => ({
    affinity: {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } },
    },
  });

  test('nodeSelector and required affinity must both match', () => {
    const p = pod({
      nodeSelector: { zone: 'a' },
      ...req({ matchExpressions: [{ key: 'size', operator: 'In', values: ['big'] }] }),
    });
    assert.deepEqual(reasons(p, node({ zone: 'a', size: 'big' })), []);
    assert.deepEqual(reasons(p, node({ zone: 'b', size: 'big' })), MISMATCH);
    assert.deepEqual(reasons(p, node({ zone: 'a', size: 'small' })), MISMATCH);
  });

  test('terms are ORed, the expressions of one term ANDed', () => {
    const p = pod(
      req(
        {
          matchExpressions: [
            { key: 'zone', operator: 'In', values: ['a'] },
            { key: 'size', operator: 'In', values: ['big'] },
          ],
        },
        { matchExpressions: [{ key: 'spare', operator: 'Exists' }] },
      ),
    );
    assert.deepEqual(reasons(p, node({ zone: 'a', size: 'big' })), []);
    assert.deepEqual(reasons(p, node({ zone: 'a', size: 'small' })), MISMATCH);
    assert.deepEqual(reasons(p, node({ spare: '' })), []);
  });

  test('NotIn and DoesNotExist match a node without the label; Gt and Lt compare integers', () => {
    const notIn = pod(req({ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }));
    const absent = pod(req({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }));
    const gt = pod(
      req({ matchExpressions: [{ key: 'ccnodes.io/epc-mib', operator: 'Gt', values: ['100'] }] }),
    );
    assert.deepEqual(reasons(notIn, node({})), []);
    assert.deepEqual(reasons(notIn, node({ zone: 'a' })), MISMATCH);
    assert.deepEqual(reasons(absent, node({})), []);
    assert.deepEqual(reasons(gt, node({ 'ccnodes.io/epc-mib': '112' })), []);
    assert.deepEqual(reasons(gt, node({ 'ccnodes.io/epc-mib': '56' })), MISMATCH);
    assert.deepEqual(reasons(gt, node({ 'ccnodes.io/epc-mib': 'lots' })), MISMATCH);
  });
});

describe('NodeResourcesFit (kube-scheduler)', () => {
  test('a pod that requests nothing still needs a pod slot', () => {
    assert.deepEqual(reasons(pod({}), node({}), {}, 109), []);
    assert.deepEqual(reasons(pod({}), node({}), {}, 110), ['Too many pods']);
  });

  test('an extended resource the node does not advertise is Insufficient, and unresolvable', () => {
    const p = pod({
      containers: [{ name: 'c', resources: { limits: { 'example.com/widget': '1' } } }],
    });
    const r = filterNode(p, node({}));
    assert.deepEqual(r.reasons, ['Insufficient example.com/widget']);
    assert.equal(r.unresolvable, true);
  });

  test('a request that fits the node but not what is left is resolvable (preemption may help)', () => {
    const p = pod({ containers: [{ name: 'c', resources: { requests: { cpu: '3' } } }] });
    const r = filterNode(p, node({}), { cpu: 2000 }, 1);
    assert.deepEqual(r.reasons, ['Insufficient cpu']);
    assert.equal(r.unresolvable, false);
  });
});

describe('binpacking estimator (cluster-autoscaler)', () => {
  const dc4 = skuShapes(selectSkus(DEFAULT_SKU_TABLE, ['DC4s_v2']))[0]!;
  const epcPods = (name: string, replicas: number, cpu: string, epcMiB: number) => ({
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      template: {
        spec: {
          containers: [
            {
              name: 'c',
              resources: {
                requests: { cpu },
                limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': String(epcMiB) },
              },
            },
          ],
        },
      },
    },
  });

  test('EPC does not enter the order: cpu-heavy pods go first even when EPC-first would need fewer nodes', () => {
    // DC4s_v2: 112 MiB EPC, 3860m cpu. Two cpu-heavy pods (1500m, 40 MiB) and two EPC-heavy pods
    // (100m, 72 MiB). By the autoscaler's cpu+memory order: the two cpu-heavy pods share node 1
    // (80 MiB), each EPC-heavy pod then needs its own node: 3 nodes. (Sorting by EPC would pair
    // 72 + 40 on two nodes; the autoscaler does not, and neither does the planner.)
    const g = readWorkloads(
      [epcPods('cpu-heavy', 2, '1500m', 40), epcPods('epc-heavy', 2, '100m', 72)],
      't.yaml',
    );
    const plan = estimateSku(g, dc4);
    assert.equal(plan.nodes.length, 3);
    assert.deepEqual(
      plan.nodes.map((n) => [...n.groups.entries()]),
      [
        [['Deployment/default/cpu-heavy', 2]],
        [['Deployment/default/epc-heavy', 1]],
        [['Deployment/default/epc-heavy', 1]],
      ],
    );
  });

  test('the order score counts app containers only: an init container does not make a pod "bigger"', () => {
    const withInit = pod({
      initContainers: [{ name: 'i', resources: { requests: { cpu: '3' } } }],
      containers: [{ name: 'c', resources: { requests: { cpu: '100m' } } }],
    });
    const plain = pod({ containers: [{ name: 'c', resources: { requests: { cpu: '200m' } } }] });
    // The scheduler reserves max(100m, 3000m) = 3000m for the first pod ...
    assert.equal(withInit.requests['cpu'], 3000);
    // ... but the autoscaler's score sees 100m, so the 200m pod is ordered before it.
    assert.ok(autoscalerScore(plain, dc4.shape) > autoscalerScore(withInit, dc4.shape));
  });
});
