/**
 * The attestation policy language of Microsoft Azure Attestation, versions 1.0–1.2: parse policy
 * text, evaluate it over claims, get the default policies. Pure: no I/O, no clock. See
 * docs/policy.md for the language as implemented.
 *
 * @example
 * import { parsePolicy, evaluatePolicy, claimsFromObject, DEFAULT_SGX_POLICY } from '../policy/index.ts';
 * const outcome = evaluatePolicy(parsePolicy(DEFAULT_SGX_POLICY), claimsFromObject({ 'x-ms-sgx-svn': 1 }));
 */
import type { Policy, PolicyVersion } from './ast.ts';

export type {
  Action,
  ClaimAction,
  ClaimProperty,
  ClaimRefExpr,
  ClaimSpec,
  CallExpr,
  Comparator,
  Condition,
  DecisionAction,
  Expression,
  FunctionName,
  LiteralExpr,
  Policy,
  PolicyVersion,
  PropertyTest,
  Rule,
  Section,
  SectionName,
} from './ast.ts';
export {
  ISSUER,
  LEGACY_INCOMING_ALIASES,
  claimsFromObject,
  claimsToObject,
  isClaimValue,
  parseClaimsJson,
  valueTypeOf,
  type Claim,
  type ClaimValue,
  type ValueTypeName,
} from './claims.ts';
export {
  DEFAULT_SGX_POLICY,
  DEFAULT_SGX_POLICY_SIMULATION,
  DEFAULT_TDX_POLICY,
  DEFAULT_TDX_POLICY_SIMULATION,
  SIMULATED_CLAIM,
  defaultPolicyFor,
  type DefaultPolicyType,
  type PolicyMode,
} from './default-policies.ts';
export {
  POLICY_ERRORS,
  PolicyError,
  PolicyEvaluationError,
  PolicySyntaxError,
  type PolicyErrorCode,
  type PolicyEvaluationErrorCode,
  type PolicySyntaxErrorCode,
  type SourcePosition,
} from './errors.ts';
export { evaluatePolicy, type EvaluateOptions, type PolicyDenial, type PolicyOutcome } from './evaluator.ts';
export { tokenize, type Token, type TokenKind } from './lexer.ts';
export { POLICY_LIMITS } from './limits.ts';
export { parsePolicy } from './parser.ts';

/** The language version a parsed policy declared (`version=1.x;`). */
export function policyVersion(policy: Policy): PolicyVersion {
  return policy.version;
}
