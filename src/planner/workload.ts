/**
 * Workload objects (already parsed from YAML/JSON) → pod groups. Reads Pods, Deployments,
 * StatefulSets, ReplicaSets, ReplicationControllers, Jobs (`parallelism`, default 1: the pods that run
 * at once), DaemonSets (one pod per matching node) and `List` objects; other kinds are refused.
 *
 * Requests follow the API server's defaulting and kube-scheduler's accounting:
 * - a container's request for a resource defaults to its limit when only the limit is written;
 * - for an extended resource (a domain-qualified name outside `kubernetes.io`, e.g. both EPC
 *   dialects) requests and limits must be equal when both are written (the API server refuses a pod
 *   otherwise, so the planner does too);
 * - the pod's request is max(sum of app containers + restartable init containers ("sidecars"), each
 *   ordinary init container + the sidecars started before it), per resource, plus `spec.overhead`.
 *
 * With `webhook` (the default in the CLI), SGX pods are first given what the ccnodes mutating webhook
 * adds with its default configuration (src/kube/mutate.ts): the missing EPC dialect beside the present
 * one, `sgx.intel.com/enclave: 1` per EPC container, a toleration of the confidential pool taint and
 * required node affinity to `ccnodes.io/pool In [confidential]`.
 */
import {
  LABEL_POOL,
  MIB,
  POOL_CONFIDENTIAL,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
  RESOURCE_INTEL_EPC_BYTES,
  TAINT_CONFIDENTIAL,
} from '../contract/index.ts';
import { PlannerInputError } from './errors.ts';
import type { NodeSelectorRequirement, NodeSelectorTerm, PodGroup, Toleration } from './model.ts';
import { quantityAmount } from './quantity.ts';

/** Resources counted in bytes. */
export const BYTES_RESOURCES: ReadonlySet<string> = new Set([
  'memory',
  'ephemeral-storage',
  RESOURCE_INTEL_EPC_BYTES,
]);

function isBytes(name: string): boolean {
  return BYTES_RESOURCES.has(name) || name.startsWith('hugepages-');
}

/** True for extended resources: domain-qualified and outside the kubernetes.io namespace. */
export function isExtendedResource(name: string): boolean {
  if (!name.includes('/')) return false;
  const domain = name.slice(0, name.indexOf('/'));
  return !(domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io'));
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function bad(message: string, details: Record<string, unknown>): never {
  throw new PlannerInputError('ERR_PLAN_WORKLOAD', message, details);
}

function objAt(o: Obj, key: string, where: string): Obj | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad(`${where}.${key}: expected an object`, { field: `${where}.${key}` });
  return v;
}

function listAt(o: Obj, key: string, where: string): unknown[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(`${where}.${key}: expected a list`, { field: `${where}.${key}` });
  return v;
}

function strAt(o: Obj, key: string, where: string, fallback: string): string {
  const v = o[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'string') bad(`${where}.${key}: expected a string`, { field: `${where}.${key}` });
  return v;
}

function amounts(map: Obj | undefined, where: string): Map<string, number> {
  const out = new Map<string, number>();
  if (map === undefined) return out;
  for (const [name, value] of Object.entries(map)) {
    const unit = name === 'cpu' ? 'milli' : isBytes(name) ? 'bytes' : 'count';
    out.set(name, quantityAmount(value, `${where}["${name}"]`, unit));
  }
  return out;
}

interface ContainerReq {
  readonly name: string;
  readonly req: Map<string, number>;
  readonly kind: 'app' | 'sidecar' | 'init';
  readonly epc: boolean;
}

function containerRequests(
  c: Obj,
  where: string,
  webhook: boolean,
  kind: ContainerReq['kind'],
): ContainerReq {
  const res = objAt(c, 'resources', where) ?? {};
  const limits = amounts(objAt(res, 'limits', `${where}.resources`), `${where}.resources.limits`);
  const requests = amounts(objAt(res, 'requests', `${where}.resources`), `${where}.resources.requests`);
  const req = new Map<string, number>();
  for (const [name, lim] of limits) {
    const r = requests.get(name);
    if (r !== undefined && r !== lim && isExtendedResource(name))
      bad(
        `${where}.resources: requests and limits of the extended resource ${name} differ (${r} vs ${lim}); the API server refuses such a pod`,
        { field: `${where}.resources.requests["${name}"]` },
      );
    req.set(name, r ?? lim);
  }
  for (const [name, r] of requests) if (!req.has(name)) req.set(name, r);
  const azure = req.get(RESOURCE_EPC_MIB) ?? 0;
  const intel = req.get(RESOURCE_INTEL_EPC_BYTES) ?? 0;
  const epc = azure > 0 || intel > 0;
  if (webhook && epc) {
    // The webhook writes the larger of the two dialects into both (see src/kube/epc.ts).
    const mib = Math.max(azure, Math.ceil(intel / MIB));
    req.set(RESOURCE_EPC_MIB, mib);
    req.set(RESOURCE_INTEL_EPC_BYTES, mib * MIB);
    if (!req.has(RESOURCE_INTEL_ENCLAVE)) req.set(RESOURCE_INTEL_ENCLAVE, 1);
  }
  return { name: strAt(c, 'name', where, ''), req, kind, epc };
}

function add(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [k, v] of from) into.set(k, (into.get(k) ?? 0) + v);
}

