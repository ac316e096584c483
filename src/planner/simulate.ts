/**
 * A deterministic, discrete-time simulation of a confidential node pool under load: HPA decisions
 * (hpa.ts), kube-scheduler placement (fit.ts filters; among feasible nodes the least allocated one,
 * as the default LeastAllocated score, ties to the older node), and cluster-autoscaler scale-up and
 * scale-down with node templates carrying EPC (so a group can scale from zero).
 *
 * Every step (default 15 s, the HPA sync period; the autoscaler's 10 s scan interval is rounded to it):
 * 1. nodes whose provisioning finished become Ready;
 * 2. each HPA syncs; new replicas are created Pending, removed replicas go Pending ones first, then
 *    the newest (the ReplicaSet controller's preference);
 * 3. the scheduler places Pending pods in creation order;
 * 4. scale-up: Pending pods that fit no Ready node are first matched against nodes still provisioning
 *    (the autoscaler counts upcoming nodes), the rest are estimated per node group with the binpacking
 *    estimator (pack.ts) within the group's and the cluster's maximum, and the expander picks a group:
 *    `least-waste` (default; least unused cpu+memory share, as the autoscaler's least-waste expander)
 *    or `price`. Added nodes are Ready after `nodeProvisionSeconds`;
 * 5. scale-down (not in a step that scaled up, nor within `scaleDownDelayAfterAdd` of the last
 *    scale-up): a Ready node is unneeded when its requested cpu and memory (DaemonSet pods included)
 *    are both below `scaleDownUtilizationThreshold` of allocatable — EPC does not count, as in the
 *    autoscaler — and all its other pods fit on the remaining nodes; after `scaleDownUnneededTime`
 *    unneeded it is removed (empty nodes up to 10 a step, one non-empty node a step) above the group's
 *    minimum, and its pods are placed again by the scheduler.
 */
import { MIB, RESOURCE_EPC_MIB } from '../contract/index.ts';
import { PlannerInputError } from './errors.ts';
import { filterNode, fitErrorMessage, matchesNodeAffinity, untoleratedTaint } from './fit.ts';
import {
  hpaPodRequest,
  hpaSync,
  metricDesiredReplicas,
  newHpaState,
  utilizationDesiredReplicas,
  type HpaSpec,
  type HpaState,
} from './hpa.ts';
import type { NodeShape, PodGroup } from './model.ts';
import { estimateSku, type SkuShape } from './pack.ts';

export interface NodeGroupConfig {
  readonly sku: string;
  readonly min: number;
  readonly max: number;
  readonly initial: number;
}

export interface AutoscalerConfig {
  readonly nodeGroups: readonly NodeGroupConfig[];
  readonly scaleDownDelayAfterAdd: number;
  readonly scaleDownUnneededTime: number;
  readonly scaleDownUtilizationThreshold: number;
  readonly maxNodesTotal: number;
  readonly nodeProvisionSeconds: number;
  readonly expander: 'least-waste' | 'price';
}

export const DEFAULT_AUTOSCALER = {
  scaleDownDelayAfterAdd: 600,
  scaleDownUnneededTime: 600,
  scaleDownUtilizationThreshold: 0.5,
  maxNodesTotal: Number.POSITIVE_INFINITY,
  nodeProvisionSeconds: 180,
  expander: 'least-waste',
} as const;

/** The load profile: times (s, increasing) and, per workload name, the total metric at each time. */
export interface LoadProfile {
  readonly times: readonly number[];
  readonly series: ReadonlyMap<string, readonly number[]>;
}

export interface SimulationInput {
  readonly groups: readonly PodGroup[];
  readonly shapes: readonly SkuShape[];
  readonly hpas: readonly HpaSpec[];
  readonly load: LoadProfile;
  readonly autoscaler: AutoscalerConfig;
  readonly stepSeconds: number;
}

export interface SimSample {
  readonly t: number;
  /** Per workload: desired replicas, running and pending pods, and the load. */
  readonly workloads: Readonly<
    Record<string, { desired: number; running: number; pending: number; load: number }>
  >;
  /** Per node group: Ready and provisioning nodes. */
  readonly nodes: Readonly<Record<string, { ready: number; provisioning: number }>>;
  readonly epcRequestedMiB: number;
  readonly epcAllocatableMiB: number;
  readonly pendingPods: number;
  readonly costPerHour: number;
}

