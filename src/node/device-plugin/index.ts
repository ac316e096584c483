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
export { devicePluginApi, unixTarget, DEVICE_PLUGIN_PROTO_PATH, type DevicePluginApi } from './proto.ts';
export { silentLogger, type PluginLogger } from './logger.ts';
export {
  DevicePluginServer,
  type DevicePluginHandler,
  type DevicePluginServerOptions,
  type DevicePluginServerEvents,
} from './plugin-server.ts';
