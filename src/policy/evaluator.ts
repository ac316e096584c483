/**
 * Evaluates a parsed policy over a set of incoming claims (spec maa.md §3.4):
 *
 * 1. The working set starts as the incoming claims (plus `$`-prefixed legacy aliases).
 * 2. `configurationrules` run; `issueproperty` adds to the working and property sets.
 * 3. `authorizationrules` run in order; `add` extends the working set, `permit()`/`deny()` record a
 *    decision. The first `deny()` stops evaluation. Authorization succeeds only if at least one
 *    `permit()` fired and no `deny()` did — a policy whose permit rules never match denies.
 * 4. Only if authorized, `issuancerules` run in order: `issue` → working + outgoing, `add` → working,
 *    `issueproperty` → working + property set. Issuance rules never change the decision.
 *
 * A condition `c:[tests]` binds `c` to every claim of the working set (as it was when the rule
 * started) that passes all tests; it holds when at least one does. `![tests]` holds when none does.
 * `c.value` denotes the values of all claims bound to `c`, so `c:[type=="x"] => issue(type="y",
 * value=c.value)` issues one `y` per `x`. Pure and bounded: no I/O, no clock, finite work.
 */
import type { Action, ClaimSpec, Comparator, Condition, Expression, Policy, Rule, Section } from './ast.ts';
import { Budget } from './budget.ts';
import {
  ISSUER,
  LEGACY_INCOMING_ALIASES,
  normalizeClaim,
  valueTypeOf,
  type Claim,
  type ClaimValue,
} from './claims.ts';
import { PolicyEvaluationError, type SourcePosition } from './errors.ts';
import { FUNCTIONS, type CallContext } from './functions.ts';
import { POLICY_LIMITS } from './limits.ts';

const ALIASES: ReadonlyMap<string, string> = new Map(Object.entries(LEGACY_INCOMING_ALIASES));
const SERVICE_ISSUER: string = ISSUER.service;
const POLICY_ISSUER: string = ISSUER.policy;

/** Options of {@link evaluatePolicy}. */
export interface EvaluateOptions {
  /**
   * Add the deprecated `$is-debuggable`, `$sgx-mrsigner`, … aliases for `AttestationService` claims
   * (spec §2.3). Default true.
   */
  readonly legacyAliases?: boolean;
  /** Issuer given to incoming claims that name none. Default `CustomClaim`, as documented. */
  readonly defaultIssuer?: string;
  /**
   * Claim types that are read-only (policy 1.2): usable in conditions and `add`, but values derived
   * from them cannot be issued (`ERR_POLICY_READ_ONLY_CLAIM`).
   */
  readonly readOnlyTypes?: readonly string[];
  /** Work-step budget; default {@link POLICY_LIMITS}.maxSteps. */
  readonly maxSteps?: number;
  /** Byte budget (characters of claim data touched); default {@link POLICY_LIMITS}.maxBytesTouched. */
  readonly maxBytesTouched?: number;
}

/** Why authorization failed. */
export interface PolicyDenial {
  /** `deny`: a `deny()` rule fired; `no-permit`: no `permit()` rule fired. */
  readonly kind: 'deny' | 'no-permit';
  /** Position of the `deny()` rule (for `no-permit`, of the authorizationrules section). */
  readonly line: number;
  readonly column: number;
}

/** The result of evaluating a policy. */
export interface PolicyOutcome {
  /** True iff ≥ 1 `permit()` fired in authorizationrules and no `deny()` did. */
  readonly permitted: boolean;
  /** The outgoing claims (`issue`), in order; empty when not permitted. Issuer `AttestationPolicy` unless copied. */
  readonly issued: Claim[];
  /** The property claims (`issueproperty`) from configurationrules and (if permitted) issuancerules. */
  readonly properties: Claim[];
  /** Human-readable reason when not permitted, naming the rule: e.g. `deny() at 3:5 in authorizationrules`. */
  readonly reason?: string;
  /** Structured form of `reason`. */
  readonly denial?: PolicyDenial;
}

/** One claim in the working set. */
interface WorkingClaim {
  readonly type: string;
  readonly value: ClaimValue;
  readonly issuer: string;
  readonly readOnly: boolean;
}

/** A bag of values produced by an expression. */
interface Bag {
  readonly values: readonly ClaimValue[];
  readonly readOnly: boolean;
}

type Bindings = ReadonlyMap<string, readonly WorkingClaim[]>;

