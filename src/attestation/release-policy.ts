/**
 * Secret release policies in the shape of Azure Key Vault's (spec/maa.md §6.1): a tree of
 * `anyOf`/`allOf` over claim conditions. A condition names a claim (dot notation into objects, no
 * array indexing) and one operator: `equals`, `notEquals`, `less`, `lessOrEquals`, `greater`,
 * `greaterOrEquals`, `exists`. A missing claim makes its condition false. An optional `authority`
 * at a branch must equal this service's issuer for the branch to hold.
 *
 * At the top level only, two members say which tokens the policy accepts at all, before any
 * condition is looked at: `attestationTypes` (the attestation types whose policy the token must
 * have been issued under; default: the type the secret was stored for) and `policyHashes` (if
 * present, the token's `x-ms-policy-hash` must be one of them).
 */
import { SecretReleaseError } from './errors.ts';
import { POLICY_TYPES, type PolicyType } from './policy-service.ts';

type Scalar = string | number | boolean;
const OPERATORS = [
  'equals',
  'notEquals',
  'less',
  'lessOrEquals',
  'greater',
  'greaterOrEquals',
  'exists',
] as const;
type Operator = (typeof OPERATORS)[number];

/** A validated release policy node. */
export type ReleaseNode =
  | {
      readonly kind: 'anyOf' | 'allOf';
      readonly authority?: string;
      readonly children: readonly ReleaseNode[];
    }
  | { readonly kind: 'claim'; readonly claim: string; readonly op: Operator; readonly value: Scalar };

const MAX_NODES = 256;
const MAX_DEPTH = 8;
const MAX_POLICY_HASHES = 16;

/** A release policy with the token requirements stated at its top level. */
export interface ReleaseRequirements {
  readonly root: ReleaseNode;
  /** Accepted attestation types, canonical spelling; undefined when the policy states none. */
  readonly attestationTypes?: readonly PolicyType[];
  /** Accepted `x-ms-policy-hash` values; undefined = any. */
  readonly policyHashes?: readonly string[];
}

/** Members allowed only at the top level of a release policy. */
const TOP_LEVEL = ['attestationTypes', 'policyHashes'] as const;

function fail(message: string, path: string): SecretReleaseError {
  return new SecretReleaseError('ERR_SECRET_RELEASE_POLICY', `release policy ${path}: ${message}`, { path });
}

/** Validates release policy JSON (text or already-parsed); throws `ERR_SECRET_RELEASE_POLICY` naming the path. */
export function parseReleasePolicy(input: unknown): ReleaseNode {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch {
      throw fail('is not valid JSON', '$');
    }
  }
  const budget = { nodes: 0 };
  return node(value, '$', 0, budget);
}

/** Validates a release policy and reads its top-level token requirements (see the module doc). */
export function parseReleaseRequirements(input: unknown): ReleaseRequirements {
  const root = parseReleasePolicy(input);
  const obj = (typeof input === 'string' ? JSON.parse(input) : input) as Record<string, unknown>;
  const out: { root: ReleaseNode; attestationTypes?: PolicyType[]; policyHashes?: string[] } = { root };
  const types = obj['attestationTypes'];
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length === 0) {
      throw fail('"attestationTypes" must be a non-empty array', '$.attestationTypes');
    }
    out.attestationTypes = types.map((t: unknown, i) => {
      const found = POLICY_TYPES.find((x) => typeof t === 'string' && x.toLowerCase() === t.toLowerCase());
      if (found === undefined)
        throw fail(`must be one of ${POLICY_TYPES.join(', ')}`, `$.attestationTypes[${i}]`);
      return found;
    });
  }
  const hashes = obj['policyHashes'];
  if (hashes !== undefined) {
    if (!Array.isArray(hashes) || hashes.length === 0 || hashes.length > MAX_POLICY_HASHES) {
      throw fail(`"policyHashes" must be an array of 1..${MAX_POLICY_HASHES} hashes`, '$.policyHashes');
    }
    out.policyHashes = hashes.map((h: unknown, i) => {
      if (typeof h !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(h)) {
        throw fail('must be an x-ms-policy-hash (base64url)', `$.policyHashes[${i}]`);
      }
      return h;
    });
  }
  return out;
}

