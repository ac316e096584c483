/**
 * The Kubernetes adapter: lists nodes and pods through @kubernetes/client-node (the API server's
 * list calls, paginated with `limit`/`continue`), bounded in items and time. Only the fields the
 * pages read are kept (structural subsets of core/v1 Node and Pod).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { DashboardSourceError } from './errors.ts';

/** The parts of a core/v1 Node the dashboard reads. */
export interface KubeNode {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>> | undefined;
    readonly creationTimestamp?: Date | string | undefined;
  };
  readonly spec?: {
    readonly taints?: readonly { key: string; value?: string | undefined; effect: string }[] | undefined;
    readonly unschedulable?: boolean | undefined;
  };
  readonly status?: {
    readonly capacity?: Readonly<Record<string, string>> | undefined;
    readonly allocatable?: Readonly<Record<string, string>> | undefined;
    readonly conditions?: readonly { type: string; status: string }[] | undefined;
  };
}

/** Requests and limits of one container, and its ports (metrics discovery). */
export interface KubeContainer {
  readonly name: string;
  readonly ports?:
    | readonly {
        readonly name?: string | undefined;
        readonly containerPort: number;
        readonly protocol?: string | undefined;
      }[]
    | undefined;
  readonly resources?: {
    readonly requests?: Readonly<Record<string, string>> | undefined;
    readonly limits?: Readonly<Record<string, string>> | undefined;
  };
}

/** The parts of a core/v1 Pod the dashboard reads. */
export interface KubePod {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly annotations?: Readonly<Record<string, string>> | undefined;
    readonly labels?: Readonly<Record<string, string>> | undefined;
  };
  readonly spec?: {
    readonly nodeName?: string | undefined;
    readonly containers?: readonly KubeContainer[];
    readonly initContainers?: readonly KubeContainer[] | undefined;
    readonly overhead?: Readonly<Record<string, string>> | undefined;
  };
  readonly status?: { readonly phase?: string | undefined; readonly podIP?: string | undefined };
}

/** One snapshot of the cluster. */
export interface KubeSnapshot {
  readonly nodes: readonly KubeNode[];
  readonly pods: readonly KubePod[];
}

/** Where the dashboard gets nodes and pods from (a seam for tests and the demo). */
export interface KubeSource {
  snapshot(): Promise<KubeSnapshot>;
}

/** Bounds of {@link kubeApiSource}. */
export interface KubeSourceOptions {
  /** Items per list call (`limit`); default 500. */
  readonly pageSize?: number;
  /** Refuse clusters with more nodes or pods than this (default 50 000). */
  readonly maxItems?: number;
  /** Deadline of one whole snapshot, in ms (default 20 000). */
  readonly timeoutMs?: number;
}

interface Page<T> {
  readonly items: readonly T[];
  readonly metadata?: { readonly _continue?: string | undefined } | undefined;
}

async function listAll<T>(
  what: 'nodes' | 'pods',
  call: (cont: string | undefined) => Promise<Page<T>>,
  maxItems: number,
): Promise<T[]> {
  const out: T[] = [];
  let cont: string | undefined;
  do {
    let page: Page<T>;
    try {
      page = await call(cont);
    } catch (cause) {
      const status = (cause as { code?: unknown } | null)?.code;
      throw new DashboardSourceError(
        `Kubernetes API: listing ${what} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${
          cause instanceof Error ? cause.message.split('\n')[0] : String(cause)
        }`,
        { source: 'kubernetes', what, ...(typeof status === 'number' ? { status } : {}) },
        cause,
      );
    }
    if (!Array.isArray(page.items))
      throw new DashboardSourceError(`Kubernetes API: the ${what} list has no items array`, {
        source: 'kubernetes',
        field: 'items',
      });
    out.push(...(page.items as readonly T[]));
    if (out.length > maxItems)
      throw new DashboardSourceError(`Kubernetes API: more than ${maxItems} ${what}`, {
        source: 'kubernetes',
        what,
        maxItems,
      });
    const next = page.metadata?._continue;
    cont = typeof next === 'string' && next !== '' ? next : undefined;
  } while (cont !== undefined);
  return out;
}

/** A {@link KubeSource} over the API server that `kc` points at. */
export async function kubeApiSource(kc: KubeConfig, options: KubeSourceOptions = {}): Promise<KubeSource> {
  const { CoreV1Api } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(CoreV1Api);
  const limit = options.pageSize ?? 500;
  const maxItems = options.maxItems ?? 50_000;
  const timeoutMs = options.timeoutMs ?? 20_000;
  return {
    async snapshot() {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          reject(
            new DashboardSourceError(`Kubernetes API: no complete answer within ${timeoutMs} ms`, {
              source: 'kubernetes',
              timeoutMs,
            }),
          );
        }, timeoutMs);
      });
      try {
        const [nodes, pods] = await Promise.race([
          Promise.all([
            listAll<KubeNode>(
              'nodes',
              (c) => api.listNode({ limit, ...(c === undefined ? {} : { _continue: c }) }),
              maxItems,
            ),
            listAll<KubePod>(
              'pods',
              (c) => api.listPodForAllNamespaces({ limit, ...(c === undefined ? {} : { _continue: c }) }),
              maxItems,
            ),
          ]),
          deadline,
        ]);
        return { nodes, pods };
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
