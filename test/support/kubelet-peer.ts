/**
 * The kubelet peer used by the device plugin tests. It lives in src/node/device-plugin/kubelet-peer.ts
 * because `ccnodes demo` registers its simulated device plugin with it too.
 */
export { KubeletPeer, PluginEndpoint, KUBELET_CHECKPOINT } from '../../src/node/device-plugin/index.ts';