/**
 * Evaluates `policy` over `incoming`. Returns the decision and the issued claims; throws
 * {@link PolicyEvaluationError} for malformed claims, run-time type errors in functions, read-only
 * violations and exceeded bounds (never for a plain deny).
 *
 * @example
 * const outcome = evaluatePolicy(parsePolicy(DEFAULT_SGX_POLICY), claimsFromObject(tokenLikeClaims));
 * if (!outcome.permitted) console.log(outcome.reason);
 */
export function evaluatePolicy(
  policy: Policy,
  incoming: readonly Claim[],
  options: EvaluateOptions = {},
): PolicyOutcome {
  return new Evaluation(policy, incoming, options).run();
}

class Evaluation {
  private readonly working: WorkingClaim[] = [];
  private readonly issued: Claim[] = [];
  private readonly properties: Claim[] = [];
  private readonly budget: Budget;

  constructor(
    private readonly policy: Policy,
    incoming: readonly Claim[],
    options: EvaluateOptions,
  ) {
    this.budget = new Budget(
      options.maxSteps ?? POLICY_LIMITS.maxSteps,
      options.maxBytesTouched ?? POLICY_LIMITS.maxBytesTouched,
    );
    if (!Array.isArray(incoming)) {
      // Guards JavaScript callers; TypeScript callers cannot get here.
      throw new PolicyEvaluationError('ERR_POLICY_CLAIM_INVALID', 'incoming claims must be an array');
    }
    if (incoming.length > POLICY_LIMITS.maxClaims) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `${incoming.length} incoming claims; the limit is ${POLICY_LIMITS.maxClaims}`,
      );
    }
    const readOnly = new Set(options.readOnlyTypes ?? []);
    const defaultIssuer = options.defaultIssuer ?? ISSUER.custom;
    const normalized = incoming.map((c, i) => normalizeClaim(c, i, defaultIssuer));
    // Explicit fields, not an object spread: this runs per claim per evaluation and spreads are slow here.
    for (const c of normalized) {
      this.working.push({ type: c.type, value: c.value, issuer: c.issuer, readOnly: readOnly.has(c.type) });
    }
    if (options.legacyAliases ?? true) {
      const present = new Set<string>();
      for (const c of normalized) present.add(c.type);
      for (const c of normalized) {
        const alias = ALIASES.get(c.type);
        if (alias !== undefined && c.issuer === SERVICE_ISSUER && !present.has(alias)) {
          this.working.push({
            type: alias,
            value: c.value,
            issuer: c.issuer,
            readOnly: readOnly.has(c.type),
          });
        }
      }
      if (this.working.length > POLICY_LIMITS.maxClaims) this.tooManyClaims(undefined);
    }
  }

  run(): PolicyOutcome {
    if (this.policy.configurationRules !== undefined) {
      for (const rule of this.policy.configurationRules.rules) this.rule(rule);
    }
    let permits = 0;
    for (const rule of this.policy.authorizationRules.rules) {
      const decision = this.rule(rule);
      if (decision === 'deny') {
        const { line, column } = rule.pos;
        return this.denied(`deny() fired in the rule at ${line}:${column} of authorizationrules`, {
          kind: 'deny',
          line,
          column,
        });
      }
      if (decision === 'permit') permits += 1;
    }
    if (permits === 0) {
      const { line, column } = this.policy.authorizationRules.pos;
      return this.denied('no permit() rule in authorizationrules matched the claims', {
        kind: 'no-permit',
        line,
        column,
      });
    }
    for (const rule of this.policy.issuanceRules.rules) this.rule(rule);
    return { permitted: true, issued: this.issued, properties: this.properties };
  }

  private denied(reason: string, denial: PolicyDenial): PolicyOutcome {
    return { permitted: false, issued: [], properties: this.properties, reason, denial };
  }

  private tooManyClaims(pos: SourcePosition | undefined): never {
    throw new PolicyEvaluationError(
      'ERR_POLICY_EVAL_LIMIT',
      `the claim set grew beyond ${POLICY_LIMITS.maxClaims} claims`,
      pos,
    );
  }

  /** Evaluates one rule; returns the decision it fired, if any. */
  private rule(rule: Rule): 'permit' | 'deny' | undefined {
    const bindings = new Map<string, readonly WorkingClaim[]>();
    // Conditions see the working set as it was when the rule started.
    const snapshot = this.working.length;
    for (const condition of rule.conditions) {
      if (!this.condition(condition, bindings, snapshot, rule.pos)) return undefined;
    }
    return this.action(rule.action, bindings, rule.pos);
  }

  private condition(
    condition: Condition,
    bindings: Map<string, readonly WorkingClaim[]>,
    snapshot: number,
    rulePos: SourcePosition,
  ): boolean {
    // Right-hand sides depend only on earlier bindings: evaluate each once.
    const rhs = condition.tests.map((t) => this.expression(t.expr, bindings, rulePos));
    const needAll = condition.variable !== undefined;
    const matches: WorkingClaim[] = [];
    for (let i = 0; i < snapshot; i += 1) {
      const claim = this.working[i] as WorkingClaim;
      let ok = true;
      for (let k = 0; k < condition.tests.length && ok; k += 1) {
        const test = condition.tests[k];
        const bag = rhs[k];
        if (test === undefined || bag === undefined) continue;
        this.budget.charge(1 + bag.values.length, rulePos);
        const left = propertyOf(claim, test.property);
        if (typeof left === 'string') {
          const touched = charsCompared(left, bag.values);
          if (touched > 0) this.budget.chargeBytes(touched, rulePos);
        }
        ok = compare(left, test.comparator, bag.values);
      }
      if (ok) {
        matches.push(claim);
        if (!needAll) break;
      }
    }
    if (condition.negated) return matches.length === 0;
    if (matches.length === 0) return false;
    if (condition.variable !== undefined) bindings.set(condition.variable, matches);
    return true;
  }

  private action(action: Action, bindings: Bindings, rulePos: SourcePosition): 'permit' | 'deny' | undefined {
    if (!('spec' in action)) return action.kind;
    const produced = this.produce(action.spec, bindings, rulePos);
    for (const claim of produced) {
      if (action.kind !== 'add' && claim.readOnly) {
        throw new PolicyEvaluationError(
          'ERR_POLICY_READ_ONLY_CLAIM',
          `${action.kind}(): claim "${claim.type}" carries a value derived from a read-only claim`,
          action.pos,
        );
      }
      if (this.working.length >= POLICY_LIMITS.maxClaims) this.tooManyClaims(action.pos);
      this.working.push(claim);
      const out: Claim = { type: claim.type, value: claim.value, issuer: claim.issuer };
      if (action.kind === 'issue') this.issued.push(out);
      else if (action.kind === 'issueproperty') this.properties.push(out);
    }
    return undefined;
  }

  /** The claims an `add`/`issue`/`issueproperty` creates. */
  private produce(spec: ClaimSpec, bindings: Bindings, rulePos: SourcePosition): WorkingClaim[] {
    if (spec.kind === 'copy') return [...(bindings.get(spec.variable) ?? [])];
    const types = this.expression(spec.type, bindings, rulePos);
    const values = this.expression(spec.value, bindings, rulePos);
    if (types.values.length * values.values.length > POLICY_LIMITS.maxValuesPerExpression) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `one action would create more than ${POLICY_LIMITS.maxValuesPerExpression} claims`,
        spec.pos,
      );
    }
    const out: WorkingClaim[] = [];
    for (const type of types.values) {
      if (typeof type !== 'string' || type.length === 0) {
        throw new PolicyEvaluationError(
          'ERR_POLICY_EVAL_TYPE',
          `a claim type must be a non-empty String, got ${JSON.stringify(type)}`,
          spec.type.pos,
        );
      }
      for (const value of values.values) {
        if (spec.valueType !== undefined && valueTypeOf(value) !== spec.valueType) {
          throw new PolicyEvaluationError(
            'ERR_POLICY_EVAL_TYPE',
            `claim "${type}": value ${JSON.stringify(value)} is not of the declared valueType ${spec.valueType}`,
            spec.value.pos,
          );
        }
        out.push({ type, value, issuer: POLICY_ISSUER, readOnly: types.readOnly || values.readOnly });
      }
    }
    return out;
  }

  private expression(expr: Expression, bindings: Bindings, rulePos: SourcePosition): Bag {
    switch (expr.kind) {
      case 'literal':
        return { values: [expr.value], readOnly: false };
      case 'claimRef': {
        const claims = bindings.get(expr.variable) ?? [];
        return {
          values: claims.map((c) => propertyOf(c, expr.property)),
          readOnly: claims.some((c) => c.readOnly),
        };
      }
      case 'call': {
        const def = FUNCTIONS.get(expr.name.toLowerCase());
        if (def === undefined) {
          // The parser admits only known functions; an AST built by hand could still get here.
          throw new PolicyEvaluationError('ERR_POLICY_EVAL_TYPE', `unknown function ${expr.name}`, expr.pos);
        }
        const args = expr.args.map((a) => this.expression(a, bindings, rulePos));
        const ctx: CallContext = { budget: this.budget, pos: expr.pos };
        this.budget.charge(1, expr.pos);
        if (def.mode === 'sets') {
          return {
            values: def.apply(
              args.map((a) => a.values),
              ctx,
            ),
            readOnly: false,
          };
        }
        const readOnly = args.some((a) => a.readOnly);
        const combos = args.reduce((n, a) => n * a.values.length, 1);
        if (combos > POLICY_LIMITS.maxValuesPerExpression) {
          throw new PolicyEvaluationError(
            'ERR_POLICY_EVAL_LIMIT',
            `${def.name}: ${combos} argument combinations exceed ${POLICY_LIMITS.maxValuesPerExpression}`,
            expr.pos,
          );
        }
        const values: ClaimValue[] = [];
        for (const combo of combinations(args.map((a) => a.values))) {
          this.budget.charge(1, expr.pos);
          for (const v of def.apply(combo, ctx)) {
            values.push(v);
            if (values.length > POLICY_LIMITS.maxValuesPerExpression) {
              throw new PolicyEvaluationError(
                'ERR_POLICY_EVAL_LIMIT',
                `${def.name}: more than ${POLICY_LIMITS.maxValuesPerExpression} values`,
                expr.pos,
              );
            }
          }
        }
        return { values, readOnly };
      }
    }
  }
}

