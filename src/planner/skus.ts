/**
 * The SKU table: Azure SGX VM sizes with what the planner needs of each (vCPU, memory, EPC, pods per
 * node, price per hour). Edit it here, or pass your own table (same shape, JSON or YAML) with
 * `ccnodes plan --sku-table <file>`; `validateSkuTable` checks either.
 *
 * Sizes and EPC: Microsoft's DCsv2 and DCv3 size pages (see `SKU_SOURCES`), restated in
 * ../shared/spec/k8s-sgx.md §4. Kernel-visible EPC is a little below the marketing figure on real
 * hardware; a real node's allocatable is what counts (put it in your own table if you have it).
 *
 * PRICES ARE ILLUSTRATIVE PLACEHOLDERS: they were NOT read from the Azure price list (no public price
 * source was reachable when the table was written; the DCv3 size page only says DCsv3 is priced like
 * Dv5/Dsv5 per physical core). They keep the ratios roughly right so the
 * cheapest-mix comparison is meaningful, but replace them with your region's pay-as-you-go prices
 * (Azure retail prices API or pricing calculator) before using the cost figures.
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
  'https://learn.microsoft.com/azure/virtual-machines/dcv2-series (DCsv2: vCPU, memory, temp disk, EPC MiB; MicrosoftDocs/azure-docs articles/virtual-machines/dcv2-series.md @0777393c)',
  'https://learn.microsoft.com/azure/virtual-machines/dcv3-series (DCsv3/DCdsv3: physical cores, memory, temp disk, EPC GiB; "pricing is the same as Dv5 and Dsv5-series per physical core"; MicrosoftDocs/azure-docs articles/virtual-machines/dcv3-series.md @02d00dc8)',
  'https://learn.microsoft.com/azure/confidential-computing/confidential-computing-enclaves (DCsv2 up to 168 MiB EPC, DCsv3/DCdsv3 up to 256 GB)',
  'https://learn.microsoft.com/azure/aks/node-resource-reservations (kube-reserved CPU table, memory reservation, eviction threshold)',
];

/** Default max pods per node: kubelet's default and the device plugin's default enclave slots. */
export const DEFAULT_MAX_PODS = 110;

const V2: readonly (readonly [string, number, number, number, number, number])[] = [
  // name, vCPU, memory GiB, EPC MiB, temp disk GiB, illustrative $/h
  ['Standard_DC1s_v2', 1, 4, 28, 50, 0.1],
  ['Standard_DC2s_v2', 2, 8, 56, 100, 0.2],
  ['Standard_DC4s_v2', 4, 16, 112, 200, 0.4],
  ['Standard_DC8_v2', 8, 32, 168, 400, 0.8],
];

const V3: readonly (readonly [number, number, number, number])[] = [
  // vCPU, memory GiB, EPC GiB, temp disk GiB (ds)
  [1, 8, 4, 75],
  [2, 16, 8, 150],
  [4, 32, 16, 300],
  [8, 64, 32, 600],
  [16, 128, 64, 1200],
  [24, 192, 128, 1800],
  [32, 256, 192, 2400],
  [48, 384, 256, 2400],
];

/** Illustrative $/vCPU-hour for DCsv3 and DCdsv3 (placeholders, see the module comment). */
const V3_RATE = 0.113;
const V3D_RATE = 0.126;

const round4 = (x: number): number => Math.round(x * 10_000) / 10_000;

/** The built-in table. */
export const DEFAULT_SKU_TABLE: SkuTable = {
  currency: 'USD',
  priceRegion: 'illustrative (no region)',
  priceDate: '2026-12-06',
  priceSource:
    'ILLUSTRATIVE PLACEHOLDERS, not read from the Azure price list: replace with your region’s pay-as-you-go prices via --sku-table',
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
    ...V3.map(([vcpu, memoryGiB, epcGiB]) => ({
      name: `Standard_DC${vcpu}s_v3`,
      family: 'DCsv3',
      vcpu,
      memoryGiB,
      epcMiB: epcGiB * 1024,
      maxPods: DEFAULT_MAX_PODS,
      pricePerHour: round4(vcpu * V3_RATE),
    })),
    ...V3.map(([vcpu, memoryGiB, epcGiB, disk]) => ({
      name: `Standard_DC${vcpu}ds_v3`,
      family: 'DCdsv3',
      vcpu,
      memoryGiB,
      epcMiB: epcGiB * 1024,
      maxPods: DEFAULT_MAX_PODS,
      pricePerHour: round4(vcpu * V3D_RATE),
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
      const out: { cpu?: string; memory?: string } = {};
      for (const k of Object.keys(alloc)) {
        const v = alloc[k];
        if (k !== 'cpu' && k !== 'memory')
          fail(`${name}: allocatable.${k} is not supported (cpu, memory)`, name);
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
