/**
 * `mutatePod`: the admission webhook's pure core. Given a pod it returns the JSON Patch that makes an
 * SGX pod schedulable and usable under either EPC dialect; applying the patch and mutating again
 * gives an empty patch (idempotent, so `reinvocationPolicy: IfNeeded` is safe). Pods that use no SGX,
 * and pods in excluded namespaces, get an empty patch.
 *
 * For each container that asks for EPC (`kubernetes.azure.com/sgx_epc_mem_in_MiB`, MiB, or
 * `sgx.intel.com/epc`, bytes — conversion rules in quantity.ts):
 * - the missing dialect is added beside the present one (in limits, and in requests when the
 *   requests carry EPC); EPC only in requests is copied to limits, as extended resources require;
 * - `sgx.intel.com/enclave: 1` is added to limits;
 * - in-process quoting adds `sgx.intel.com/provision: 1`; out-of-process quoting adds env
 *   `SGX_AESM_ADDR="1"` and a `/var/run/aesmd` mount of the `aesmd-socket` volume (hostPath
 *   DirectoryOrCreate, or an in-memory emptyDir when the pod has an `aesmd` sidecar).
 * For the pod: tolerations of the confidential pool taint, node affinity to confidential pools, and
 * the total EPC as annotations (`ccnodes.io/epc-total-mib`, and Intel's `sgx.intel.com/epc`).
 *
 * Quoting is chosen by `ccnodes.io/quoting` (out-of-process | in-process | none), else Intel's
 * `sgx.intel.com/quote-provider` (`aesmd`: out-of-process; a container name: that container quotes
 * in-process), else the configured default.
 */
import {
  AESMD_SIDECAR_NAME,
  AESMD_VOLUME_NAME,
  AESM_SOCKET_DIR,
  ANNOTATION_CONFIDENTIAL_CONTAINER,
  ANNOTATION_EPC_TOTAL_MIB,
  ANNOTATION_INTEL_EPC,
  ANNOTATION_INTEL_QUOTE_PROVIDER,
  ANNOTATION_QUOTING,
  ANNOTATION_SGX,
  ENV_SGX_AESM_ADDR,
  INTEL_QUOTE_PROVIDER_AESMD,
  LABEL_TRUE,
  LABEL_FALSE,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
  RESOURCE_INTEL_EPC_BYTES,
  RESOURCE_INTEL_PROVISION,
  type QuotingMode,
} from '../contract/index.ts';
import { containerEpc, effectivePodEpcMib, type ContainerEpc, type EpcEntry } from './epc.ts';
import {
  confidentialContainerPatch,
  readConfidentialSpec,
  type ConfidentialSpec,
} from './mutate-container.ts';
import { KubeInputError } from './errors.ts';
import { PatchBuilder, type JsonPatchOperation, type JsonPath } from './json-patch.ts';
import { readPod, type ContainerView, type PodView } from './pod-view.ts';
import { mibToAzureQuantity, mibToIntelQuantity } from './quantity.ts';
import {
  DEFAULT_WEBHOOK_CONFIG,
  isQuotingMode,
  type TolerationSpec,
  type WebhookConfig,
} from './webhook-config.ts';

/** Where the pod is being created (AdmissionRequest.namespace wins over metadata.namespace). */
export interface MutateContext {
  readonly namespace?: string;
}

/** What the webhook decided about a pod, beside the patch. */
export interface PodAnalysis {
  readonly view: PodView;
  readonly epcs: readonly ContainerEpc[];
  /** False when the webhook leaves the pod alone. */
  readonly sgx: boolean;
  /** Why the pod is or is not handled (for `ccnodes kube mutate` and logs). */
  readonly reason: string;
  readonly totalEpcMib: bigint;
  readonly quoting: QuotingMode;
  /** In-process quoting limited to this container (Intel's quote-provider annotation). */
  readonly inProcessContainer: string | undefined;
  /** The container to wrap in the launcher (`ccnodes.io/confidential-container`), see mutate-container.ts. */
  readonly confidential: ConfidentialSpec | undefined;
}

