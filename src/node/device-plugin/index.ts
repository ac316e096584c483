/**
 * The SGX device plugin: a generic kubelet device plugin server (API v1beta1), the SGX device scanner,
 * EPC sizing, node capacity patching, metrics, and the node doctor.
 */
export { DEVICE_PLUGIN_ERRORS, type DevicePluginErrorCode } from './errors.ts';
export {
  DevicePluginConfigError,
  DeviceDiscoveryError,
  DevicePluginServerError,
  AllocationError,
  NodePatchError,
  NodeSettingsError,
} from './errors.ts';
export {
  DEVICE_PLUGIN_API_VERSION,
  HEALTHY,
  UNHEALTHY,
  type AllocateRequest,
  type AllocateResponse,
  type CDIDevice,
  type ContainerAllocateRequest,
  type ContainerAllocateResponse,
  type ContainerPreferredAllocationRequest,
  type ContainerPreferredAllocationResponse,
  type Device,
  type DeviceHealth,
  type DevicePluginOptions,
  type DeviceSpec,
  type ListAndWatchResponse,
  type Mount,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type PreStartContainerRequest,
  type RegisterRequest,
} from './api-types.ts';
export { encodeListAndWatchResponse } from './list-and-watch-codec.ts';
export { devicePluginApi, unixTarget, DEVICE_PLUGIN_PROTO_PATH, type DevicePluginApi } from './proto.ts';
export { silentLogger, type PluginLogger } from './logger.ts';
export {
  DevicePluginServer,
  type DevicePluginHandler,
  type DevicePluginServerOptions,
  type DevicePluginServerEvents,
} from './plugin-server.ts';
export { findSgxSku, SGX_SKUS, type SgxSku } from './sku.ts';
export {
  KUBELET_MAX_RECEIVE_MESSAGE_BYTES,
  EPC_MODES,
  deviceEntrySize,
  epcListSize,
  maxDeviceModeEpcMib,
  parseEpcMode,
  resolveEpcMode,
  type EpcMode,
} from './epc-size.ts';
export {
  ENCLAVE_CANDIDATES,
  PROVISION_CANDIDATES,
  SYSFS_NUMA_DIR,
  containerDeviceSpecs,
  readSysfsEpc,
  requireEnclaveNode,
  scanSgxDeviceNodes,
  underDevRoot,
  type SgxDeviceNode,
  type SgxDeviceNodes,
  type SgxDriver,
  type StatFn,
  type SysfsEpc,
} from './sgx-scanner.ts';
export {
  enclaveHandler,
  epcMibHandler,
  provisionHandler,
  type SgxHandler,
  type SgxNodeState,
} from './sgx-handlers.ts';
export {
  applyNodeSettings,
  capacityPatch,
  escapePointerToken,
  kubeNodeClient,
  markingPatch,
  nodeSettingsApplier,
  parseNodeSettings,
  type JsonPatchOp,
  type NodeClient,
  type NodeMarking,
  type NodePatches,
  type NodeSettings,
  type NodeSettingsApplier,
  type NodeView,
  type TaintLike,
} from './node-patch.ts';
export {
  NODE_PATCH_STATES,
  NodePatchLoop,
  nodePatchRetryDelay,
  type NodePatchBackoff,
  type NodePatchLoopOptions,
  type NodePatchState,
  type NodePatchStatus,
} from './node-patch-loop.ts';
export { DEFAULT_SLOT_LIMIT, MAX_EPC_MIB, planSgxNode, type SgxPlan, type SgxPlanInput } from './sgx-plan.ts';
export { DevicePluginMetrics, DOCTOR_STATUSES } from './metrics.ts';
export { exportNodeDoctor, type DoctorExport } from './doctor-export.ts';
export {
  CDI_KIND,
  CDI_SPEC_FILE,
  CDI_VERSION,
  cdiDeviceName,
  cdiSpec,
  writeCdiSpec,
  type CdiDeviceNode,
  type CdiSpec,
} from './cdi.ts';
export {
  devicesInUse,
  PodResourcesClient,
  podResourcesService,
  POD_RESOURCES_PROTO_PATH,
  type ContainerDevices,
  type PodResourcesList,
} from './pod-resources.ts';
export {
  DEFAULT_METRICS_HTTP_LIMITS,
  parseListen,
  serveMetrics,
  type MetricsEndpoint,
  type MetricsHttpLimits,
} from './metrics-server.ts';
export {
  SgxDevicePlugin,
  pluginSocketName,
  startSgxDevicePlugin,
  type SgxDevicePluginConfig,
} from './sgx-daemon.ts';
export {
  MIN_SGX_KERNEL,
  cpuFlags,
  pccsProbeUrl,
  runNodeDoctor,
  type CheckStatus,
  type DoctorCheck,
  type DoctorOptions,
  type DoctorReport,
} from './doctor.ts';
export { KubeletPeer, PluginEndpoint, KUBELET_CHECKPOINT } from './kubelet-peer.ts';
