/**
 * Finding the node agents' metrics endpoints in a cluster, from the pod list the dashboard reads
 * anyway: running pods labelled `app.kubernetes.io/part-of=ccnodes` (as `deploy render` labels every
 * component) with a TCP container port named `metrics` are scraped at `http://<pod IP>:<port>/metrics`
 * and tied to the pod's node. No other API call, no other permission than listing pods.
 */
import { isIP } from 'node:net';
import { APP_PART_OF_CCNODES, LABEL_APP_PART_OF, METRICS_PORT_NAME } from '../contract/index.ts';
import type { KubePod } from './kube-source.ts';

/** A discovered endpoint and its node (a `MetricsTarget` of the server). */
export interface DiscoveredTarget {
  readonly target: string;
  readonly node: string;
}

/** At most this many discovered endpoints are scraped (one per node agent pod; a bound, not a goal). */
export const MAX_DISCOVERED_TARGETS = 5000;

/** The metrics endpoints of the ccnodes agent pods in `pods`, sorted by node then URL. */
export function discoverMetricsTargets(pods: readonly KubePod[]): DiscoveredTarget[] {
  const out = new Map<string, DiscoveredTarget>();
  for (const pod of pods) {
    if (pod.metadata?.labels?.[LABEL_APP_PART_OF] !== APP_PART_OF_CCNODES) continue;
    if (pod.status?.phase !== 'Running') continue;
    const ip = pod.status.podIP;
    const node = pod.spec?.nodeName;
    if (ip === undefined || isIP(ip) === 0 || node === undefined || node === '') continue;
    for (const c of pod.spec?.containers ?? []) {
      for (const p of c.ports ?? []) {
        if (p.name !== METRICS_PORT_NAME || (p.protocol ?? 'TCP') !== 'TCP') continue;
        if (!Number.isInteger(p.containerPort) || p.containerPort < 1 || p.containerPort > 65535) continue;
        const host = isIP(ip) === 6 ? `[${ip}]` : ip;
        const target = `http://${host}:${p.containerPort}/metrics`;
        if (!out.has(target)) out.set(target, { target, node });
      }
    }
  }
  return [...out.values()]
    .sort((a, b) => a.node.localeCompare(b.node) || a.target.localeCompare(b.target))
    .slice(0, MAX_DISCOVERED_TARGETS);
}

/** Runs `work` over `items` with at most `limit` in flight, results in input order. */
export async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
