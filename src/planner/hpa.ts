/**
 * The HorizontalPodAutoscaler algorithm (autoscaling/v2), as documented
 * (https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/#algorithm-details) and
 * implemented in kube-controller-manager's replica calculator and horizontal controller:
 *
 * - desired = ceil(current × currentMetric / targetMetric), where the metric is averaged over the
 *   ready pods; no change while |ratio − 1| ≤ tolerance (0.1, `--horizontal-pod-autoscaler-tolerance`);
 * - pods not yet running (Pending, e.g. waiting for EPC) are set aside; on a scale-up they are counted
 *   as using 0 of the metric and the ratio is recomputed; if that reverses the direction or lands within
 *   the tolerance, the HPA keeps the current count (so unschedulable pods slow further scale-up);
 * - with no ready pod there is no metric and nothing changes;
 * - stabilization: the recommendation is the lowest desired count of the scale-up window (default 0 s)
 *   and the highest of the scale-down window (default 300 s);
 * - rate limits (behavior policies): default scale-up max(100 %, 4 pods) per 15 s, scale-down 100 % per
 *   15 s; then minReplicas/maxReplicas.
 *
 * The simulator feeds the HPA the deployment's total load (the load CSV); each ready pod's metric is
 * total / ready pods (even spread).
 */
import { PlannerInputError } from './errors.ts';
import type { PodGroup } from './model.ts';
import { parseQuantity } from './quantity.ts';

export const HPA_TOLERANCE = 0.1;
export const HPA_SYNC_SECONDS = 15;

export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly ScalingPolicy[];
}

/** What the HPA scales on, per pod: `targetPerPod` in the load CSV's unit. */
export interface HpaMetric {
  /** `cpu` or `memory` (Resource metrics), or the metric name (Pods metrics). */
  readonly name: string;
  readonly type: 'Utilization' | 'AverageValue';
  /** Utilization: percent of the pod's request; AverageValue: value per pod (cpu in millicores, memory in bytes). */
  readonly target: number;
  /** ContainerResource: the container whose usage and request count (the pod's others do not). */
  readonly container?: string;
}

export interface HpaSpec {
  readonly name: string;
  /** The workload it scales (`Kind/name`). */
  readonly targetKind: string;
  readonly targetName: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly metric: HpaMetric;
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

export const DEFAULT_SCALE_UP: ScalingRules = {
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Percent', value: 100, periodSeconds: 15 },
    { type: 'Pods', value: 4, periodSeconds: 15 },
  ],
};

export const DEFAULT_SCALE_DOWN: ScalingRules = {
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(source: string, field: string, why: string): never {
  throw new PlannerInputError('ERR_PLAN_HPA', `${source}: ${field}: ${why}`, { source, field });
}

function int(v: unknown, source: string, field: string, min: number, fallback?: number): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min)
    bad(source, field, `expected a whole number >= ${min}`);
  return v;
}

function rules(v: unknown, source: string, field: string, def: ScalingRules): ScalingRules {
  if (v === undefined) return def;
  if (!isObj(v)) bad(source, field, 'expected an object');
  const sel = v['selectPolicy'] ?? 'Max';
  if (sel !== 'Max' && sel !== 'Min' && sel !== 'Disabled')
    bad(source, `${field}.selectPolicy`, 'Max, Min or Disabled');
  const pol = v['policies'];
  let policies = def.policies;
  if (pol !== undefined) {
    if (!Array.isArray(pol) || pol.length === 0)
      bad(source, `${field}.policies`, 'expected a non-empty list');
    policies = pol.map((p, i) => {
      const f = `${field}.policies[${i}]`;
      if (!isObj(p)) bad(source, f, 'expected an object');
      const type = p['type'];
      if (type !== 'Pods' && type !== 'Percent') bad(source, `${f}.type`, 'Pods or Percent');
      return {
        type,
        value: int(p['value'], source, `${f}.value`, 1),
        periodSeconds: int(p['periodSeconds'], source, `${f}.periodSeconds`, 1),
      };
    });
  }
  return {
    stabilizationWindowSeconds: int(
      v['stabilizationWindowSeconds'],
      source,
      `${field}.stabilizationWindowSeconds`,
      0,
      def.stabilizationWindowSeconds,
    ),
    selectPolicy: sel,
    policies,
  };
}

