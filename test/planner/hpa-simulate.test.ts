/**
 * The HPA algorithm (kubernetes.io "Horizontal Pod Autoscaling — algorithm details" and the
 * controller's behavior defaults) and the autoscaling simulation: scale from zero with EPC-carrying
 * templates, scale-down after the unneeded time, determinism.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SKU_TABLE,
  PlannerInputError,
  hpaSync,
  metricDesiredReplicas,
  utilizationDesiredReplicas,
  newHpaState,
  parseLoadCsv,
  readHpa,
  readWorkloads,
  selectSkus,
  simulate,
  skuShapes,
  type AutoscalerConfig,
  type HpaSpec,
} from '../../src/planner/index.ts';

const hpaDoc = (extra: Record<string, unknown> = {}) => ({
  apiVersion: 'autoscaling/v2',
  kind: 'HorizontalPodAutoscaler',
  metadata: { name: 'api' },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' },
    minReplicas: 1,
    maxReplicas: 20,
    metrics: [
      {
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
      },
    ],
    ...extra,
  },
});

describe('HPA replica calculator', () => {
  test('desired = ceil(current × current/target): 200m of 100m target on 1 pod → 2', () => {
    assert.equal(metricDesiredReplicas(1, 1, 0, 200, 100), 2);
    assert.equal(metricDesiredReplicas(3, 3, 0, 3 * 50, 100), 2); // 50 % of target → ceil(1.5)
  });

  test('within the 0.1 tolerance nothing changes (ratio 1.05 and 0.95), beyond it it does (1.2)', () => {
    assert.equal(metricDesiredReplicas(4, 4, 0, 4 * 105, 100), 4);
    assert.equal(metricDesiredReplicas(4, 4, 0, 4 * 95, 100), 4);
    assert.equal(metricDesiredReplicas(4, 4, 0, 4 * 120, 100), 5);
    // Utilization is a truncated whole percent: 10 pods of 100m using 1,099m in all are at 109 % of
    // a 100 % target (within the tolerance); at 1,100m the ratio 1.1 is, in floating point, a hair
    // beyond 0.1 from 1, so the HPA scales to 11, as kube-controller-manager does.
    assert.equal(utilizationDesiredReplicas(10, 10, 0, 1099, 100, 100), 10);
    assert.equal(utilizationDesiredReplicas(10, 10, 0, 1100, 100, 100), 11);
    assert.equal(utilizationDesiredReplicas(10, 10, 0, 1109, 100, 100), 11);
  });

  test('pending pods count as 0 usage on a scale-up; a reversed ratio keeps the count', () => {
    // 2 ready at 150 % with 2 pending: 300/(4×100) = 0.75 < 1 → keep 4.
    assert.equal(metricDesiredReplicas(4, 2, 2, 300, 100), 4);
    // 2 ready at 300 % with 2 pending: 600/400 = 1.5 → ceil(1.5 × 4) = 6.
    assert.equal(metricDesiredReplicas(4, 2, 2, 600, 100), 6);
    // No ready pod: no metric, no change.
    assert.equal(metricDesiredReplicas(3, 0, 3, 1000, 100), 3);
  });

  test('scale-up limited to max(+100 %, +4 pods) per 15 s; scale-down waits for the 300 s window', () => {
    const spec = readHpa(hpaDoc(), 'hpa.yaml');
    const st = newHpaState();
    assert.equal(hpaSync(spec, st, 0, 2, 20), 6); // 2 + 4 (100 % would be 4)
    assert.equal(hpaSync(spec, st, 15, 6, 20), 12); // 100 % of 6
    assert.equal(hpaSync(spec, st, 30, 12, 20), 20);
    // Load falls: the recommendation stays at the window's highest (20) for 300 s.
    assert.equal(hpaSync(spec, st, 45, 20, 5), 20);
    assert.equal(hpaSync(spec, st, 300, 20, 5), 20);
    assert.equal(hpaSync(spec, st, 330, 20, 5), 5); // 30 s + 300 s: the 20 of t=30 left the window
  });

  test('behavior overrides are read; bad HPAs are typed errors naming the field', () => {
    const spec: HpaSpec = readHpa(
      hpaDoc({
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 0,
            policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }],
          },
        },
      }),
      'hpa.yaml',
    );
    const st = newHpaState();
    assert.equal(hpaSync(spec, st, 0, 10, 2), 9);
    assert.equal(hpaSync(spec, st, 15, 9, 2), 9); // one pod per 60 s
    assert.equal(hpaSync(spec, st, 60, 9, 2), 8);
    assert.throws(
      () => readHpa(hpaDoc({ maxReplicas: 0 }), 'hpa.yaml'),
      (e: unknown) =>
        e instanceof PlannerInputError && e.code === 'ERR_PLAN_HPA' && /maxReplicas/.test(e.message),
    );
  });
});

const api = (replicas: number) =>
  readWorkloads(
    [
      {
        kind: 'Deployment',
        metadata: { name: 'api' },
        spec: {
          replicas,
          template: {
            spec: {
              containers: [
                {
                  name: 'c',
                  resources: {
                    requests: { cpu: '250m', memory: '256Mi' },
                    limits: { 'sgx.intel.com/epc': '32Mi' },
                  },
                },
              ],
            },
          },
        },
      },
    ],
    'w.yaml',
  );

const ca = (over: Partial<AutoscalerConfig> = {}): AutoscalerConfig => ({
  nodeGroups: [{ sku: 'Standard_DC4s_v2', min: 0, max: 10, initial: 0 }],
  scaleDownDelayAfterAdd: 600,
  scaleDownUnneededTime: 600,
  scaleDownUtilizationThreshold: 0.5,
  maxNodesTotal: 100,
  nodeProvisionSeconds: 180,
  expander: 'least-waste',
  ...over,
});

describe('autoscaling simulation', () => {
  const shapes = skuShapes(selectSkus(DEFAULT_SKU_TABLE, ['DC4s_v2']));

  test('scale from zero: 5 pending pods of 32 MiB EPC → 2 DC4s_v2 nodes (3 per 112 MiB), Ready after 180 s', () => {
    const load = parseLoadCsv('time,api\n0,0\n300,0\n', 'l.csv');
    const r = simulate({ groups: api(5), shapes, hpas: [], load, autoscaler: ca(), stepSeconds: 15 });
    const first = r.samples[0]!;
    assert.deepEqual(first.nodes['Standard_DC4s_v2'], { ready: 0, provisioning: 2 });
    assert.equal(first.pendingPods, 5);
    const at180 = r.samples.find((s) => s.t === 180)!;
    assert.deepEqual(at180.nodes['Standard_DC4s_v2'], { ready: 2, provisioning: 0 });
    assert.equal(at180.pendingPods, 0);
    assert.equal(at180.epcRequestedMiB, 160);
    assert.equal(at180.epcAllocatableMiB, 224);
    assert.equal(r.events.filter((e) => e.kind === 'scale-up').length, 1);
  });

  test('a node no longer needed is removed after the unneeded time, not before', () => {
    const load = parseLoadCsv('time,api\n0,0\n3000,0\n', 'l.csv');
    // Two initial nodes, one pod: one node is empty and unneeded from t=0 (delay-after-add does not apply: no scale-up).
    const r = simulate({
      groups: api(1),
      shapes,
      hpas: [],
      load,
      autoscaler: ca({ nodeGroups: [{ sku: 'Standard_DC4s_v2', min: 0, max: 10, initial: 2 }] }),
      stepSeconds: 15,
    });
    const downs = r.events.filter((e) => e.kind === 'scale-down');
    assert.equal(downs[0]?.t, 600);
    assert.equal(r.samples.find((s) => s.t === 585)?.nodes['Standard_DC4s_v2']?.ready, 2);
  });

  test('HPA + autoscaler over a load profile is deterministic and keeps pods pending while nodes provision', () => {
    const load = parseLoadCsv('time,api\n0,0.3\n5m,2.8\n20m,0.3\n40m,0.3\n', 'l.csv');
    const hpa = readHpa(
      {
        ...hpaDoc(),
        spec: {
          ...hpaDoc().spec,
          minReplicas: 2,
          maxReplicas: 12,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
            },
          ],
        },
      },
      'h.yaml',
    );
    const run = () =>
      simulate({ groups: api(2), shapes, hpas: [hpa], load, autoscaler: ca(), stepSeconds: 15 });
    const a = run();
    assert.deepEqual(run(), a);
    assert.ok(a.maxPending > 0);
    const peak = Math.max(...a.samples.map((s) => s.workloads['api']!.desired));
    assert.equal(peak, 12); // 2.8 cores / (250m × 70 %) = 16 → max 12
    assert.equal(a.samples.at(-1)!.workloads['api']!.desired, 2);
    assert.ok(a.peakNodes >= 4); // 12 × 32 MiB over 112 MiB nodes
  });

  test('load CSV and autoscaler settings are checked', () => {
    assert.throws(
      () => parseLoadCsv('time,api\n10,1\n5,1\n', 'l.csv'),
      (e: unknown) =>
        e instanceof PlannerInputError && e.code === 'ERR_PLAN_LOAD' && /l\.csv:3/.test(e.message),
    );
    assert.throws(
      () => parseLoadCsv('t,api\n0,1\n', 'l.csv'),
      (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_LOAD',
    );
    const load = parseLoadCsv('time,nosuch\n0,1\n', 'l.csv');
    assert.throws(
      () => simulate({ groups: api(1), shapes, hpas: [], load, autoscaler: ca(), stepSeconds: 15 }),
      (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_LOAD',
    );
    assert.throws(
      () =>
        simulate({
          groups: api(1),
          shapes,
          hpas: [],
          load: parseLoadCsv('time,api\n0,1\n', 'l.csv'),
          autoscaler: ca({ nodeGroups: [{ sku: 'Standard_DC4s_v2', min: 3, max: 2, initial: 0 }] }),
          stepSeconds: 15,
        }),
      (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_AUTOSCALER',
    );
  });
});

describe('what the HPA measures utilization against (replica calculator)', () => {
  const shapes = skuShapes(selectSkus(DEFAULT_SKU_TABLE, ['DC4s_v2']));
  const twoNodes = ca({ nodeGroups: [{ sku: 'Standard_DC4s_v2', min: 0, max: 10, initial: 2 }] });
  const epc = { 'sgx.intel.com/epc': '32Mi' };
  const deployment = (podSpec: Record<string, unknown>) =>
    readWorkloads(
      [{ kind: 'Deployment', metadata: { name: 'api' }, spec: { replicas: 1, template: { spec: podSpec } } }],
      'w.yaml',
    );
  const hpaOn = (metric: Record<string, unknown>) =>
    readHpa({ ...hpaDoc(), spec: { ...hpaDoc().spec, minReplicas: 1, metrics: [metric] } }, 'h.yaml');
  const cpuAt100 = {
    type: 'Resource',
    resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 100 } },
  };
  const desiredAt = (groups: ReturnType<typeof deployment>, hpa: HpaSpec, cores: number, t: number) => {
    const r = simulate({
      groups,
      shapes,
      hpas: [hpa],
      load: parseLoadCsv(`time,api\n0,${cores}\n120,${cores}\n`, 'l.csv'),
      autoscaler: twoNodes,
      stepSeconds: 15,
    });
    return { desired: r.samples.find((s) => s.t === t)?.workloads['api']?.desired, events: r.events };
  };

  test('Utilization is a share of the app containers and sidecars, not of init containers or the overhead', () => {
    // Scheduler: max(200m + 50m, 2000m) + 100m overhead = 2100m. HPA: 200m + 50m sidecar = 250m.
    const groups = deployment({
      initContainers: [
        { name: 'setup', resources: { requests: { cpu: '2' } } },
        { name: 'proxy', restartPolicy: 'Always', resources: { requests: { cpu: '50m' } } },
      ],
      containers: [{ name: 'app', resources: { requests: { cpu: '200m' }, limits: epc } }],
      overhead: { cpu: '100m' },
    });
    assert.equal(groups[0]?.requests['cpu'], 2100);
    // 0.5 cores on one ready pod: 200 % of 250m → 2 pods (of 2100m it would be 23 %: no change).
    assert.equal(desiredAt(groups, hpaOn(cpuAt100), 0.5, 15).desired, 2);
  });

  test('ContainerResource counts only the named container', () => {
    const groups = deployment({
      containers: [
        { name: 'app', resources: { requests: { cpu: '100m' }, limits: epc } },
        { name: 'proxy', resources: { requests: { cpu: '400m' } } },
      ],
    });
    const hpa = hpaOn({
      type: 'ContainerResource',
      containerResource: {
        name: 'cpu',
        container: 'app',
        target: { type: 'Utilization', averageUtilization: 100 },
      },
    });
    assert.equal(hpa.metric.container, 'app');
    // The app container uses 0.2 cores: 200 % of its 100m → 2 pods (40 % of the pod's 500m: no change).
    assert.equal(desiredAt(groups, hpa, 0.2, 15).desired, 2);
  });

  test('a counted container without a request for the metric: the HPA does not scale and says why', () => {
    const groups = deployment({
      containers: [
        { name: 'app', resources: { requests: { cpu: '200m' }, limits: epc } },
        { name: 'proxy', resources: { requests: { memory: '64Mi' } } },
      ],
    });
    const r = desiredAt(groups, hpaOn(cpuAt100), 2, 120);
    assert.equal(r.desired, 1);
    const notes = r.events.filter((e) => e.kind === 'hpa');
    assert.equal(notes.length, 1);
    assert.match(notes[0]?.message ?? '', /missing request for cpu in container "proxy"/);
  });

  test('HPAs the simulation cannot honour are refused, naming the field', () => {
    const refused = (doc: unknown, field: RegExp): void => {
      assert.throws(
        () => readHpa(doc, 'h.yaml'),
        (e: unknown) => e instanceof PlannerInputError && e.code === 'ERR_PLAN_HPA' && field.test(e.message),
      );
    };
    // Two metrics: the controller takes the largest count of both; one load column cannot drive two.
    refused(
      hpaDoc({
        metrics: [
          cpuAt100,
          {
            type: 'Resource',
            resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 80 } },
          },
        ],
      }),
      /spec\.metrics\[1\]/,
    );
    refused(
      hpaDoc({
        metrics: [
          {
            type: 'ContainerResource',
            containerResource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      }),
      /containerResource\.container/,
    );
    refused(
      hpaDoc({
        metrics: [
          {
            type: 'Pods',
            pods: { metric: { name: 'rps' }, target: { type: 'Utilization', averageUtilization: 50 } },
          },
        ],
      }),
      /pods\.target\.type/,
    );
    refused(
      hpaDoc({
        metrics: [
          { type: 'Pods', pods: { metric: {}, target: { type: 'AverageValue', averageValue: '10' } } },
        ],
      }),
      /pods\.metric\.name/,
    );
  });

  test('an HPA must name the workload by kind and name, and one workload takes one HPA', () => {
    const load = parseLoadCsv('time,api\n0,1\n', 'l.csv');
    const run = (hpas: HpaSpec[]) => () =>
      simulate({ groups: api(1), shapes, hpas, load, autoscaler: ca(), stepSeconds: 15 });
    const isHpaError = (e: unknown) =>
      e instanceof PlannerInputError &&
      e.code === 'ERR_PLAN_HPA' &&
      /scaleTargetRef/.test(JSON.stringify(e.details));
    const statefulSet = readHpa(
      { ...hpaDoc(), spec: { ...hpaDoc().spec, scaleTargetRef: { kind: 'StatefulSet', name: 'api' } } },
      'h.yaml',
    );
    assert.throws(run([statefulSet]), isHpaError);
    const second = readHpa({ ...hpaDoc(), metadata: { name: 'api-2' } }, 'h.yaml');
    assert.throws(
      run([readHpa(hpaDoc(), 'h.yaml'), second]),
      (e: unknown) => isHpaError(e) && /already the target of HPA api/.test((e as Error).message),
    );
    assert.doesNotThrow(run([readHpa(hpaDoc(), 'h.yaml')]));
  });
});
