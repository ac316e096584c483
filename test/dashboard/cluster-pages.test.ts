/**
 * The Nodes and Workloads pages against a fake API server holding a recorded-style 50-node,
 * 2,000-pod cluster: the dashboard lists it through @kubernetes/client-node (paginated), and every
 * number it shows — in the JSON API and on the HTML pages — equals the generator's own totals.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  createDashboard,
  kubeApiSource,
  CONTENT_SECURITY_POLICY,
  type Dashboard,
} from '../../src/dashboard/index.ts';
import { seededRandom } from '../support/seeded-random.ts';
import {
  generateCluster,
  startFakeCluster,
  type FakeCluster,
  type FakeClusterServer,
} from './fake-cluster.ts';
import { dataValues } from './page-values.ts';

const rng = seededRandom(import.meta.url);
let cluster: FakeCluster;
let api: FakeClusterServer;
let dashboard: Dashboard;
let url: string;

before(async () => {
  cluster = generateCluster(rng);
  api = await startFakeCluster(cluster);
  dashboard = createDashboard({
    kube: await kubeApiSource(api.kubeConfig(), { pageSize: 300 }),
    sampleIntervalMs: 0,
  });
  url = await dashboard.listen('127.0.0.1', 0);
});
after(async () => {
  await dashboard.close();
  await api.close();
});

interface NodesJson {
  totalNodes: number;
  sgxNodes: {
    name: string;
    sku: string;
    epcMib: { capacity: number; allocatable: number; allocated: number };
    intelEpcBytes: { capacity: number; allocatable: number; allocated: number };
    epcPods: number;
    taints: string[];
  }[];
  totals: { epcAllocatedMib: number; epcAllocatableMib: number };
}

async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(`${url}${path}`);
  assert.equal(res.status, 200, `${path}: ${await res.clone().text()}`);
  return (await res.json()) as T;
}

test('the dashboard lists nodes and pods page by page (limit/continue), as a client of a large cluster must', async () => {
  await getJson('/api/nodes');
  const podCalls = api.requests.filter((r) => r.startsWith('/api/v1/pods'));
  assert.ok(podCalls.length >= Math.ceil(2000 / 300), `pod list calls: ${podCalls.join(' ')}`);
  assert.ok(podCalls.every((r) => r.includes('limit=300')));
  assert.ok(podCalls.some((r) => r.includes('continue=')));
});

test('Nodes API: every SGX node with its SKU, EPC capacity in both dialects and the EPC its bound pods hold', async () => {
  const v = await getJson<NodesJson>('/api/nodes');
  const sgx = [...cluster.expected.nodes.values()].filter((n) => n.sgx);
  assert.equal(v.totalNodes, 50);
  assert.equal(v.sgxNodes.length, sgx.length);
  assert.equal(sgx.length, 40);
  for (const want of sgx) {
    const got = v.sgxNodes.find((n) => n.name === want.name);
    assert.ok(got, want.name);
    assert.equal(got.sku, want.sku);
    assert.equal(got.epcMib.capacity, want.epcMibCapacity, `${want.name} MiB capacity`);
    assert.equal(got.intelEpcBytes.capacity, want.epcMibCapacity * 1024 * 1024, `${want.name} byte capacity`);
    assert.equal(got.epcMib.allocated, want.allocatedMib, `${want.name} MiB allocated`);
    assert.equal(got.intelEpcBytes.allocated, want.allocatedBytes, `${want.name} bytes allocated`);
    assert.equal(got.epcPods, want.epcPods, `${want.name} EPC pods`);
    assert.deepEqual(got.taints, ['ccnodes.io/pool=confidential:NoSchedule']);
  }
  assert.equal(
    v.totals.epcAllocatedMib,
    sgx.reduce((a, n) => a + n.allocatedMib, 0),
  );
  // The generated cluster really exercises the sums (not all zero).
  assert.ok(v.totals.epcAllocatedMib > 1000, String(v.totals.epcAllocatedMib));
});

test('Nodes page: the numbers shown are the API numbers', async () => {
  const api = await getJson<NodesJson>('/api/nodes');
  const res = await fetch(`${url}/nodes`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
  const shown = dataValues(await res.text());
  assert.equal(shown.get('sgxNodes.length'), String(api.sgxNodes.length));
  assert.equal(shown.get('totalNodes'), String(api.totalNodes));
  assert.equal(shown.get('totals.epcAllocatedMib'), String(api.totals.epcAllocatedMib));
  for (const n of api.sgxNodes) {
    assert.equal(shown.get(`node.${n.name}.epcMib.allocated`), String(n.epcMib.allocated), n.name);
    assert.equal(shown.get(`node.${n.name}.epcMib.allocatable`), String(n.epcMib.allocatable), n.name);
    assert.equal(
      shown.get(`node.${n.name}.intelEpcBytes.allocated`),
      String(n.intelEpcBytes.allocated),
      n.name,
    );
    assert.equal(shown.get(`node.${n.name}.epcPods`), String(n.epcPods), n.name);
  }
});

interface WorkloadsJson {
  holding: number;
  pending: number;
  namespaces: { namespace: string; pods: number; epcMib: number; intelEpcBytes: number }[];
  pods: { namespace: string; name: string; node?: string; epcMib: number }[];
}

test('Workloads API and page: pods holding EPC per namespace, pending pods, equal to the generator', async () => {
  const v = await getJson<WorkloadsJson>('/api/workloads');
  const want = cluster.expected.namespaces;
  assert.equal(v.namespaces.length, want.size);
  for (const ns of v.namespaces) {
    const w = want.get(ns.namespace);
    assert.ok(w, ns.namespace);
    assert.equal(ns.pods, w.pods, `${ns.namespace} pods`);
    assert.equal(ns.epcMib, w.mib, `${ns.namespace} MiB`);
    assert.equal(ns.intelEpcBytes, w.bytes, `${ns.namespace} bytes`);
  }
  assert.equal(
    v.holding,
    [...want.values()].reduce((a, n) => a + n.pods, 0),
  );
  assert.equal(v.pending, cluster.expected.pending);
  assert.ok(v.holding > 500, String(v.holding));

  const shown = dataValues(await (await fetch(`${url}/workloads`)).text());
  assert.equal(shown.get('holding'), String(v.holding));
  assert.equal(shown.get('pending'), String(v.pending));
  for (const ns of v.namespaces) {
    assert.equal(shown.get(`ns.${ns.namespace}.pods`), String(ns.pods));
    assert.equal(shown.get(`ns.${ns.namespace}.epcMib`), String(ns.epcMib));
  }
  assert.equal(shown.get('pods.length'), String(v.pods.length));
});

test('the EPC chart samples per-node allocation into the history', async () => {
  await dashboard.sample();
  const h = await getJson<{ epcAllocatedMib: { name: string; points: { v: number }[] }[] }>('/api/history');
  const api = await getJson<NodesJson>('/api/nodes');
  assert.equal(h.epcAllocatedMib.length, api.sgxNodes.length);
  for (const s of h.epcAllocatedMib) {
    const n = api.sgxNodes.find((x) => x.name === s.name);
    assert.ok(n);
    assert.equal(
      s.points.at(-1)?.v,
      Math.max(n.epcMib.allocated, Math.ceil(n.intelEpcBytes.allocated / 1048576)),
    );
  }
  const page = await (await fetch(`${url}/nodes`)).text();
  assert.match(page, /<svg [^>]*class="chart"[\s\S]*<polyline /);
});

test('a failing source is shown as a notice on the page; an unreachable API server is ERR_DASHBOARD_SOURCE', async () => {
  const broken = createDashboard({
    kube: { snapshot: () => Promise.reject(new Error('connect ECONNREFUSED')) },
    sampleIntervalMs: 0,
    cacheMs: 0,
  });
  const u = await broken.listen('127.0.0.1', 0);
  try {
    const res = await fetch(`${u}/api/nodes`);
    assert.equal(res.status, 500);
    const page = await (await fetch(`${u}/nodes`)).text();
    assert.match(page, /class="notice">connect ECONNREFUSED/);
  } finally {
    await broken.close();
  }
  const down = await kubeApiSource(
    (() => {
      const kc = api.kubeConfig();
      kc.clusters[0] = { ...kc.clusters[0]!, server: 'http://127.0.0.1:1' };
      return kc;
    })(),
    { timeoutMs: 5000 },
  );
  await assert.rejects(down.snapshot(), { code: 'ERR_DASHBOARD_SOURCE' });
});