function metricOf(m: Obj, source: string, field: string): HpaMetric {
  const type = m['type'];
  if (type === 'Resource' || type === 'ContainerResource') {
    const r = m[type === 'Resource' ? 'resource' : 'containerResource'];
    if (!isObj(r)) bad(source, `${field}.resource`, 'expected an object');
    const name = r['name'];
    if (name !== 'cpu' && name !== 'memory') bad(source, `${field}.resource.name`, 'cpu or memory');
    let container: { container: string } | Record<string, never> = {};
    if (type === 'ContainerResource') {
      const c = r['container'];
      if (typeof c !== 'string' || c === '')
        bad(source, `${field}.containerResource.container`, 'the container name is required');
      container = { container: c };
    }
    const target = r['target'];
    if (!isObj(target)) bad(source, `${field}.resource.target`, 'expected an object');
    if (target['type'] === 'Utilization')
      return {
        name,
        type: 'Utilization',
        target: int(target['averageUtilization'], source, `${field}.resource.target.averageUtilization`, 1),
        ...container,
      };
    if (target['type'] === 'AverageValue') {
      const q = parseQuantity(target['averageValue'], `${source}: ${field}.resource.target.averageValue`);
      const v = Number(q.numerator) / Number(q.denominator);
      return { name, type: 'AverageValue', target: name === 'cpu' ? v * 1000 : v, ...container };
    }
    bad(source, `${field}.resource.target.type`, 'Utilization or AverageValue');
  }
  if (type === 'Pods') {
    const p = m['pods'];
    if (!isObj(p) || !isObj(p['metric']) || !isObj(p['target']))
      bad(source, `${field}.pods`, 'expected metric and target');
    const metric = p['metric'];
    const target = p['target'];
    if (typeof metric['name'] !== 'string' || metric['name'] === '')
      bad(source, `${field}.pods.metric.name`, 'the metric name is required');
    if (target['type'] !== 'AverageValue')
      bad(source, `${field}.pods.target.type`, 'Pods metrics take an AverageValue target');
    const q = parseQuantity(target['averageValue'], `${source}: ${field}.pods.target.averageValue`);
    return {
      name: metric['name'],
      type: 'AverageValue',
      target: Number(q.numerator) / Number(q.denominator),
    };
  }
  bad(
    source,
    `${field}.type`,
    `metric type ${JSON.stringify(type)} is not simulated (Resource, ContainerResource, Pods)`,
  );
}

/**
 * Reads an autoscaling/v2 HorizontalPodAutoscaler with one metric. The controller scales to the
 * largest count any of several metrics asks for, but the load profile gives one total per workload,
 * so a second metric is refused rather than silently left out.
 */
