/**
 * Node updates through the API server: extended-resource capacity (JSON patch on the `status`
 * subresource, spec §1.7) and labels/taints (JSON patch on the node, guarded by a `test` of the
 * resourceVersion so that a concurrent taint change is never overwritten).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { TaintSpec } from '../../contract/index.ts';
import { NodePatchError, NodeSettingsError } from './errors.ts';

/** One RFC 6902 operation. */
export interface JsonPatchOp {
  readonly op: 'add' | 'replace' | 'remove' | 'test';
  readonly path: string;
  readonly value?: unknown;
}

/** The parts of a core/v1 Node this module reads. */
export interface NodeView {
  readonly metadata?: {
    readonly labels?: Readonly<Record<string, string>>;
    readonly resourceVersion?: string;
  };
  readonly spec?: { readonly taints?: readonly TaintLike[] };
}

/** A taint as the API server returns it (may carry timeAdded). */
export interface TaintLike {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: unknown;
}

/** The API-server seam: the three calls the plugin makes on its node. */
export interface NodeClient {
  readNode(name: string): Promise<NodeView>;
  patchNode(name: string, ops: readonly JsonPatchOp[]): Promise<void>;
  patchNodeStatus(name: string, ops: readonly JsonPatchOp[]): Promise<void>;
}

/** RFC 6901 escaping of one reference token (`/` → `~1`, `~` → `~0`). */
export function escapePointerToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** `add /status/capacity/<name>` for each resource (values are Kubernetes quantities as strings). */
export function capacityPatch(capacity: Readonly<Record<string, string>>): JsonPatchOp[] {
  return Object.entries(capacity).map(([name, value]) => ({
    op: 'add',
    path: `/status/capacity/${escapePointerToken(name)}`,
    value,
  }));
}

/** What the plugin wants on its node's metadata and spec. */
export interface NodeMarking {
  readonly labels: Readonly<Record<string, string>>;
  /** Taints that must be present. */
  readonly taints: readonly TaintSpec[];
  /** Taints (by key and effect) that must be absent. */
  readonly removeTaints: readonly TaintSpec[];
}

function sameTaint(a: TaintLike, b: TaintLike): boolean {
  return a.key === b.key && a.effect === b.effect;
}

function taintList(taints: readonly TaintLike[]): string {
  return JSON.stringify(taints.map((t) => [t.key, t.value ?? '', t.effect]));
}

/** The JSON patch that brings `node` to `marking`, or `[]` when nothing needs to change. */
export function markingPatch(node: NodeView, marking: NodeMarking): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  const labels = node.metadata?.labels;
  const wantedLabels = Object.entries(marking.labels).filter(([k, v]) => labels?.[k] !== v);
  const current = node.spec?.taints ?? [];
  let taints = current.filter((t) => !marking.removeTaints.some((r) => sameTaint(t, r)));
  for (const want of marking.taints) {
    const have = taints.find((t) => sameTaint(t, want));
    if (have?.value !== want.value) {
      taints = [...taints.filter((t) => !sameTaint(t, want)), { ...want }];
    }
  }
  const taintsChanged = taintList(taints) !== taintList(current);
  if (wantedLabels.length === 0 && !taintsChanged) return [];
  const version = node.metadata?.resourceVersion;
  if (version !== undefined) ops.push({ op: 'test', path: '/metadata/resourceVersion', value: version });
  if (labels === undefined) {
    ops.push({ op: 'add', path: '/metadata/labels', value: Object.fromEntries(wantedLabels) });
  } else {
    for (const [k, v] of wantedLabels)
      ops.push({ op: 'add', path: `/metadata/labels/${escapePointerToken(k)}`, value: v });
  }
  if (taintsChanged) {
    if (node.spec === undefined) ops.push({ op: 'add', path: '/spec', value: {} });
    ops.push({ op: 'add', path: '/spec/taints', value: taints });
  }
  return ops;
}

/** The API server's own words from a Status body (`message`, else `reason`), if it sent one. */
function statusText(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const status = JSON.parse(body) as { message?: unknown; reason?: unknown };
    if (typeof status.message === 'string' && status.message !== '') return status.message;
    if (typeof status.reason === 'string' && status.reason !== '') return status.reason;
  } catch {
    // not a Status object
  }
  return undefined;
}

function apiError(action: string, nodeName: string, cause: unknown): NodePatchError {
  const status = (cause as { code?: unknown } | null)?.code;
  const body = (cause as { body?: unknown } | null)?.body;
  // One line: the library's messages span several lines (code, message, body, headers).
  const reason =
    statusText(body) ??
    (cause instanceof Error ? (cause.message.split('\n')[0] ?? cause.message) : String(cause));
  return new NodePatchError(
    `${action} node ${nodeName} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${reason}`,
    {
      nodeName,
      action,
      ...(typeof status === 'number' ? { status } : {}),
      ...(typeof body === 'string' ? { body: body.slice(0, 500) } : {}),
    },
    cause,
  );
}

