/**
 * What the device plugin adds to a container that was allocated SGX resources (Allocate response),
 * so that workloads and tests can rely on the names.
 */

/** Number of EPC MiB devices allocated to the container (`kubernetes.azure.com/sgx_epc_mem_in_MiB`). */
export const ENV_SGX_EPC_MIB = 'CCNODES_SGX_EPC_MIB';
/** `"1"` when the node only simulates SGX: the container gets no device nodes, only this marker. */
export const ENV_SGX_SIMULATED = 'CCNODES_SGX_SIMULATED';
/** The simulated Azure SKU (e.g. `Standard_DC4s_v2`) on simulated nodes. */
export const ENV_SGX_SIMULATED_SKU = 'CCNODES_SGX_SIMULATED_SKU';