export function readHpa(doc: unknown, source: string): HpaSpec {
  if (!isObj(doc) || doc['kind'] !== 'HorizontalPodAutoscaler')
    bad(source, 'kind', 'expected a HorizontalPodAutoscaler');
  const meta = isObj(doc['metadata']) ? doc['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '(unnamed)';
  const spec = doc['spec'];
  if (!isObj(spec)) bad(source, 'spec', 'missing');
  const ref = spec['scaleTargetRef'];
  if (!isObj(ref) || typeof ref['name'] !== 'string' || typeof ref['kind'] !== 'string')
    bad(source, 'spec.scaleTargetRef', 'kind and name are required');
  const minReplicas = int(spec['minReplicas'], source, 'spec.minReplicas', 1, 1);
  const maxReplicas = int(spec['maxReplicas'], source, 'spec.maxReplicas', 1);
  if (maxReplicas < minReplicas) bad(source, 'spec.maxReplicas', 'is below minReplicas');
  const metrics = spec['metrics'];
  let metric: HpaMetric;
  if (metrics === undefined) metric = { name: 'cpu', type: 'Utilization', target: 80 };
  else {
    if (!Array.isArray(metrics) || metrics.length === 0 || !isObj(metrics[0]))
      bad(source, 'spec.metrics', 'expected a non-empty list');
    if (metrics.length > 1)
      bad(
        source,
        'spec.metrics[1]',
        `${metrics.length} metrics: the simulation takes one metric per HPA (the load profile gives one total per workload; the controller would scale to the largest count of all)`,
      );
    metric = metricOf(metrics[0], source, 'spec.metrics[0]');
  }
  const behavior = isObj(spec['behavior']) ? spec['behavior'] : {};
  return {
    name,
    targetKind: ref['kind'],
    targetName: ref['name'],
    minReplicas,
    maxReplicas,
    metric,
    scaleUp: rules(behavior['scaleUp'], source, 'spec.behavior.scaleUp', DEFAULT_SCALE_UP),
    scaleDown: rules(behavior['scaleDown'], source, 'spec.behavior.scaleDown', DEFAULT_SCALE_DOWN),
  };
}

/**
 * The per-pod request a Utilization target is a percentage of, as the HPA's replica calculator sums
 * it: the requests of the app containers and sidecars (restartable init containers) — only the named
 * one for a ContainerResource metric; init containers and the pod overhead do not count. When a
 * counted container states no request for the resource (or no container is counted), the controller
 * reports a missing request and does not scale: `missing` says which.
 */
export function hpaPodRequest(group: PodGroup, metric: HpaMetric): { request: number } | { missing: string } {
  if (group.containers === undefined) return { request: group.requests[metric.name] ?? 0 };
  const counted = group.containers.filter(
    (c) => metric.container === undefined || c.name === metric.container,
  );
  if (counted.length === 0) return { missing: `no container named "${metric.container ?? ''}"` };
  let sum = 0;
  for (const c of counted) {
    const r = c.requests[metric.name];
    if (r === undefined) return { missing: `missing request for ${metric.name} in container "${c.name}"` };
    sum += r;
  }
  return { request: sum };
}

/**
 * The replica calculator's core: `ratio(n)` is the usage ratio when the load is spread over `n` pods.
 * Returns the desired replicas before stabilization and limits.
 */
export function desiredFromRatio(
  current: number,
  ready: number,
  pending: number,
  ratio: (pods: number) => number,
  tolerance = HPA_TOLERANCE,
): number {
  if (ready === 0) return current;
  const usageRatio = ratio(ready);
  if (!Number.isFinite(usageRatio)) return current;
  if (pending > 0 && usageRatio > 1) {
    const count = ready + pending;
    const newRatio = ratio(count);
    if (newRatio < 1 || Math.abs(1 - newRatio) <= tolerance) return current;
    const desired = Math.ceil(newRatio * count);
    return desired < current ? current : desired;
  }
  if (Math.abs(1 - usageRatio) <= tolerance) return current;
  const desired = Math.ceil(usageRatio * ready);
  // A scale-down that would not lower the count (or a scale-up that would not raise it) keeps it.
  if ((usageRatio < 1 && desired > current) || (usageRatio > 1 && desired < current)) return current;
  return desired;
}

/** AverageValue metrics: ratio = total / (target per pod × pods). */
export function metricDesiredReplicas(
  current: number,
  ready: number,
  pending: number,
  totalLoad: number,
  targetPerPod: number,
  tolerance = HPA_TOLERANCE,
): number {
  if (targetPerPod <= 0) return current;
  return desiredFromRatio(current, ready, pending, (n) => totalLoad / (targetPerPod * n), tolerance);
}

/**
 * Utilization metrics, as the metrics client computes them: the pods' utilization is a whole percent
 * (truncated: total usage × 100 / total requests) and the ratio is that percent over the target — so
 * 110 % of a 100 % target is a ratio of 1.1, whose distance from 1 is a hair above 0.1 in floating
 * point, and the HPA does scale (as kube-controller-manager does).
 */
export function utilizationDesiredReplicas(
  current: number,
  ready: number,
  pending: number,
  totalUsage: number,
  requestPerPod: number,
  targetPercent: number,
  tolerance = HPA_TOLERANCE,
): number {
  if (requestPerPod <= 0 || targetPercent <= 0) return current;
  return desiredFromRatio(
    current,
    ready,
    pending,
    (n) => Math.floor((totalUsage * 100) / (requestPerPod * n)) / targetPercent,
    tolerance,
  );
}

/** The HPA's memory across syncs: past recommendations and scale events. */
export interface HpaState {
  readonly recommendations: { t: number; replicas: number }[];
  readonly events: { t: number; delta: number }[];
}

export function newHpaState(): HpaState {
  return { recommendations: [], events: [] };
}

function changeInPeriod(
  events: readonly { t: number; delta: number }[],
  now: number,
  period: number,
  up: boolean,
): number {
  let sum = 0;
  for (const e of events)
    if (e.t > now - period && (up ? e.delta > 0 : e.delta < 0)) sum += Math.abs(e.delta);
  return sum;
}

function upLimit(current: number, events: HpaState['events'], now: number, r: ScalingRules): number {
  if (r.selectPolicy === 'Disabled') return current;
  let result = r.selectPolicy === 'Max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  for (const p of r.policies) {
    const start = current - changeInPeriod(events, now, p.periodSeconds, true);
    const proposed = p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
    result = r.selectPolicy === 'Max' ? Math.max(result, proposed) : Math.min(result, proposed);
  }
  return result;
}

