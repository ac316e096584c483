/**
 * TypeScript shapes of the kubelet device plugin API v1beta1 messages (proto/deviceplugin/v1beta1/api.proto),
 * as @grpc/proto-loader presents them with `keepCase: true`: field names exactly as in the proto.
 */

/** Exact health strings of the API (spec §1.1). */
export type DeviceHealth = 'Healthy' | 'Unhealthy';

export const HEALTHY: DeviceHealth = 'Healthy';
export const UNHEALTHY: DeviceHealth = 'Unhealthy';

/** The only API version kubelet accepts in `RegisterRequest.version`. */
export const DEVICE_PLUGIN_API_VERSION = 'v1beta1';

export interface DevicePluginOptions {
  pre_start_required: boolean;
  get_preferred_allocation_available: boolean;
}

export interface RegisterRequest {
  version: string;
  endpoint: string;
  resource_name: string;
  options: DevicePluginOptions;
}

export interface NUMANode {
  ID: number;
}

export interface TopologyInfo {
  nodes: NUMANode[];
}

export interface Device {
  ID: string;
  health: DeviceHealth;
  /** Absent: no NUMA affinity (SGX device nodes have none). */
  topology?: TopologyInfo | null;
}

export interface ListAndWatchResponse {
  devices: Device[];
}

export interface ContainerPreferredAllocationRequest {
  available_deviceIDs: string[];
  must_include_deviceIDs: string[];
  allocation_size: number;
}

export interface PreferredAllocationRequest {
  container_requests: ContainerPreferredAllocationRequest[];
}

export interface ContainerPreferredAllocationResponse {
  deviceIDs: string[];
}

export interface PreferredAllocationResponse {
  container_responses: ContainerPreferredAllocationResponse[];
}

export interface ContainerAllocateRequest {
  devices_ids: string[];
}

export interface AllocateRequest {
  container_requests: ContainerAllocateRequest[];
}

export interface Mount {
  container_path: string;
  host_path: string;
  read_only: boolean;
}

export interface DeviceSpec {
  container_path: string;
  host_path: string;
  /** cgroup letters from r, w, m. */
  permissions: string;
}

export interface CDIDevice {
  name: string;
}

export interface ContainerAllocateResponse {
  envs: Record<string, string>;
  mounts: Mount[];
  devices: DeviceSpec[];
  annotations: Record<string, string>;
  cdi_devices: CDIDevice[];
}

export interface AllocateResponse {
  container_responses: ContainerAllocateResponse[];
}

export interface PreStartContainerRequest {
  devices_ids: string[];
}

export type PreStartContainerResponse = Record<string, never>;