/**
 * A {@link NodeClient} over @kubernetes/client-node. The library is loaded on first use: it is large
 * (about 100 MiB resident), and a plugin without a node name never needs it.
 */
export async function kubeNodeClient(kc: KubeConfig): Promise<NodeClient> {
  const { CoreV1Api, PatchStrategy, setHeaderOptions } = await import('@kubernetes/client-node');
  const api = kc.makeApiClient(CoreV1Api);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  return {
    async readNode(name) {
      try {
        return await api.readNode({ name });
      } catch (cause) {
        throw apiError('reading', name, cause);
      }
    },
    async patchNode(name, ops) {
      try {
        await api.patchNode({ name, body: ops }, jsonPatch);
      } catch (cause) {
        throw apiError('patching', name, cause);
      }
    },
    async patchNodeStatus(name, ops) {
      try {
        await api.patchNodeStatus({ name, body: ops }, jsonPatch);
      } catch (cause) {
        throw apiError('patching the status of', name, cause);
      }
    },
  };
}

/** The JSON patches a node update sent: to the status subresource and to the node. */
export interface NodePatches {
  readonly statusPatch: JsonPatchOp[];
  readonly nodePatch: JsonPatchOp[];
}

/** What the daemon asks of its node at start: these capacities and this marking. */
export interface NodeSettings {
  readonly capacity: Readonly<Record<string, string>>;
  readonly marking: NodeMarking;
}

/**
 * Brings a node to `settings` through the API server, wherever that runs: in this process
 * ({@link nodeSettingsApplier}) or in a short-lived child process (the CLI does that, so that the
 * daemon never keeps the Kubernetes client library resident). Rejects with {@link NodePatchError}.
 */
export type NodeSettingsApplier = (nodeName: string, settings: NodeSettings) => Promise<NodePatches>;

/** An applier that makes the calls in this process through `client`. */
export function nodeSettingsApplier(client: NodeClient): NodeSettingsApplier {
  return (nodeName, settings) => applyNodeSettings(client, nodeName, settings.capacity, settings.marking);
}

function settingsFieldError(field: string, expected: string): NodeSettingsError {
  return new NodeSettingsError(`node settings: ${field}: expected ${expected}`, { field });
}

function stringRecord(value: unknown, field: string): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw settingsFieldError(field, 'an object of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw settingsFieldError(`${field}.${k}`, 'a string');
    out[k] = v;
  }
  return out;
}

const TAINT_EFFECTS = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function taintArray(value: unknown, field: string): TaintSpec[] {
  if (!Array.isArray(value)) throw settingsFieldError(field, 'an array of taints');
  return value.map((t: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof t !== 'object' || t === null) throw settingsFieldError(at, 'an object');
    const { key, value: v, effect } = t as Record<string, unknown>;
    if (typeof key !== 'string' || key === '') throw settingsFieldError(`${at}.key`, 'a non-empty string');
    if (typeof v !== 'string') throw settingsFieldError(`${at}.value`, 'a string');
    if (typeof effect !== 'string' || !TAINT_EFFECTS.includes(effect)) {
      throw settingsFieldError(`${at}.effect`, TAINT_EFFECTS.join(' | '));
    }
    return { key, value: v, effect: effect as TaintSpec['effect'] };
  });
}

/**
 * Checks a {@link NodeSettings} document (JSON as read from a file or standard input): `capacity`
 * and `marking.labels` map names to strings; `marking.taints` and `marking.removeTaints` are taints.
 * Throws {@link NodeSettingsError} naming the first field that is wrong.
 */
export function parseNodeSettings(doc: unknown): NodeSettings {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw settingsFieldError('(document)', 'an object with capacity and marking');
  }
  const { capacity, marking } = doc as Record<string, unknown>;
  if (typeof marking !== 'object' || marking === null || Array.isArray(marking)) {
    throw settingsFieldError('marking', 'an object with labels, taints and removeTaints');
  }
  const m = marking as Record<string, unknown>;
  return {
    capacity: stringRecord(capacity, 'capacity'),
    marking: {
      labels: stringRecord(m['labels'], 'marking.labels'),
      taints: taintArray(m['taints'], 'marking.taints'),
      removeTaints: taintArray(m['removeTaints'], 'marking.removeTaints'),
    },
  };
}

/** Patches capacity (status) and, if needed, labels/taints (node). */
export async function applyNodeSettings(
  client: NodeClient,
  nodeName: string,
  capacity: Readonly<Record<string, string>>,
  marking: NodeMarking,
): Promise<NodePatches> {
  const statusPatch = capacityPatch(capacity);
  if (statusPatch.length > 0) await client.patchNodeStatus(nodeName, statusPatch);
  const node = await client.readNode(nodeName);
  const nodePatch = markingPatch(node, marking);
  if (nodePatch.length > 0) await client.patchNode(nodeName, nodePatch);
  return { statusPatch, nodePatch };
}