function downLimit(current: number, events: HpaState['events'], now: number, r: ScalingRules): number {
  if (r.selectPolicy === 'Disabled') return current;
  let result = r.selectPolicy === 'Max' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const p of r.policies) {
    const start = current + changeInPeriod(events, now, p.periodSeconds, false);
    const proposed = p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
    result = r.selectPolicy === 'Max' ? Math.min(result, proposed) : Math.max(result, proposed);
  }
  return result;
}

/**
 * One HPA sync at time `now` (seconds): the new replica count from the metric-desired count, after
 * stabilization, behavior limits and min/max (the controller's normalizeDesiredReplicasWithBehaviors).
 */
export function hpaSync(
  spec: HpaSpec,
  state: HpaState,
  now: number,
  current: number,
  metricDesired: number,
): number {
  const maxWindow = Math.max(
    spec.scaleUp.stabilizationWindowSeconds,
    spec.scaleDown.stabilizationWindowSeconds,
  );
  let up = metricDesired;
  let down = metricDesired;
  for (const r of state.recommendations) {
    if (r.t > now - spec.scaleUp.stabilizationWindowSeconds) up = Math.min(up, r.replicas);
    if (r.t > now - spec.scaleDown.stabilizationWindowSeconds) down = Math.max(down, r.replicas);
  }
  state.recommendations.push({ t: now, replicas: metricDesired });
  while (state.recommendations.length > 0 && (state.recommendations[0]?.t ?? now) <= now - maxWindow)
    state.recommendations.shift();
  let rec = current;
  if (rec < up) rec = up;
  if (rec > down) rec = down;
  let desired = rec;
  if (rec > current) {
    const limit = Math.max(upLimit(current, state.events, now, spec.scaleUp), current);
    desired = Math.min(rec, limit, spec.maxReplicas);
  } else if (rec < current) {
    const limit = Math.min(downLimit(current, state.events, now, spec.scaleDown), current);
    desired = Math.max(rec, limit, spec.minReplicas);
  }
  desired = Math.min(Math.max(desired, spec.minReplicas), spec.maxReplicas);
  if (desired !== current) state.events.push({ t: now, delta: desired - current });
  const horizon = Math.max(
    0,
    ...[...spec.scaleUp.policies, ...spec.scaleDown.policies].map((p) => p.periodSeconds),
  );
  while (state.events.length > 0 && (state.events[0]?.t ?? now) <= now - horizon) state.events.shift();
  return desired;
}
