/**
 * Kubernetes resource quantities (`resource.Quantity` text: `250m`, `1.5`, `512Mi`, `10M`, `1e3`,
 * `100n`) read as exact rationals — the one parser the webhook (kube), the planner and the dashboard
 * share. Each caller turns a refusal into its own typed error (`ERR_KUBE_QUANTITY`,
 * `ERR_PLAN_QUANTITY`) or shows the value as invalid; this module throws nothing.
 *
 * Grammar (as apimachinery's `ParseQuantity` accepts it): an optional sign, digits with an optional
 * fraction (`1`, `1.`, `.5`, `1.5`), then either a binary suffix (`Ki Mi Gi Ti Pi Ei`), a decimal
 * suffix (`n u m` or none, `k M G T P E`) or a decimal exponent (`e`/`E` and a signed integer).
 * Leading and trailing blanks are ignored. Refused besides what the grammar refuses: text over 64
 * characters and exponents beyond ±30 (no real resource needs them; they would only make huge numbers).
 *
 * Also here: the EPC unit rules both dialects follow —
 * `kubernetes.azure.com/sgx_epc_mem_in_MiB` counts MiB (`10` is 10 MiB) and `sgx.intel.com/epc`
 * counts bytes (`10Mi` is 10 MiB, `10` is 10 bytes); bytes become MiB rounding UP (a pod never gets
 * less EPC than it asked for: `10M` = 9.54 MiB → 10 MiB, 1 byte → 1 MiB); MiB become bytes exactly,
 * written `<n>Mi`.
 */

/** A parsed quantity: value = numerator / denominator (denominator > 0), and the text as written. */
export interface Quantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The suffix as written (`''` for a bare number or the exponent form). */
  readonly suffix: string;
  /** The trimmed text. */
  readonly text: string;
}

/** Why a value is not a quantity. */
export type QuantityProblem = 'type' | 'syntax' | 'exponent';

export type QuantityResult =
  | { readonly ok: true; readonly quantity: Quantity }
  | { readonly ok: false; readonly problem: QuantityProblem; readonly text: string };

/** Longest quantity text accepted. */
export const QUANTITY_MAX_LENGTH = 64;
/** Largest decimal exponent accepted (either sign). */
export const QUANTITY_MAX_EXPONENT = 30;

const BINARY: Readonly<Record<string, bigint>> = {
  Ki: 1n << 10n,
  Mi: 1n << 20n,
  Gi: 1n << 30n,
  Ti: 1n << 40n,
  Pi: 1n << 50n,
  Ei: 1n << 60n,
};

const DECIMAL: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  '': 0,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};

const QUANTITY_RE =
  /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(n|u|m|k|M|G|T|P|E)?)$/;

/** A short rendering of a value that is not a quantity, for error messages ('' for undefined). */
function describe(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'bigint' || typeof value === 'symbol' || typeof value === 'function')
    return typeof value;
  const json = JSON.stringify(value) as string | undefined;
  return json === undefined ? typeof value : json.slice(0, QUANTITY_MAX_LENGTH);
}

/**
 * Reads a quantity given as a string or a JSON number. Never throws: a value that is not a quantity
 * comes back as `{ ok: false, problem }` (`type`: neither string nor finite number; `syntax`;
 * `exponent`: beyond ±30).
 */
export function readQuantity(value: unknown): QuantityResult {
  let text: string;
  if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'string') text = value.trim();
  else return { ok: false, problem: 'type', text: describe(value) };
  if (text.length > QUANTITY_MAX_LENGTH) return { ok: false, problem: 'syntax', text };
  const m = QUANTITY_RE.exec(text);
  if (m === null) return { ok: false, problem: 'syntax', text };
  const [, sign = '', digits = '', binary, exponent, decimal = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  let numerator = BigInt(`${whole}${frac}` === '' ? '0' : `${whole}${frac}`);
  let exp10 = -frac.length;
  if (exponent !== undefined) {
    const e = Number(exponent);
    if (Math.abs(e) > QUANTITY_MAX_EXPONENT) return { ok: false, problem: 'exponent', text };
    exp10 += e;
  } else if (binary === undefined) exp10 += DECIMAL[decimal] ?? 0;
  if (binary !== undefined) numerator *= BINARY[binary] ?? 1n;
  let denominator = 1n;
  if (exp10 >= 0) numerator *= 10n ** BigInt(exp10);
  else denominator = 10n ** BigInt(-exp10);
  if (sign === '-') numerator = -numerator;
  return { ok: true, quantity: { numerator, denominator, suffix: binary ?? decimal, text } };
}

/** True when the quantity is below zero. */
export function isNegative(q: Quantity): boolean {
  return q.numerator < 0n;
}

/** Smallest whole number ≥ the quantity divided by `unit` (for non-negative quantities). */
export function ceilDiv(q: Quantity, unit: bigint): bigint {
  const d = q.denominator * unit;
  return (q.numerator + d - 1n) / d;
}

/** True when the quantity is a whole number. */
export function isWhole(q: Quantity): boolean {
  return q.numerator % q.denominator === 0n;
}

/**
 * The quantity as a whole number of base units, rounded up (away from zero for negative values);
 * undefined when the text is not a quantity. `1500m` → 2, `64Mi` → 67108864.
 */
export function quantityBaseUnits(text: string): bigint | undefined {
  const r = readQuantity(text);
  if (!r.ok) return undefined;
  const q = r.quantity;
  const magnitude = q.numerator < 0n ? -q.numerator : q.numerator;
  const up = (magnitude + q.denominator - 1n) / q.denominator;
  return q.numerator < 0n ? -up : up;
}

/** {@link quantityBaseUnits} as a number when it is exact; undefined otherwise (or for no text). */
export function quantityNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const q = quantityBaseUnits(text);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (q === undefined || q > max || q < -max) return undefined;
  return Number(q);
}

const MIB_BIG = 1024n * 1024n;

/** EPC MiB a `sgx.intel.com/epc` (bytes) quantity asks for, rounded up to whole MiB. */
export function intelEpcQuantityToMib(q: Quantity): bigint {
  return ceilDiv(q, MIB_BIG);
}

/** EPC MiB a `kubernetes.azure.com/sgx_epc_mem_in_MiB` quantity (a MiB count) asks for, rounded up. */
export function azureEpcQuantityToMib(q: Quantity): bigint {
  return ceilDiv(q, 1n);
}

/** The `sgx.intel.com/epc` quantity for `mib` MiB (exact, binary suffix). */
export function mibToIntelQuantity(mib: bigint): string {
  return mib === 0n ? '0' : `${mib}Mi`;
}

/** The `kubernetes.azure.com/sgx_epc_mem_in_MiB` quantity for `mib` MiB. */
export function mibToAzureQuantity(mib: bigint): string {
  return String(mib);
}
