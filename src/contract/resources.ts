/** Extended resource names and their units (DESIGN.md §3). */

/** EPC memory in MiB (the AKS dialect). One device per MiB in device mode. */
export const RESOURCE_EPC_MIB = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
/** EPC memory in bytes (Intel's device plugin dialect), advertised as node capacity. */
export const RESOURCE_INTEL_EPC_BYTES = 'sgx.intel.com/epc';
/** Access to the enclave device node (Intel dialect). */
export const RESOURCE_INTEL_ENCLAVE = 'sgx.intel.com/enclave';
/** Access to the provisioning device node (Intel dialect), for in-process quoting. */
export const RESOURCE_INTEL_PROVISION = 'sgx.intel.com/provision';

export const MIB = 1024 * 1024;
