/**
 * The parsed form of a policy (spec maa.md §3.2). Every node keeps the position of its first token
 * so that evaluation errors and deny reasons can point back into the text.
 */
import type { SourcePosition } from './errors.ts';
import type { ClaimValue } from './claims.ts';

/** The language versions we implement. */
export type PolicyVersion = '1.0' | '1.1' | '1.2';

/** The properties of a claim a condition or reference can name. */
export type ClaimProperty = 'type' | 'value' | 'issuer' | 'valueType';

/** Comparison operators. A single `=` inside a condition is read as `==` (documented leniency). */
export type Comparator = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** The 1.2 built-in functions (canonical spelling; calls match case-insensitively). */
export type FunctionName =
  'JmesPath' | 'JsonToClaimValue' | 'IsSubsetOf' | 'AppendString' | 'NegateBool' | 'ContainsOnlyValue';

/** A value expression. */
export type Expression = LiteralExpr | ClaimRefExpr | CallExpr;

/** `"text"`, `123`, `true`. */
export interface LiteralExpr {
  readonly kind: 'literal';
  readonly value: ClaimValue;
  readonly pos: SourcePosition;
}

/** `c.value`: the named property of every claim bound to variable `c`. */
export interface ClaimRefExpr {
  readonly kind: 'claimRef';
  readonly variable: string;
  readonly property: ClaimProperty;
  readonly pos: SourcePosition;
}

/** `AppendString(a, b)` (policy 1.2). */
export interface CallExpr {
  readonly kind: 'call';
  readonly name: FunctionName;
  readonly args: readonly Expression[];
  readonly pos: SourcePosition;
}

/** `value >= 3` inside `[...]`. */
export interface PropertyTest {
  readonly property: ClaimProperty;
  readonly comparator: Comparator;
  readonly expr: Expression;
  readonly pos: SourcePosition;
}

/** `[!] [c:] [test, test, …]`. */
export interface Condition {
  readonly negated: boolean;
  /** Variable bound to the matching claims; never set on a negated condition. */
  readonly variable?: string;
  readonly tests: readonly PropertyTest[];
  readonly pos: SourcePosition;
}

/** What a rule does when its conditions hold. */
export type Action = DecisionAction | ClaimAction;

/** `permit()` / `deny()`. */
export interface DecisionAction {
  readonly kind: 'permit' | 'deny';
  readonly pos: SourcePosition;
}

/** `add(...)`, `issue(...)`, `issueproperty(...)`. */
export interface ClaimAction {
  readonly kind: 'add' | 'issue' | 'issueproperty';
  readonly spec: ClaimSpec;
  readonly pos: SourcePosition;
}

/** The argument of a claim action. */
export type ClaimSpec =
  /** `claim = c`: re-emit every claim bound to `c`. */
  | { readonly kind: 'copy'; readonly variable: string; readonly pos: SourcePosition }
  /** `type = …, value = … [, valueType = "…"]`. */
  | {
      readonly kind: 'build';
      readonly type: Expression;
      readonly value: Expression;
      readonly valueType?: 'String' | 'Integer' | 'Boolean';
      readonly pos: SourcePosition;
    };

/** `conditions => action;` */
export interface Rule {
  readonly conditions: readonly Condition[];
  readonly action: Action;
  readonly pos: SourcePosition;
}

/** Section names as the policy text spells them (lower case). */
export type SectionName = 'configurationrules' | 'authorizationrules' | 'issuancerules';

/** One `name { rules };` block. */
export interface Section {
  readonly name: SectionName;
  readonly rules: readonly Rule[];
  readonly pos: SourcePosition;
}

/** A parsed policy. Produced by `parsePolicy`; immutable. */
export interface Policy {
  readonly version: PolicyVersion;
  readonly configurationRules?: Section;
  readonly authorizationRules: Section;
  readonly issuanceRules: Section;
  /** Total number of rules, for reporting. */
  readonly ruleCount: number;
}
