/**
 * The three device-plugin resources of an SGX node (DESIGN.md §3):
 * - `kubernetes.azure.com/sgx_epc_mem_in_MiB`: one device per MiB of EPC (IDs "0".."N-1"), in device mode;
 * - `sgx.intel.com/enclave`: N shareable slots (`sgx-enclave-<i>`) giving the enclave node;
 * - `sgx.intel.com/provision`: N slots (`sgx-provision-<i>`) giving the provisioning node.
 * Health follows the device nodes: EPC and enclave devices are Healthy while the enclave node exists,
 * provision devices while the provisioning node exists. On a simulated node nothing is injected but
 * marker env vars, and every device stays Healthy.
 */
import {
  ENV_SGX_EPC_MIB,
  ENV_SGX_SIMULATED,
  ENV_SGX_SIMULATED_SKU,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
  RESOURCE_INTEL_PROVISION,
} from '../../contract/index.ts';
import type {
  ContainerAllocateRequest,
  ContainerAllocateResponse,
  ContainerPreferredAllocationRequest,
  ContainerPreferredAllocationResponse,
  Device,
  DevicePluginOptions,
  Mount,
  PreStartContainerRequest,
} from './api-types.ts';
import { cdiDeviceName } from './cdi.ts';
import { AllocationError } from './errors.ts';
import type { DevicePluginHandler } from './plugin-server.ts';
import { containerDeviceSpecs, type SgxDeviceNodes } from './sgx-scanner.ts';

/** Live view of the node the handlers answer from; the daemon replaces `nodes` after each rescan. */
export interface SgxNodeState {
  nodes: SgxDeviceNodes;
  /** Set on simulated nodes. */
  readonly simulatedSku?: string;
  /** Extra bind mounts for EPC allocations (e.g. the aesmd socket directory), empty by default. */
  readonly epcMounts: readonly Mount[];
  /** Extra env vars for EPC allocations (e.g. SGX_AESM_ADDR=1 with the aesmd mount). */
  readonly epcEnvs: Readonly<Record<string, string>>;
  /** Name CDI devices (cdi.ts) in Allocate instead of listing device specs. */
  readonly cdi?: boolean;
}

type Role = 'enclave' | 'provision';

interface ResourceShape {
  readonly resourceName: string;
  readonly role: Role;
  readonly count: number;
  readonly id: (i: number) => string;
  /** Index of an ID, or undefined if it is not one of ours. */
  readonly indexOf: (id: string) => number | undefined;
  readonly preferred: boolean;
  readonly epc: boolean;
}

class SgxResourceHandler implements DevicePluginHandler {
  readonly resourceName: string;
  readonly options: DevicePluginOptions;
  readonly #shape: ResourceShape;
  readonly #state: SgxNodeState;
  readonly #ids: string[];

  constructor(shape: ResourceShape, state: SgxNodeState) {
    this.#shape = shape;
    this.#state = state;
    this.resourceName = shape.resourceName;
    this.options = { pre_start_required: false, get_preferred_allocation_available: shape.preferred };
    this.#ids = Array.from({ length: shape.count }, (_, i) => shape.id(i));
  }

