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
  REASON_AFFINITY,
  REASON_NO_VICTIMS,
  REASON_PREEMPTION_NOT_HELPFUL,
  REASON_TOO_MANY_PODS,
  exceedsAllocatable,
  filterNode,
  fitErrorMessageOf,
  insufficientReason,
  matchesNodeAffinity,
  taintReason,
  untoleratedTaint,
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

/**
 * The autoscaler's pod score on a template: cpu/alloc + memory/alloc, the requests summed over the
 * app containers only (cluster-autoscaler estimator/decreasing_pod_orderer.go: init containers and
 * overhead do not count, nor does any other resource such as EPC).
 */
export function autoscalerScore(pod: PodGroup, shape: NodeShape): number {
  let s = 0;
  const req = pod.scoreRequests ?? pod.requests;
  const cpu = shape.allocatable['cpu'] ?? 0;
  const mem = shape.allocatable['memory'] ?? 0;
  if (cpu > 0) s += (req['cpu'] ?? 0) / cpu;
  if (mem > 0) s += (req['memory'] ?? 0) / mem;
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

/**
 * The planned nodes summarised for FailedScheduling messages: per SKU, its node count, how many nodes
 * are out of pod slots, and per resource the nodes' free amounts sorted, so the number of nodes short
 * of a request is a binary search. Equal to running the filters on every node (each reason is counted
 * per node, as FitError does), at a cost per pod of SKUs × resources × log(nodes) instead of nodes.
 */
class NodeSummary {
  private readonly bySku = new Map<
    string,
    { shape: NodeShape; count: number; podsFull: number; free: Map<string, Float64Array> }
  >();

  constructor(
    private readonly nodes: readonly PlannedNode[],
    resources: readonly string[],
  ) {
    const lists = new Map<string, PlannedNode[]>();
    for (const n of nodes) {
      const l = lists.get(n.sku);
      if (l === undefined) lists.set(n.sku, [n]);
      else l.push(n);
    }
    for (const [sku, list] of lists) {
      const shape = (list[0] as PlannedNode).shape;
      const free = new Map<string, Float64Array>();
      for (const r of resources)
        free.set(r, Float64Array.from(list, (n) => (n.shape.allocatable[r] ?? 0) - (n.used[r] ?? 0)).sort());
      const podsFull = list.filter((n) => n.pods + 1 > (n.shape.allocatable['pods'] ?? 0)).length;
      this.bySku.set(sku, { shape, count: list.length, podsFull, free });
    }
  }

  /** How many values of the sorted `a` are below `x`. */
  private static below(a: Float64Array, x: number): number {
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((a[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  message(g: PodGroup): string {
    const counts = new Map<string, number>();
    const post = new Map<string, number>();
    const add = (m: Map<string, number>, k: string, n: number): void => {
      if (n > 0) m.set(k, (m.get(k) ?? 0) + n);
    };
    for (const { shape, count, podsFull, free } of this.bySku.values()) {
      const taint = untoleratedTaint(g, shape);
      if (taint !== undefined || !matchesNodeAffinity(g, shape)) {
        add(counts, taint !== undefined ? taintReason(taint) : REASON_AFFINITY, count);
        add(post, REASON_PREEMPTION_NOT_HELPFUL, count);
        continue;
      }
      add(counts, REASON_TOO_MANY_PODS, podsFull);
      for (const [r, want] of entriesOf(g)) {
        if (want <= 0) continue;
        const f = free.get(r);
        add(counts, insufficientReason(r), f === undefined ? count : NodeSummary.below(f, want));
      }
      // Nodes of one SKU share their allocatable: a request above it makes all of them unresolvable.
      const unresolvable = exceedsAllocatable(g.requests, shape.allocatable);
      add(post, unresolvable ? REASON_PREEMPTION_NOT_HELPFUL : REASON_NO_VICTIMS, count);
    }
    return fitErrorMessageOf(this.nodes.length, counts, post);
  }
}

function emptyNodeReasons(g: PodGroup, empties: readonly PlannedNode[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of empties) {
    const r = filterNode(g, n.shape, n.used, n.pods);
    out[n.sku] = r.reasons.length === 0 ? 'fits' : r.reasons.join(', ');
  }
  return out;
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
  const stuck = [...left].filter(([, c]) => c > 0);
  if (stuck.length > 0) {
    const summary = new NodeSummary(nodes, [...new Set(stuck.flatMap(([g]) => Object.keys(g.requests)))]);
    const empties = shapes.map((ss) => newNode(ss, daemons));
    for (const [g, c] of stuck) {
      unplaced += c;
      unschedulable.push({
        group: g.id,
        count: c,
        message: summary.message(g),
        onEmptyNode: emptyNodeReasons(g, empties),
      });
    }
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
  // Opened nodes indexed by what they have left (negated, so "fits" is "≤ −requests").
  const { names, reqs } = requestVectors(ordered);
  const opened = new MinVectorTree(names.length + 1, 64);
  const scratch = new Float64Array(names.length + 1);
  const negRequests = new Map(
    ordered.map((g, i) => {
      const v = new Float64Array(names.length + 1);
      (reqs[i] as Float64Array).forEach((x, k) => (v[k] = -x));
      v[names.length] = -1;
      return [g, v] as const;
    }),
  );
  const negated = (g: PodGroup): Float64Array => negRequests.get(g) as Float64Array;
  let hitMax = false;
  let total = 0;
  for (const g of ordered) {
    total += g.replicas;
    let remaining = g.replicas;
    if (!admits(g, ss.shape) || maxFit(template, g, 1) === 0) {
      left.set(g, remaining);
      continue;
    }
    // First fit over the opened nodes, in opening order: the node tree skips nodes short of any
    // resource the group requests (or of a pod slot).
    const want = negated(g);
    for (let i = opened.firstAtMost(0, want); i >= 0 && remaining > 0; i = opened.firstAtMost(i + 1, want)) {
      const node = nodes[i] as PlannedNode;
      const k = maxFit(node, g, remaining);
      if (k > 0) {
        place(node, g, k);
        remaining -= k;
        opened.set(i, freeVector(node, names, scratch, -1));
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
      opened.set(nodes.length, freeVector(node, names, scratch, -1));
      nodes.push(node);
    }
    if (remaining > 0) left.set(g, remaining);
  }
  return finish(`ffd:${ss.sku.name}`, nodes, left, [ss], daemons, hitMax, total);
}

/**
 * A group's weight in the mix: the largest of its cpu, memory, EPC (MiB) and pod-slot shares of the
 * largest candidate's allocatable.
 */
export function mixWeight(g: PodGroup, shapes: readonly SkuShape[]): number {
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

/**
 * A segment tree over vectors (one number per resource) that answers "the first position at or after
 * `start` whose vector is ≤ `bound` in every component" without visiting every position: each inner
 * node keeps the per-component minima of its range, and a range whose minima are not all ≤ the bound
 * holds no answer and is skipped whole. Empty positions are +∞. The pruning test is necessary, not
 * sufficient (the minima may come from different positions), so a search can descend into a range and
 * come back empty; the answer is still exactly the first matching position.
 *
 * The packer uses it twice: over pod groups in fill order (vector = requests, bound = a node's free
 * resources: the next group that fits), and over opened nodes (vector = −free, bound = −requests: the
 * first node a group fits on).
 */
export class MinVectorTree {
  private size = 1;
  private mins: Float64Array;

  constructor(
    private readonly dims: number,
    capacity = 1,
  ) {
    while (this.size < capacity) this.size *= 2;
    this.mins = new Float64Array(2 * this.size * dims).fill(Number.POSITIVE_INFINITY);
  }

  private pull(n: number): void {
    const d = this.dims;
    const m = this.mins;
    const l = 2 * n * d;
    const r = l + d;
    for (let k = 0; k < d; k++) m[n * d + k] = Math.min(m[l + k] as number, m[r + k] as number);
  }

  /** Sets many positions at once (no upward update: call `rebuild`). */
  private write(i: number, vec: ArrayLike<number>): void {
    const at = (this.size + i) * this.dims;
    for (let k = 0; k < this.dims; k++) this.mins[at + k] = vec[k] as number;
  }

  private rebuild(): void {
    for (let n = this.size - 1; n >= 1; n--) this.pull(n);
  }

  /** Fills positions 0… from `vecs` (null = empty), replacing the contents. */
  load(vecs: readonly (ArrayLike<number> | null)[]): void {
    while (this.size < vecs.length) this.size *= 2;
    this.mins = new Float64Array(2 * this.size * this.dims).fill(Number.POSITIVE_INFINITY);
    vecs.forEach((v, i) => {
      if (v !== null) this.write(i, v);
    });
    this.rebuild();
  }

  /** Sets position `i` (growing the tree when needed); `null` empties it. */
  set(i: number, vec: ArrayLike<number> | null): void {
    if (i >= this.size) {
      const d = this.dims;
      const old = this.mins;
      const oldSize = this.size;
      while (this.size <= i) this.size *= 2;
      this.mins = new Float64Array(2 * this.size * d).fill(Number.POSITIVE_INFINITY);
      this.mins.set(old.subarray(oldSize * d, 2 * oldSize * d), this.size * d);
      this.rebuild();
    }
    if (vec === null)
      this.mins.fill(Number.POSITIVE_INFINITY, (this.size + i) * this.dims, (this.size + i + 1) * this.dims);
    else this.write(i, vec);
    for (let n = (this.size + i) >> 1; n >= 1; n >>= 1) this.pull(n);
  }

  private within(n: number, bound: ArrayLike<number>): boolean {
    const d = this.dims;
    for (let k = 0; k < d; k++) if ((this.mins[n * d + k] as number) > (bound[k] as number)) return false;
    return true;
  }

  /** The first position ≥ `start` whose vector is ≤ `bound` component-wise, or -1. */
  firstAtMost(start: number, bound: ArrayLike<number>): number {
    return this.find(1, 0, this.size, start, bound);
  }

  private find(n: number, lo: number, hi: number, start: number, bound: ArrayLike<number>): number {
    if (hi <= start || !this.within(n, bound)) return -1;
    if (hi - lo === 1) return lo;
    const mid = (lo + hi) >> 1;
    const left = this.find(2 * n, lo, mid, start, bound);
    return left >= 0 ? left : this.find(2 * n + 1, mid, hi, start, bound);
  }
}

/** The resources the groups request, in a fixed order, and each group's requests as a vector. */
function requestVectors(groups: readonly PodGroup[]): { names: string[]; reqs: Float64Array[] } {
  const names = [...new Set(groups.flatMap((g) => Object.keys(g.requests)))];
  return { names, reqs: groups.map((g) => Float64Array.from(names, (r) => g.requests[r] ?? 0)) };
}

/**
 * What a node still offers, per resource in `names`, then free pod slots; never below 0 (a pod does
 * not need a resource it requests none of, even on a node whose DaemonSets overdraw it).
 */
function freeVector(node: PlannedNode, names: readonly string[], out: Float64Array, sign = 1): Float64Array {
  const alloc = node.shape.allocatable;
  names.forEach((r, k) => (out[k] = sign * Math.max(0, (alloc[r] ?? 0) - (node.used[r] ?? 0))));
  out[names.length] = sign * Math.max(0, (alloc['pods'] ?? 0) - node.pods);
  return out;
}

/**
 * The greedy mix (see the module comment). Each round fills one empty node of every SKU by a forward
 * first-fit pass over the remaining groups in order (each group placed as many times as fit) and
 * commits the best node. The pass asks the SKU's FitIndex for the next group that fits the node's free
 * resources (a MinVectorTree) instead of trying every group in turn; it places exactly the groups the
 * scan would.
 */
function greedyMix(groups: readonly PodGroup[], shapes: readonly SkuShape[], options: PlanOptions): Plan {
  const { pods, daemons } = splitDaemons(groups);
  const maxNodes = options.maxNodes ?? Number.POSITIVE_INFINITY;
  const weights = new Map(pods.map((g) => [g, mixWeight(g, shapes)]));
  const ordered = orderGroups(pods, (g) => weights.get(g) ?? 0);
  const remaining = new Map(ordered.map((g) => [g, g.replicas]));
  const total = ordered.reduce((s, g) => s + g.replicas, 0);
  const left = ordered.map((g) => g.replicas);
  let podsLeft = total;
  // Each group's requests plus one pod slot, over the resources any pod requests.
  const { names, reqs } = requestVectors(ordered);
  const dims = names.length + 1;
  const withSlot = reqs.map((r) => {
    const v = new Float64Array(dims);
    v.set(r);
    v[names.length] = 1;
    return v;
  });
  // The remaining groups per SKU (those it admits: taints, affinity); SKUs that admit the same
  // groups share one tree.
  const indexes = new Map<string, MinVectorTree>();
  const templates = shapes.map((ss) => {
    const admitted = ordered.map((g) => admits(g, ss.shape));
    const key = admitted.map((a) => (a ? '1' : '0')).join('');
    let index = indexes.get(key);
    if (index === undefined) {
      index = new MinVectorTree(dims);
      index.load(withSlot.map((v, i) => (admitted[i] === true ? v : null)));
      indexes.set(key, index);
    }
    return { ss, index };
  });
  const free = new Float64Array(dims);
  const nodes: PlannedNode[] = [];
  let hitMax = false;
  while (podsLeft > 0) {
    if (nodes.length >= maxNodes) {
      hitMax = true;
      break;
    }
    let best: { node: PlannedNode; value: number; price: number; placed: [number, number][] } | undefined;
    for (const { ss, index } of templates) {
      const node = newNode(ss, daemons);
      freeVector(node, names, free);
      const placed: [number, number][] = [];
      let w = 0;
      for (let i = index.firstAtMost(0, free); i >= 0; i = index.firstAtMost(i + 1, free)) {
        const g = ordered[i] as PodGroup;
        const k = maxFit(node, g, left[i] ?? 0);
        if (k <= 0) continue;
        place(node, g, k);
        placed.push([i, k]);
        w += k * (weights.get(g) ?? 0);
        const r = withSlot[i] as Float64Array;
        for (let j = 0; j < dims; j++) free[j] = (free[j] as number) - k * (r[j] as number);
      }
      if (placed.length === 0) continue;
      const price = ss.sku.pricePerHour;
      const value = price > 0 ? w / price : w * 1e12;
      if (best === undefined || value > best.value || (value === best.value && price < best.price))
        best = { node, value, price, placed };
    }
    if (best === undefined) break;
    nodes.push(best.node);
    for (const [i, k] of best.placed) {
      const rest = (left[i] ?? 0) - k;
      left[i] = rest;
      podsLeft -= k;
      if (rest <= 0) for (const index of indexes.values()) index.set(i, null);
    }
  }
  ordered.forEach((g, i) => remaining.set(g, left[i] ?? 0));
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
