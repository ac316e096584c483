/**
 * Azure SGX VM sizes (spec §4) used by `--simulate <SKU>`: vCPU, memory and EPC as Azure documents
 * them. A simulated node advertises exactly this EPC.
 */
import { DevicePluginConfigError } from './errors.ts';

/** One Azure SGX VM size. */
export interface SgxSku {
  readonly name: string;
  readonly series: 'DCsv2' | 'DCsv3' | 'DCdsv3';
  readonly vcpu: number;
  readonly memoryGiB: number;
  readonly epcMiB: number;
}

function dcsv3(n: number, memoryGiB: number, epcGiB: number): SgxSku[] {
  return [
    { name: `Standard_DC${n}s_v3`, series: 'DCsv3', vcpu: n, memoryGiB, epcMiB: epcGiB * 1024 },
    { name: `Standard_DC${n}ds_v3`, series: 'DCdsv3', vcpu: n, memoryGiB, epcMiB: epcGiB * 1024 },
  ];
}

/** Every size of spec §4 with a documented EPC size. */
export const SGX_SKUS: readonly SgxSku[] = Object.freeze([
  { name: 'Standard_DC1s_v2', series: 'DCsv2', vcpu: 1, memoryGiB: 4, epcMiB: 28 },
  { name: 'Standard_DC2s_v2', series: 'DCsv2', vcpu: 2, memoryGiB: 8, epcMiB: 56 },
  { name: 'Standard_DC4s_v2', series: 'DCsv2', vcpu: 4, memoryGiB: 16, epcMiB: 112 },
  { name: 'Standard_DC8_v2', series: 'DCsv2', vcpu: 8, memoryGiB: 32, epcMiB: 168 },
  ...dcsv3(1, 8, 4),
  ...dcsv3(2, 16, 8),
  ...dcsv3(4, 32, 16),
  ...dcsv3(8, 64, 32),
  ...dcsv3(16, 128, 64),
  ...dcsv3(24, 192, 128),
  ...dcsv3(32, 256, 192),
  ...dcsv3(48, 384, 256),
]);

/** Looks a size up by name (case-insensitive); throws `ERR_DEVICE_PLUGIN_UNKNOWN_SKU` listing the known ones. */
export function findSgxSku(name: string): SgxSku {
  const wanted = name.toLowerCase();
  const sku = SGX_SKUS.find((s) => s.name.toLowerCase() === wanted);
  if (sku === undefined) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_UNKNOWN_SKU',
      `--simulate: ${JSON.stringify(name)} is not an Azure SGX VM size; known sizes: ${SGX_SKUS.map((s) => s.name).join(', ')}`,
      { option: 'simulate', value: name },
    );
  }
  return sku;
}
