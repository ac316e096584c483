/**
 * Every flag of `ccnodes plan` and `ccnodes plan simulate` changes the result as docs/planner.md says:
 * `--max-nodes`, `--daemonset`, `--no-system-daemonsets`, `--no-webhook`, `--no-pool-taint`, and for
 * the simulation `--step`, `--max-nodes` and the autoscaler file's `expander`. (`--sku`, `--sku-table`,
 * `--json`, `--load`, `--hpa`, `--autoscaler`, `--scale-down-delay`, `--unneeded-time` and `-o` are
 * in cli.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCapture } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-plan-flags-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
}

/** `replicas` pods with `epc` (the Intel dialect only, no toleration: what the webhook completes). */
function deployment(name: string, replicas: number, epc: string, memory = '64Mi'): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  template:
    spec:
      containers:
        - name: c
          resources:
            requests: { cpu: 100m, memory: ${memory} }
            limits: { sgx.intel.com/epc: ${epc} }
`;
}

interface PlanJson {
  ok: boolean;
  daemonSets: { id: string; requests: Record<string, number> }[];
  perSku: {
    sku: string;
    nodes: number;
    placedPods: number;
    unschedulablePods: number;
    hitMaxNodes: boolean;
    totals: { cpuMilli: { requested: number } };
    unschedulable: { message: string; count: number }[];
  }[];
}

async function plan(args: string[]): Promise<{ code: number; json: PlanJson }> {
  const r = await runCapture(['plan', ...args, '--json'], { cwd: dir });
  return { code: r.code, json: JSON.parse(r.stdout) as PlanJson };
}

describe('ccnodes plan flags', () => {
  const five = file('five.yaml', deployment('five', 5, '50Mi'));

  test('--max-nodes: the plan stops at n nodes; the rest get the scheduler message against them (exit 1)', async () => {
    const free = await plan(['--workload', five, '--sku', 'DC2s_v2']);
    assert.equal(free.code, 0);
    assert.equal(free.json.perSku[0]?.nodes, 5); // one 50 MiB pod per 56 MiB node
    const capped = await plan(['--workload', five, '--sku', 'DC2s_v2', '--max-nodes', '2']);
    assert.equal(capped.code, 1);
    const s = capped.json.perSku[0];
    assert.deepEqual([s?.nodes, s?.placedPods, s?.unschedulablePods, s?.hitMaxNodes], [2, 2, 3, true]);
    assert.match(s?.unschedulable[0]?.message ?? '', /^0\/2 nodes are available: 2 Insufficient /);
  });

  test('--no-system-daemonsets and --daemonset change the per-node reservations', async () => {
    const base = await plan(['--workload', five, '--sku', 'DC4s_v2']);
    assert.deepEqual(
      base.json.daemonSets.map((d) => d.id),
      ['DaemonSet/ccnodes-node/ccnodes-device-plugin', 'DaemonSet/ccnodes-node/ccnodes-quote-helper'],
    );
    const nodes = base.json.perSku[0]?.nodes ?? 0;
    const cpu = base.json.perSku[0]?.totals.cpuMilli.requested ?? 0;
    assert.equal(cpu, 5 * 100 + nodes * (40 + 50));

    const none = await plan(['--workload', five, '--sku', 'DC4s_v2', '--no-system-daemonsets']);
    assert.deepEqual(none.json.daemonSets, []);
    assert.equal(none.json.perSku[0]?.totals.cpuMilli.requested, 5 * 100);

    const agent = file(
      'agent.yaml',
      `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: aks-agent, namespace: kube-system }
spec:
  template:
    spec:
      tolerations: [{ operator: Exists }]
      containers: [{ name: a, resources: { requests: { cpu: 3000m } } }]
