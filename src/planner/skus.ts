/**
 * The SKU table: Azure SGX VM sizes with what the planner needs of each (vCPU, memory, EPC, pods per
 * node, price per hour). Edit it here, or pass your own table (same shape, JSON or YAML) with
 * `ccnodes plan --sku-table <file>`; `validateSkuTable` checks either.
 *
 * Sizes and EPC: Microsoft's DCsv2 and DCv3 size pages (see `SKU_SOURCES`), restated in
 * ../shared/spec/k8s-sgx.md §4. Kernel-visible EPC is a little below the marketing figure on real
 * hardware; a real node's allocatable is what counts (put it in your own table if you have it).
 *
 * Prices: USD per hour, Linux, pay-as-you-go ("Consumption", not spot or low priority), region
 * East US (`eastus`), as the Azure Retail Prices API returned them on 2026-06-18 — read from the
 * table Azure's Karpenter provider generates from that API (see `PRICE_SOURCE`). All 20 sizes were
 * listed there; none is estimated. Prices change and differ per region: put yours in a
 * `--sku-table` file for another region, OS or date.
 */
import { PlannerInputError } from './errors.ts';

/** One VM size. */
export interface Sku {
  /** Azure size name, e.g. `Standard_DC4s_v2` (the `node.kubernetes.io/instance-type` label). */
  readonly name: string;
  /** Series, e.g. `DCsv2`, `DCsv3`, `DCdsv3`. */
  readonly family: string;
  readonly vcpu: number;
  readonly memoryGiB: number;
  /** EPC in MiB (one `kubernetes.azure.com/sgx_epc_mem_in_MiB` unit per MiB). */
  readonly epcMiB: number;
  /** Pods per node (kubelet `--max-pods`). */
  readonly maxPods: number;
  /** Price per hour in the table's currency. */
  readonly pricePerHour: number;
  /** Local temporary disk (DCdsv3), GiB. */
  readonly tempDiskGiB?: number;
  /** Allocatable overrides (Kubernetes quantities) when you know the real node's values. */
  readonly allocatable?: {
    readonly cpu?: string;
    readonly memory?: string;
    readonly 'ephemeral-storage'?: string;
  };
}

/** A SKU table with where its numbers come from. */
export interface SkuTable {
  readonly currency: string;
  /** Region and date the prices are for, and where they come from. */
  readonly priceRegion: string;
  readonly priceDate: string;
  readonly priceSource: string;
  /** Where the sizes and EPC figures come from. */
  readonly sources: readonly string[];
  readonly skus: readonly Sku[];
}

/** Public sources of the size figures (vCPU, memory, EPC) and of the allocatable approximation. */
export const SKU_SOURCES: readonly string[] = [
  'https://learn.microsoft.com/azure/virtual-machines/dcv2-series (DCsv2: vCPU, memory GiB, temp disk, EPC MiB; MicrosoftDocs/azure-docs articles/virtual-machines/dcv2-series.md @0777393c)',
  'https://learn.microsoft.com/azure/virtual-machines/dcv3-series (DCsv3/DCdsv3: physical cores = vCPU, no hyperthreading; memory GB, temp disk, EPC GiB; "pricing is the same as Dv5 and Dsv5-series per physical core"; MicrosoftDocs/azure-docs articles/virtual-machines/dcv3-series.md @02d00dc8)',
  'https://learn.microsoft.com/azure/confidential-computing/confidential-computing-enclaves (DCsv2 up to 168 MiB EPC, DCsv3/DCdsv3 up to 256 GB)',
  'https://learn.microsoft.com/azure/aks/node-resource-reservations (kube-reserved CPU table, memory reservation, eviction threshold)',
];

/** Where the built-in prices come from. */
export const PRICE_SOURCE =
  'Azure Retail Prices API (https://prices.azure.com/api/retail/prices: priceType Consumption, USD, serviceName Virtual Machines, armRegionName eastus; Windows and Low Priority meters excluded, Spot kept apart), as generated at 2026-06-18T03:43:41Z into github.com/Azure/karpenter-provider-azure pkg/providers/pricing/zz_generated.pricing.go @2b431da1';

/** Default max pods per node: kubelet's default and the device plugin's default enclave slots. */
export const DEFAULT_MAX_PODS = 110;

// Sizes from the dcv2-series page; $/h from PRICE_SOURCE (eastus, Linux, pay-as-you-go).
const V2: readonly (readonly [string, number, number, number, number, number])[] = [
  // name, vCPU, memory GiB, EPC MiB, temp disk GiB, USD/h
  ['Standard_DC1s_v2', 1, 4, 28, 50, 0.096],
  ['Standard_DC2s_v2', 2, 8, 56, 100, 0.192],
  ['Standard_DC4s_v2', 4, 16, 112, 200, 0.384],
  ['Standard_DC8_v2', 8, 32, 168, 400, 0.768],
];

// Sizes from the dcv3-series page; $/h from PRICE_SOURCE (eastus, Linux, pay-as-you-go).
const V3: readonly (readonly [number, number, number, number, number, number])[] = [
  // vCPU, memory GiB, EPC GiB, temp disk GiB (ds), DCsv3 USD/h, DCdsv3 USD/h
  [1, 8, 4, 75, 0.096, 0.113],
  [2, 16, 8, 150, 0.192, 0.226],
  [4, 32, 16, 300, 0.384, 0.452],
  [8, 64, 32, 600, 0.768, 0.904],
  [16, 128, 64, 1200, 1.536, 1.808],
  [24, 192, 128, 1800, 2.304, 2.712],
  [32, 256, 192, 2400, 3.072, 3.616],
  [48, 384, 256, 2400, 4.608, 5.424],
];

