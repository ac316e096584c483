/**
 * A recorded-style cluster for the dashboard tests: 50 nodes (40 SGX nodes of Azure DCsv2/DCsv3 sizes
 * with EPC in both resource dialects, 10 general-purpose nodes) and 2,000 pods, generated from the
 * seeded stream so every run sees the same cluster. Requests are drawn as numbers first and only then
 * written as quantities in the forms kubectl accepts (`64`, `64Mi`, `67108864`, `0.0625Gi`…), and the
 * generator keeps its own totals: the oracle the dashboard's numbers are checked against.
 *
 * {@link startFakeCluster} serves the lists as the API server does (`GET /api/v1/nodes`,
 * `GET /api/v1/pods`, NodeList/PodList shapes, `limit`/`continue` pagination) on 127.0.0.1:0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import type { SeededRandom } from '../support/seeded-random.ts';

const MIB = 1024 * 1024;
const EPC_MIB = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
const INTEL_EPC = 'sgx.intel.com/epc';

/**
 * Azure SGX sizes and their EPC in MiB: DESIGN seed facts, and Microsoft's dcv3-series table (DC2s_v3
 * 8 GiB, DC4s_v3 16 GiB — the planner's DEFAULT_SKU_TABLE, checked in test/planner/packer.test.ts).
 */
export const SGX_SKUS: readonly { sku: string; epcMib: number }[] = [
  { sku: 'Standard_DC2s_v2', epcMib: 56 },
  { sku: 'Standard_DC4s_v2', epcMib: 112 },
  { sku: 'Standard_DC8_v2', epcMib: 168 },
  { sku: 'Standard_DC2s_v3', epcMib: 8 * 1024 },
  { sku: 'Standard_DC4s_v3', epcMib: 16 * 1024 },
];

export interface ExpectedNode {
  readonly name: string;
  readonly sku: string;
  readonly sgx: boolean;
  readonly epcMibCapacity: number;
  /** MiB-dialect EPC held by bound, non-terminated pods. */
  allocatedMib: number;
  /** Intel-dialect bytes held by bound, non-terminated pods. */
  allocatedBytes: number;
  epcPods: number;
}

export interface FakeCluster {
  readonly nodes: Record<string, unknown>[];
  readonly pods: Record<string, unknown>[];
  readonly expected: {
    readonly nodes: Map<string, ExpectedNode>;
    /** Per namespace: bound, non-terminated EPC pods and their MiB-dialect EPC. */
    readonly namespaces: Map<string, { pods: number; mib: number; bytes: number }>;
    /** Non-terminated pods asking for EPC without a node. */
    pending: number;
  };
}

const NAMESPACES = ['payments', 'ledger', 'ml-inference', 'kms', 'web', 'batch', 'default'];

/** Writes `mib` MiB in one of the quantity forms kubectl accepts. */
function mibQuantity(rng: SeededRandom, mib: number): string {
  switch (rng.int(3)) {
    case 0:
      return String(mib);
    case 1:
      return `${mib}`; // plain count, the device plugin's unit
    default:
      return mib % 1024 === 0 ? `${mib / 1024}Ki` : String(mib); // 1Ki = 1024 devices
  }
}

function bytesQuantity(rng: SeededRandom, bytes: number): string {
  switch (rng.int(4)) {
    case 0:
      return String(bytes);
    case 1:
      return `${bytes / MIB}Mi`;
    case 2:
      return bytes % (1024 * MIB) === 0 ? `${bytes / (1024 * MIB)}Gi` : `${bytes / 1024}Ki`;
    default:
      return `${bytes / MIB / 1024}Gi`; // e.g. 0.0625Gi
  }
}