export interface SimEvent {
  readonly t: number;
  readonly kind: 'hpa' | 'scale-up' | 'scale-down' | 'unschedulable' | 'node-ready';
  readonly message: string;
}

export interface SimulationResult {
  readonly samples: readonly SimSample[];
  readonly events: readonly SimEvent[];
  readonly peakNodes: number;
  readonly nodeHours: number;
  readonly cost: number;
  readonly maxPending: number;
}

interface SimNode {
  readonly id: number;
  readonly name: string;
  readonly group: string;
  readonly shape: NodeShape;
  readonly readyAt: number;
  readonly used: Record<string, number>;
  pods: number;
  unneededSince: number | undefined;
  removed: boolean;
}

interface SimPod {
  readonly id: number;
  readonly group: PodGroup;
  node: SimNode | undefined;
}

function fail(message: string, field: string): never {
  throw new PlannerInputError('ERR_PLAN_AUTOSCALER', message, { field });
}

/** Checks an autoscaler config against the SKUs (names the bad setting). */
export function checkAutoscaler(c: AutoscalerConfig, shapes: readonly SkuShape[]): void {
  if (c.nodeGroups.length === 0) fail('nodeGroups: at least one node group is needed', 'nodeGroups');
  for (const [i, g] of c.nodeGroups.entries()) {
    if (!shapes.some((s) => s.sku.name === g.sku))
      fail(`nodeGroups[${i}].sku: ${g.sku} is not among the SKUs`, `nodeGroups[${i}].sku`);
    if (!(
      g.min >= 0 &&
      g.max >= g.min &&
      g.initial >= g.min &&
      g.initial <= g.max &&
      Number.isInteger(g.min + g.max + g.initial)
    ))
      fail(`nodeGroups[${i}]: need whole numbers 0 <= min <= initial <= max`, `nodeGroups[${i}]`);
  }
  for (const k of ['scaleDownDelayAfterAdd', 'scaleDownUnneededTime', 'nodeProvisionSeconds'] as const)
    if (!(c[k] >= 0 && Number.isFinite(c[k]))) fail(`${k}: must be a duration >= 0`, k);
  if (!(c.scaleDownUtilizationThreshold > 0 && c.scaleDownUtilizationThreshold <= 1))
    fail('scaleDownUtilizationThreshold: must be in (0, 1]', 'scaleDownUtilizationThreshold');
  if (!(c.maxNodesTotal >= 1)) fail('maxNodesTotal: must be >= 1', 'maxNodesTotal');
}

function place(node: SimNode, g: PodGroup, sign: 1 | -1): void {
  for (const r in g.requests) node.used[r] = (node.used[r] ?? 0) + sign * (g.requests[r] ?? 0);
  node.pods += sign;
}

function admits(g: PodGroup, shape: NodeShape): boolean {
  return untoleratedTaint(g, shape) === undefined && matchesNodeAffinity(g, shape);
}

function fits(g: PodGroup, n: SimNode): boolean {
  return filterNode(g, n.shape, n.used, n.pods).reasons.length === 0;
}

function leastAllocatedScore(g: PodGroup, n: SimNode): number {
  const a = n.shape.allocatable;
  let s = 0;
  for (const r of ['cpu', 'memory']) {
    const alloc = a[r] ?? 0;
    if (alloc > 0) s += (alloc - (n.used[r] ?? 0) - (g.requests[r] ?? 0)) / alloc;
  }
  return s / 2;
}

