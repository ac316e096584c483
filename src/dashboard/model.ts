/**
 * The dashboard's view models, computed from what the sources answered (pure functions: same input,
 * same numbers). EPC per pod follows kube-scheduler's accounting of extended resources: the larger of
 * the containers' sum and the largest init container, plus the pod overhead; a container that states
 * only a limit requests that limit. A pod holds EPC on its node from binding until it terminates.
 */
import {
  ANNOTATION_EPC_TOTAL_MIB,
  ANNOTATION_MRENCLAVE,
  ANNOTATION_MRSIGNER,
  LABEL_EPC_MIB,
  LABEL_POOL,
  LABEL_SGX,
  LABEL_SIMULATED,
  MIB,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_EPC_BYTES,
} from '../contract/index.ts';
import type { AuditLine } from './attestation-source.ts';
import type { KubeContainer, KubeNode, KubePod, KubeSnapshot } from './kube-source.ts';
import { sumOf, type MetricsText } from './metrics-text.ts';
import { quantityNumber } from '../contract/index.ts';

/** Node labels naming the VM size, newest first. */
const SKU_LABELS = ['node.kubernetes.io/instance-type', 'beta.kubernetes.io/instance-type'];

/** EPC of one pod in both dialects. */
export interface PodEpc {
  /** `kubernetes.azure.com/sgx_epc_mem_in_MiB`, MiB. */
  readonly mib: number;
  /** `sgx.intel.com/epc`, bytes. */
  readonly intelBytes: number;
}

function request(c: KubeContainer, resource: string): number {
  const text = c.resources?.requests?.[resource] ?? c.resources?.limits?.[resource];
  const n = quantityNumber(text);
  return n === undefined || n < 0 ? 0 : n;
}

function effective(pod: KubePod, resource: string): number {
  const containers = pod.spec?.containers ?? [];
  const sum = containers.reduce((a, c) => a + request(c, resource), 0);
  const init = (pod.spec?.initContainers ?? []).reduce((a, c) => Math.max(a, request(c, resource)), 0);
  const overhead = quantityNumber(pod.spec?.overhead?.[resource]) ?? 0;
  return Math.max(sum, init) + Math.max(0, overhead);
}

/** The pod's EPC requests in both dialects (scheduler semantics). */
export function podEpc(pod: KubePod): PodEpc {
  return { mib: effective(pod, RESOURCE_EPC_MIB), intelBytes: effective(pod, RESOURCE_INTEL_EPC_BYTES) };
}

/** True while a bound pod counts against its node (not Succeeded or Failed). */
export function podHoldsNode(pod: KubePod): boolean {
  const phase = pod.status?.phase;
  return (
    pod.spec?.nodeName !== undefined &&
    pod.spec.nodeName !== '' &&
    phase !== 'Succeeded' &&
    phase !== 'Failed'
  );
}

/** Health of one scraped agent endpoint. */
export interface AgentHealth {
  /** The endpoint, without credentials. */
  readonly target: string;
  readonly node: string | undefined;
  readonly kind: 'device-plugin' | 'quote-helper' | 'attestation' | 'unknown';
  /** The scrape answered and parsed. */
  readonly up: boolean;
  /** Up, and (device plugin) every resource reports its device present. */
  readonly healthy: boolean;
  readonly detail: string;
  /**
   * The node doctor's checks the device plugin exports (`ccnodes_device_plugin_doctor_check`), in
   * its order; absent when the endpoint exports none (an older plugin, or another agent).
   */
  readonly doctor?: readonly DoctorResult[];
  /** When the plugin last ran the doctor (ISO time), from `…_doctor_last_run_timestamp_seconds`. */
  readonly doctorAt?: string;
}

/** One node doctor check as the device plugin exports it. */
export interface DoctorResult {
  readonly check: string;
  readonly status: 'pass' | 'warn' | 'fail';
}

const DOCTOR_STATUS = new Set(['pass', 'warn', 'fail']);

/** The doctor's checks from a device plugin scrape: the status whose state-set sample is 1. */
export function doctorResults(m: MetricsText): DoctorResult[] {
  const out = new Map<string, DoctorResult['status']>();
  for (const s of m.samples) {
    if (s.name !== 'ccnodes_device_plugin_doctor_check' || s.value !== 1) continue;
    const check = s.labels['check'];
    const status = s.labels['status'];
    if (check === undefined || status === undefined || !DOCTOR_STATUS.has(status)) continue;
    // Two current states for one check would be a broken exporter: show the worse.
    const prev = out.get(check);
    if (prev === 'fail' || (prev === 'warn' && status === 'pass')) continue;
    out.set(check, status as DoctorResult['status']);
  }
  return [...out].map(([check, status]) => ({ check, status }));
}

