/**
 * Kubernetes resource quantities for the planner, read with the shared parser
 * (src/contract/quantity.ts) and turned into the integers the planner counts in:
 *
 * - `cpu` in millicores, rounded up (the API server keeps at most milli precision);
 * - `memory`, `ephemeral-storage` and `sgx.intel.com/epc` in bytes, rounded up;
 * - any other resource (extended resources such as `kubernetes.azure.com/sgx_epc_mem_in_MiB`,
 *   `sgx.intel.com/enclave`, and `pods`) as a whole count; a fraction is an error, as the API server
 *   refuses fractional extended resources.
 *
 * Refusals (not a quantity, negative, exponent out of range) are `ERR_PLAN_QUANTITY` naming the field.
 */
import { isNegative, readQuantity } from '../contract/index.ts';
import { PlannerInputError } from './errors.ts';

/** value = numerator / denominator. */
export interface Rational {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** Parses a quantity (string or JSON number); `field` names it in errors. Negative values are refused. */
export function parseQuantity(value: unknown, field: string): Rational {
  const r = readQuantity(value);
  if (!r.ok) {
    const message =
      r.problem === 'type'
        ? `${field}: expected a quantity, got ${r.text === '' ? 'nothing' : r.text}`
        : r.problem === 'exponent'
          ? `${field}: exponent in "${r.text}" is out of range`
          : `${field}: "${r.text}" is not a non-negative Kubernetes quantity`;
    throw new PlannerInputError('ERR_PLAN_QUANTITY', message, { field });
  }
  if (isNegative(r.quantity))
    throw new PlannerInputError(
      'ERR_PLAN_QUANTITY',
      `${field}: "${r.quantity.text}" is not a non-negative Kubernetes quantity`,
      { field },
    );
  return { numerator: r.quantity.numerator, denominator: r.quantity.denominator };
}

function ceilDiv(q: Rational, unit: bigint): bigint {
  const d = q.denominator * unit;
  return (q.numerator + d - 1n) / d;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function toSafe(v: bigint, field: string): number {
  if (v > MAX_SAFE)
    throw new PlannerInputError('ERR_PLAN_QUANTITY', `${field}: value is too large to plan with`, { field });
  return Number(v);
}

/** The unit the planner counts a resource in. */
export type ResourceUnit = 'milli' | 'bytes' | 'count';

/**
 * The integer amount of resource `name` in its planner unit. Counts must be whole (extended
 * resources and `pods`); millicores and bytes round up.
 */
export function quantityAmount(value: unknown, field: string, unit: ResourceUnit): number {
  const q = parseQuantity(value, field);
  if (unit === 'milli') return toSafe(ceilMilli(q), field);
  if (unit === 'bytes') return toSafe(ceilDiv(q, 1n), field);
  if (q.numerator % q.denominator !== 0n)
    throw new PlannerInputError(
      'ERR_PLAN_QUANTITY',
      `${field}: must be a whole number (extended resources are integers)`,
      { field },
    );
  return toSafe(q.numerator / q.denominator, field);
}

function ceilMilli(q: Rational): bigint {
  const n = q.numerator * 1000n;
  return (n + q.denominator - 1n) / q.denominator;
}

/** Formats millicores as Kubernetes writes them (`250m`, `2`). */
export function formatMilli(m: number): string {
  return m % 1000 === 0 ? String(m / 1000) : `${m}m`;
}

/** Formats bytes with the largest exact binary suffix (`512Mi`, `4Gi`, `1000`). */
export function formatBytes(b: number): string {
  const units: readonly [string, number][] = [
    ['Ti', 1024 ** 4],
    ['Gi', 1024 ** 3],
    ['Mi', 1024 ** 2],
    ['Ki', 1024],
  ];
  for (const [s, f] of units) if (b >= f && b % f === 0) return `${b / f}${s}`;
  return String(b);
}