/** Classifies a pod; throws KubeInputError when the pod or an EPC quantity cannot be read. */
export function analysePod(
  pod: unknown,
  config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
  ctx: MutateContext = {},
): PodAnalysis {
  const view = readPod(pod);
  const namespace = ctx.namespace ?? view.namespace ?? 'default';
  const epcs = view.containers.map(containerEpc);
  const totalEpcMib = effectivePodEpcMib(epcs);
  const { quoting, inProcessContainer } = quotingOf(view.annotations, config);
  const base = { view, epcs, totalEpcMib, quoting, inProcessContainer, confidential: undefined };
  if (config.excludedNamespaces.includes(namespace))
    return { ...base, sgx: false, reason: `namespace ${namespace} is excluded` };
  const confidential = readConfidentialSpec(view);
  const marker = view.annotations[ANNOTATION_SGX];
  if (confidential !== undefined) {
    if (marker === LABEL_FALSE)
      throw new KubeInputError(
        'ERR_KUBE_CONFIDENTIAL_CONTAINER',
        `annotation ${ANNOTATION_CONFIDENTIAL_CONTAINER} needs SGX, but ${ANNOTATION_SGX} is "false"`,
        { field: `metadata.annotations["${ANNOTATION_SGX}"]` },
      );
    // Conflicts with the pod (volume, mount or init container names) surface here too, so that the
    // validating webhook refuses a pod that the mutating webhook could not wrap.
    confidentialContainerPatch(pod, confidential);
    return { ...base, confidential, sgx: true, reason: `annotation ${ANNOTATION_CONFIDENTIAL_CONTAINER}` };
  }
  if (marker === LABEL_FALSE) return { ...base, sgx: false, reason: `annotation ${ANNOTATION_SGX}="false"` };
  if (epcs.some((e) => e.mib > 0n)) return { ...base, sgx: true, reason: 'a container asks for EPC' };
  if (marker === LABEL_TRUE) return { ...base, sgx: true, reason: `annotation ${ANNOTATION_SGX}="true"` };
  return { ...base, sgx: false, reason: 'no container asks for EPC' };
}

function quotingOf(
  annotations: Readonly<Record<string, string>>,
  config: WebhookConfig,
): { quoting: QuotingMode; inProcessContainer: string | undefined } {
  const own = annotations[ANNOTATION_QUOTING];
  if (own !== undefined && isQuotingMode(own)) return { quoting: own, inProcessContainer: undefined };
  const intel = annotations[ANNOTATION_INTEL_QUOTE_PROVIDER];
  if (intel === INTEL_QUOTE_PROVIDER_AESMD)
    return { quoting: 'out-of-process', inProcessContainer: undefined };
  if (intel !== undefined && intel !== '') return { quoting: 'in-process', inProcessContainer: intel };
  return { quoting: config.defaultQuoting, inProcessContainer: undefined };
}

function containerPath(c: ContainerView): JsonPath {
  return ['spec', c.list, c.index];
}

/** Writes each dialect that `present` lacks, sized from `source`. */
function addDialects(b: PatchBuilder, path: JsonPath, source: EpcEntry, present: EpcEntry): void {
  const mib = source.azureMib ?? source.intelMib;
  if (mib === undefined) return;
  if (present.azureMib === undefined) b.set([...path, RESOURCE_EPC_MIB], mibToAzureQuantity(mib));
  if (present.intelMib === undefined) b.set([...path, RESOURCE_INTEL_EPC_BYTES], mibToIntelQuantity(mib));
}

function mutateEpcContainer(b: PatchBuilder, e: ContainerEpc, provision: boolean): void {
  const res = [...containerPath(e.container), 'resources'];
  const limitsHaveEpc = e.limits.azureMib !== undefined || e.limits.intelMib !== undefined;
  if (!limitsHaveEpc) {
    // Extended resources need limits equal to requests: copy what was written, verbatim.
    for (const key of [RESOURCE_EPC_MIB, RESOURCE_INTEL_EPC_BYTES]) {
      const value = e.container.requests?.[key];
      if (value !== undefined && value !== null) b.set([...res, 'limits', key], value);
    }
  }
  addDialects(
    b,
    [...res, 'limits'],
    limitsHaveEpc ? e.limits : e.requests,
    limitsHaveEpc ? e.limits : e.requests,
  );
  addDialects(b, [...res, 'requests'], e.requests, e.requests);
  if (e.container.limits?.[RESOURCE_INTEL_ENCLAVE] === undefined)
    b.set([...res, 'limits', RESOURCE_INTEL_ENCLAVE], '1');
  if (provision && e.container.limits?.[RESOURCE_INTEL_PROVISION] === undefined)
    b.set([...res, 'limits', RESOURCE_INTEL_PROVISION], '1');
}

