/**
 * kube-scheduler's filters, as far as node shapes and requests decide them, run in the default
 * profile's order — TaintToleration, NodeAffinity, NodeResourcesFit — and stopping at the first
 * filter that fails, as the framework does. The reason strings are the scheduler's own
 * (kubernetes v1.3x, pkg/scheduler/framework/plugins/…):
 *
 * - TaintToleration: `node(s) had untolerated taint {<key>: <value>}` for the first NoSchedule or
 *   NoExecute taint no toleration matches;
 * - NodeAffinity: `node(s) didn't match Pod's node affinity/selector` (nodeSelector AND one of the
 *   required terms);
 * - NodeResourcesFit: `Too many pods` when the node's pod count is reached, and
 *   `Insufficient <resource>` for every requested resource with request > allocatable − requested.
 *
 * `fitErrorMessage` builds the FailedScheduling text like FitError.Error(): "0/<n> nodes are
 * available: " + the sorted "<count> <reason>" histogram joined with ", " + "." and, as the default
 * preemption plugin adds when it finds no victims, " preemption: 0/<n> nodes are available: …".
 */
import type {
  NodeSelectorRequirement,
  NodeSelectorTerm,
  NodeShape,
  PodGroup,
  ResourceList,
  Taint,
  Toleration,
} from './model.ts';

export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';
export const REASON_PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const REASON_NO_VICTIMS = 'No preemption victims found for incoming pod';

export function taintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value}}`;
}

export function insufficientReason(resource: string): string {
  return `Insufficient ${resource}`;
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect !== '' && t.effect !== taint.effect) return false;
  if (t.key === '' && t.operator === 'Exists') return true;
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || t.value === taint.value;
}

/** The first NoSchedule/NoExecute taint of `node` that `pod` does not tolerate, if any. */
export function untoleratedTaint(pod: PodGroup, node: NodeShape): Taint | undefined {
  for (const taint of node.taints) {
    if (taint.effect === 'PreferNoSchedule') continue;
    if (!pod.tolerations.some((t) => tolerates(t, taint))) return taint;
  }
  return undefined;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  switch (r.operator) {
    case 'In':
      return value !== undefined && r.values.includes(value);
    case 'NotIn':
      return value === undefined || !r.values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || r.values.length !== 1) return false;
      const a = Number(value);
      const b = Number(r.values[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
  }
}

function termMatches(term: NodeSelectorTerm, node: NodeShape): boolean {
  // A term with no requirements matches no node (k8s nodeaffinity semantics).
  if (term.matchExpressions.length === 0 && term.matchFields.length === 0) return false;
  for (const r of term.matchExpressions) if (!requirementMatches(r, node.labels[r.key])) return false;
  for (const r of term.matchFields) {
    if (r.key !== 'metadata.name' || !requirementMatches(r, node.name)) return false;
  }
  return true;
}

/** nodeSelector and required node affinity. */
export function matchesNodeAffinity(pod: PodGroup, node: NodeShape): boolean {
  for (const [k, v] of Object.entries(pod.nodeSelector)) if (node.labels[k] !== v) return false;
  if (pod.affinity === undefined) return true;
  return pod.affinity.some((t) => termMatches(t, node));
}

/** NodeResourcesFit against a node with `used` already requested by `podCount` pods. */
export function resourceReasons(
  requests: ResourceList,
  allocatable: ResourceList,
  used: ResourceList,
  podCount: number,
): string[] {
  const reasons: string[] = [];
  if (podCount + 1 > (allocatable['pods'] ?? 0)) reasons.push(REASON_TOO_MANY_PODS);
  for (const name in requests) {
    const want = requests[name] ?? 0;
    if (want > 0 && want > (allocatable[name] ?? 0) - (used[name] ?? 0))
      reasons.push(insufficientReason(name));
  }
  return reasons;
}

/** Why `pod` cannot go on `node` (empty when it fits), and whether preemption could help. */
export interface FilterResult {
  readonly reasons: readonly string[];
  /**
   * True for UnschedulableAndUnresolvable failures: taints, affinity, and a request larger than the
   * node's allocatable.
   */
  readonly unresolvable: boolean;
}

export function filterNode(
  pod: PodGroup,
  node: NodeShape,
  used: ResourceList = {},
  podCount = 0,
): FilterResult {
  const taint = untoleratedTaint(pod, node);
  if (taint !== undefined) return { reasons: [taintReason(taint)], unresolvable: true };
  if (!matchesNodeAffinity(pod, node)) return { reasons: [REASON_AFFINITY], unresolvable: true };
  return {
    reasons: resourceReasons(pod.requests, node.allocatable, used, podCount),
    unresolvable: exceedsAllocatable(pod.requests, node.allocatable),
  };
}

/**
 * True when some request is larger than the node's whole allocatable amount: NodeResourcesFit then
 * reports UnschedulableAndUnresolvable (InsufficientResource.Unresolvable, kubernetes v1.3x
 * noderesources/fit.go), so preemption is not tried on that node — evicting pods cannot make room.
 */
export function exceedsAllocatable(requests: ResourceList, allocatable: ResourceList): boolean {
  for (const name in requests) {
    const want = requests[name] ?? 0;
    if (want > 0 && want > (allocatable[name] ?? 0)) return true;
  }
  return false;
}

function histogram(counts: ReadonlyMap<string, number>): string {
  return [...counts]
    .map(([reason, n]) => `${n} ${reason}`)
    .sort()
    .join(', ');
}

/**
 * The FailedScheduling message for a pod that fits none of `results` (one per node), e.g.
 * "0/3 nodes are available: 3 Insufficient sgx.intel.com/epc. preemption: 0/3 nodes are available:
 * 3 No preemption victims found for incoming pod." With no nodes at all the scheduler says
 * "no nodes available to schedule pods".
 */
export function fitErrorMessage(results: readonly FilterResult[], withPreemption = true): string {
  const counts = new Map<string, number>();
  const post = new Map<string, number>();
  for (const r of results) {
    for (const reason of r.reasons) counts.set(reason, (counts.get(reason) ?? 0) + 1);
    const p = r.unresolvable ? REASON_PREEMPTION_NOT_HELPFUL : REASON_NO_VICTIMS;
    post.set(p, (post.get(p) ?? 0) + 1);
  }
  return fitErrorMessageOf(results.length, counts, post, withPreemption);
}

/**
 * {@link fitErrorMessage} from counts already made: `n` nodes, how many nodes gave each reason, and
 * how many are unresolvable (`Preemption is not helpful…`) or not (`No preemption victims…`).
 */
export function fitErrorMessageOf(
  n: number,
  counts: ReadonlyMap<string, number>,
  post: ReadonlyMap<string, number>,
  withPreemption = true,
): string {
  if (n === 0) return 'no nodes available to schedule pods';
  let msg = `0/${n} nodes are available: ${histogram(counts)}.`;
  if (withPreemption) msg += ` preemption: 0/${n} nodes are available: ${histogram(post)}.`;
  return msg;
}