/** Classifies a scrape by its metric names and judges its health. */
export function agentHealth(target: string, node: string | undefined, m: MetricsText | Error): AgentHealth {
  if (m instanceof Error)
    return { target, node, kind: 'unknown', up: false, healthy: false, detail: m.message };
  const has = (prefix: string): boolean => m.samples.some((s) => s.name.startsWith(prefix));
  if (has('ccnodes_device_plugin_')) {
    const healthy = m.samples.filter((s) => s.name === 'ccnodes_device_plugin_healthy');
    const bad = healthy.filter((s) => s.value !== 1).map((s) => s.labels['resource'] ?? '?');
    const capacity = sumOf(m, 'ccnodes_device_plugin_epc_capacity_bytes');
    const ok = healthy.length > 0 && bad.length === 0;
    const doctor = doctorResults(m);
    const ranAt = sumOf(m, 'ccnodes_device_plugin_doctor_last_run_timestamp_seconds');
    return {
      target,
      node,
      kind: 'device-plugin',
      up: true,
      healthy: ok,
      ...(doctor.length === 0 ? {} : { doctor }),
      ...(ranAt === undefined || !(ranAt > 0) ? {} : { doctorAt: new Date(ranAt * 1000).toISOString() }),
      detail: ok
        ? `${healthy.length} resource(s) healthy${capacity === undefined ? '' : `, EPC ${Math.round(capacity / MIB)} MiB`}`
        : healthy.length === 0
          ? 'no resource registered yet'
          : `unhealthy: ${bad.join(', ')}`,
    };
  }
  if (has('ccnodes_quote_helper_')) {
    const requests = sumOf(m, 'ccnodes_quote_helper_requests_total') ?? 0;
    const errors = sumOf(m, 'ccnodes_quote_helper_errors_total') ?? 0;
    return {
      target,
      node,
      kind: 'quote-helper',
      up: true,
      healthy: true,
      detail: `${requests} request(s), ${errors} error(s)`,
    };
  }
  if (has('ccnodes_attestation_'))
    return { target, node, kind: 'attestation', up: true, healthy: true, detail: 'attestation service' };
  return { target, node, kind: 'unknown', up: true, healthy: true, detail: 'no ccnodes metrics' };
}

/** One SGX node on the Nodes page. */
export interface NodeRow {
  readonly name: string;
  readonly sku: string | undefined;
  readonly ready: boolean;
  readonly simulated: boolean;
  readonly pool: string | undefined;
  /** `ccnodes.io/epc-mib` label (the node doctor's reading). */
  readonly epcLabelMib: number | undefined;
  readonly epcMib: { capacity: number | undefined; allocatable: number | undefined; allocated: number };
  readonly intelEpcBytes: {
    capacity: number | undefined;
    allocatable: number | undefined;
    allocated: number;
  };
  /** Bound, non-terminated pods holding EPC here. */
  readonly epcPods: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly string[];
  readonly agents: readonly AgentHealth[];
}

export interface NodesView {
  readonly totalNodes: number;
  readonly sgxNodes: readonly NodeRow[];
  readonly totals: {
    readonly epcCapacityMib: number;
    readonly epcAllocatableMib: number;
    readonly epcAllocatedMib: number;
    readonly intelEpcAllocatableBytes: number;
    readonly intelEpcAllocatedBytes: number;
  };
  /** Scraped agents not tied to a listed node. */
  readonly otherAgents: readonly AgentHealth[];
}

function isSgxNode(n: KubeNode): boolean {
  const cap = n.status?.capacity ?? {};
  const alloc = n.status?.allocatable ?? {};
  return (
    n.metadata?.labels?.[LABEL_SGX] === 'true' ||
    [RESOURCE_EPC_MIB, RESOURCE_INTEL_EPC_BYTES].some(
      (r) => (quantityNumber(cap[r]) ?? 0) > 0 || (quantityNumber(alloc[r]) ?? 0) > 0,
    )
  );
}