  /** True while the device node behind this resource exists (always on simulated nodes). */
  healthy(): boolean {
    if (this.#state.simulatedSku !== undefined) return true;
    return this.#shape.role === 'enclave'
      ? this.#state.nodes.enclave !== undefined
      : this.#state.nodes.provision !== undefined;
  }

  listDevices(): Device[] {
    const health = this.healthy() ? 'Healthy' : 'Unhealthy';
    return this.#ids.map((ID) => ({ ID, health }));
  }

  allocate(request: ContainerAllocateRequest): ContainerAllocateResponse {
    this.#checkKnown(request.devices_ids);
    if (!this.healthy()) {
      throw new AllocationError(
        'ERR_DEVICE_PLUGIN_UNHEALTHY_DEVICE',
        `${this.resourceName}: the SGX ${this.#shape.role} device node is gone; devices are Unhealthy`,
        { resourceName: this.resourceName },
      );
    }
    const envs: Record<string, string> = {};
    const response: ContainerAllocateResponse = {
      envs,
      mounts: [],
      devices: [],
      annotations: {},
      cdi_devices: [],
    };
    if (this.#shape.epc) {
      envs[ENV_SGX_EPC_MIB] = String(new Set(request.devices_ids).size);
      Object.assign(envs, this.#state.epcEnvs);
      response.mounts.push(...this.#state.epcMounts.map((m) => ({ ...m })));
    }
    if (this.#state.simulatedSku !== undefined) {
      envs[ENV_SGX_SIMULATED] = '1';
      envs[ENV_SGX_SIMULATED_SKU] = this.#state.simulatedSku;
      return response;
    }
    const node = this.#shape.role === 'enclave' ? this.#state.nodes.enclave : this.#state.nodes.provision;
    if (node === undefined) return response;
    if (this.#state.cdi === true) response.cdi_devices.push({ name: cdiDeviceName(node.role) });
    else response.devices.push(...containerDeviceSpecs(node));
    return response;
  }

  preferredAllocation(request: ContainerPreferredAllocationRequest): ContainerPreferredAllocationResponse {
    this.#checkKnown(request.available_deviceIDs);
    this.#checkKnown(request.must_include_deviceIDs);
    const chosen = new Set(request.must_include_deviceIDs);
    const rest = [...new Set(request.available_deviceIDs)]
      .filter((id) => !chosen.has(id))
      .sort((a, b) => (this.#shape.indexOf(a) ?? 0) - (this.#shape.indexOf(b) ?? 0));
    for (const id of rest) {
      if (chosen.size >= request.allocation_size) break;
      chosen.add(id);
    }
    return { deviceIDs: [...chosen] };
  }

  preStartContainer(request: PreStartContainerRequest): void {
    this.#checkKnown(request.devices_ids);
  }

  #checkKnown(ids: readonly string[]): void {
    for (const id of ids) {
      if (this.#shape.indexOf(id) === undefined) {
        throw new AllocationError(
          'ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE',
          `${this.resourceName}: device ID ${JSON.stringify(id)} was never advertised`,
          { resourceName: this.resourceName, id },
        );
      }
    }
  }
}

/** A handler together with its health probe (used by the daemon to decide when to push updates). */
export type SgxHandler = DevicePluginHandler & { healthy(): boolean };

function decimalIndex(count: number): (id: string) => number | undefined {
  return (id) => {
    if (!/^(0|[1-9]\d{0,8})$/.test(id)) return undefined;
    const n = Number(id);
    return n < count ? n : undefined;
  };
}

function prefixedIndex(prefix: string, count: number): (id: string) => number | undefined {
  const inner = decimalIndex(count);
  return (id) => (id.startsWith(prefix) ? inner(id.slice(prefix.length)) : undefined);
}

/** `kubernetes.azure.com/sgx_epc_mem_in_MiB`: `epcMib` devices "0".."epcMib-1". */
export function epcMibHandler(epcMib: number, state: SgxNodeState): SgxHandler {
  return new SgxResourceHandler(
    {
      resourceName: RESOURCE_EPC_MIB,
      role: 'enclave',
      count: epcMib,
      id: String,
      indexOf: decimalIndex(epcMib),
      preferred: true,
      epc: true,
    },
    state,
  );
}

/** `sgx.intel.com/enclave` with `count` slots. */
export function enclaveHandler(count: number, state: SgxNodeState): SgxHandler {
  const prefix = 'sgx-enclave-';
  return new SgxResourceHandler(
    {
      resourceName: RESOURCE_INTEL_ENCLAVE,
      role: 'enclave',
      count,
      id: (i) => `${prefix}${i}`,
      indexOf: prefixedIndex(prefix, count),
      preferred: false,
      epc: false,
    },
    state,
  );
}

/** `sgx.intel.com/provision` with `count` slots. */
export function provisionHandler(count: number, state: SgxNodeState): SgxHandler {
  const prefix = 'sgx-provision-';
  return new SgxResourceHandler(
    {
      resourceName: RESOURCE_INTEL_PROVISION,
      role: 'provision',
      count,
      id: (i) => `${prefix}${i}`,
      indexOf: prefixedIndex(prefix, count),
      preferred: false,
      epc: false,
    },
    state,
  );
}
