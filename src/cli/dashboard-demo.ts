/**
 * The dashboard of `ccnodes demo --keep-running`. The demo has no cluster, so this starts a small
 * stand-in for the API server on loopback: `GET /api/v1/nodes` serves the demo node as the device
 * plugin patched it (labels, taints, EPC capacity — the patches it sent to the demo's node client,
 * applied to a Node object), and `GET /api/v1/pods` the demo's enclave pod holding the EPC that
 * kubelet's peer allocated (the plugin's own counter). The dashboard reads them through
 * @kubernetes/client-node like any cluster, scrapes the device plugin and the quote helper, and
 * reads the attestation service's API and the simulated PCS.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { RESOURCE_EPC_MIB } from '../contract/index.ts';
import { attestationApiSource, createDashboard, kubeApiSource, type Dashboard } from '../dashboard/index.ts';
import { exportNodeDoctor, serveMetrics } from '../node/device-plugin/index.ts';
import { DEMO_NODE, DEMO_SKU, type DemoStack } from './demo-stack.ts';

/** Namespace and name of the pod the demo's enclave stands for. */
export const DEMO_POD = { namespace: 'demo', name: 'hello-enclave' } as const;

type Json = Record<string, unknown>;

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Applies the add/replace/remove ops the device plugin sends (RFC 6902 subset) to `doc`. */
export function applyPatch(doc: Json, ops: readonly { op: string; path: string; value?: unknown }[]): void {
  for (const o of ops) {
    if (o.op === 'test') continue;
    const parts = o.path.split('/').slice(1).map(unescapePointer);
    const last = parts.pop();
    if (last === undefined) continue;
    let at: unknown = doc;
    for (const p of parts) {
      const container = at as Json;
      if (typeof container[p] !== 'object' || container[p] === null) container[p] = {};
      at = container[p];
    }
    if (Array.isArray(at)) {
      if (o.op === 'remove') at.splice(Number(last), 1);
      else if (last === '-') at.push(o.value);
      else if (o.op === 'add') at.splice(Number(last), 0, o.value);
      else at[Number(last)] = o.value;
    } else {
      const container = at as Json;
      if (o.op === 'remove') Reflect.deleteProperty(container, last);
      else container[last] = o.value;
    }
  }
}

/**
 * The demo node as the device plugin's patches left it, plus what kubelet itself writes: the device
 * count of each device-plugin resource as capacity, and allocatable equal to capacity for extended
 * resources.
 */
export async function demoNode(stack: DemoStack): Promise<Json> {
  const node: Json = {
    metadata: {
      name: DEMO_NODE,
      labels: { 'kubernetes.io/hostname': DEMO_NODE, 'node.kubernetes.io/instance-type': DEMO_SKU },
    },
    spec: { taints: [] },
    status: {
      capacity: {},
      allocatable: {},
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  };
  for (const p of stack.nodeClient.patches) applyPatch(node, p.ops);
  const status = node['status'] as { capacity: Record<string, string>; allocatable: Record<string, string> };
  for (const v of (await stack.devicePluginMetrics.devices.get()).values) {
    const resource = v.labels['resource'];
    if (typeof resource === 'string') status.capacity[resource] = String(v.value);
  }
  for (const [k, v] of Object.entries(status.capacity)) status.allocatable[k] ??= v;
  return node;
}

async function allocatedMib(stack: DemoStack): Promise<number> {
  const m = await stack.devicePluginMetrics.epcAllocatedMib.get();
  return m.values.reduce((a, v) => a + v.value, 0);
}

/** A running demo dashboard and what it started. */
export interface DemoDashboard {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts the stand-in API server, the device plugin's metrics endpoint and the dashboard. */
export async function startDemoDashboard(stack: DemoStack): Promise<DemoDashboard> {
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    closers.length = 0;
  };
  try {
    const api: Server = createServer((req, res) => {
      void (async () => {
        const path = new URL(req.url ?? '/', 'http://x').pathname;
        let body: Json;
        if (path === '/api/v1/nodes')
          body = { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [await demoNode(stack)] };
        else if (path === '/api/v1/pods') {
          const mib = await allocatedMib(stack);
          const pods =
            mib === 0
              ? []
              : [
                  {
                    metadata: { ...DEMO_POD },
                    spec: {
                      nodeName: DEMO_NODE,
                      containers: [
                        {
                          name: 'enclave',
                          resources: {
                            requests: { [RESOURCE_EPC_MIB]: String(mib) },
                            limits: { [RESOURCE_EPC_MIB]: String(mib) },
                          },
                        },
                      ],
                    },
                    // The demo attests from loopback: the audit log's caller address of its token.
                    status: { phase: 'Running', podIP: '127.0.0.1' },
                  },
                ];
          body = { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: pods };
        } else {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify({
              kind: 'Status',
              apiVersion: 'v1',
              status: 'Failure',
              reason: 'NotFound',
              code: 404,
            }),
          );
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      })();
    });
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          api.close(() => {
            resolve();
          });
          api.closeAllConnections();
        }),
    );
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const { KubeConfig } = await import('@kubernetes/client-node');
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'demo', server: apiUrl, skipTLSVerify: true }], // plain HTTP on loopback
      users: [{ name: 'demo' }],
      contexts: [{ name: 'demo', cluster: 'demo', user: 'demo' }],
      currentContext: 'demo',
    });
    // The node doctor on the demo node's trees (as the device plugin runs it when it serves metrics).
    await exportNodeDoctor(stack.devicePluginMetrics, {
      devRoot: join(stack.dir, 'dev'),
      sysRoot: join(stack.dir, 'sys'),
      simulate: DEMO_SKU,
      aesmdSocket: stack.aesmSocket,
      intervalMs: 0,
    }).first;
    const metrics = await serveMetrics('127.0.0.1:0', stack.devicePluginMetrics.registry);
    closers.push(() => metrics.close());
    const dashboard: Dashboard = createDashboard({
      kube: await kubeApiSource(kc),
      attestation: attestationApiSource({ url: stack.attestationUrl, adminToken: stack.adminToken }),
      metrics: [
        { node: DEMO_NODE, target: `${metrics.url}/metrics` },
        { node: DEMO_NODE, target: `unix:${stack.jsonSocket}:/metrics` },
      ],
      collateral: { url: stack.pcs.url, fmspcs: stack.fmspcs },
      sampleIntervalMs: 5000,
    });
    const url = await dashboard.listen('127.0.0.1', 0);
    closers.push(() => dashboard.close());
    return { url, close };
  } catch (err) {
    await close();
    throw err;
  }
}
