/**
 * Kubernetes resource quantities for the planner (`250m`, `1.5`, `512Mi`, `1e3`, `10M`), read as
 * exact rationals and turned into the integers the planner counts in:
 *
 * - `cpu` in millicores, rounded up (the API server keeps at most milli precision);
 * - `memory`, `ephemeral-storage` and `sgx.intel.com/epc` in bytes, rounded up;
 * - any other resource (extended resources such as `kubernetes.azure.com/sgx_epc_mem_in_MiB`,
 *   `sgx.intel.com/enclave`, and `pods`) as a whole count; a fraction is an error, as the API server
 *   refuses fractional extended resources.
 *
 * A small copy of the rules in src/kube/quantity.ts: the planner is a pure layer that may import only
 * `errors` and `contract`.
 */
import { PlannerInputError } from './errors.ts';

const SUFFIX: Readonly<Record<string, bigint>> = {
  '': 1n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
  Pi: 1024n ** 5n,
  Ei: 1024n ** 6n,
  k: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  P: 1000n ** 5n,
  E: 1000n ** 6n,
};

const QUANTITY_RE = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)|[eE]([+-]?\d+))$/;

/** value = numerator / denominator. */
export interface Rational {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** Parses a quantity (string or JSON number); `field` names it in errors. Negative values are refused. */
export function parseQuantity(value: unknown, field: string): Rational {
  let text: string;
  if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'string') text = value.trim();
  else
    throw new PlannerInputError(
      'ERR_PLAN_QUANTITY',
      `${field}: expected a quantity, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
      { field },
    );
  const m = QUANTITY_RE.exec(text);
  if (m === null)
    throw new PlannerInputError(
      'ERR_PLAN_QUANTITY',
      `${field}: "${text}" is not a non-negative Kubernetes quantity`,
      { field },
    );
  const digits = m[1] ?? '0';
  const [intPart = '', fracPart = ''] = digits.split('.');
  let numerator = BigInt((intPart === '' ? '0' : intPart) + fracPart);
  let denominator = 10n ** BigInt(fracPart.length);
  const suffix = m[2] ?? '';
  if (m[3] !== undefined) {
    const exp = Number(m[3]);
    if (Math.abs(exp) > 30)
      throw new PlannerInputError('ERR_PLAN_QUANTITY', `${field}: exponent in "${text}" is out of range`, {
        field,
      });
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  } else if (suffix === 'm') denominator *= 1000n;
  else numerator *= SUFFIX[suffix] ?? 1n;
  return { numerator, denominator };
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
