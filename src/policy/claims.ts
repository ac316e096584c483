import { PolicyEvaluationError } from './errors.ts';

/** A scalar claim value: String, Integer (a safe integer) or Boolean. */
export type ClaimValue = string | number | boolean;

/** One claim, as the policy language sees it (spec maa.md §3.3). */
export interface Claim {
  readonly type: string;
  readonly value: ClaimValue;
  /** `AttestationService`, `AttestationPolicy`, `CustomClaim`; see {@link ISSUER}. */
  readonly issuer?: string;
}

/** The issuers the language knows about. */
export const ISSUER = {
  /** Claims the service derived from verified evidence. */
  service: 'AttestationService',
  /** Claims added by the policy itself (`add`, `issue`, `issueproperty`). */
  policy: 'AttestationPolicy',
  /** Claims supplied by the attester; the documented default when a claim names no issuer. */
  custom: 'CustomClaim',
} as const;

/** Claim value type names used by the `valueType` property. */
export type ValueTypeName = 'String' | 'Integer' | 'Boolean';

/** The `valueType` of a value. */
export function valueTypeOf(value: ClaimValue): ValueTypeName {
  return typeof value === 'string' ? 'String' : typeof value === 'number' ? 'Integer' : 'Boolean';
}

/**
 * Deprecated `$`-prefixed incoming names (spec maa.md §2.3) and the claim each one mirrors. The
 * evaluator adds these aliases for `AttestationService` claims unless told not to, so that 2020-era
 * policies written against `$is-debuggable` etc. keep working.
 */
export const LEGACY_INCOMING_ALIASES: Readonly<Record<string, string>> = {
  'x-ms-sgx-is-debuggable': '$is-debuggable',
  'x-ms-sgx-mrsigner': '$sgx-mrsigner',
  'x-ms-sgx-mrenclave': '$sgx-mrenclave',
  'x-ms-sgx-product-id': '$product-id',
  'x-ms-sgx-svn': '$svn',
  'x-ms-attestation-type': '$tee',
};

/** True when `value` is a value the language can hold (non-finite and fractional numbers are not). */
export function isClaimValue(value: unknown): value is ClaimValue {
  return (
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isSafeInteger(value))
  );
}

/**
 * Checks one incoming claim and returns it with its issuer filled in (`defaultIssuer` when absent).
 * Throws `ERR_POLICY_CLAIM_INVALID` naming the claim index.
 */
export function normalizeClaim(claim: unknown, index: number, defaultIssuer: string): Required<Claim> {
  if (typeof claim !== 'object' || claim === null) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_CLAIM_INVALID',
      `claim ${index} is not an object`,
      undefined,
      {
        index,
      },
    );
  }
  const { type, value, issuer } = claim as Record<string, unknown>;
  if (typeof type !== 'string' || type.length === 0) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_CLAIM_INVALID',
      `claim ${index}: "type" must be a non-empty string`,
      undefined,
      { index },
    );
  }
  if (!isClaimValue(value)) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_CLAIM_INVALID',
      `claim ${index} (${type}): "value" must be a string, a safe integer or a boolean`,
      undefined,
      { index, type },
    );
  }
  if (issuer !== undefined && (typeof issuer !== 'string' || issuer.length === 0)) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_CLAIM_INVALID',
      `claim ${index} (${type}): "issuer" must be a non-empty string when present`,
      undefined,
      { index, type },
    );
  }
  return { type, value, issuer: issuer ?? defaultIssuer };
}

/**
 * Turns a flat claims object (the shape of a token payload, `{"x-ms-sgx-svn": 1, …}`) into claims
 * with the given issuer (default `AttestationService`). Array values become one claim per element;
 * `null` values are skipped; object values (e.g. `x-ms-sgx-collateral`) are carried as their JSON
 * text, the representation the language uses for JSON (spec §3.4, 1.2 functions).
 */
export function claimsFromObject(
  record: Readonly<Record<string, unknown>>,
  issuer: string = ISSUER.service,
): Claim[] {
  const out: Claim[] = [];
  for (const [type, raw] of Object.entries(record)) {
    const values = Array.isArray(raw) ? (raw as unknown[]) : [raw];
    for (const value of values) {
      if (value === null || value === undefined) continue;
      if (isClaimValue(value)) out.push({ type, value, issuer });
      else if (typeof value === 'object') out.push({ type, value: JSON.stringify(value), issuer });
      else {
        throw new PolicyEvaluationError(
          'ERR_POLICY_CLAIM_INVALID',
          `claim "${type}": value of type ${typeof value} is not a string, safe integer or boolean`,
          undefined,
          { type },
        );
      }
    }
  }
  return out;
}

/**
 * Parses claims given as JSON text: either an array of `{type, value, issuer?}` objects (issuer
 * defaults to `CustomClaim`, as documented) or a flat object as accepted by {@link claimsFromObject}
 * (issuer `AttestationService`: it is meant to describe verified evidence).
 */
export function parseClaimsJson(text: string): Claim[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new PolicyEvaluationError('ERR_POLICY_CLAIM_INVALID', `claims are not valid JSON: ${reason}`);
  }
  if (Array.isArray(parsed)) return parsed.map((c, i) => normalizeClaim(c, i, ISSUER.custom));
  if (typeof parsed === 'object' && parsed !== null)
    return claimsFromObject(parsed as Record<string, unknown>);
  throw new PolicyEvaluationError(
    'ERR_POLICY_CLAIM_INVALID',
    'claims JSON must be an array of {type, value, issuer?} or an object of name → value',
  );
}

/**
 * Groups claims by type into a token-payload-shaped object: one value stays a scalar, several values
 * of one type become an array (identical values are kept once). Order of first appearance is kept.
 */
export function claimsToObject(claims: readonly Claim[]): Record<string, ClaimValue | ClaimValue[]> {
  const grouped = new Map<string, ClaimValue[]>();
  for (const { type, value } of claims) {
    const list = grouped.get(type);
    if (list === undefined) grouped.set(type, [value]);
    else if (!list.includes(value)) list.push(value);
  }
  const out: Record<string, ClaimValue | ClaimValue[]> = {};
  for (const [type, values] of grouped) out[type] = values.length === 1 ? (values[0] as ClaimValue) : values;
  return out;
}
