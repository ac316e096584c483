/**
 * Node shapes for SKUs: what a freshly joined confidential-pool node of a given Azure size offers
 * the scheduler (labels, taints, allocatable), with AKS's reservations approximated.
 *
 * Allocatable (https://learn.microsoft.com/azure/aks/node-resource-reservations):
 * - cpu: vCPU × 1000 minus AKS's kube-reserved table (1 core 60m, 2: 100m, 4: 140m, 8: 180m,
 *   16: 260m, 32: 420m, 64: 740m; sizes between two rows are interpolated linearly, e.g. 24 → 340m,
 *   48 → 580m);
 * - memory: the VM's memory minus kube-reserved (AKS 1.29+: the lesser of 20 MiB × max pods + 50 MiB
 *   and 25 % of the memory; the doc says MB, we count MiB) minus the 100 MiB hard eviction threshold;
 * - pods: the SKU's max pods;
 * - both EPC dialects (`kubernetes.azure.com/sgx_epc_mem_in_MiB` = EPC MiB, `sgx.intel.com/epc` =
 *   EPC bytes) and `sgx.intel.com/enclave` / `sgx.intel.com/provision` (the device plugin's slots,
 *   default 110), as the ccnodes device plugin advertises them (docs/device-plugin.md).
 * - ephemeral-storage: AKS's default 128 GiB OS disk less kubelet's 10 % `nodefs.available` eviction
 *   threshold (115.2 GiB);
 * A SKU entry's `allocatable` overrides cpu/memory/ephemeral-storage when you know the real values.
 */
import {
  LABEL_EPC_MIB,
  LABEL_POOL,
  LABEL_SGX,
  LABEL_TRUE,
  MIB,
  POOL_CONFIDENTIAL,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
  RESOURCE_INTEL_EPC_BYTES,
  RESOURCE_INTEL_PROVISION,
  TAINT_CONFIDENTIAL,
} from '../contract/index.ts';
import type { NodeShape, Taint } from './model.ts';
import { quantityAmount } from './quantity.ts';
import type { Sku } from './skus.ts';

/** How the pool's nodes are set up. */
export interface PoolOptions {
  /** Taint the pool's nodes `ccnodes.io/pool=confidential:NoSchedule` (default true, as deployed). */
  readonly taint?: boolean;
  /** Device-plugin slots of `sgx.intel.com/enclave` and `sgx.intel.com/provision` (default 110). */
  readonly enclaveSlots?: number;
  /** Extra node labels. */
  readonly labels?: Readonly<Record<string, string>>;
}

/** AKS's default OS disk size (GiB). */
export const DEFAULT_OS_DISK_GIB = 128;

const CPU_RESERVED: readonly (readonly [number, number])[] = [
  [1, 60],
  [2, 100],
  [4, 140],
  [8, 180],
  [16, 260],
  [32, 420],
  [64, 740],
];

/** AKS kube-reserved CPU in millicores for a host with `cores` cores (table, interpolated). */
export function aksReservedCpuMilli(cores: number): number {
  const first = CPU_RESERVED[0] as readonly [number, number];
  if (cores <= first[0]) return first[1];
  for (let i = 1; i < CPU_RESERVED.length; i++) {
    const [c1, m1] = CPU_RESERVED[i] as readonly [number, number];
    const [c0, m0] = CPU_RESERVED[i - 1] as readonly [number, number];
    if (cores <= c1) return Math.round(m0 + ((m1 - m0) * (cores - c0)) / (c1 - c0));
  }
  const [cl, ml] = CPU_RESERVED[CPU_RESERVED.length - 1] as readonly [number, number];
  return Math.round(ml + ((ml - 420) / 32) * (cores - cl));
}

/** AKS (1.29+) kube-reserved plus eviction threshold, in bytes, for `memoryBytes` and `maxPods`. */
export function aksReservedMemoryBytes(memoryBytes: number, maxPods: number): number {
  const kubeReserved = Math.min((20 * maxPods + 50) * MIB, Math.floor(memoryBytes / 4));
  return kubeReserved + 100 * MIB;
}

/** The node shape of a fresh node of `sku`. */
export function skuNodeShape(sku: Sku, options: PoolOptions = {}): NodeShape {
  const memory = Math.round(sku.memoryGiB * 1024) * MIB;
  const cpu =
    sku.allocatable?.cpu !== undefined
      ? quantityAmount(sku.allocatable.cpu, `${sku.name}.allocatable.cpu`, 'milli')
      : Math.round(sku.vcpu * 1000) - aksReservedCpuMilli(sku.vcpu);
  const mem =
    sku.allocatable?.memory !== undefined
      ? quantityAmount(sku.allocatable.memory, `${sku.name}.allocatable.memory`, 'bytes')
      : memory - aksReservedMemoryBytes(memory, sku.maxPods);
  const eph =
    sku.allocatable?.['ephemeral-storage'] !== undefined
      ? quantityAmount(
          sku.allocatable['ephemeral-storage'],
          `${sku.name}.allocatable.ephemeral-storage`,
          'bytes',
        )
      : Math.floor(DEFAULT_OS_DISK_GIB * 1024 * 0.9) * MIB;
  const slots = options.enclaveSlots ?? 110;
  const taints: Taint[] =
    options.taint === false
      ? []
      : [{ key: TAINT_CONFIDENTIAL.key, value: TAINT_CONFIDENTIAL.value, effect: 'NoSchedule' }];
  return {
    name: sku.name,
    labels: {
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': sku.name,
      [LABEL_POOL]: POOL_CONFIDENTIAL,
      [LABEL_SGX]: LABEL_TRUE,
      [LABEL_EPC_MIB]: String(sku.epcMiB),
      ...(options.labels ?? {}),
    },
    taints,
    allocatable: {
      cpu,
      memory: mem,
      'ephemeral-storage': eph,
      pods: sku.maxPods,
      [RESOURCE_EPC_MIB]: sku.epcMiB,
      [RESOURCE_INTEL_EPC_BYTES]: sku.epcMiB * MIB,
      [RESOURCE_INTEL_ENCLAVE]: slots,
      [RESOURCE_INTEL_PROVISION]: slots,
    },
  };
}