/** The built-in table. */
export const DEFAULT_SKU_TABLE: SkuTable = {
  currency: 'USD',
  priceRegion: 'eastus (Linux, pay-as-you-go)',
  priceDate: '2026-06-18',
  priceSource: PRICE_SOURCE,
  sources: SKU_SOURCES,
  skus: [
    ...V2.map(([name, vcpu, memoryGiB, epcMiB, disk, price]) => ({
      name,
      family: 'DCsv2',
      vcpu,
      memoryGiB,
      epcMiB,
      maxPods: DEFAULT_MAX_PODS,
      pricePerHour: price,
      tempDiskGiB: disk,
    })),
    ...V3.map(([vcpu, memoryGiB, epcGiB, , price]) => ({
      name: `Standard_DC${vcpu}s_v3`,
      family: 'DCsv3',
      vcpu,
      memoryGiB,
      epcMiB: epcGiB * 1024,
      maxPods: DEFAULT_MAX_PODS,
      pricePerHour: price,
    })),
    ...V3.map(([vcpu, memoryGiB, epcGiB, disk, , price]) => ({
      name: `Standard_DC${vcpu}ds_v3`,
      family: 'DCdsv3',
      vcpu,
      memoryGiB,
      epcMiB: epcGiB * 1024,
      maxPods: DEFAULT_MAX_PODS,
      pricePerHour: price,
      tempDiskGiB: disk,
    })),
  ],
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fail(message: string, entry?: string): never {
  throw new PlannerInputError('ERR_PLAN_SKU_TABLE', message, entry === undefined ? {} : { entry });
}

function positive(v: unknown, field: string, entry: string, integer: boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    fail(`${entry}: ${field} must be a positive ${integer ? 'integer' : 'number'}`, entry);
  return v;
}

function str(v: unknown, field: string, fallback?: string): string {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || v === '') fail(`${field} must be a non-empty string`);
  return v;
}

/** Checks a parsed SKU table (JSON/YAML object); throws ERR_PLAN_SKU_TABLE naming the bad entry. */
export function validateSkuTable(raw: unknown): SkuTable {
  if (!isRecord(raw)) fail('the SKU table must be an object with a "skus" list');
  const list = raw['skus'];
  if (!Array.isArray(list) || list.length === 0) fail('"skus" must be a non-empty list');
  const seen = new Set<string>();
  const skus = list.map((e: unknown, i): Sku => {
    if (!isRecord(e)) fail(`skus[${i}] must be an object`, `skus[${i}]`);
    const name = e['name'];
    if (typeof name !== 'string' || name === '')
      fail(`skus[${i}].name must be a non-empty string`, `skus[${i}]`);
    if (seen.has(name)) fail(`${name}: listed twice`, name);
    seen.add(name);
    const family = typeof e['family'] === 'string' ? e['family'] : '';
    const maxPods =
      e['maxPods'] === undefined ? DEFAULT_MAX_PODS : positive(e['maxPods'], 'maxPods', name, true);
    const price = e['pricePerHour'];
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
      fail(`${name}: pricePerHour must be a number >= 0`, name);
    const sku: Sku = {
      name,
      family,
      vcpu: positive(e['vcpu'], 'vcpu', name, false),
      memoryGiB: positive(e['memoryGiB'], 'memoryGiB', name, false),
      epcMiB: positive(e['epcMiB'], 'epcMiB', name, true),
      maxPods,
      pricePerHour: price,
      ...(typeof e['tempDiskGiB'] === 'number' ? { tempDiskGiB: e['tempDiskGiB'] } : {}),
    };
    const alloc = e['allocatable'];
    if (alloc !== undefined) {
      if (!isRecord(alloc)) fail(`${name}: allocatable must be an object`, name);
      const out: { cpu?: string; memory?: string; 'ephemeral-storage'?: string } = {};
      for (const k of Object.keys(alloc)) {
        const v = alloc[k];
        if (k !== 'cpu' && k !== 'memory' && k !== 'ephemeral-storage')
          fail(`${name}: allocatable.${k} is not supported (cpu, memory, ephemeral-storage)`, name);
        if (typeof v !== 'string' && typeof v !== 'number')
          fail(`${name}: allocatable.${k} must be a quantity`, name);
        out[k] = String(v);
      }
      return { ...sku, allocatable: out };
    }
    return sku;
  });
  const sources = raw['sources'];
  return {
    currency: str(raw['currency'], 'currency', 'USD'),
    priceRegion: str(raw['priceRegion'], 'priceRegion', 'unspecified'),
    priceDate: str(raw['priceDate'], 'priceDate', 'unspecified'),
    priceSource: str(raw['priceSource'], 'priceSource', 'unspecified'),
    sources: Array.isArray(sources) ? sources.map((s) => String(s)) : [],
    skus,
  };
}

/** The SKUs named in `names` (all of the table when undefined), in the order given. */
export function selectSkus(table: SkuTable, names: readonly string[] | undefined): readonly Sku[] {
  if (names === undefined) return table.skus;
  return names.map((n) => {
    const wanted = n.startsWith('Standard_') ? n : `Standard_${n}`;
    const sku = table.skus.find((s) => s.name === wanted || s.name.toLowerCase() === wanted.toLowerCase());
    if (sku === undefined)
      throw new PlannerInputError(
        'ERR_PLAN_SKU_UNKNOWN',
        `unknown SKU "${n}"; known: ${table.skus.map((s) => s.name).join(', ')}`,
        { sku: n },
      );
    return sku;
  });
}