/** Every combination (cartesian product) of the given value lists, first list varying slowest. */
function* combinations(lists: readonly (readonly ClaimValue[])[]): Generator<ClaimValue[]> {
  if (lists.some((l) => l.length === 0)) return;
  const idx = lists.map(() => 0);
  for (;;) {
    yield lists.map((l, i) => l[idx[i] ?? 0] as ClaimValue);
    let k = lists.length - 1;
    while (k >= 0) {
      const list = lists[k] as readonly ClaimValue[];
      idx[k] = (idx[k] ?? 0) + 1;
      if ((idx[k] ?? 0) < list.length) break;
      idx[k] = 0;
      k -= 1;
    }
    if (k < 0) return;
  }
}

function propertyOf(claim: WorkingClaim, property: 'type' | 'value' | 'issuer' | 'valueType'): ClaimValue {
  switch (property) {
    case 'type':
      return claim.type;
    case 'value':
      return claim.value;
    case 'issuer':
      return claim.issuer;
    case 'valueType':
      return valueTypeOf(claim.value);
  }
}

/**
 * Characters an equality test of `left` against `right` may read: both sides of every comparison
 * with a string of the same length (strings of different lengths differ without reading the text).
 * An upper bound: `compare` stops at the first match.
 */
function charsCompared(left: string, right: readonly ClaimValue[]): number {
  let n = 0;
  // No `r !== left` shortcut here: that would itself read both strings before they are paid for.
  for (const r of right) if (typeof r === 'string' && r.length === left.length) n += 2 * r.length;
  return n;
}

/**
 * Compares a claim's property with the values of the right-hand side. Equality is typed (the string
 * "1" does not equal the integer 1). `==` holds if the left equals any right value; `!=` if it equals
 * none; orderings need Integers on both sides and hold if they hold for any right value.
 */
function compare(left: ClaimValue, op: Comparator, right: readonly ClaimValue[]): boolean {
  // Plain loops: this is the innermost loop of evaluation.
  if (op === '==') {
    for (const r of right) if (r === left) return true;
    return false;
  }
  if (op === '!=') {
    for (const r of right) if (r === left) return false;
    return true;
  }
  if (typeof left !== 'number') return false;
  for (const r of right) {
    if (typeof r !== 'number') continue;
    if (op === '<' ? left < r : op === '<=' ? left <= r : op === '>' ? left > r : left >= r) return true;
  }
  return false;
}

/** The section names, for callers that report per-section statistics. */
export function sectionsOf(policy: Policy): Section[] {
  return [policy.configurationRules, policy.authorizationRules, policy.issuanceRules].filter(
    (s): s is Section => s !== undefined,
  );
}
