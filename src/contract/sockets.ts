/** Socket paths and environment the quote helper and its clients share (DESIGN.md §3). */

/** Where apps expect Intel's aesmd; the quote helper serves the AESM protocol here. */
export const AESM_SOCKET_DIR = '/var/run/aesmd';
export const AESM_SOCKET_PATH = '/var/run/aesmd/aesm.socket';
/** Apps set this so the SGX quote library uses the out-of-process AESM socket. */
export const ENV_SGX_AESM_ADDR = 'SGX_AESM_ADDR';
/** Kubelet's device-plugin directory and registration socket. */
export const KUBELET_DEVICE_PLUGIN_DIR = '/var/lib/kubelet/device-plugins';
export const KUBELET_SOCKET_NAME = 'kubelet.sock';
/** Kubelet's pod resources API (v1): which devices each running container holds. */
export const KUBELET_POD_RESOURCES_DIR = '/var/lib/kubelet/pod-resources';
export const KUBELET_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';