function maxInto(into: Map<string, number>, from: ReadonlyMap<string, number>): void {
  for (const [k, v] of from) if (v > (into.get(k) ?? 0)) into.set(k, v);
}

function tolerationsOf(spec: Obj, where: string): Toleration[] {
  return listAt(spec, 'tolerations', where).map((t, i) => {
    const w = `${where}.tolerations[${i}]`;
    if (!isObj(t)) bad(`${w}: expected an object`, { field: w });
    const operator = strAt(t, 'operator', w, 'Equal');
    if (operator !== 'Equal' && operator !== 'Exists')
      bad(`${w}.operator: "${operator}" is not Equal or Exists`, { field: `${w}.operator` });
    const key = strAt(t, 'key', w, '');
    if (key === '' && operator !== 'Exists')
      bad(`${w}: an empty key needs operator Exists`, { field: `${w}.key` });
    return { key, operator, value: strAt(t, 'value', w, ''), effect: strAt(t, 'effect', w, '') };
  });
}

const OPERATORS = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);

function requirements(list: unknown[], where: string): NodeSelectorRequirement[] {
  return list.map((r, i) => {
    const w = `${where}[${i}]`;
    if (!isObj(r)) bad(`${w}: expected an object`, { field: w });
    const operator = strAt(r, 'operator', w, '');
    if (!OPERATORS.has(operator))
      bad(`${w}.operator: "${operator}" is not a node selector operator`, { field: w });
    const values = listAt(r, 'values', w).map((v) => String(v));
    return { key: strAt(r, 'key', w, ''), operator: operator as NodeSelectorRequirement['operator'], values };
  });
}

function affinityOf(spec: Obj, where: string): NodeSelectorTerm[] | undefined {
  const aff = objAt(spec, 'affinity', where);
  const na = aff === undefined ? undefined : objAt(aff, 'nodeAffinity', `${where}.affinity`);
  const req =
    na === undefined
      ? undefined
      : objAt(na, 'requiredDuringSchedulingIgnoredDuringExecution', `${where}.affinity.nodeAffinity`);
  if (req === undefined) return undefined;
  const w = `${where}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution`;
  return listAt(req, 'nodeSelectorTerms', w).map((t, i) => {
    const tw = `${w}.nodeSelectorTerms[${i}]`;
    if (!isObj(t)) bad(`${tw}: expected an object`, { field: tw });
    return {
      matchExpressions: requirements(listAt(t, 'matchExpressions', tw), `${tw}.matchExpressions`),
      matchFields: requirements(listAt(t, 'matchFields', tw), `${tw}.matchFields`),
    };
  });
}

/** Options of `readWorkloads`. */
export interface WorkloadOptions {
  /** Apply what the ccnodes webhook adds to SGX pods (default true). */
  readonly webhook?: boolean;
}

