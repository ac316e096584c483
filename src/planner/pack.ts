/**
 * The packer: how many nodes of a SKU a set of pods needs, the way cluster-autoscaler's binpacking
 * estimator answers it, and a cheapest mix across several SKUs.
 *
 * Per SKU (`estimateSku`), as the autoscaler's BinpackingNodeEstimator with its DecreasingPodOrderer:
 * pods are ordered by cpu/allocatable-cpu + memory/allocatable-memory of the node template,
 * largest first (a stable sort: ties keep the input order; EPC does not enter the score, as in the
 * autoscaler), then each pod goes on the first node (in opening order) that passes the scheduler's
 * filters (fit.ts), else on a new node from the template; a pod that fails on an empty template
 * node is unschedulable for the SKU, and so is any pod that would need a node beyond `maxNodes`.
 * DaemonSet pods that match the template are placed on every node first (they are the per-node
 * reservation of the device plugin, quote helper, …). Identical pods are handled as a group: the
 * number that fits on a node is computed at once, which gives exactly the pod-by-pod first-fit result.
 *
 * Cheapest mix (`cheapestMix`): greedy. While pods remain, fill one empty node of every candidate SKU
 * with the remaining pods (same order, first fit), and keep the node whose packed "dominant share"
 * (per pod, the largest of cpu, memory, EPC over the largest candidate's allocatable, times the pods
 * placed) per unit of price is highest (ties: the cheaper SKU, then table order). The result is
 * compared with every single-SKU plan and the best of all is reported (fewest unschedulable pods,
 * then lowest cost, then fewest nodes), so the mix is never worse than the best single size. Bin
 * packing is NP-hard; this is a heuristic, not an optimum.
 */
import { RESOURCE_EPC_MIB } from '../contract/index.ts';
import {
  filterNode,
  fitErrorMessage,
  matchesNodeAffinity,
  untoleratedTaint,
  type FilterResult,
} from './fit.ts';
import type { NodeShape, PodGroup, ResourceList } from './model.ts';
import { skuNodeShape, type PoolOptions } from './nodes.ts';
import type { Sku } from './skus.ts';

/** A node of a plan: its SKU and what its pods request. */
export interface PlannedNode {
  readonly sku: string;
  readonly shape: NodeShape;
  readonly used: Record<string, number>;
  pods: number;
  /** Group id → pods of that group on the node (DaemonSet pods included). */
  readonly groups: Map<string, number>;
}

/** Pods of a group the plan could not place, and the scheduler's message for them. */
export interface Unschedulable {
  readonly group: string;
  readonly count: number;
  /** The FailedScheduling message against the planned nodes (or why no node could be added). */
  readonly message: string;
  /** Per SKU: why an empty node of that SKU (with its DaemonSet pods) does not take the pod, or "fits". */
  readonly onEmptyNode: Readonly<Record<string, string>>;
}

/** A plan: nodes by SKU, cost, and what did not fit. */
export interface Plan {
  readonly strategy: string;
  readonly nodes: readonly PlannedNode[];
  readonly countBySku: Readonly<Record<string, number>>;
  readonly costPerHour: number;
  readonly placedPods: number;
  readonly unschedulable: readonly Unschedulable[];
  /** True when the node limit stopped the plan from adding nodes. */
  readonly hitMaxNodes: boolean;
}

/** A SKU together with its node shape. */
export interface SkuShape {
  readonly sku: Sku;
  readonly shape: NodeShape;
}

export interface PlanOptions {
  /** Most nodes a plan may use (default unlimited). */
  readonly maxNodes?: number;
  readonly pool?: PoolOptions;
}

export function skuShapes(skus: readonly Sku[], pool: PoolOptions = {}): SkuShape[] {
  return skus.map((sku) => ({ sku, shape: skuNodeShape(sku, pool) }));
}

/** The autoscaler's pod score on a template: cpu/alloc + memory/alloc. */
export function autoscalerScore(pod: PodGroup, shape: NodeShape): number {
  let s = 0;
  const cpu = shape.allocatable['cpu'] ?? 0;
  const mem = shape.allocatable['memory'] ?? 0;
  if (cpu > 0) s += (pod.requests['cpu'] ?? 0) / cpu;
  if (mem > 0) s += (pod.requests['memory'] ?? 0) / mem;
  return s;
}