/** Adds env and mount for out-of-process quoting; true when a mount of our volume was added. */
function mutateOutOfProcess(b: PatchBuilder, c: ContainerView): boolean {
  const path = containerPath(c);
  if (!c.envNames.includes(ENV_SGX_AESM_ADDR))
    b.append([...path, 'env'], { name: ENV_SGX_AESM_ADDR, value: '1' });
  if (c.mountPaths.includes(AESM_SOCKET_DIR)) return false;
  b.append([...path, 'volumeMounts'], { name: AESMD_VOLUME_NAME, mountPath: AESM_SOCKET_DIR });
  return true;
}

function tolerates(existing: unknown, want: TolerationSpec): boolean {
  if (typeof existing !== 'object' || existing === null) return false;
  const t = existing as TolerationSpec;
  const effectOk = t.effect === undefined || t.effect === want.effect;
  if ((t.key ?? '') === '' && t.operator === 'Exists') return effectOk;
  if (t.key !== want.key || !effectOk) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (want.value ?? '');
}

function addTolerations(b: PatchBuilder, wanted: readonly TolerationSpec[]): void {
  for (const want of wanted) {
    const current = b.get(['spec', 'tolerations']);
    const list = Array.isArray(current) ? current : [];
    if (!list.some((t) => tolerates(t, want))) b.append(['spec', 'tolerations'], { ...want });
  }
}

function sameExpression(a: unknown, key: string, values: readonly string[]): boolean {
  if (typeof a !== 'object' || a === null) return false;
  const e = a as { key?: unknown; operator?: unknown; values?: unknown };
  if (e.key !== key || e.operator !== 'In' || !Array.isArray(e.values)) return false;
  // The expression implies the pool requirement only when every value it allows is a pool value.
  const have = e.values as unknown[];
  return have.length > 0 && have.every((v) => typeof v === 'string' && values.includes(v));
}

function addAffinity(b: PatchBuilder, config: WebhookConfig): void {
  if (config.affinity === 'none') return;
  const { key, values } = config.poolLabel;
  const expr = { key, operator: 'In', values: [...values] };
  const na = ['spec', 'affinity', 'nodeAffinity'];
  if (config.affinity === 'required') {
    const termsPath = [...na, 'requiredDuringSchedulingIgnoredDuringExecution', 'nodeSelectorTerms'];
    const terms = b.get(termsPath);
    if (!Array.isArray(terms) || terms.length === 0) {
      b.set(termsPath, [{ matchExpressions: [expr] }]);
      return;
    }
    // Terms are ORed: the pool requirement must hold in every one of them.
    terms.forEach((term: unknown, i: number) => {
      const exprs = (term as { matchExpressions?: unknown } | null)?.matchExpressions;
      const list = Array.isArray(exprs) ? exprs : [];
      if (!list.some((e) => sameExpression(e, key, values)))
        b.append([...termsPath, i, 'matchExpressions'], expr);
    });
    return;
  }
  const prefPath = [...na, 'preferredDuringSchedulingIgnoredDuringExecution'];
  const prefs = b.get(prefPath);
  const list = Array.isArray(prefs) ? prefs : [];
  const present = list.some((p: unknown) => {
    const exprs = (p as { preference?: { matchExpressions?: unknown } } | null)?.preference?.matchExpressions;
    return Array.isArray(exprs) && exprs.some((e) => sameExpression(e, key, values));
  });
  if (!present) b.append(prefPath, { weight: 100, preference: { matchExpressions: [expr] } });
}

/**
 * The JSON Patch the webhook returns for `pod` (empty when the pod is left alone). Throws
 * KubeInputError when the pod is malformed or an EPC quantity is unreadable; the server then lets
 * the pod through unchanged (and the validating webhook reports the problem).
 */