/** The Nodes page: SGX nodes with EPC in both dialects, allocation from bound pods, agents' health. */
export function nodesView(snapshot: KubeSnapshot, agents: readonly AgentHealth[] = []): NodesView {
  const perNode = new Map<string, { mib: number; bytes: number; pods: number }>();
  for (const pod of snapshot.pods) {
    if (!podHoldsNode(pod)) continue;
    const e = podEpc(pod);
    if (e.mib === 0 && e.intelBytes === 0) continue;
    const name = pod.spec?.nodeName ?? '';
    const acc = perNode.get(name) ?? { mib: 0, bytes: 0, pods: 0 };
    acc.mib += e.mib;
    acc.bytes += e.intelBytes;
    acc.pods += 1;
    perNode.set(name, acc);
  }
  const rows: NodeRow[] = [];
  for (const n of snapshot.nodes) {
    if (!isSgxNode(n)) continue;
    const name = n.metadata?.name ?? '';
    const labels = n.metadata?.labels ?? {};
    const cap = n.status?.capacity ?? {};
    const alloc = n.status?.allocatable ?? {};
    const used = perNode.get(name) ?? { mib: 0, bytes: 0, pods: 0 };
    rows.push({
      name,
      sku: SKU_LABELS.map((l) => labels[l]).find((v) => v !== undefined),
      ready: (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
      simulated: labels[LABEL_SIMULATED] === 'true',
      pool: labels[LABEL_POOL],
      epcLabelMib: quantityNumber(labels[LABEL_EPC_MIB]),
      epcMib: {
        capacity: quantityNumber(cap[RESOURCE_EPC_MIB]),
        allocatable: quantityNumber(alloc[RESOURCE_EPC_MIB]),
        allocated: used.mib,
      },
      intelEpcBytes: {
        capacity: quantityNumber(cap[RESOURCE_INTEL_EPC_BYTES]),
        allocatable: quantityNumber(alloc[RESOURCE_INTEL_EPC_BYTES]),
        allocated: used.bytes,
      },
      epcPods: used.pods,
      labels,
      taints: (n.spec?.taints ?? []).map(
        (t) => `${t.key}${t.value === undefined || t.value === '' ? '' : `=${t.value}`}:${t.effect}`,
      ),
      agents: agents.filter((a) => a.node === name),
    });
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  const names = new Set(rows.map((r) => r.name));
  return {
    totalNodes: snapshot.nodes.length,
    sgxNodes: rows,
    totals: {
      epcCapacityMib: rows.reduce((a, r) => a + (r.epcMib.capacity ?? 0), 0),
      epcAllocatableMib: rows.reduce((a, r) => a + (r.epcMib.allocatable ?? 0), 0),
      epcAllocatedMib: rows.reduce((a, r) => a + r.epcMib.allocated, 0),
      intelEpcAllocatableBytes: rows.reduce((a, r) => a + (r.intelEpcBytes.allocatable ?? 0), 0),
      intelEpcAllocatedBytes: rows.reduce((a, r) => a + r.intelEpcBytes.allocated, 0),
    },
    otherAgents: agents.filter((a) => a.node === undefined || !names.has(a.node)),
  };
}

/** One pod holding (or waiting for) EPC. */
export interface WorkloadRow {
  readonly namespace: string;
  readonly name: string;
  readonly node: string | undefined;
  readonly phase: string;
  readonly epcMib: number;
  readonly intelEpcBytes: number;
  /** The webhook's `ccnodes.io/epc-total-mib` annotation, when present. */
  readonly annotatedEpcMib: number | undefined;
  readonly podIP: string | undefined;
  readonly mrenclave: string | undefined;
  readonly mrsigner: string | undefined;
  /** Where the identity came from: `annotation`, `audit` (token issued to the pod's IP) or none. */
  readonly identitySource: 'annotation' | 'audit' | undefined;
}

export interface NamespaceRow {
  readonly namespace: string;
  readonly pods: number;
  readonly epcMib: number;
  readonly intelEpcBytes: number;
}

export interface WorkloadsView {
  /** Bound, non-terminated pods with EPC, plus pending ones (no node yet). */
  readonly pods: readonly WorkloadRow[];
  readonly namespaces: readonly NamespaceRow[];
  readonly holding: number;
  readonly pending: number;
}

/** MRENCLAVE of the newest allowed attestation per caller address, from audit lines. */
export function identitiesByActor(audit: readonly AuditLine[]): Map<string, string> {
  const out = new Map<string, string>();
  // Audit lines come newest first; keep the first seen per actor.
  for (const a of audit) {
    if (a.action !== 'attest' || a.decision !== 'allow') continue;
    const m = /^mrenclave:([0-9a-f]{64})$/i.exec(a.subject);
    const actor = a.actor.replace(/ \(admin\)$/, '');
    if (m !== null && !out.has(actor)) out.set(actor, (m[1] ?? '').toLowerCase());
  }
  return out;
}

const HEX32 = /^[0-9a-fA-F]{64}$/;

/** The Workloads page: pods holding EPC, per namespace, with enclave identity where known. */
export function workloadsView(snapshot: KubeSnapshot, audit: readonly AuditLine[] = []): WorkloadsView {
  const byIp = identitiesByActor(audit);
  const rows: WorkloadRow[] = [];
  for (const pod of snapshot.pods) {
    const phase = pod.status?.phase ?? 'Unknown';
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const e = podEpc(pod);
    if (e.mib === 0 && e.intelBytes === 0) continue;
    const ann = pod.metadata?.annotations ?? {};
    const annEnclave = ann[ANNOTATION_MRENCLAVE];
    const annSigner = ann[ANNOTATION_MRSIGNER];
    const ip = pod.status?.podIP;
    const fromAudit = ip === undefined ? undefined : byIp.get(ip);
    const mrenclave =
      annEnclave !== undefined && HEX32.test(annEnclave) ? annEnclave.toLowerCase() : fromAudit;
    rows.push({
      namespace: pod.metadata?.namespace ?? 'default',
      name: pod.metadata?.name ?? '',
      node: pod.spec?.nodeName === undefined || pod.spec.nodeName === '' ? undefined : pod.spec.nodeName,
      phase,
      epcMib: e.mib,
      intelEpcBytes: e.intelBytes,
      annotatedEpcMib: quantityNumber(ann[ANNOTATION_EPC_TOTAL_MIB]),
      podIP: ip,
      mrenclave,
      mrsigner: annSigner !== undefined && HEX32.test(annSigner) ? annSigner.toLowerCase() : undefined,
      identitySource:
        annEnclave !== undefined && HEX32.test(annEnclave)
          ? 'annotation'
          : fromAudit === undefined
            ? undefined
            : 'audit',
    });
  }
  rows.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const ns = new Map<string, { pods: number; mib: number; bytes: number }>();
  for (const r of rows) {
    if (r.node === undefined) continue;
    const acc = ns.get(r.namespace) ?? { pods: 0, mib: 0, bytes: 0 };
    acc.pods += 1;
    acc.mib += r.epcMib;
    acc.bytes += r.intelEpcBytes;
    ns.set(r.namespace, acc);
  }
  return {
    pods: rows,
    namespaces: [...ns.entries()]
      .map(([namespace, v]) => ({ namespace, pods: v.pods, epcMib: v.mib, intelEpcBytes: v.bytes }))
      .sort((a, b) => b.epcMib - a.epcMib || a.namespace.localeCompare(b.namespace)),
    holding: rows.filter((r) => r.node !== undefined).length,
    pending: rows.filter((r) => r.node === undefined).length,
  };
}

/** Filters of the Attestations page. */
export interface AttestationFilter {
  readonly mrenclave?: string;
  readonly mrsigner?: string;
  /** `attest`, `secret-release`, or `all` (every audit action). Default: attest and secret-release. */
  readonly type?: string;
  /** `allow`, `deny`, `error`. */
  readonly decision?: string;
}

export interface AttestationEvent extends AuditLine {
  /** The refusal code (`ERR_…`) of a deny/error line, when its reason starts with one. */
  readonly refusalCode: string | undefined;
  /** The enclave identity the line records (`mrenclave:<hex>`, `mrsigner:<hex>`, `mrtd:<hex>` tokens). */
  readonly mrenclave: string | undefined;
  readonly mrsigner: string | undefined;
  readonly mrtd: string | undefined;
}

/**
 * The identity an audit line records. The attestation service writes `mrenclave:<hex>` (or
 * `mrtd:<hex>`) as the subject of an allowed attestation or release, `mrsigner:<hex> isvprodid:<n>
 * isvsvn:<n>` at the end of its reason, and both at the end of the reason of a policy denial.
 */
export function auditIdentity(a: Pick<AuditLine, 'subject' | 'reason'>): {
  mrenclave: string | undefined;
  mrsigner: string | undefined;
  mrtd: string | undefined;
} {
  const text = `${a.subject} ${a.reason}`;
  // The last occurrence: the service appends the identity after any text a caller could influence.
  const find = (key: string, digits: number): string | undefined =>
    [...text.matchAll(new RegExp(`(?:^|[\\s(])${key}:([0-9a-fA-F]{${digits}})(?![0-9a-fA-F])`, 'g'))]
      .at(-1)?.[1]
      ?.toLowerCase();
  return { mrenclave: find('mrenclave', 64), mrsigner: find('mrsigner', 64), mrtd: find('mrtd', 96) };
}

/** A filter value matches a hex field when it is a case-insensitive prefix of it. */
function hexMatches(filter: string | undefined, value: string | undefined): boolean {
  const f = filter?.trim().toLowerCase();
  if (f === undefined || f === '') return true;
  return value !== undefined && value.startsWith(f);
}

export interface AttestationsView {
  readonly events: readonly AttestationEvent[];
  readonly total: number;
  readonly allowed: number;
  readonly refused: number;
  /** Per-minute counts (weighted by `count`) over the last `minutes` minutes, oldest first. */
  readonly perMinute: readonly { readonly t: string; readonly allowed: number; readonly refused: number }[];
}

const EVENT_ACTIONS = new Set(['attest', 'secret-release']);

/** The Attestations page: the timeline of attest and release results, filtered. */
export function attestationsView(
  audit: readonly AuditLine[],
  filter: AttestationFilter,
  now: Date,
  minutes = 30,
): AttestationsView {
  const events: AttestationEvent[] = [];
  for (const a of audit) {
    if (filter.type === undefined || filter.type === '') {
      if (!EVENT_ACTIONS.has(a.action)) continue;
    } else if (filter.type !== 'all' && a.action !== filter.type) continue;
    if (filter.decision !== undefined && filter.decision !== '' && a.decision !== filter.decision) continue;
    const id = auditIdentity(a);
    // MRENCLAVE also matches a TD's MRTD (the one measurement a TdxVm line has).
    if (!hexMatches(filter.mrenclave, id.mrenclave) && !hexMatches(filter.mrenclave, id.mrtd)) continue;
    if (!hexMatches(filter.mrsigner, id.mrsigner)) continue;
    const code = a.decision === 'allow' ? undefined : /^(ERR_[A-Z0-9_]+)/.exec(a.reason)?.[1];
    events.push({ ...a, refusalCode: code, ...id });
  }
  const step = 60_000;
  const end = Math.floor(now.getTime() / step) * step;
  const start = end - (minutes - 1) * step;
  const buckets = Array.from({ length: minutes }, (_, i) => ({
    t: new Date(start + i * step).toISOString(),
    allowed: 0,
    refused: 0,
  }));
  for (const e of events) {
    const at = Date.parse(e.at);
    if (Number.isNaN(at) || at < start || at >= end + step) continue;
    const b = buckets[Math.floor((at - start) / step)];
    if (b === undefined) continue;
    if (e.decision === 'allow') b.allowed += e.count;
    else b.refused += e.count;
  }
  return {
    events,
    total: events.reduce((a, e) => a + e.count, 0),
    allowed: events.filter((e) => e.decision === 'allow').reduce((a, e) => a + e.count, 0),
    refused: events.filter((e) => e.decision !== 'allow').reduce((a, e) => a + e.count, 0),
    perMinute: buckets,
  };
}

/** One change of a policy, from the audit log. */
export interface PolicyChange {
  readonly at: string;
  readonly type: string;
  readonly action: string;
  readonly actor: string;
  /** The new policy's hash (`policy-set`), or undefined for a reset to the default. */
  readonly hash: string | undefined;
}

/** Policy history (newest first) from `policy-set` / `policy-reset` audit lines. */
export function policyHistory(audit: readonly AuditLine[]): PolicyChange[] {
  return audit
    .filter((a) => a.action === 'policy-set' || a.action === 'policy-reset')
    .map((a) => ({
      at: a.at,
      type: a.subject,
      action: a.action,
      actor: a.actor,
      hash: /^policy hash (\S+)$/.exec(a.reason)?.[1],
    }));
}
