/**
 * The packer against documented behaviour: kube-scheduler's NodeResourcesFit / TaintToleration /
 * NodeAffinity filters and FailedScheduling text, cluster-autoscaler's binpacking estimator (FFD with
 * the cpu+memory score), AKS seed facts (EPC per SKU, MiB devices) and the cheapest mix. Sources are
 * listed per case in docs/planner.md ("Correctness cases").
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SKU_TABLE,
  PlannerInputError,
  aksReservedCpuMilli,
  autoscalerScore,
  cheapestMix,
  estimateSku,
  filterNode,
  fitErrorMessage,
  readWorkloads,
  selectSkus,
  skuShapes,
  validateSkuTable,
  type PodGroup,
} from '../../src/planner/index.ts';

const MiB = 1024 * 1024;

function deployment(
  name: string,
  replicas: number,
  container: Record<string, unknown>,
  spec: Record<string, unknown> = {},
): unknown {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: { replicas, template: { spec: { containers: [{ name: 'c', ...container }], ...spec } } },
  };
}

function groups(docs: unknown[], webhook = true): PodGroup[] {
  return readWorkloads(docs, 'test.yaml', { webhook });
}

const shape = (name: string, pool = {}) => skuShapes(selectSkus(DEFAULT_SKU_TABLE, [name]), pool)[0]!;

describe('AKS seed facts', () => {
  test('EPC per SKU: DCsv2 28/56/112/168 MiB, DCsv3 and DCdsv3 4…256 GiB', () => {
    const epc = (n: string) => selectSkus(DEFAULT_SKU_TABLE, [n])[0]!.epcMiB;
    assert.deepEqual(['DC1s_v2', 'DC2s_v2', 'DC4s_v2', 'DC8_v2'].map(epc), [28, 56, 112, 168]);
    assert.equal(epc('DC1s_v3'), 4096);
    assert.equal(epc('DC48s_v3'), 262144);
    assert.equal(epc('DC32ds_v3'), 196608);
    assert.equal(DEFAULT_SKU_TABLE.skus.length, 20);
  });

  test('a node advertises both EPC dialects: MiB count and bytes', () => {
    const s = shape('Standard_DC4s_v2').shape;
    assert.equal(s.allocatable['kubernetes.azure.com/sgx_epc_mem_in_MiB'], 112);
    assert.equal(s.allocatable['sgx.intel.com/epc'], 117440512);
    assert.equal(s.labels['node.kubernetes.io/instance-type'], 'Standard_DC4s_v2');
  });

  test('AKS kube-reserved CPU table (60/100/140/180/260/420/740 m) and the kwok template value 3860m', () => {
    assert.deepEqual([1, 2, 4, 8, 16, 32, 64].map(aksReservedCpuMilli), [60, 100, 140, 180, 260, 420, 740]);
    assert.equal(aksReservedCpuMilli(24), 340);
    assert.equal(shape('Standard_DC4s_v2').shape.allocatable['cpu'], 3860);
  });

  test('the MiB dialect counts MiB, the Intel dialect bytes: 10 and 10Mi ask for the same', () => {
    const [a] = groups([
      deployment('a', 1, { resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '10' } } }),
    ]);
    const [b] = groups([deployment('b', 1, { resources: { limits: { 'sgx.intel.com/epc': '10Mi' } } })]);
    assert.equal(a!.epcMiB, 10);
    assert.equal(b!.epcMiB, 10);
    // The webhook model writes both dialects and one enclave slot.
    assert.equal(a!.requests['sgx.intel.com/epc'], 10 * MiB);
    assert.equal(b!.requests['kubernetes.azure.com/sgx_epc_mem_in_MiB'], 10);
    assert.equal(a!.requests['sgx.intel.com/enclave'], 1);
  });
});

describe('requests as the API server and scheduler see them', () => {
  test('extended resources: requests default to limits; differing requests and limits are refused', () => {
    const [g] = groups(
      [deployment('a', 1, { resources: { limits: { 'sgx.intel.com/epc': '8Mi' } } })],
      false,
    );
    assert.equal(g!.requests['sgx.intel.com/epc'], 8 * MiB);
    assert.throws(
      () =>
        groups([
          deployment('a', 1, {
            resources: { requests: { 'sgx.intel.com/epc': '4Mi' }, limits: { 'sgx.intel.com/epc': '8Mi' } },
          }),
        ]),
      (e: unknown) =>
        e instanceof PlannerInputError && e.code === 'ERR_PLAN_WORKLOAD' && /differ/.test(e.message),
    );
  });

  test('fractional extended resources and bad quantities are typed errors naming the field', () => {
    assert.throws(
      () =>
        groups([
          deployment('a', 1, { resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': '1.5' } } }),
        ]),
      (e: unknown) =>
        e instanceof PlannerInputError &&
        e.code === 'ERR_PLAN_QUANTITY' &&
        /sgx_epc_mem_in_MiB/.test(e.message),
    );
    assert.throws(
      () => groups([deployment('a', 1, { resources: { requests: { cpu: 'lots' } } })]),
      (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_QUANTITY',
    );
  });

  test('init containers: max(app + sidecars, each init + earlier sidecars); overhead added', () => {
    const [g] = groups(
      [
        {
          kind: 'Pod',
          metadata: { name: 'p' },
          spec: {
            overhead: { cpu: '10m' },
            initContainers: [
              { name: 'side', restartPolicy: 'Always', resources: { requests: { cpu: '100m' } } },
              { name: 'init', resources: { requests: { cpu: '900m' } } },
            ],
            containers: [{ name: 'app', resources: { requests: { cpu: '200m' } } }],
          },
        },
      ],
      false,
    );
    assert.equal(g!.requests['cpu'], 1010); // max(200+100, 100+900) + 10
  });

  test('unknown kinds are refused; Jobs count parallelism; StatefulSets count replicas', () => {
    assert.throws(
      () => groups([{ kind: 'Service', metadata: { name: 's' }, spec: {} }]),
      (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_WORKLOAD',
    );
    const [j] = groups([
      {
        kind: 'Job',
        metadata: { name: 'j' },
        spec: { parallelism: 3, template: { spec: { containers: [{ name: 'c' }] } } },
      },
    ]);
    assert.equal(j!.replicas, 3);
  });
});

describe('kube-scheduler filters and FailedScheduling text', () => {
  const epcPod = (mib: number) =>
    groups([
      deployment('e', 1, {
        resources: { limits: { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': String(mib) } },
      }),
    ])[0]!;

  test('Insufficient <resource> for both dialects, counted per node, sorted, with the preemption suffix', () => {
    const s = shape('Standard_DC2s_v2').shape;
    const r = filterNode(epcPod(64), s);
    assert.deepEqual(r.reasons, [
      'Insufficient kubernetes.azure.com/sgx_epc_mem_in_MiB',
      'Insufficient sgx.intel.com/epc',
    ]);
    // 64 MiB is more than the node's whole allocatable (56 MiB): NodeResourcesFit marks the failure
    // Unresolvable (kubernetes v1.3x pkg/scheduler/framework/plugins/noderesources/fit.go,
    // InsufficientResource.Unresolvable = request > allocatable), so preemption is not tried.
    assert.equal(r.unresolvable, true);
    assert.equal(
      fitErrorMessage([r, r, r]),
      '0/3 nodes are available: 3 Insufficient kubernetes.azure.com/sgx_epc_mem_in_MiB, 3 Insufficient sgx.intel.com/epc. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.',
    );
    // 40 MiB on a node with 30 of its 56 MiB taken: insufficient now, but evicting pods could make
    // room, so the preemption part says no victims were found (none of lower priority here).
    const used = { 'kubernetes.azure.com/sgx_epc_mem_in_MiB': 30, 'sgx.intel.com/epc': 30 * MiB };
    const busy = filterNode(epcPod(40), s, used, 1);
    assert.equal(busy.unresolvable, false);
    assert.equal(
      fitErrorMessage([busy, r]),
      '0/2 nodes are available: 2 Insufficient kubernetes.azure.com/sgx_epc_mem_in_MiB, 2 Insufficient sgx.intel.com/epc. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.',
    );
  });

  test('a pod without the toleration is stopped by the pool taint first (TaintToleration runs before NodeAffinity and NodeResourcesFit)', () => {
    const [plain] = groups([deployment('plain', 1, { resources: { requests: { cpu: '100m' } } })]);
    const r = filterNode(plain!, shape('Standard_DC2s_v2').shape);
    assert.deepEqual(r.reasons, ['node(s) had untolerated taint {ccnodes.io/pool: confidential}']);
    assert.equal(r.unresolvable, true);
    assert.match(
      fitErrorMessage([r]),
      /preemption: 0\/1 nodes are available: 1 Preemption is not helpful for scheduling\.$/,
    );
  });

  test("nodeSelector / required affinity mismatch: node(s) didn't match Pod's node affinity/selector", () => {
    const [g] = groups([
      deployment(
        'sel',
        1,
        { resources: { limits: { 'sgx.intel.com/epc': '1Mi' } } },
        { nodeSelector: { 'node.kubernetes.io/instance-type': 'Standard_DC8_v2' } },
      ),
    ]);
    assert.deepEqual(filterNode(g!, shape('Standard_DC2s_v2').shape).reasons, [
      "node(s) didn't match Pod's node affinity/selector",
    ]);
    assert.deepEqual(filterNode(g!, shape('Standard_DC8_v2').shape).reasons, []);
  });

  test('the reason histogram is sorted as text, whatever order the filters found the reasons in', () => {
    const full = filterNode(
      groups([deployment('cpu', 1, { resources: { requests: { cpu: '8' } } })], false)[0]!,
      shape('Standard_DC2s_v2', { taint: false }).shape,
      {},
      110,
    );
    assert.deepEqual(full.reasons, ['Too many pods', 'Insufficient cpu']);
    assert.equal(
      fitErrorMessage([full, full], false),
      '0/2 nodes are available: 2 Insufficient cpu, 2 Too many pods.',
    );
  });

  test('ephemeral-storage: 128 GiB OS disk less 10 % (115.2 GiB) on a default node', () => {
    const [g] = groups([
      deployment('disk', 1, {
        resources: { requests: { 'ephemeral-storage': '120Gi' }, limits: { 'sgx.intel.com/epc': '1Mi' } },
      }),
    ]);
    assert.equal(
      shape('Standard_DC2s_v2').shape.allocatable['ephemeral-storage'],
      Math.floor(128 * 1024 * 0.9) * MiB,
    );
    assert.deepEqual(filterNode(g!, shape('Standard_DC2s_v2').shape).reasons, [
      'Insufficient ephemeral-storage',
    ]);
  });

  test('Too many pods when the node is at max pods; no nodes at all says so', () => {
    const s = shape('Standard_DC8_v2').shape;
    assert.ok(filterNode(epcPod(1), s, {}, 110).reasons.includes('Too many pods'));
    assert.equal(fitErrorMessage([]), 'no nodes available to schedule pods');
  });
});

describe('binpacking estimator (first-fit decreasing)', () => {
  test('EPC bound: 10 pods of 32 MiB on DC4s_v2 (112 MiB) need ceil(10/3) = 4 nodes', () => {
    const g = groups([deployment('e', 10, { resources: { limits: { 'sgx.intel.com/epc': '32Mi' } } })]);
    const plan = estimateSku(g, shape('Standard_DC4s_v2'));
    assert.equal(plan.nodes.length, 4);
    assert.deepEqual(
      plan.nodes.map((n) => n.pods),
      [3, 3, 3, 1],
    );
  });

  test('decreasing order by cpu/alloc + memory/alloc: the big pod is placed first', () => {
    const s = shape('Standard_DC4s_v2');
    const [small, big] = groups([
      deployment('small', 1, {
        resources: { requests: { cpu: '100m' }, limits: { 'sgx.intel.com/epc': '1Mi' } },
      }),
      deployment('big', 1, { resources: { requests: { cpu: '2' }, limits: { 'sgx.intel.com/epc': '1Mi' } } }),
    ]);
    assert.ok(autoscalerScore(big!, s.shape) > autoscalerScore(small!, s.shape));
    const plan = estimateSku([small!, big!], s);
    assert.deepEqual(
      [...plan.nodes[0]!.groups.keys()].filter((k) => k.startsWith('Deployment')),
      ['Deployment/default/big', 'Deployment/default/small'],
    );
  });

  test('FFD on sizes 3,6,3,5,4,3 with bins of 10: sorted 6,5,4,3,3,3 → bins 6+4, 5+3, 3+3 (3 nodes)', () => {
    // Encode sizes as cpu so the autoscaler's score orders them; bin = 10 × 370m.
    const table = validateSkuTable({
      skus: [
        {
          name: 'Test_Bin',
          vcpu: 4,
          memoryGiB: 64,
          epcMiB: 100,
          pricePerHour: 1,
          allocatable: { cpu: '3700m' },
        },
      ],
    });
    const ss = skuShapes(table.skus, { taint: false })[0]!;
    const sizes = [3, 6, 3, 5, 4, 3];
    const g = groups(
      sizes.map((s, i) => deployment(`p${i}`, 1, { resources: { requests: { cpu: `${s * 370}m` } } })),
      false,
    );
    const plan = estimateSku(g, ss);
    assert.equal(plan.nodes.length, 3);
    assert.deepEqual(
      plan.nodes.map((n) => Math.round((n.used['cpu'] ?? 0) / 370)),
      [10, 8, 6], // 6 then 4 (first fit), 5 then 3, 3+3
    );
  });

  test('DaemonSet pods are reserved on every node; a pod that cannot fit an empty node is unschedulable', () => {
    const ds = groups([
      {
        kind: 'DaemonSet',
        metadata: { name: 'agent' },
        spec: {
          template: {
            spec: {
              tolerations: [{ key: 'ccnodes.io/pool', operator: 'Exists' }],
              containers: [{ name: 'a', resources: { requests: { cpu: '1' } } }],
            },
          },
        },
      },
    ]);
    const pods = groups([
      deployment('w', 2, {
        resources: { requests: { cpu: '1500m' }, limits: { 'sgx.intel.com/epc': '1Mi' } },
      }),
    ]);
    const plan = estimateSku([...ds, ...pods], shape('Standard_DC2s_v2')); // 1900m allocatable - 1000m daemon
    assert.equal(plan.nodes.length, 0);
    assert.equal(plan.unschedulable[0]?.count, 2);
    assert.match(plan.unschedulable[0].onEmptyNode['Standard_DC2s_v2']!, /^Insufficient cpu$/);
    const plan4 = estimateSku([...ds, ...pods], shape('Standard_DC4s_v2')); // 3860m - 1000m: one 1500m pod per node
    assert.equal(plan4.nodes.length, 2);
    assert.deepEqual(
      plan4.nodes.map((n) => n.pods),
      [2, 2],
    ); // the DaemonSet pod and one workload pod
  });

  test('--max-nodes stops the plan; the leftovers get the scheduler message against the planned nodes', () => {
    const g = groups([deployment('e', 5, { resources: { limits: { 'sgx.intel.com/epc': '50Mi' } } })]);
    const plan = estimateSku(g, shape('Standard_DC2s_v2'), { maxNodes: 2 });
    assert.equal(plan.hitMaxNodes, true);
    assert.equal(plan.placedPods, 2);
    assert.equal(plan.unschedulable[0]?.count, 3);
    assert.match(
      plan.unschedulable[0].message,
      /^0\/2 nodes are available: 2 Insufficient kubernetes.azure.com\/sgx_epc_mem_in_MiB, 2 Insufficient sgx.intel.com\/epc\./,
    );
  });
});

describe('cheapest mix', () => {
  test('never worse than the best single SKU, and mixes when one pod needs a larger EPC', () => {
    const shapes = skuShapes(selectSkus(DEFAULT_SKU_TABLE, ['DC2s_v2', 'DC8_v2']));
    const g = groups([
      deployment('small', 2, { resources: { limits: { 'sgx.intel.com/epc': '40Mi' } } }),
      deployment('large', 1, { resources: { limits: { 'sgx.intel.com/epc': '150Mi' } } }),
    ]);
    const r = cheapestMix(g, shapes);
    for (const p of r.single) {
      const u = (x: typeof p) => x.unschedulable.reduce((s, v) => s + v.count, 0);
      assert.ok(u(r.best) < u(p) || (u(r.best) === u(p) && r.best.costPerHour <= p.costPerHour));
    }
    assert.equal(r.best.unschedulable.length, 0);
    // DC8_v2 alone: 150 on one node, the two 40s on a second (168-150 < 40) = 2 × 0.768 = 1.536 $/h;
    // the mix: 1 × DC8_v2 + 2 × DC2s_v2 (one 40 MiB pod per 56 MiB node) = 0.768 + 2 × 0.192 = 1.152.
    assert.deepEqual(r.best.countBySku, { Standard_DC8_v2: 1, Standard_DC2s_v2: 2 });
    assert.equal(r.best.costPerHour, 1.152);
    assert.equal(r.single.find((p) => p.strategy === 'ffd:Standard_DC8_v2')?.costPerHour, 1.536);
  });

  test('the SKU table is validated and unknown SKUs are refused with the known list', () => {
    assert.throws(
      () => validateSkuTable({ skus: [{ name: 'x', vcpu: 0, memoryGiB: 1, epcMiB: 1, pricePerHour: 1 }] }),
      (e: unknown) =>
        e instanceof PlannerInputError && e.code === 'ERR_PLAN_SKU_TABLE' && /vcpu/.test(e.message),
    );
    assert.throws(
      () => selectSkus(DEFAULT_SKU_TABLE, ['DC3s_v9']),
      (e: unknown) =>
        e instanceof PlannerInputError &&
        e.code === 'ERR_PLAN_SKU_UNKNOWN' &&
        /Standard_DC4s_v2/.test(e.message),
    );
  });
});
