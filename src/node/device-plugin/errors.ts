import { CcnodesError, type ErrorRegistry } from '../../errors/index.ts';

/**
 * Error codes of the SGX device plugin and node doctor. Discovery and configuration errors stop the
 * daemon at start with a message naming the path or option; RPC errors become gRPC statuses.
 */
export const DEVICE_PLUGIN_ERRORS = {
  ERR_DEVICE_PLUGIN_OPTION: {
    type: 'DevicePluginConfigError',
    summary: 'An option has a value the device plugin cannot use (names the option and the allowed values).',
  },
  ERR_DEVICE_PLUGIN_UNKNOWN_SKU: {
    type: 'DevicePluginConfigError',
    summary: '`--simulate` names a VM size that is not an Azure SGX SKU of spec §4 (lists the known sizes).',
  },
  ERR_DEVICE_PLUGIN_EPC_TOO_LARGE: {
    type: 'DevicePluginConfigError',
    summary:
      '`--epc-mode devices` was asked for more EPC MiB than one ListAndWatch message can carry under kubelet’s 4 MiB limit.',
  },
  ERR_DEVICE_PLUGIN_NODE_NAME: {
    type: 'DevicePluginConfigError',
    summary: 'Node capacity must be patched but no node name was given (`--node-name` or NODE_NAME).',
  },
  ERR_DEVICE_PLUGIN_NO_SGX_DEVICE: {
    type: 'DeviceDiscoveryError',
    summary: 'No SGX enclave device node was found under the device root (lists every path searched).',
  },
  ERR_DEVICE_PLUGIN_EPC_UNKNOWN: {
    type: 'DeviceDiscoveryError',
    summary: 'The EPC size is not reported under the sysfs root and `--epc-mib` was not given.',
  },
  ERR_DEVICE_PLUGIN_SYSFS_VALUE: {
    type: 'DeviceDiscoveryError',
    summary: 'A sysfs file holds something other than a non-negative decimal integer (names the file).',
  },
  ERR_DEVICE_PLUGIN_SOCKET_IN_USE: {
    type: 'DevicePluginServerError',
    summary: 'Another process already answers on the plugin socket; refusing to take it over.',
  },
  ERR_DEVICE_PLUGIN_LISTEN: {
    type: 'DevicePluginServerError',
    summary: 'The gRPC server could not listen on the plugin socket (names the path).',
  },
  ERR_DEVICE_PLUGIN_REGISTER: {
    type: 'DevicePluginServerError',
    summary: 'Kubelet refused or did not answer the Register call on kubelet.sock.',
  },
  ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE: {
    type: 'AllocationError',
    summary: 'Allocate or PreStartContainer named a device ID this plugin never advertised.',
  },
  ERR_DEVICE_PLUGIN_UNHEALTHY_DEVICE: {
    type: 'AllocationError',
    summary: 'Allocate asked for a device that is currently Unhealthy (its SGX device node is gone).',
  },
  ERR_DEVICE_PLUGIN_NODE_PATCH: {
    type: 'NodePatchError',
    summary: 'The API server rejected or failed the PATCH of the node (capacity, labels or taints).',
  },
  ERR_DEVICE_PLUGIN_NODE_SETTINGS: {
    type: 'NodeSettingsError',
    summary:
      'A node-settings document (`ccnodes node patch-node`) is not the expected JSON (names the field).',
  },
} as const satisfies ErrorRegistry;

export type DevicePluginErrorCode = keyof typeof DEVICE_PLUGIN_ERRORS;

type CodeOf<T extends string> = {
  [K in DevicePluginErrorCode]: (typeof DEVICE_PLUGIN_ERRORS)[K]['type'] extends T ? K : never;
}[DevicePluginErrorCode];

/** A flag or option value the plugin cannot use. */
export class DevicePluginConfigError extends CcnodesError {
  declare readonly code: CodeOf<'DevicePluginConfigError'>;
  constructor(
    code: CodeOf<'DevicePluginConfigError'>,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details });
  }
}

/** SGX device nodes or EPC size could not be discovered. */
export class DeviceDiscoveryError extends CcnodesError {
  declare readonly code: CodeOf<'DeviceDiscoveryError'>;
  constructor(
    code: CodeOf<'DeviceDiscoveryError'>,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, cause === undefined ? { details } : { details, cause });
  }
}

/** Serving the plugin socket or registering with kubelet failed. */
export class DevicePluginServerError extends CcnodesError {
  declare readonly code: CodeOf<'DevicePluginServerError'>;
  constructor(
    code: CodeOf<'DevicePluginServerError'>,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, cause === undefined ? { details } : { details, cause });
  }
}

/** An Allocate/PreStartContainer request kubelet sent cannot be honoured. */
export class AllocationError extends CcnodesError {
  declare readonly code: CodeOf<'AllocationError'>;
  constructor(code: CodeOf<'AllocationError'>, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/** The API server PATCH of the node failed. */
export class NodePatchError extends CcnodesError {
  declare readonly code: CodeOf<'NodePatchError'>;
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_DEVICE_PLUGIN_NODE_PATCH', message, cause === undefined ? { details } : { details, cause });
  }
}

/** A node-settings document (capacity, labels, taints to apply) is malformed. */
export class NodeSettingsError extends CcnodesError {
  declare readonly code: CodeOf<'NodeSettingsError'>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_DEVICE_PLUGIN_NODE_SETTINGS', message, { details });
  }
}
