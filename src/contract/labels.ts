/**
 * Node labels and taints that ccnodes puts on confidential nodes (the node doctor computes them, the
 * device plugin and the node labeller apply them, the webhook and manifests select on them).
 */

/** `"true"` when the node has usable SGX hardware (device nodes, SGX and launch-control flags). */
export const LABEL_SGX = 'ccnodes.io/sgx';
/** EPC size in MiB as a decimal string (e.g. `"112"`), from sysfs, `--epc-mib` or the simulated SKU. */
export const LABEL_EPC_MIB = 'ccnodes.io/epc-mib';
/** `"true"` when the CPU offers SGX flexible launch control (`sgx_lc` in /proc/cpuinfo). */
export const LABEL_FLC = 'ccnodes.io/flc';
/** `"true"` when the kernel exposes FSGSBASE to user space (`fsgsbase` in /proc/cpuinfo). */
export const LABEL_FSGSBASE = 'ccnodes.io/fsgsbase';
/** `"true"` on nodes that only simulate SGX (device plugin `--simulate <SKU>`). */
export const LABEL_SIMULATED = 'ccnodes.io/simulated';

/** The shape of a Kubernetes taint (core/v1 Taint without timeAdded). */
export interface TaintSpec {
  readonly key: string;
  readonly value: string;
  readonly effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * Taint on simulated nodes, so that workloads needing real SGX never land there. Simulation
 * workloads tolerate it explicitly.
 */
export const TAINT_SIMULATED: TaintSpec = { key: LABEL_SIMULATED, value: 'true', effect: 'NoSchedule' };

/** Label values used by ccnodes for boolean labels. */
export const LABEL_TRUE = 'true';
export const LABEL_FALSE = 'false';
