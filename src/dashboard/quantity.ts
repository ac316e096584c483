/**
 * Kubernetes resource quantities (`resource.Quantity` serialisation: `128Mi`, `1G`, `500m`, `1e3`)
 * read into exact integers of base units, for the extended resources the dashboard counts (EPC in
 * MiB devices and in bytes). Fractional results are rounded up, as the API server does for integer
 * resources. Returns undefined for text that is not a quantity — the caller shows it as invalid.
 */

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

/** The quantity as a whole number of base units (rounded up); undefined when it is not a quantity. */
export function parseQuantity(text: string): bigint | undefined {
  if (text.length > 64) return undefined;
  const m =
    /^([+-]?)(\d+(?:\.\d*)?|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|([eE][+-]?\d{1,3})|(n|u|m|k|M|G|T|P|E))?$/.exec(
      text,
    );
  if (m === null) return undefined;
  const [, sign = '', digits = '', binary, exponent, decimal = ''] = m;
  const [whole = '', frac = ''] = digits.split('.');
  let mantissa = BigInt(`${whole}${frac}` === '' ? '0' : `${whole}${frac}`);
  let exp10 = -frac.length;
  if (exponent !== undefined) exp10 += Number(exponent.slice(1));
  else if (binary === undefined) exp10 += DECIMAL[decimal] ?? 0;
  if (binary !== undefined) mantissa *= BINARY[binary] ?? 1n;
  let value: bigint;
  if (exp10 >= 0) value = mantissa * 10n ** BigInt(exp10);
  else {
    const d = 10n ** BigInt(-exp10);
    value = (mantissa + d - 1n) / d;
  }
  return sign === '-' ? -value : value;
}

/** {@link parseQuantity} as a number, when it fits exactly; undefined otherwise. */
export function quantityNumber(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const q = parseQuantity(text);
  if (q === undefined || q > BigInt(Number.MAX_SAFE_INTEGER) || q < -BigInt(Number.MAX_SAFE_INTEGER))
    return undefined;
  return Number(q);
}