`,
    );
    // 3000m of a DC4s_v2's 3860m leaves 770m after ccnodes' 90m: at most 7 of the 100m pods a node.
    const more = await plan(['--workload', five, '--sku', 'DC4s_v2', '--daemonset', agent]);
    assert.equal(more.json.daemonSets.length, 3);
    const n = more.json.perSku[0]?.nodes ?? 0;
    assert.equal(more.json.perSku[0]?.totals.cpuMilli.requested, 5 * 100 + n * (40 + 50 + 3000));
  });

  test('--no-webhook plans pods as written: no pool toleration, so the pool taint keeps them off; --no-pool-taint lifts it', async () => {
    const withWebhook = await plan(['--workload', five, '--sku', 'DC4s_v2']);
    assert.equal(withWebhook.json.perSku[0]?.placedPods, 5);
    const asWritten = await plan(['--workload', five, '--sku', 'DC4s_v2', '--no-webhook']);
    assert.equal(asWritten.code, 1);
    assert.equal(asWritten.json.perSku[0]?.unschedulablePods, 5);
    assert.match(
      JSON.stringify(asWritten.json.perSku),
      /untolerated taint \{ccnodes\.io\/pool: confidential\}/,
    );
    const noTaint = await plan(['--workload', five, '--sku', 'DC4s_v2', '--no-webhook', '--no-pool-taint']);
    assert.equal(noTaint.code, 0);
    assert.equal(noTaint.json.perSku[0]?.placedPods, 5);
  });
});

interface Report {
  autoscaler: Record<string, unknown>;
  summary: { peakNodes: number };
  samples: { t: number; nodes: Record<string, { ready: number; provisioning: number }> }[];
  events: { kind: string; message: string }[];
}

async function simulateRun(name: string, args: string[]): Promise<Report> {
  const out = join(dir, name);
  const r = await runCapture(['plan', 'simulate', ...args, '-o', out, '--json'], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as Report;
}

describe('ccnodes plan simulate flags', () => {
  const eight = file('eight.yaml', deployment('eight', 8, '32Mi'));
  const load = file('load.csv', 'time,eight\n0,0\n5m,0\n');

  test('--step sets the sampling step; --max-nodes caps the autoscaler', async () => {
    const a = await simulateRun('step', [
      '--workload',
      eight,
      '--load',
      load,
      '--sku',
      'DC4s_v2',
      '--step',
      '1m',
    ]);
    assert.deepEqual(
      a.samples.map((s) => s.t),
      [0, 60, 120, 180, 240, 300],
    );
    assert.equal(a.summary.peakNodes, 3); // 8 × 32 MiB, three a 112 MiB node
    const capped = await simulateRun('capped', [
      ...['--workload', eight, '--load', load, '--sku', 'DC4s_v2'],
      ...['--max-nodes', '2'],
    ]);
    assert.equal(capped.summary.peakNodes, 2);
    assert.ok(capped.events.some((e) => e.kind === 'unschedulable'));
  });

  test('expander: least-waste picks the group that leaves less cpu and memory idle, price the cheaper per pod', async () => {
    // Three memory-heavy pods (100m, 7 GiB, 32 MiB EPC). DC2s_v3 (1,900m and 13.7 GiB allocatable,
    // 0.192 $/h) holds one: 3 nodes, 0.192 $/h a pod, idle share (cpu 0.90 + memory 0.48) / 2 = 0.69.
    // DC8_v2 (7,820m, 29.7 GiB, 0.768 $/h) holds all three: 1 node, 0.256 $/h a pod, idle share
    // (0.95 + 0.29) / 2 = 0.62.
    const heavy = file('heavy.yaml', deployment('heavy', 3, '32Mi', '7Gi'));
    const heavyLoad = file('heavy.csv', 'time,heavy\n0,0\n1m,0\n');
    const scaleUps = async (expander: string): Promise<string[]> => {
      const ca = file(
        `ca-${expander}.yaml`,
        `expander: ${expander}
nodeGroups:
  - { sku: Standard_DC8_v2, min: 0, max: 10, initial: 0 }
  - { sku: Standard_DC2s_v3, min: 0, max: 10, initial: 0 }
`,
      );
      const r = await simulateRun(expander, [
        ...['--workload', heavy, '--load', heavyLoad, '--sku', 'DC8_v2,DC2s_v3', '--autoscaler', ca],
      ]);
      return r.events.filter((e) => e.kind === 'scale-up').map((e) => e.message);
    };
    assert.deepEqual(await scaleUps('price'), [
      'scale-up: Standard_DC2s_v3 +3 node(s) for 3 pending pod(s) (price)',
    ]);
    assert.deepEqual(await scaleUps('least-waste'), [
      'scale-up: Standard_DC8_v2 +1 node(s) for 3 pending pod(s) (least-waste)',
    ]);
  });
});