export function mutatePod(
  pod: unknown,
  config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
  ctx: MutateContext = {},
): JsonPatchOperation[] {
  const first = analysePod(pod, config, ctx);
  if (!first.sgx) return [];
  if (first.confidential !== undefined) {
    // Wrap first, then apply the EPC rules to the wrapped pod (which now asks for EPC).
    const wrap = confidentialContainerPatch(pod, first.confidential);
    const wrapped = wrap.length === 0 ? pod : applyJsonPatch(pod, wrap);
    return [...wrap, ...mutateSgxPod(wrapped, analysePod(wrapped, config, ctx), config)];
  }
  return mutateSgxPod(pod, first, config);
}

function mutateSgxPod(pod: unknown, a: PodAnalysis, config: WebhookConfig): JsonPatchOperation[] {
  const b = new PatchBuilder(pod);
  const epcUsers = a.epcs.filter((e) => e.mib > 0n);
  for (const e of epcUsers) {
    const provision =
      a.quoting === 'in-process' &&
      (a.inProcessContainer === undefined || a.inProcessContainer === e.container.name);
    mutateEpcContainer(b, e, provision);
  }
  if (a.quoting === 'out-of-process') {
    const targets =
      epcUsers.length > 0
        ? epcUsers.map((e) => e.container)
        : a.view.containers.filter((c) => c.list === 'containers');
    let mounted = false;
    for (const c of targets) mounted = mutateOutOfProcess(b, c) || mounted;
    if (mounted && !a.view.volumeNames.includes(AESMD_VOLUME_NAME)) {
      const sidecar = a.view.containers.some((c) => c.name === AESMD_SIDECAR_NAME);
      b.append(['spec', 'volumes'], {
        name: AESMD_VOLUME_NAME,
        ...(sidecar
          ? { emptyDir: { medium: 'Memory' } }
          : { hostPath: { path: AESM_SOCKET_DIR, type: 'DirectoryOrCreate' } }),
      });
    }
  }
  addTolerations(b, config.tolerations);
  addAffinity(b, config);
  if (a.totalEpcMib > 0n) {
    b.set(['metadata', 'annotations', ANNOTATION_EPC_TOTAL_MIB], String(a.totalEpcMib));
    b.set(['metadata', 'annotations', ANNOTATION_INTEL_EPC], mibToIntelQuantity(a.totalEpcMib));
  }
  return [...b.operations];
}

/** Applies `mutatePod` and returns the patched pod too (for `ccnodes kube mutate`). */
export function mutatePodWithResult(
  pod: unknown,
  config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
  ctx: MutateContext = {},
): { patch: JsonPatchOperation[]; pod: unknown; analysis: PodAnalysis } {
  const analysis = analysePod(pod, config, ctx);
  if (!analysis.sgx) return { patch: [], pod: structuredClone(pod), analysis };
  const patch = mutatePod(pod, config, ctx);
  const patched = applyJsonPatch(pod, patch);
  // A wrapped confidential container asks for EPC only once patched: describe the patched pod.
  const shown = analysis.confidential === undefined ? analysis : analysePod(patched, config, ctx);
  return { patch, pod: patched, analysis: shown };
}

/**
 * Applies `add` operations (the only kind mutatePod emits) to a copy of `doc`. Used to show the
 * patched pod; tests use their own independent applier.
 */
export function applyJsonPatch(doc: unknown, patch: readonly JsonPatchOperation[]): unknown {
  const b = new PatchBuilder(doc);
  for (const op of patch) {
    const tokens = op.path
      .split('/')
      .slice(1)
      .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = tokens.pop() ?? '';
    const parent = b.get(tokens.map((t) => (/^\d+$/.test(t) ? Number(t) : t)));
    if (Array.isArray(parent)) {
      if (last === '-') parent.push(structuredClone(op.value));
      else parent.splice(Number(last), 0, structuredClone(op.value));
    } else if (typeof parent === 'object' && parent !== null) {
      (parent as Record<string, unknown>)[last] = structuredClone(op.value);
    } else {
      throw new TypeError(`patch path ${op.path}: parent does not exist`);
    }
  }
  return b.draft;
}
