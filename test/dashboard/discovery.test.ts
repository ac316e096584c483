/**
 * Agent metrics discovered in a cluster: with a Kubernetes API and no `--metrics`, the dashboard
 * scrapes the ccnodes agent pods it finds in the pod list (label `app.kubernetes.io/part-of=ccnodes`,
 * a container port named `metrics`, running, with a pod IP) and ties each to its node. Tested against
 * the fake API server, with real metrics endpoints on loopback standing in for the pods' IPs, and
 * against the pod template `deploy render` gives the device plugin.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import {
  createDashboard,
  discoverMetricsTargets,
  kubeApiSource,
  type Dashboard,
  type KubePod,
} from '../../src/dashboard/index.ts';
import { DEFAULT_VALUES, PLACEHOLDER_TLS, renderManifests } from '../../src/kube/index.ts';
import {
  DevicePluginMetrics,
  serveMetrics,
  type MetricsEndpoint,
} from '../../src/node/device-plugin/index.ts';
import { seededRandom } from '../support/seeded-random.ts';
import {
  generateCluster,
  startFakeCluster,
  type FakeCluster,
  type FakeClusterServer,
} from './fake-cluster.ts';

const LABELS = (component: string): Record<string, string> => ({
  'app.kubernetes.io/name': `ccnodes-${component}`,
  'app.kubernetes.io/component': component,
  'app.kubernetes.io/part-of': 'ccnodes',
});

function agentPod(
  name: string,
  node: string,
  port: number,
  options: { phase?: string; labels?: Record<string, string>; portName?: string; ip?: string } = {},
): Record<string, unknown> {
  return {
    metadata: { name, namespace: 'ccnodes-node', labels: options.labels ?? LABELS('device-plugin') },
    spec: {
      nodeName: node,
      containers: [
        {
          name: 'device-plugin',
          ports: [{ name: options.portName ?? 'metrics', containerPort: port, protocol: 'TCP' }],
        },
      ],
    },
    status: { phase: options.phase ?? 'Running', podIP: options.ip ?? '127.0.0.1' },
  };
}

let cluster: FakeCluster;
let api: FakeClusterServer;
let dashboard: Dashboard;
let url: string;
const endpoints: MetricsEndpoint[] = [];
let sgxNodes: string[];
let closedPort: number;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

before(async () => {
  cluster = generateCluster(seededRandom(import.meta.url), 8, 60);
  sgxNodes = [...cluster.expected.nodes.values()].filter((n) => n.sgx).map((n) => n.name);
  assert.ok(sgxNodes.length >= 4);
  // Two device plugins answer (one with an unhealthy resource); one pod's port is closed.
  for (const healthy of [1, 0]) {
    const m = new DevicePluginMetrics();
    m.healthy.set({ resource: 'kubernetes.azure.com/sgx_epc_mem_in_MiB' }, healthy);
    m.epcCapacityBytes.set(112 * 1024 * 1024);
    endpoints.push(await serveMetrics('127.0.0.1:0', m.registry));
  }
  const portOf = (e: MetricsEndpoint): number => Number(new URL(e.url).port);
  closedPort = await freePort();
  const [n0, n1, n2, n3] = sgxNodes as [string, string, string, string];
  cluster.pods.push(
    agentPod('ccnodes-device-plugin-a', n0, portOf(endpoints[0] as MetricsEndpoint)),
    agentPod('ccnodes-device-plugin-b', n1, portOf(endpoints[1] as MetricsEndpoint)),
    agentPod('ccnodes-device-plugin-c', n2, closedPort),
    // Not scraped: still pending, another app's metrics port, a ccnodes port of another name.
    agentPod('ccnodes-device-plugin-d', n3, 1, { phase: 'Pending' }),
    agentPod('someone-elses-exporter', n3, 2, { labels: { app: 'exporter' } }),
    agentPod('ccnodes-webhook-x', n3, 3, { labels: LABELS('webhook'), portName: 'https' }),
  );
  api = await startFakeCluster(cluster);
  dashboard = createDashboard({
    kube: await kubeApiSource(api.kubeConfig()),
    discoverMetrics: true,
    sampleIntervalMs: 0,
    cacheMs: 0,
  });
  url = await dashboard.listen('127.0.0.1', 0);
});
after(async () => {
  await dashboard.close();
  await api.close();
  for (const e of endpoints) await e.close();
});

interface Agent {
  target: string;
  node?: string;
  kind: string;
  up: boolean;
  healthy: boolean;
}

test('without --metrics, the agents are found in the pod list and shown on their nodes', async () => {
  const v = (await (await fetch(`${url}/api/nodes`)).json()) as {
    sgxNodes: { name: string; agents: Agent[] }[];
    otherAgents: Agent[];
  };
  const agentsOf = (n: string): Agent[] => v.sgxNodes.find((r) => r.name === n)?.agents ?? [];
  const [n0, n1, n2, n3] = sgxNodes as [string, string, string, string];
  assert.deepEqual(
    agentsOf(n0).map((a) => [a.kind, a.up, a.healthy]),
    [['device-plugin', true, true]],
  );
  assert.equal(agentsOf(n0)[0]?.target, `${endpoints[0]?.url ?? ''}/metrics`);
  assert.deepEqual(
    agentsOf(n1).map((a) => [a.kind, a.up, a.healthy]),
    [['device-plugin', true, false]],
  );
  assert.deepEqual(
    agentsOf(n2).map((a) => [a.target, a.up]),
    [[`http://127.0.0.1:${closedPort}/metrics`, false]],
  );
  assert.deepEqual(agentsOf(n3), []);
  assert.deepEqual(v.otherAgents, []);
  const page = await (await fetch(`${url}/nodes`)).text();
  const row = (n: string): string => page.slice(page.indexOf(`data-node="${n}"`)).split('</tr>')[0] ?? '';
  assert.match(row(n0), /class="ok"[^>]*>healthy</);
  assert.match(row(n1), />unhealthy</);
  assert.match(row(n2), />unreachable</);
});

test('the pod template deploy render gives the quote helper is discovered too', () => {
  const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
  const ds = objs.find(
    (o) => o.kind === 'DaemonSet' && JSON.stringify(o['metadata']).includes('quote-helper'),
  ) as unknown as {
    spec: { template: { metadata: NonNullable<KubePod['metadata']>; spec: NonNullable<KubePod['spec']> } };
  };
  const pod: KubePod = {
    metadata: ds.spec.template.metadata,
    spec: { ...ds.spec.template.spec, nodeName: 'aks-confpool-00000-vmss' },
    status: { phase: 'Running', podIP: '10.244.1.8' },
  };
  assert.deepEqual(discoverMetricsTargets([pod]), [
    {
      target: `http://10.244.1.8:${DEFAULT_VALUES.quoteHelper.metricsPort}/metrics`,
      node: 'aks-confpool-00000-vmss',
    },
  ]);
  const args = (ds.spec.template.spec.containers?.[0] as { args?: string[] } | undefined)?.args ?? [];
  assert.equal(
    args[args.indexOf('--metrics-listen') + 1],
    `0.0.0.0:${DEFAULT_VALUES.quoteHelper.metricsPort}`,
  );
});

test('the pod template deploy render gives the device plugin is discovered (labels and port name agree)', () => {
  const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
  const ds = objs.find(
    (o) => o.kind === 'DaemonSet' && JSON.stringify(o['metadata']).includes('device-plugin'),
  ) as
    | {
        spec: {
          template: { metadata: NonNullable<KubePod['metadata']>; spec: NonNullable<KubePod['spec']> };
        };
      }
    | undefined;
  assert.ok(ds);
  const pod: KubePod = {
    metadata: ds.spec.template.metadata,
    spec: { ...ds.spec.template.spec, nodeName: 'aks-confpool-00000-vmss' },
    status: { phase: 'Running', podIP: '10.244.1.7' },
  };
  assert.deepEqual(discoverMetricsTargets([pod]), [
    {
      target: `http://10.244.1.7:${DEFAULT_VALUES.devicePlugin.metricsPort}/metrics`,
      node: 'aks-confpool-00000-vmss',
    },
  ]);
  // IPv6 pod addresses are bracketed; a pod without an IP is skipped.
  assert.deepEqual(
    discoverMetricsTargets([
      { ...pod, status: { phase: 'Running', podIP: 'fd00::7' } },
      { ...pod, status: { phase: 'Running' } },
    ]).map((t) => t.target),
    [`http://[fd00::7]:${DEFAULT_VALUES.devicePlugin.metricsPort}/metrics`],
  );
});

test('given --metrics targets, nothing is discovered', async () => {
  const d = createDashboard({
    kube: await kubeApiSource(api.kubeConfig()),
    metrics: [{ target: `${endpoints[0]?.url ?? ''}/metrics`, node: 'elsewhere' }],
    sampleIntervalMs: 0,
  });
  try {
    const u = await d.listen('127.0.0.1', 0);
    const v = (await (await fetch(`${u}/api/nodes`)).json()) as {
      sgxNodes: { agents: Agent[] }[];
      otherAgents: Agent[];
    };
    assert.equal(v.sgxNodes.flatMap((n) => n.agents).length, 0);
    assert.deepEqual(
      v.otherAgents.map((a) => a.node),
      ['elsewhere'],
    );
  } finally {
    await d.close();
  }
});