/** Stable order, largest score first. */
export function orderGroups(groups: readonly PodGroup[], score: (g: PodGroup) => number): PodGroup[] {
  return groups
    .map((g, i) => ({ g, i, s: score(g) }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((x) => x.g);
}

function newNode(ss: SkuShape, daemons: readonly PodGroup[]): PlannedNode {
  const node: PlannedNode = { sku: ss.sku.name, shape: ss.shape, used: {}, pods: 0, groups: new Map() };
  for (const d of daemons) {
    if (untoleratedTaint(d, ss.shape) !== undefined || !matchesNodeAffinity(d, ss.shape)) continue;
    place(node, d, 1);
  }
  return node;
}

const ENTRIES = new WeakMap<PodGroup, readonly (readonly [string, number])[]>();

/** A group's requests as an array (cached): the packer's inner loops iterate it millions of times. */
function entriesOf(g: PodGroup): readonly (readonly [string, number])[] {
  let e = ENTRIES.get(g);
  if (e === undefined) {
    e = Object.entries(g.requests);
    ENTRIES.set(g, e);
  }
  return e;
}

function place(node: PlannedNode, g: PodGroup, k: number): void {
  for (const [name, want] of entriesOf(g)) node.used[name] = (node.used[name] ?? 0) + want * k;
  node.pods += k;
  node.groups.set(g.id, (node.groups.get(g.id) ?? 0) + k);
}

/** How many pods of `g` still fit on `node` (resources and pod count only), capped at `cap`. */
function maxFit(node: PlannedNode, g: PodGroup, cap: number): number {
  const alloc = node.shape.allocatable;
  let k = Math.min(cap, (alloc['pods'] ?? 0) - node.pods);
  if (k <= 0) return 0;
  for (const [name, want] of entriesOf(g)) {
    if (want <= 0) continue;
    const free = (alloc[name] ?? 0) - (node.used[name] ?? 0);
    const n = Math.floor(free / want);
    if (n < k) {
      k = n;
      if (k <= 0) return 0;
    }
  }
  return k;
}

/** Whether `g` passes taints and affinity on the shape (resources aside). */
function admits(g: PodGroup, shape: NodeShape): boolean {
  return untoleratedTaint(g, shape) === undefined && matchesNodeAffinity(g, shape);
}

function emptyNodeReasons(
  g: PodGroup,
  shapes: readonly SkuShape[],
  daemons: readonly PodGroup[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const ss of shapes) {
    const n = newNode(ss, daemons);
    const r = filterNode(g, ss.shape, n.used, n.pods);
    out[ss.sku.name] = r.reasons.length === 0 ? 'fits' : r.reasons.join(', ');
  }
  return out;
}

function unschedulableOf(
  g: PodGroup,
  count: number,
  nodes: readonly PlannedNode[],
  shapes: readonly SkuShape[],
  daemons: readonly PodGroup[],
): Unschedulable {
  const results: FilterResult[] = nodes.map((n) => filterNode(g, n.shape, n.used, n.pods));
  return {
    group: g.id,
    count,
    message: fitErrorMessage(results),
    onEmptyNode: emptyNodeReasons(g, shapes, daemons),
  };
}

function finish(
  strategy: string,
  nodes: PlannedNode[],
  left: ReadonlyMap<PodGroup, number>,
  shapes: readonly SkuShape[],
  daemons: readonly PodGroup[],
  hitMaxNodes: boolean,
  total: number,
): Plan {
  const countBySku: Record<string, number> = {};
  let cost = 0;
  const price = new Map(shapes.map((s) => [s.sku.name, s.sku.pricePerHour]));
  for (const n of nodes) {
    countBySku[n.sku] = (countBySku[n.sku] ?? 0) + 1;
    cost += price.get(n.sku) ?? 0;
  }
  const unschedulable: Unschedulable[] = [];
  let unplaced = 0;
  for (const [g, c] of left) {
    if (c <= 0) continue;
    unplaced += c;
    unschedulable.push(unschedulableOf(g, c, nodes, shapes, daemons));
  }
  return {
    strategy,
    nodes,
    countBySku,
    costPerHour: Math.round(cost * 1e6) / 1e6,
    placedPods: total - unplaced,
    unschedulable,
    hitMaxNodes,
  };
}

function splitDaemons(groups: readonly PodGroup[]): { pods: PodGroup[]; daemons: PodGroup[] } {
  return { pods: groups.filter((g) => !g.daemon && g.replicas > 0), daemons: groups.filter((g) => g.daemon) };
}

/** First-fit-decreasing for one SKU (see the module comment). */
export function estimateSku(groups: readonly PodGroup[], ss: SkuShape, options: PlanOptions = {}): Plan {
  const { pods, daemons } = splitDaemons(groups);
  const maxNodes = options.maxNodes ?? Number.POSITIVE_INFINITY;
  const ordered = orderGroups(pods, (g) => autoscalerScore(g, ss.shape));
  const nodes: PlannedNode[] = [];
  const left = new Map<PodGroup, number>();
  const template = newNode(ss, daemons);
  let hitMax = false;
  let total = 0;
  for (const g of ordered) {
    total += g.replicas;
    let remaining = g.replicas;
    if (!admits(g, ss.shape) || maxFit(template, g, 1) === 0) {
      left.set(g, remaining);
      continue;
    }
    for (let i = 0; i < nodes.length && remaining > 0; i++) {
      const node = nodes[i] as PlannedNode;
      const k = maxFit(node, g, remaining);
      if (k > 0) {
        place(node, g, k);
        remaining -= k;
      }
    }
    while (remaining > 0) {
      if (nodes.length >= maxNodes) {
        hitMax = true;
        break;
      }
      const node = newNode(ss, daemons);
      const k = maxFit(node, g, remaining);
      place(node, g, k);
      remaining -= k;
      nodes.push(node);
    }
    if (remaining > 0) left.set(g, remaining);
  }
  return finish(`ffd:${ss.sku.name}`, nodes, left, [ss], daemons, hitMax, total);
}

function weightOf(g: PodGroup, shapes: readonly SkuShape[]): number {
  const maxOf = (r: string): number => Math.max(0, ...shapes.map((s) => s.shape.allocatable[r] ?? 0));
  const cpu = maxOf('cpu');
  const mem = maxOf('memory');
  const epc = maxOf(RESOURCE_EPC_MIB);
  const pods = maxOf('pods');
  const share = (v: number | undefined, m: number): number => (m > 0 && v !== undefined ? v / m : 0);
  return Math.max(
    share(g.requests['cpu'], cpu),
    share(g.requests['memory'], mem),
    share(g.epcMiB, epc),
    share(1, pods),
  );
}

/** The cheapest mix across `shapes` (see the module comment); compares with each single SKU. */
export function cheapestMix(
  groups: readonly PodGroup[],
  shapes: readonly SkuShape[],
  options: PlanOptions = {},
): {
  best: Plan;
  mix: Plan;
  single: Plan[];
} {
  const single = shapes.map((ss) => estimateSku(groups, ss, options));
  const mix = greedyMix(groups, shapes, options);
  const better = (a: Plan, b: Plan): boolean => {
    const ua = a.unschedulable.reduce((s, u) => s + u.count, 0);
    const ub = b.unschedulable.reduce((s, u) => s + u.count, 0);
    if (ua !== ub) return ua < ub;
    if (a.costPerHour !== b.costPerHour) return a.costPerHour < b.costPerHour;
    return a.nodes.length < b.nodes.length;
  };
  let best = mix;
  for (const p of single) if (better(p, best)) best = p;
  return { best, mix, single };
}

function greedyMix(groups: readonly PodGroup[], shapes: readonly SkuShape[], options: PlanOptions): Plan {
  const { pods, daemons } = splitDaemons(groups);
  const maxNodes = options.maxNodes ?? Number.POSITIVE_INFINITY;
  const weights = new Map(pods.map((g) => [g, weightOf(g, shapes)]));
  const ordered = orderGroups(pods, (g) => weights.get(g) ?? 0);
  const remaining = new Map(ordered.map((g) => [g, g.replicas]));
  const total = ordered.reduce((s, g) => s + g.replicas, 0);
  const templates = shapes.map((ss) => ({
    ss,
    admitted: new Set(ordered.filter((g) => admits(g, ss.shape))),
  }));
  const nodes: PlannedNode[] = [];
  let active = ordered.slice();
  let hitMax = false;
  while (active.length > 0) {
    if (nodes.length >= maxNodes) {
      hitMax = true;
      break;
    }
    // The smallest request of each resource among the remaining pods: a node whose free amount of a
    // resource is below it can take no further pod, so its fill stops early.
    const mins = new Map<string, number>();
    for (const g of active) for (const r in g.requests) mins.set(r, Number.POSITIVE_INFINITY);
    for (const g of active)
      for (const r of mins.keys()) mins.set(r, Math.min(mins.get(r) ?? 0, g.requests[r] ?? 0));
    const full = (node: PlannedNode): boolean => {
      for (const [r, m] of mins)
        if (m > 0 && (node.shape.allocatable[r] ?? 0) - (node.used[r] ?? 0) < m) return true;
      return node.pods >= (node.shape.allocatable['pods'] ?? 0);
    };
    let best: { node: PlannedNode; value: number; price: number; placed: [PodGroup, number][] } | undefined;
    for (const { ss, admitted } of templates) {
      const node = newNode(ss, daemons);
      const placed: [PodGroup, number][] = [];
      let w = 0;
      for (const g of active) {
        if (!admitted.has(g)) continue;
        const k = maxFit(node, g, remaining.get(g) ?? 0);
        if (k <= 0) continue;
        place(node, g, k);
        placed.push([g, k]);
        w += k * (weights.get(g) ?? 0);
        if (full(node)) break;
      }
      if (placed.length === 0) continue;
      const price = ss.sku.pricePerHour;
      const value = price > 0 ? w / price : w * 1e12;
      if (best === undefined || value > best.value || (value === best.value && price < best.price))
        best = { node, value, price, placed };
    }
    if (best === undefined) break;
    nodes.push(best.node);
    for (const [g, k] of best.placed) remaining.set(g, (remaining.get(g) ?? 0) - k);
    active = active.filter((g) => (remaining.get(g) ?? 0) > 0);
  }
  return finish('cheapest-mix', nodes, remaining, shapes, daemons, hitMax, total);
}

/** Sum of a resource over the nodes' allocatable and requested amounts. */
export function totals(
  nodes: readonly PlannedNode[],
  resource: string,
): { requested: number; allocatable: number } {
  let requested = 0;
  let allocatable = 0;
  for (const n of nodes) {
    requested += n.used[resource] ?? 0;
    allocatable += n.shape.allocatable[resource] ?? 0;
  }
  return { requested, allocatable };
}

export type { ResourceList };
