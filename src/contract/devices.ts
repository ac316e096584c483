/** SGX device node paths (DESIGN.md §3). */

/** In-kernel driver (Linux ≥ 5.11). */
export const DEV_SGX_ENCLAVE = '/dev/sgx_enclave';
export const DEV_SGX_PROVISION = '/dev/sgx_provision';
/** Legacy DCAP out-of-tree driver names. */
export const DEV_SGX_LEGACY_ENCLAVE = '/dev/sgx/enclave';
export const DEV_SGX_LEGACY_PROVISION = '/dev/sgx/provision';
/** Legacy out-of-tree (non-FLC) driver. */
export const DEV_ISGX = '/dev/isgx';
