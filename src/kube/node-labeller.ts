/**
 * The node labeller: puts the node doctor's `ccnodes.io/*` labels on a node with one JSON Patch,
 * guarded by a `test` of the node's resourceVersion so a concurrent change is never overwritten.
 * Labels already carrying the wanted value are left alone; an up-to-date node gets no PATCH at all.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { KubeNodeError } from './errors.ts';
import { pointer, type JsonPatchOperation } from './json-patch.ts';

/** The parts of a Node the labeller and EPC discovery read. */
export interface NodeLike {
  readonly metadata?: {
    readonly name?: string;
    readonly labels?: Readonly<Record<string, string>> | null;
    readonly resourceVersion?: string;
  };
  readonly status?: { readonly allocatable?: Readonly<Record<string, string>> | null };
}

/** The API calls the labeller and EPC discovery need (a seam for tests). */
export interface NodeApi {
  readNode(name: string): Promise<NodeLike>;
  patchNode(name: string, ops: readonly JsonPatchOperation[]): Promise<void>;
  listNodes(): Promise<readonly NodeLike[]>;
}

/** The patch that gives `node` the `labels` (empty when it already has them). */
export function labelPatch(node: NodeLike, labels: Readonly<Record<string, string>>): JsonPatchOperation[] {
  const current = node.metadata?.labels ?? undefined;
  const wanted = Object.entries(labels).filter(([k, v]) => current?.[k] !== v);
  if (wanted.length === 0) return [];
  const ops: JsonPatchOperation[] = [];
  const version = node.metadata?.resourceVersion;
  if (version !== undefined) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: version });
  if (current === undefined)
    ops.push({ op: 'add', path: '/metadata/labels', value: Object.fromEntries(wanted) });
  else
    for (const [k, v] of wanted) ops.push({ op: 'add', path: pointer(['metadata', 'labels', k]), value: v });
  return ops;
}

/** Options of {@link labelNode}. */
export interface LabelNodeOptions {
  readonly api: NodeApi;
  readonly nodeName: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Compute the patch but do not send it. */
  readonly dryRun?: boolean;
}

/** Reads the node, computes the label patch and (unless dry-run) applies it. Returns the patch. */
export async function labelNode(options: LabelNodeOptions): Promise<JsonPatchOperation[]> {
  const node = await options.api.readNode(options.nodeName);
  const ops = labelPatch(node, options.labels);
  if (ops.length > 0 && options.dryRun !== true) await options.api.patchNode(options.nodeName, ops);
  return ops;
}

function apiError(action: string, what: string, cause: unknown): KubeNodeError {
  const status = (cause as { code?: unknown } | null)?.code;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new KubeNodeError(
    `${action} ${what} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${reason}`,
    {
      details: { action, what, ...(typeof status === 'number' ? { status } : {}) },
      cause,
    },
  );
}

/** A {@link NodeApi} over @kubernetes/client-node. */
export function kubeNodeApi(kc: KubeConfig): NodeApi {
  const api = kc.makeApiClient(CoreV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  return {
    async readNode(name) {
      try {
        return await api.readNode({ name });
      } catch (cause) {
        throw apiError('reading', `node ${name}`, cause);
      }
    },
    async patchNode(name, ops) {
      try {
        await api.patchNode({ name, body: ops }, jsonPatch);
      } catch (cause) {
        throw apiError('patching', `node ${name}`, cause);
      }
    },
    async listNodes() {
      try {
        return (await api.listNode()).items;
      } catch (cause) {
        throw apiError('listing', 'nodes', cause);
      }
    },
  };
}