/** Generates the cluster from `rng` (50 nodes, 2,000 pods unless told otherwise). */
export function generateCluster(rng: SeededRandom, nodeCount = 50, podCount = 2000): FakeCluster {
  const nodes: Record<string, unknown>[] = [];
  const expectedNodes = new Map<string, ExpectedNode>();
  const sgxNames: string[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const sgx = i < Math.floor(nodeCount * 0.8);
    const sku = sgx ? rng.pick(SGX_SKUS) : { sku: 'Standard_D4s_v5', epcMib: 0 };
    const name = sgx
      ? `aks-confpool-${String(i).padStart(5, '0')}-vmss`
      : `aks-system-${String(i).padStart(5, '0')}-vmss`;
    const labels: Record<string, string> = {
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'node.kubernetes.io/instance-type': sku.sku,
      'kubernetes.azure.com/agentpool': sgx ? 'confpool' : 'system',
    };
    const capacity: Record<string, string> = { cpu: '4', memory: '16393232Ki', pods: '110' };
    const taints: { key: string; value?: string; effect: string }[] = [];
    if (sgx) {
      labels['ccnodes.io/sgx'] = 'true';
      labels['ccnodes.io/epc-mib'] = String(sku.epcMib);
      labels['ccnodes.io/pool'] = 'confidential';
      capacity[EPC_MIB] = String(sku.epcMib);
      capacity[INTEL_EPC] = rng.int(2) === 0 ? String(sku.epcMib * MIB) : `${sku.epcMib}Mi`;
      capacity['sgx.intel.com/enclave'] = '20';
      taints.push({ key: 'ccnodes.io/pool', value: 'confidential', effect: 'NoSchedule' });
      sgxNames.push(name);
    }
    const ready = rng.int(20) !== 0;
    nodes.push({
      metadata: {
        name,
        uid: rng.uuid(),
        resourceVersion: String(1000 + i),
        labels,
        creationTimestamp: '2026-11-01T08:00:00Z',
      },
      spec: { taints },
      status: {
        capacity,
        allocatable: { ...capacity },
        conditions: [
          {
            type: 'Ready',
            status: ready ? 'True' : 'False',
            reason: ready ? 'KubeletReady' : 'KubeletNotReady',
          },
        ],
      },
    });
    expectedNodes.set(name, {
      name,
      sku: sku.sku,
      sgx,
      epcMibCapacity: sku.epcMib,
      allocatedMib: 0,
      allocatedBytes: 0,
      epcPods: 0,
    });
  }
  const namespaces = new Map<string, { pods: number; mib: number; bytes: number }>();
  const free = new Map(sgxNames.map((n) => [n, expectedNodes.get(n)?.epcMibCapacity ?? 0]));
  let pending = 0;
  const pods: Record<string, unknown>[] = [];
  for (let i = 0; i < podCount; i++) {
    const namespace = rng.pick(NAMESPACES);
    const epc = rng.int(10) < 6;
    const phase = rng.pick(['Running', 'Running', 'Running', 'Running', 'Pending', 'Succeeded', 'Failed']);
    let bound = phase !== 'Pending' || rng.int(2) === 0;
    // Containers: EPC in MiB dialect, Intel dialect, or both (as the webhook writes them).
    const dialect = rng.pick(['mib', 'intel', 'both'] as const);
    const containerCount = 1 + rng.int(3);
    const containers: Record<string, unknown>[] = [];
    let sumMib = 0;
    let sumBytes = 0;
    for (let c = 0; c < containerCount; c++) {
      const resources: { requests: Record<string, string>; limits: Record<string, string> } = {
        requests: { cpu: '100m', memory: '128Mi' },
        limits: {},
      };
      if (epc && (c === 0 || rng.int(2) === 0)) {
        const mib = 1 + rng.int(16);
        const onlyLimit = rng.int(4) === 0; // extended resources: a limit alone is the request
        if (dialect !== 'intel') {
          resources.limits[EPC_MIB] = mibQuantity(rng, mib);
          if (!onlyLimit) resources.requests[EPC_MIB] = resources.limits[EPC_MIB];
          sumMib += mib;
        }
        if (dialect !== 'mib') {
          resources.limits[INTEL_EPC] = bytesQuantity(rng, mib * MIB);
          if (!onlyLimit) resources.requests[INTEL_EPC] = resources.limits[INTEL_EPC];
          sumBytes += mib * MIB;
        }
      }
      containers.push({ name: `c${c}`, image: 'mcr.microsoft.com/example:1', resources });
    }
    // An init container sometimes asks for more EPC than all app containers together.
    const initContainers: Record<string, unknown>[] = [];
    if (epc && rng.int(8) === 0) {
      const mib = sumMib + sumBytes / MIB + 4 + rng.int(8);
      const limits: Record<string, string> = {};
      if (dialect !== 'intel') limits[EPC_MIB] = String(mib);
      if (dialect !== 'mib') limits[INTEL_EPC] = `${mib}Mi`;
      initContainers.push({ name: 'init', image: 'busybox', resources: { limits, requests: { ...limits } } });
      if (dialect !== 'intel') sumMib = mib;
      if (dialect !== 'mib') sumBytes = mib * MIB;
    }
    // Placed as kube-scheduler would: only on a node with room for the pod's EPC (else it stays Pending).
    const need = Math.max(sumMib, sumBytes / MIB);
    const candidates = epc
      ? sgxNames.filter((n) => (free.get(n) ?? 0) >= need)
      : nodes.map((n) => (n['metadata'] as { name: string }).name);
    const node = candidates.length === 0 ? '' : rng.pick(candidates);
    if (node === '') bound = false;
    const phaseNow = bound ? phase : 'Pending';
    if (bound && epc && phaseNow !== 'Succeeded' && phaseNow !== 'Failed')
      free.set(node, (free.get(node) ?? 0) - need);
    const name = `${namespace}-app-${String(i).padStart(4, '0')}`;
    const podIP = bound ? `10.244.${i >> 8}.${i & 255}` : undefined;
    pods.push({
      metadata: { name, namespace, uid: rng.uuid(), labels: { app: name.slice(0, -5) } },
      spec: {
        ...(bound ? { nodeName: node } : {}),
        containers,
        ...(initContainers.length === 0 ? {} : { initContainers }),
      },
      status: { phase: phaseNow, ...(podIP === undefined ? {} : { podIP }) },
    });
    const holds = bound && phaseNow !== 'Succeeded' && phaseNow !== 'Failed';
    if (epc && holds) {
      const n = expectedNodes.get(node);
      if (n !== undefined) {
        n.allocatedMib += sumMib;
        n.allocatedBytes += sumBytes;
        n.epcPods += 1;
      }
      const ns = namespaces.get(namespace) ?? { pods: 0, mib: 0, bytes: 0 };
      ns.pods += 1;
      ns.mib += sumMib;
      ns.bytes += sumBytes;
      namespaces.set(namespace, ns);
    }
    if (epc && !bound) pending += 1; // only Pending pods are unbound
  }
  return { nodes, pods, expected: { nodes: expectedNodes, namespaces, pending } };
}