function node(v: unknown, path: string, depth: number, budget: { nodes: number }): ReleaseNode {
  if (++budget.nodes > MAX_NODES) throw fail(`has more than ${MAX_NODES} nodes`, path);
  if (depth > MAX_DEPTH) throw fail(`nests deeper than ${MAX_DEPTH}`, path);
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('must be an object', path);
  const o = v as Record<string, unknown>;
  if (depth > 0) {
    const misplaced = TOP_LEVEL.find((k) => k in o);
    if (misplaced !== undefined) throw fail(`"${misplaced}" is only allowed at the top level`, path);
  }
  if ('claim' in o) {
    if (typeof o['claim'] !== 'string' || o['claim'] === '')
      throw fail('"claim" must be a non-empty string', path);
    const ops = OPERATORS.filter((op) => op in o);
    if (ops.length !== 1) throw fail(`needs exactly one operator of ${OPERATORS.join(', ')}`, path);
    const op = ops[0] as Operator;
    const value = o[op];
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw fail(`"${op}" must be a string, number or boolean`, path);
    }
    if (op === 'exists' && typeof value !== 'boolean') throw fail('"exists" must be true or false', path);
    if (['less', 'lessOrEquals', 'greater', 'greaterOrEquals'].includes(op) && typeof value !== 'number') {
      throw fail(`"${op}" must be a number`, path);
    }
    return { kind: 'claim', claim: o['claim'], op, value };
  }
  const hasAny = 'anyOf' in o;
  const hasAll = 'allOf' in o;
  if (hasAny === hasAll) throw fail('needs exactly one of anyOf / allOf (or a claim condition)', path);
  const kind = hasAny ? 'anyOf' : 'allOf';
  const list = o[kind];
  if (!Array.isArray(list) || list.length === 0) throw fail(`"${kind}" must be a non-empty array`, path);
  const authority = o['authority'];
  if (authority !== undefined && typeof authority !== 'string')
    throw fail('"authority" must be a string', path);
  const children = list.map((c, i) => node(c, `${path}.${kind}[${i}]`, depth + 1, budget));
  return { kind, children, ...(authority === undefined ? {} : { authority }) };
}

function lookup(claims: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(claims, path)) return claims[path];
  let cur: unknown = claims;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part))
      return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function test(
  cond: Extract<ReleaseNode, { kind: 'claim' }>,
  claims: Readonly<Record<string, unknown>>,
): boolean {
  const v = lookup(claims, cond.claim);
  if (cond.op === 'exists') return (v !== undefined) === cond.value;
  if (v === undefined || (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean'))
    return false;
  switch (cond.op) {
    case 'equals':
      return typeof v === 'string' && typeof cond.value === 'string'
        ? v.toLowerCase() === cond.value.toLowerCase()
        : v === cond.value;
    case 'notEquals':
      return typeof v === 'string' && typeof cond.value === 'string'
        ? v.toLowerCase() !== cond.value.toLowerCase()
        : v !== cond.value;
    case 'less':
      return typeof v === 'number' && v < (cond.value as number);
    case 'lessOrEquals':
      return typeof v === 'number' && v <= (cond.value as number);
    case 'greater':
      return typeof v === 'number' && v > (cond.value as number);
    case 'greaterOrEquals':
      return typeof v === 'number' && v >= (cond.value as number);
  }
}

/** Evaluates `policy` over token claims; `issuer` is what an `authority` must equal. */
export function releasePolicyHolds(
  policy: ReleaseNode,
  claims: Readonly<Record<string, unknown>>,
  issuer: string,
): boolean {
  if (policy.kind === 'claim') return test(policy, claims);
  if (policy.authority !== undefined && policy.authority.replace(/\/+$/, '') !== issuer) return false;
  return policy.kind === 'anyOf'
    ? policy.children.some((c) => releasePolicyHolds(c, claims, issuer))
    : policy.children.every((c) => releasePolicyHolds(c, claims, issuer));
}
