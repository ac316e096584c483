/**
 * Names the admission webhook, the node labeller and the deployment manifests share: pod annotations,
 * the confidential-pool label and taint, the quoting modes and the webhook's HTTP paths.
 * Pure constants and types.
 */
import type { TaintSpec } from './labels.ts';

/**
 * Pod annotation: `"true"` treats the pod as an SGX pod even when no container asks for EPC
 * (tolerations, pool affinity, quoting set-up); `"false"` makes the webhook leave the pod alone.
 */
export const ANNOTATION_SGX = 'ccnodes.io/sgx';
/** Pod annotation choosing how quotes are made: one of {@link QUOTING_MODES}. */
export const ANNOTATION_QUOTING = 'ccnodes.io/quoting';
/** Pod annotation the webhook writes: the pod's effective EPC in MiB (decimal string). */
export const ANNOTATION_EPC_TOTAL_MIB = 'ccnodes.io/epc-total-mib';
/**
 * Intel's pod annotation for the pod's total EPC as a binary-SI quantity (e.g. `"10Mi"`), read by
 * Kata Containers to size the VM's virtual EPC. The webhook writes it too.
 */
export const ANNOTATION_INTEL_EPC = 'sgx.intel.com/epc';
/**
 * Intel's quote-provider annotation: `aesmd` means out-of-process quoting; a container's name means
 * that container quotes in-process (it gets `sgx.intel.com/provision`).
 */
export const ANNOTATION_INTEL_QUOTE_PROVIDER = 'sgx.intel.com/quote-provider';
/** The value of {@link ANNOTATION_INTEL_QUOTE_PROVIDER} that selects out-of-process quoting. */
export const INTEL_QUOTE_PROVIDER_AESMD = 'aesmd';

/** How an SGX pod obtains quotes. */
export const QUOTING_MODES = ['out-of-process', 'in-process', 'none'] as const;
export type QuotingMode = (typeof QUOTING_MODES)[number];

/** Name of the volume the webhook adds for the AESM socket directory. */
export const AESMD_VOLUME_NAME = 'aesmd-socket';
/** A container with this name in the pod is an aesmd sidecar: the socket volume becomes an in-memory emptyDir. */
export const AESMD_SIDECAR_NAME = 'aesmd';

/**
 * Node label the cluster administrator puts on confidential node pools when creating them
 * (e.g. `az aks nodepool add --labels ccnodes.io/pool=confidential`). Node agents are scheduled on it
 * and SGX pods get node affinity to it.
 */
export const LABEL_POOL = 'ccnodes.io/pool';
/** Value of {@link LABEL_POOL} on confidential pools. */
export const POOL_CONFIDENTIAL = 'confidential';
/**
 * The documented taint for confidential pools, so that regular pods stay on regular pools; the
 * webhook adds the matching toleration to SGX pods.
 */
export const TAINT_CONFIDENTIAL: TaintSpec = {
  key: LABEL_POOL,
  value: POOL_CONFIDENTIAL,
  effect: 'NoSchedule',
};
/** AKS spot pools carry this taint; node agents tolerate it so spot confidential pools work. */
export const TAINT_AKS_SPOT: TaintSpec = {
  key: 'kubernetes.azure.com/scalesetpriority',
  value: 'spot',
  effect: 'NoSchedule',
};

/** HTTP paths of the admission webhook. */
export const WEBHOOK_MUTATE_PATH = '/mutate';
export const WEBHOOK_VALIDATE_PATH = '/validate';
export const WEBHOOK_HEALTH_PATH = '/healthz';
/** Names of the webhooks in the Mutating/ValidatingWebhookConfiguration (must be fully qualified). */
export const MUTATING_WEBHOOK_NAME = 'epc.mutate.ccnodes.io';
export const VALIDATING_WEBHOOK_NAME = 'epc.validate.ccnodes.io';

/**
 * Pod annotation naming the ConfigMap that holds a confidential container's app manifest (`app.yaml`)
 * and its signed identity (`app.sig`): the webhook wraps the pod's container in `ccnodes container run`.
 */
export const ANNOTATION_CONFIDENTIAL_CONTAINER = 'ccnodes.io/confidential-container';
/** EPC (MiB, decimal) requested for the wrapped container when it asks for none; default 64 (the manifest's default `epcMiB`). */
export const ANNOTATION_CONFIDENTIAL_EPC_MIB = 'ccnodes.io/confidential-container-epc-mib';
/** Absolute directory of the app in the image, where app.yaml and app.sig are mounted; default `/ccnodes/app`. */
export const ANNOTATION_CONFIDENTIAL_APP_DIR = 'ccnodes.io/confidential-container-dir';
/** Name of the container to wrap; default the first of `spec.containers`. */
export const ANNOTATION_CONFIDENTIAL_TARGET = 'ccnodes.io/confidential-container-target';

/**
 * Pod annotations stating the enclave identity a pod runs (64 hex digits each): written by whoever
 * deploys the pod (or a webhook that knows the signed app), read by the operator dashboard. Without
 * them the dashboard takes the MRENCLAVE of the newest token issued to the pod's IP from the audit log.
 */
export const ANNOTATION_MRENCLAVE = 'ccnodes.io/mrenclave';
export const ANNOTATION_MRSIGNER = 'ccnodes.io/mrsigner';

/**
 * How the operator dashboard finds the node agents' Prometheus endpoints in a cluster: pods labelled
 * {@link LABEL_APP_PART_OF}={@link APP_PART_OF_CCNODES} (as `deploy render` labels every component),
 * with a container port named {@link METRICS_PORT_NAME}, scraped at `http://<pod IP>:<port>/metrics`.
 */
export const LABEL_APP_PART_OF = 'app.kubernetes.io/part-of';
export const LABEL_APP_COMPONENT = 'app.kubernetes.io/component';
export const APP_PART_OF_CCNODES = 'ccnodes';
export const METRICS_PORT_NAME = 'metrics';