/** Runs the simulation (pure and deterministic: same input, same result). */
export function simulate(input: SimulationInput): SimulationResult {
  const { autoscaler: ca, stepSeconds: step } = input;
  checkAutoscaler(ca, input.shapes);
  const shapeOf = new Map(input.shapes.map((s) => [s.sku.name, s]));
  const daemons = input.groups.filter((g) => g.daemon);
  const workloads = input.groups.filter((g) => !g.daemon);
  const byName = new Map(workloads.map((g) => [g.name, g]));
  const scaledBy = new Map<PodGroup, HpaSpec>();
  for (const h of input.hpas) {
    const g = byName.get(h.targetName);
    if (g?.kind !== h.targetKind)
      throw new PlannerInputError(
        'ERR_PLAN_HPA',
        `HPA ${h.name}: target ${h.targetKind}/${h.targetName} is not among the workloads`,
        {
          field: 'spec.scaleTargetRef',
        },
      );
    const other = scaledBy.get(g);
    // The controller refuses to act on a workload two HPAs select (AmbiguousSelector): neither scales.
    if (other !== undefined)
      throw new PlannerInputError(
        'ERR_PLAN_HPA',
        `HPA ${h.name}: ${g.kind}/${g.name} is already the target of HPA ${other.name}; the controller scales a workload only when one HPA selects it`,
        { field: 'spec.scaleTargetRef' },
      );
    scaledBy.set(g, h);
  }
  for (const name of input.load.series.keys())
    if (!byName.has(name))
      throw new PlannerInputError('ERR_PLAN_LOAD', `load profile column "${name}" names no workload`, {
        column: name,
      });

  const nodes: SimNode[] = [];
  const pods: SimPod[] = [];
  const events: SimEvent[] = [];
  const samples: SimSample[] = [];
  let nextNode = 0;
  let nextPod = 0;
  let lastScaleUp = Number.NEGATIVE_INFINITY;
  const desired = new Map(workloads.map((g) => [g, g.replicas]));
  const hpaStates = new Map<HpaSpec, HpaState>(input.hpas.map((h) => [h, newHpaState()]));
  // The request a Utilization target is measured against; an HPA without one never scales.
  const hpaRequest = new Map<HpaSpec, number | undefined>();
  const missingRequests: SimEvent[] = [];
  for (const h of input.hpas) {
    if (h.metric.type !== 'Utilization') continue;
    const r = hpaPodRequest(byName.get(h.targetName) as PodGroup, h.metric);
    hpaRequest.set(h, 'request' in r ? r.request : undefined);
    if ('missing' in r)
      missingRequests.push({
        t: 0,
        kind: 'hpa',
        message: `hpa ${h.name}: ${r.missing} of ${h.targetName}; utilization cannot be computed, the HPA does not scale`,
      });
  }
  const lastMessage = new Map<PodGroup, string>();

  const addNode = (group: string, readyAt: number): SimNode => {
    const ss = shapeOf.get(group) as SkuShape;
    const n: SimNode = {
      id: nextNode,
      name: `${group}-${nextNode}`,
      group,
      shape: ss.shape,
      readyAt,
      used: {},
      pods: 0,
      unneededSince: undefined,
      removed: false,
    };
    nextNode++;
    for (const d of daemons) if (admits(d, n.shape)) place(n, d, 1);
    nodes.push(n);
    return n;
  };
  for (const g of ca.nodeGroups) for (let i = 0; i < g.initial; i++) addNode(g.sku, 0);
  const live = (): SimNode[] => nodes.filter((n) => !n.removed);

  const reconcile = (g: PodGroup, want: number): void => {
    const mine = pods.filter((p) => p.group === g);
    for (let i = mine.length; i < want; i++) pods.push({ id: nextPod++, group: g, node: undefined });
    if (mine.length > want) {
      const victims = [...mine]
        .sort((a, b) => (a.node === undefined ? 0 : 1) - (b.node === undefined ? 0 : 1) || b.id - a.id)
        .slice(0, mine.length - want);
      for (const v of victims) {
        if (v.node !== undefined) place(v.node, g, -1);
        pods.splice(pods.indexOf(v), 1);
      }
    }
  };

  const schedule = (now: number): void => {
    const ready = live().filter((n) => n.readyAt <= now);
    for (const p of pods) {
      if (p.node !== undefined) continue;
      let best: SimNode | undefined;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const n of ready) {
        if (!fits(p.group, n)) continue;
        const s = leastAllocatedScore(p.group, n);
        if (s > bestScore) {
          best = n;
          bestScore = s;
        }
      }
      if (best === undefined) {
        lastMessage.set(
          p.group,
          fitErrorMessage(ready.map((n) => filterNode(p.group, n.shape, n.used, n.pods))),
        );
        continue;
      }
      place(best, p.group, 1);
      p.node = best;
    }
  };

  const scaleUp = (now: number): boolean => {
    const pending = pods.filter((p) => p.node === undefined);
    if (pending.length === 0) return false;
    // Upcoming nodes absorb what they can (virtually).
    const upcoming = live()
      .filter((n) => n.readyAt > now)
      .map((n) => ({ ...n, used: { ...n.used } }));
    const rest = new Map<PodGroup, number>();
    for (const p of pending) {
      const n = upcoming.find((u) => fits(p.group, u));
      if (n !== undefined) place(n, p.group, 1);
      else rest.set(p.group, (rest.get(p.group) ?? 0) + 1);
    }
    if (rest.size === 0) return false;
    const groupsIn = [...rest].map(([g, c]) => ({ ...g, replicas: c }));
    const total = live().length;
    let best: { group: NodeGroupConfig; count: number; helped: number; score: number } | undefined;
    for (const g of ca.nodeGroups) {
      const size = live().filter((n) => n.group === g.sku).length;
      const room = Math.min(g.max - size, ca.maxNodesTotal - total);
      if (room <= 0) continue;
      const ss = shapeOf.get(g.sku) as SkuShape;
      const plan = estimateSku([...groupsIn, ...daemons], ss, { maxNodes: room });
      if (plan.placedPods === 0 || plan.nodes.length === 0) continue;
      let score: number;
      if (ca.expander === 'price') score = (plan.nodes.length * ss.sku.pricePerHour) / plan.placedPods;
      else {
        let waste = 0;
        for (const r of ['cpu', 'memory']) {
          let used = 0;
          let alloc = 0;
          for (const n of plan.nodes) {
            used += n.used[r] ?? 0;
            alloc += n.shape.allocatable[r] ?? 0;
          }
          if (alloc > 0) waste += (alloc - used) / alloc;
        }
        score = waste / 2;
      }
      if (best === undefined || score < best.score - 1e-12)
        best = { group: g, count: plan.nodes.length, helped: plan.placedPods, score };
    }
    if (best === undefined) return false;
    for (let i = 0; i < best.count; i++) addNode(best.group.sku, now + ca.nodeProvisionSeconds);
    events.push({
      t: now,
      kind: 'scale-up',
      message: `scale-up: ${best.group.sku} +${best.count} node(s) for ${best.helped} pending pod(s) (${ca.expander})`,
    });
    lastScaleUp = now;
    return true;
  };

  const scaleDown = (now: number): void => {
    if (now - lastScaleUp < ca.scaleDownDelayAfterAdd) return;
    const ready = live().filter((n) => n.readyAt <= now);
    const removedNow = new Set<SimNode>();
    let emptyRemoved = 0;
    let busyRemoved = 0;
    for (const n of ready) {
      const a = n.shape.allocatable;
      const util = Math.max(
        (n.used['cpu'] ?? 0) / (a['cpu'] ?? 1),
        (n.used['memory'] ?? 0) / (a['memory'] ?? 1),
      );
      const mine = pods.filter((p) => p.node === n);
      let movable = util < ca.scaleDownUtilizationThreshold;
      const moves: [SimPod, SimNode][] = [];
      if (movable) {
        const others = ready
          .filter((o) => o !== n && !removedNow.has(o))
          .map((o) => ({ o, copy: { ...o, used: { ...o.used } } }));
        for (const p of mine) {
          const target = others.find((x) => fits(p.group, x.copy));
          if (target === undefined) {
            movable = false;
            break;
          }
          place(target.copy, p.group, 1);
          moves.push([p, target.o]);
        }
      }
      if (!movable) {
        n.unneededSince = undefined;
        continue;
      }
      n.unneededSince ??= now;
      if (now - n.unneededSince < ca.scaleDownUnneededTime) continue;
      const cfg = ca.nodeGroups.find((g) => g.sku === n.group);
      const size = live().filter((x) => x.group === n.group).length;
      if (cfg === undefined || size <= cfg.min) continue;
      const empty = mine.length === 0;
      if (empty ? emptyRemoved >= 10 : busyRemoved >= 1) continue;
      if (empty) emptyRemoved++;
      else busyRemoved++;
      for (const p of mine) {
        place(n, p.group, -1);
        p.node = undefined;
      }
      n.removed = true;
      removedNow.add(n);
      events.push({
        t: now,
        kind: 'scale-down',
        message: `scale-down: removed ${n.name} (${empty ? 'empty' : `${mine.length} pod(s) moved`}, unneeded since ${n.unneededSince}s)`,
      });
    }
    if (removedNow.size > 0) schedule(now);
  };

  const times = input.load.times;
  const end = times.length === 0 ? 0 : (times[times.length - 1] ?? 0);
  const loadAt = (name: string, t: number): number => {
    const s = input.load.series.get(name);
    if (s === undefined) return 0;
    let v = 0;
    for (let i = 0; i < times.length && (times[i] ?? 0) <= t; i++) v = s[i] ?? 0;
    return v;
  };
  for (const g of workloads) reconcile(g, desired.get(g) ?? 0);

  let nodeSeconds = 0;
  let cost = 0;
  let peakNodes = 0;
  let maxPending = 0;
  events.push(...missingRequests);
  for (let t = 0; t <= end; t += step) {
    for (const n of live())
      if (n.readyAt === t && t > 0) events.push({ t, kind: 'node-ready', message: `${n.name} is Ready` });
    for (const h of input.hpas) {
      const g = byName.get(h.targetName) as PodGroup;
      const mine = pods.filter((p) => p.group === g);
      const ready = mine.filter((p) => p.node !== undefined && p.node.readyAt <= t).length;
      const pendingCount = mine.length - ready;
      const request = hpaRequest.get(h) ?? 0;
      const raw = loadAt(g.name, t);
      const total = h.metric.name === 'cpu' ? raw * 1000 : raw;
      const cur = desired.get(g) ?? 0;
      const metricDesired =
        h.metric.type === 'Utilization'
          ? utilizationDesiredReplicas(cur, ready, pendingCount, total, request, h.metric.target)
          : metricDesiredReplicas(cur, ready, pendingCount, total, h.metric.target);
      const next = hpaSync(h, hpaStates.get(h) as HpaState, t, cur, metricDesired);
      if (next !== cur) {
        events.push({
          t,
          kind: 'hpa',
          message: `hpa ${h.name}: ${g.name} ${cur} → ${next} replicas (metric wants ${metricDesired})`,
        });
        desired.set(g, next);
        reconcile(g, next);
      }
    }
    schedule(t);
    const scaled = scaleUp(t);
    if (!scaled) scaleDown(t);
    const pendingNow = pods.filter((p) => p.node === undefined);
    if (pendingNow.length > 0) {
      const seen = new Set<PodGroup>();
      for (const p of pendingNow)
        if (!seen.has(p.group)) {
          seen.add(p.group);
          const msg = lastMessage.get(p.group);
          const prev = events.findLast(
            (e) => e.kind === 'unschedulable' && e.message.startsWith(`${p.group.name}:`),
          );
          const text = `${p.group.name}: ${msg ?? 'pending'}`;
          if (prev?.message !== text) events.push({ t, kind: 'unschedulable', message: text });
        }
    }
    const nodesNow = live();
    const perGroup: Record<string, { ready: number; provisioning: number }> = {};
    for (const g of ca.nodeGroups) perGroup[g.sku] = { ready: 0, provisioning: 0 };
    let epcReq = 0;
    let epcAlloc = 0;
    let rate = 0;
    for (const n of nodesNow) {
      const e = perGroup[n.group] ?? { ready: 0, provisioning: 0 };
      if (n.readyAt <= t) {
        e.ready++;
        epcAlloc += n.shape.allocatable[RESOURCE_EPC_MIB] ?? 0;
        epcReq += n.used[RESOURCE_EPC_MIB] ?? Math.ceil((n.used['sgx.intel.com/epc'] ?? 0) / MIB);
      } else e.provisioning++;
      perGroup[n.group] = e;
      rate += shapeOf.get(n.group)?.sku.pricePerHour ?? 0;
    }
    const wl: Record<string, { desired: number; running: number; pending: number; load: number }> = {};
    for (const g of workloads) {
      const mine = pods.filter((p) => p.group === g);
      const running = mine.filter((p) => p.node !== undefined).length;
      wl[g.name] = {
        desired: desired.get(g) ?? 0,
        running,
        pending: mine.length - running,
        load: loadAt(g.name, t),
      };
    }
    samples.push({
      t,
      workloads: wl,
      nodes: perGroup,
      epcRequestedMiB: epcReq,
      epcAllocatableMiB: epcAlloc,
      pendingPods: pendingNow.length,
      costPerHour: Math.round(rate * 1e6) / 1e6,
    });
    peakNodes = Math.max(peakNodes, nodesNow.length);
    maxPending = Math.max(maxPending, pendingNow.length);
    if (t < end) {
      const dt = Math.min(step, end - t);
      nodeSeconds += nodesNow.length * dt;
      cost += (rate * dt) / 3600;
    }
  }
  return {
    samples,
    events,
    peakNodes,
    nodeHours: Math.round((nodeSeconds / 3600) * 1000) / 1000,
    cost: Math.round(cost * 1e4) / 1e4,
    maxPending,
  };
}

