/**
 * Kubernetes resource quantities (`10`, `10Mi`, `1.5Gi`, `10M`, `1e6`, `500m`) as exact rationals, and
 * the EPC unit rules:
 *
 * - `kubernetes.azure.com/sgx_epc_mem_in_MiB` counts MiB: `10` is 10 MiB.
 * - `sgx.intel.com/epc` counts bytes: `10Mi` is 10 MiB, `10` is 10 bytes.
 * - bytes → MiB rounds UP to whole MiB (a pod never gets less EPC than it asked for), so `10M`
 *   (10,000,000 bytes = 9.54 MiB) becomes 10 MiB and `1` byte becomes 1 MiB;
 * - MiB → bytes is exact and written as `<n>Mi`.
 */
import { KubeInputError } from './errors.ts';

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

const QUANTITY_RE = /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)|[eE]([+-]?\d+))$/;

/** A parsed quantity: value = numerator / denominator, plus what the text looked like. */
export interface Quantity {
  readonly numerator: bigint;
  readonly denominator: bigint;
  /** The suffix as written (`''` for a bare number or exponent form). */
  readonly suffix: string;
  readonly text: string;
}

/** Parses a quantity given as a string or JSON number; `field` names it in errors. */
export function parseQuantity(value: unknown, field: string): Quantity {
  let text: string;
  if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (typeof value === 'string') text = value.trim();
  else
    throw new KubeInputError(
      'ERR_KUBE_QUANTITY',
      `${field}: expected a quantity string, got ${JSON.stringify(value)}`,
      {
        field,
      },
    );
  const m = QUANTITY_RE.exec(text);
  if (m === null)
    throw new KubeInputError('ERR_KUBE_QUANTITY', `${field}: "${text}" is not a Kubernetes quantity`, {
      field,
    });
  const sign = m[1] === '-' ? -1n : 1n;
  const digits = m[2] ?? '0';
  const [intPart = '', fracPart = ''] = digits.split('.');
  let numerator = BigInt((intPart === '' ? '0' : intPart) + fracPart) * sign;
  let denominator = 10n ** BigInt(fracPart.length);
  const suffix = m[3] ?? '';
  if (m[4] !== undefined) {
    const exp = Number(m[4]);
    if (Math.abs(exp) > 30)
      throw new KubeInputError('ERR_KUBE_QUANTITY', `${field}: exponent in "${text}" is out of range`, {
        field,
      });
    if (exp >= 0) numerator *= 10n ** BigInt(exp);
    else denominator *= 10n ** BigInt(-exp);
  } else if (suffix === 'm') {
    denominator *= 1000n;
  } else {
    numerator *= SUFFIX[suffix] ?? 1n;
  }
  if (numerator < 0n)
    throw new KubeInputError('ERR_KUBE_QUANTITY', `${field}: "${text}" is negative`, { field });
  return { numerator, denominator, suffix, text };
}

/** Smallest whole number ≥ the quantity divided by `unit`. */
export function ceilDiv(q: Quantity, unit: bigint): bigint {
  const d = q.denominator * unit;
  return (q.numerator + d - 1n) / d;
}

/** True when the quantity is a whole number. */
export function isWhole(q: Quantity): boolean {
  return q.numerator % q.denominator === 0n;
}

const MIB_BIG = 1024n * 1024n;

/** EPC MiB asked for by a `sgx.intel.com/epc` (bytes) quantity, rounded up to whole MiB. */
export function intelEpcToMib(value: unknown, field: string): bigint {
  return ceilDiv(parseQuantity(value, field), MIB_BIG);
}

/**
 * EPC MiB asked for by a `kubernetes.azure.com/sgx_epc_mem_in_MiB` quantity (a MiB count), rounded up
 * to a whole count.
 */
export function azureEpcToMib(value: unknown, field: string): bigint {
  return ceilDiv(parseQuantity(value, field), 1n);
}

/** The `sgx.intel.com/epc` quantity for `mib` MiB (exact, binary suffix). */
export function mibToIntelQuantity(mib: bigint): string {
  return mib === 0n ? '0' : `${mib}Mi`;
}

/** The `kubernetes.azure.com/sgx_epc_mem_in_MiB` quantity for `mib` MiB. */
export function mibToAzureQuantity(mib: bigint): string {
  return String(mib);
}