export interface FakeClusterServer {
  readonly url: string;
  /** Request paths with their query, in order. */
  readonly requests: string[];
  kubeConfig(): KubeConfig;
  close(): Promise<void>;
}

/** Serves `cluster` as an API server's list calls, paginated. */
export async function startFakeCluster(cluster: FakeCluster): Promise<FakeClusterServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(`${u.pathname}${u.search}`);
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const list =
      u.pathname === '/api/v1/nodes'
        ? cluster.nodes
        : u.pathname === '/api/v1/pods'
          ? cluster.pods
          : undefined;
    if (req.method !== 'GET' || list === undefined) {
      send(404, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        reason: 'NotFound',
        code: 404,
      });
      return;
    }
    const limit = Number(u.searchParams.get('limit') ?? '0');
    const start = Number(u.searchParams.get('continue') ?? '0');
    const end = limit > 0 ? Math.min(list.length, start + limit) : list.length;
    const metadata: Record<string, unknown> = { resourceVersion: '987654' };
    if (end < list.length) {
      metadata['continue'] = String(end);
      metadata['remainingItemCount'] = list.length - end;
    }
    send(200, {
      kind: u.pathname.endsWith('nodes') ? 'NodeList' : 'PodList',
      apiVersion: 'v1',
      metadata,
      items: list.slice(start, end),
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'fake', token: 'fake-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
        currentContext: 'fake',
      });
      return kc;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