/** Parses the load CSV: header `time,<workload>…`; time in seconds (or with s/m/h), values numbers or quantities. */
export function parseLoadCsv(text: string, source: string): LoadProfile {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const rows = lines.map((l, i) => ({ l, n: i + 1 })).filter((r) => r.l !== '' && !r.l.startsWith('#'));
  const header = rows.shift();
  if (header === undefined)
    throw new PlannerInputError('ERR_PLAN_LOAD', `${source}: empty load profile`, { line: 0 });
  const cols = header.l.split(',').map((c) => c.trim());
  if (cols[0] !== 'time' || cols.length < 2)
    throw new PlannerInputError(
      'ERR_PLAN_LOAD',
      `${source}:${header.n}: header must be "time,<workload>,…"`,
      { line: header.n },
    );
  const names = cols.slice(1);
  if (new Set(names).size !== names.length || names.some((n) => n === ''))
    throw new PlannerInputError('ERR_PLAN_LOAD', `${source}:${header.n}: empty or repeated column name`, {
      line: header.n,
    });
  const times: number[] = [];
  const series = new Map<string, number[]>(names.map((n) => [n, []]));
  for (const r of rows) {
    const cells = r.l.split(',').map((c) => c.trim());
    if (cells.length !== cols.length)
      throw new PlannerInputError(
        'ERR_PLAN_LOAD',
        `${source}:${r.n}: expected ${cols.length} columns, got ${cells.length}`,
        { line: r.n },
      );
    const t = parseDuration(cells[0] ?? '');
    if (t === undefined || (times.length > 0 && t <= (times[times.length - 1] ?? 0)))
      throw new PlannerInputError(
        'ERR_PLAN_LOAD',
        `${source}:${r.n}: time "${cells[0]}" is not a duration after the previous row`,
        {
          line: r.n,
          column: 1,
        },
      );
    times.push(t);
    names.forEach((n, i) => {
      const cell = cells[i + 1] ?? '';
      const v = Number(cell);
      if (cell === '' || !Number.isFinite(v) || v < 0)
        throw new PlannerInputError(
          'ERR_PLAN_LOAD',
          `${source}:${r.n}: column ${n}: "${cell}" is not a number >= 0`,
          {
            line: r.n,
            column: i + 2,
          },
        );
      series.get(n)?.push(v);
    });
  }
  if (times.length === 0)
    throw new PlannerInputError('ERR_PLAN_LOAD', `${source}: no data rows`, { line: header.n });
  return { times, series };
}

/** `90`, `90s`, `5m`, `1h`, `1m30s` → seconds (undefined when unreadable). */
export function parseDuration(text: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (m === null || text === '') return undefined;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