/** The pod group of one pod spec. */
export function podGroupFromSpec(
  spec: Obj,
  meta: { kind: string; namespace: string; name: string; replicas: number; daemon: boolean },
  where: string,
  options: WorkloadOptions = {},
): PodGroup {
  const webhook = options.webhook ?? true;
  const apps = listAt(spec, 'containers', where);
  if (apps.length === 0)
    bad(`${where}.containers: a pod needs at least one container`, { field: `${where}.containers` });
  const reqs: ContainerReq[] = [];
  listAt(spec, 'initContainers', where).forEach((c, i) => {
    const w = `${where}.initContainers[${i}]`;
    if (!isObj(c)) bad(`${w}: expected an object`, { field: w });
    reqs.push(containerRequests(c, w, webhook, c['restartPolicy'] === 'Always' ? 'sidecar' : 'init'));
  });
  apps.forEach((c, i) => {
    const w = `${where}.containers[${i}]`;
    if (!isObj(c)) bad(`${w}: expected an object`, { field: w });
    reqs.push(containerRequests(c, w, webhook, 'app'));
  });
  const appOnly = new Map<string, number>();
  for (const r of reqs) if (r.kind === 'app') add(appOnly, r.req);
  const running = new Map<string, number>();
  const sidecars = new Map<string, number>();
  const initPeak = new Map<string, number>();
  for (const r of reqs) {
    if (r.kind === 'app') add(running, r.req);
    else if (r.kind === 'sidecar') add(sidecars, r.req);
    else {
      const peak = new Map(sidecars);
      add(peak, r.req);
      maxInto(initPeak, peak);
    }
  }
  add(running, sidecars);
  maxInto(running, initPeak);
  add(running, amounts(objAt(spec, 'overhead', where), `${where}.overhead`));
  for (const [k, v] of [...running]) if (v === 0) running.delete(k);
  running.delete('pods');

  const nodeSelector: Record<string, string> = {};
  const ns = objAt(spec, 'nodeSelector', where);
  if (ns !== undefined) for (const [k, v] of Object.entries(ns)) nodeSelector[k] = String(v);
  let tolerations = tolerationsOf(spec, where);
  let affinity = affinityOf(spec, where);
  const sgx = reqs.some((r) => r.epc);
  if (webhook && sgx) {
    const t = TAINT_CONFIDENTIAL;
    if (!tolerations.some((x) => x.key === t.key && (x.operator === 'Exists' || x.value === t.value)))
      tolerations = [...tolerations, { key: t.key, operator: 'Equal', value: t.value, effect: t.effect }];
    const pool: NodeSelectorRequirement = { key: LABEL_POOL, operator: 'In', values: [POOL_CONFIDENTIAL] };
    affinity =
      affinity === undefined || affinity.length === 0
        ? [{ matchExpressions: [pool], matchFields: [] }]
        : affinity.map((term) =>
            term.matchExpressions.some((e) => e.key === LABEL_POOL)
              ? term
              : { ...term, matchExpressions: [...term.matchExpressions, pool] },
          );
  }
  const azure = running.get(RESOURCE_EPC_MIB) ?? 0;
  const intel = running.get(RESOURCE_INTEL_EPC_BYTES) ?? 0;
  return {
    id: `${meta.kind}/${meta.namespace}/${meta.name}`,
    kind: meta.kind,
    namespace: meta.namespace,
    name: meta.name,
    replicas: meta.replicas,
    requests: Object.fromEntries([...running].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    nodeSelector,
    affinity,
    tolerations,
    daemon: meta.daemon,
    epcMiB: Math.max(azure, Math.ceil(intel / MIB)),
    scoreRequests: { cpu: appOnly.get('cpu') ?? 0, memory: appOnly.get('memory') ?? 0 },
    containers: reqs
      .filter((r) => r.kind !== 'init')
      .map((r) => ({ name: r.name, requests: Object.fromEntries(r.req) })),
  };
}

const TEMPLATED = new Set([
  'Deployment',
  'StatefulSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'DaemonSet',
]);

function replicasOf(kind: string, spec: Obj, where: string): number {
  const key = kind === 'Job' ? 'parallelism' : 'replicas';
  const v = spec[key];
  if (v === undefined || v === null) return 1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    bad(`${where}.spec.${key}: expected a whole number >= 0`, { field: `${where}.spec.${key}` });
  return v;
}

/** Pod groups of the given objects (a List is expanded); `source` names the file in errors. */
export function readWorkloads(
  docs: readonly unknown[],
  source: string,
  options: WorkloadOptions = {},
): PodGroup[] {
  const out: PodGroup[] = [];
  const visit = (doc: unknown, where: string): void => {
    if (doc === null || doc === undefined) return; // empty YAML document
    if (!isObj(doc)) bad(`${where}: expected a Kubernetes object`, { source });
    const kind = strAt(doc, 'kind', where, '');
    if (kind === 'List' || kind.endsWith('List')) {
      listAt(doc, 'items', where).forEach((item, i) => {
        visit(item, `${where}.items[${i}]`);
      });
      return;
    }
    const metadata = objAt(doc, 'metadata', where) ?? {};
    const name = strAt(metadata, 'name', `${where}.metadata`, '');
    const namespace = strAt(metadata, 'namespace', `${where}.metadata`, 'default');
    const label = `${source}: ${kind || '(no kind)'} ${name || where}`;
    if (kind === 'Pod') {
      const spec = objAt(doc, 'spec', label);
      if (spec === undefined) bad(`${label}: spec is missing`, { source, field: 'spec' });
      out.push(
        podGroupFromSpec(
          spec,
          { kind, namespace, name, replicas: 1, daemon: false },
          `${label} spec`,
          options,
        ),
      );
      return;
    }
    if (!TEMPLATED.has(kind))
      bad(
        `${label}: kind "${kind}" is not a workload the planner reads (Pod, Deployment, StatefulSet, ReplicaSet, ReplicationController, Job, DaemonSet, List)`,
        { source, kind },
      );
    const spec = objAt(doc, 'spec', label);
    if (spec === undefined) bad(`${label}: spec is missing`, { source, field: 'spec' });
    const template = objAt(spec, 'template', `${label} spec`);
    const podSpec = template === undefined ? undefined : objAt(template, 'spec', `${label} spec.template`);
    if (podSpec === undefined)
      bad(`${label}: spec.template.spec is missing`, { source, field: 'spec.template.spec' });
    const daemon = kind === 'DaemonSet';
    out.push(
      podGroupFromSpec(
        podSpec,
        { kind, namespace, name, replicas: daemon ? 0 : replicasOf(kind, spec, label), daemon },
        `${label} spec.template.spec`,
        options,
      ),
    );
  };
  docs.forEach((d, i) => {
    visit(d, `${source}#${i}`);
  });
  return out;
}
