/**
 * Decides what an SGX node advertises (DESIGN.md §3): scans the device and sysfs roots (or takes a
 * simulated SKU), sizes the EPC, resolves `--epc-mode`, and lists the device-plugin resources, the
 * node-status capacity, the labels and the taints.
 */
import {
  LABEL_EPC_MIB,
  LABEL_FALSE,
  LABEL_SGX,
  LABEL_SIMULATED,
  LABEL_TRUE,
  MIB,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
  RESOURCE_INTEL_EPC_BYTES,
  RESOURCE_INTEL_PROVISION,
  TAINT_SIMULATED,
} from '../../contract/index.ts';
import { resolveEpcMode, type EpcMode } from './epc-size.ts';
import { DeviceDiscoveryError, DevicePluginConfigError } from './errors.ts';
import type { NodeMarking } from './node-patch.ts';
import {
  readSysfsEpc,
  requireEnclaveNode,
  scanSgxDeviceNodes,
  type SgxDeviceNodes,
  type StatFn,
} from './sgx-scanner.ts';
import { findSgxSku } from './sku.ts';

/** Inputs of {@link planSgxNode}. */
export interface SgxPlanInput {
  readonly devRoot: string;
  readonly sysRoot: string;
  readonly epcMode: EpcMode;
  /** Overrides sysfs (MiB). */
  readonly epcMib?: number;
  /** Azure SKU to simulate (no hardware needed). */
  readonly simulate?: string;
  /** Slots of `sgx.intel.com/enclave` (default 110, as Intel's plugin). */
  readonly enclaveLimit?: number;
  /** Slots of `sgx.intel.com/provision` (default 110). */
  readonly provisionLimit?: number;
  readonly stat?: StatFn;
}

/** What the node advertises. */
export interface SgxPlan {
  readonly epcMib: number;
  readonly epcBytes: number;
  readonly epcSource: 'sysfs' | 'flag' | 'simulated';
  /** How `kubernetes.azure.com/sgx_epc_mem_in_MiB` is advertised. */
  readonly epcMode: 'devices' | 'capacity';
  readonly simulatedSku?: string;
  /** Device-plugin resources with their device counts. */
  readonly deviceResources: Readonly<Record<string, number>>;
  /** Extended resources patched into node status capacity. */
  readonly capacity: Readonly<Record<string, string>>;
  readonly marking: NodeMarking;
  /** The device nodes found (empty on simulated nodes). */
  readonly nodes: SgxDeviceNodes;
}

export const DEFAULT_SLOT_LIMIT = 110;
/** Largest accepted `--epc-mib` (1 TiB), far above any SGX part. */
export const MAX_EPC_MIB = 1024 * 1024;

function checkCount(option: string, value: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_OPTION',
      `--${option}: ${value} is not an integer between 1 and ${max}`,
      { option, value },
    );
  }
  return value;
}

/** Scans and decides; throws typed discovery/config errors. */
export async function planSgxNode(input: SgxPlanInput): Promise<SgxPlan> {
  const enclaveLimit = checkCount('enclave-limit', input.enclaveLimit ?? DEFAULT_SLOT_LIMIT, 100_000);
  const provisionLimit = checkCount('provision-limit', input.provisionLimit ?? DEFAULT_SLOT_LIMIT, 100_000);
  if (input.epcMib !== undefined) checkCount('epc-mib', input.epcMib, MAX_EPC_MIB);

  let nodes: SgxDeviceNodes = { searched: [], notCharDevices: [] };
  let epcMib: number;
  let epcBytes: number;
  let epcSource: SgxPlan['epcSource'];
  let simulatedSku: string | undefined;
  if (input.simulate !== undefined) {
    const sku = findSgxSku(input.simulate);
    simulatedSku = sku.name;
    epcMib = input.epcMib ?? sku.epcMiB;
    epcBytes = epcMib * MIB;
    epcSource = input.epcMib === undefined ? 'simulated' : 'flag';
  } else {
    nodes = await scanSgxDeviceNodes(input.devRoot, input.stat);
    requireEnclaveNode(nodes, input.devRoot);
    if (input.epcMib !== undefined) {
      epcMib = input.epcMib;
      epcBytes = epcMib * MIB;
      epcSource = 'flag';
    } else {
      const sysfs = await readSysfsEpc(input.sysRoot);
      if (sysfs === undefined || sysfs.bytes < MIB) {
        throw new DeviceDiscoveryError(
          'ERR_DEVICE_PLUGIN_EPC_UNKNOWN',
          sysfs === undefined
            ? `EPC size unknown: no ${input.sysRoot}/devices/system/node/node*/x86/sgx_total_bytes (kernel older than 5.17?); pass --epc-mib`
            : `EPC size from sysfs is ${sysfs.bytes} bytes, less than 1 MiB; pass --epc-mib`,
          { sysRoot: input.sysRoot },
        );
      }
      epcBytes = sysfs.bytes;
      epcMib = Math.floor(sysfs.bytes / MIB);
      epcSource = 'sysfs';
    }
  }

  const epcMode = resolveEpcMode(input.epcMode, epcMib);
  const deviceResources: Record<string, number> = {};
  if (epcMode === 'devices') deviceResources[RESOURCE_EPC_MIB] = epcMib;
  deviceResources[RESOURCE_INTEL_ENCLAVE] = enclaveLimit;
  if (simulatedSku !== undefined || nodes.provision !== undefined) {
    deviceResources[RESOURCE_INTEL_PROVISION] = provisionLimit;
  }
  const capacity: Record<string, string> = { [RESOURCE_INTEL_EPC_BYTES]: String(epcBytes) };
  if (epcMode === 'capacity') capacity[RESOURCE_EPC_MIB] = String(epcMib);
  const simulated = simulatedSku !== undefined;
  const marking: NodeMarking = {
    labels: {
      [LABEL_SGX]: simulated ? LABEL_FALSE : LABEL_TRUE,
      [LABEL_EPC_MIB]: String(epcMib),
      [LABEL_SIMULATED]: simulated ? LABEL_TRUE : LABEL_FALSE,
    },
    taints: simulated ? [TAINT_SIMULATED] : [],
    removeTaints: simulated ? [] : [TAINT_SIMULATED],
  };
  return {
    epcMib,
    epcBytes,
    epcSource,
    epcMode,
    ...(simulatedSku === undefined ? {} : { simulatedSku }),
    deviceResources,
    capacity,
    marking,
    nodes,
  };
}
