import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/**
 * Error codes of the attestation policy language. `PolicySyntaxError` codes come from
 * {@link parsePolicy} (always with a line and column); `PolicyEvaluationError` codes come from
 * {@link evaluatePolicy} (with the line and column of the rule being evaluated, when known).
 */
export const POLICY_ERRORS = {
  ERR_POLICY_TOO_LARGE: {
    type: 'PolicySyntaxError',
    summary: 'Policy text is longer than the size limit (see docs/policy.md, "Limits").',
  },
  ERR_POLICY_UNEXPECTED_CHARACTER: {
    type: 'PolicySyntaxError',
    summary: 'A character that starts no token (e.g. a curly quote, `|`, `#`); gives line:column.',
  },
  ERR_POLICY_UNTERMINATED_STRING: {
    type: 'PolicySyntaxError',
    summary: 'A string literal is not closed before the end of its line or of the text.',
  },
  ERR_POLICY_INVALID_ESCAPE: {
    type: 'PolicySyntaxError',
    summary: 'A string literal holds a backslash escape the language does not define.',
  },
  ERR_POLICY_INVALID_NUMBER: {
    type: 'PolicySyntaxError',
    summary: 'A number literal is fractional, malformed or outside the safe integer range.',
  },
  ERR_POLICY_UNEXPECTED_TOKEN: {
    type: 'PolicySyntaxError',
    summary: 'The parser expected one thing and found another; names both and the line:column.',
  },
  ERR_POLICY_VERSION_UNSUPPORTED: {
    type: 'PolicySyntaxError',
    summary: 'The `version=` statement names a version other than 1.0, 1.1 or 1.2.',
  },
  ERR_POLICY_VERSION_FEATURE: {
    type: 'PolicySyntaxError',
    summary: 'A construct needs a newer policy version (configurationrules ≥ 1.1; `!` and functions ≥ 1.2).',
  },
  ERR_POLICY_SECTION: {
    type: 'PolicySyntaxError',
    summary: 'A section is missing, repeated, unknown or out of order.',
  },
  ERR_POLICY_ACTION_NOT_ALLOWED: {
    type: 'PolicySyntaxError',
    summary: 'An action is not allowed in its section (e.g. `issue` in authorizationrules).',
  },
  ERR_POLICY_UNKNOWN_FUNCTION: {
    type: 'PolicySyntaxError',
    summary: 'A function call names a function the language does not define.',
  },
  ERR_POLICY_ARITY: {
    type: 'PolicySyntaxError',
    summary: 'A function is called with the wrong number of arguments.',
  },
  ERR_POLICY_UNBOUND_VARIABLE: {
    type: 'PolicySyntaxError',
    summary: 'A claim variable (`c.value`, `claim=c`) is used without an earlier condition binding it.',
  },
  ERR_POLICY_DUPLICATE_VARIABLE: {
    type: 'PolicySyntaxError',
    summary: 'One rule binds the same claim variable twice, or binds one on a negated (`!`) condition.',
  },
  ERR_POLICY_COMPARATOR_TYPE: {
    type: 'PolicySyntaxError',
    summary: 'An ordering comparator (<, <=, >, >=) is used on something that is not an Integer.',
  },
  ERR_POLICY_INVALID_CLAIM_SPEC: {
    type: 'PolicySyntaxError',
    summary: 'An action argument list is malformed: missing or repeated `type`/`value`, bad `valueType`.',
  },
  ERR_POLICY_LIMIT: {
    type: 'PolicySyntaxError',
    summary: 'The policy exceeds a structural limit (tokens, rules, conditions, nesting depth).',
  },
  ERR_POLICY_CLAIM_INVALID: {
    type: 'PolicyEvaluationError',
    summary: 'An incoming claim is malformed (empty type, value not a string, safe integer or boolean).',
  },
  ERR_POLICY_EVAL_LIMIT: {
    type: 'PolicyEvaluationError',
    summary: 'Evaluation exceeded a bound (claims, values per expression, work steps, JSON size).',
  },
  ERR_POLICY_EVAL_TYPE: {
    type: 'PolicyEvaluationError',
    summary: 'A value has the wrong type at run time (function argument, claim type, declared valueType).',
  },
  ERR_POLICY_EVAL_JSON: {
    type: 'PolicyEvaluationError',
    summary: 'A function needed JSON and got invalid or unsupported JSON (objects, fractions, nesting).',
  },
  ERR_POLICY_EVAL_JMESPATH: {
    type: 'PolicyEvaluationError',
    summary: 'A JmesPath query is malformed or uses a JMESPath feature this implementation lacks.',
  },
  ERR_POLICY_READ_ONLY_CLAIM: {
    type: 'PolicyEvaluationError',
    summary: 'A rule tried to issue a value derived from a read-only claim (policy 1.2 read-only claims).',
  },
} as const satisfies ErrorRegistry;

/** Every policy error code. */
export type PolicyErrorCode = keyof typeof POLICY_ERRORS;

type CodesOf<T extends string> = {
  [K in PolicyErrorCode]: (typeof POLICY_ERRORS)[K]['type'] extends T ? K : never;
}[PolicyErrorCode];

/** Codes raised while reading policy text. */
export type PolicySyntaxErrorCode = CodesOf<'PolicySyntaxError'>;
/** Codes raised while evaluating a parsed policy against claims. */
export type PolicyEvaluationErrorCode = CodesOf<'PolicyEvaluationError'>;

/** Where in the policy text something is: 1-based line and column (UTF-16 code units). */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  /** 0-based offset into the policy text. */
  readonly offset: number;
}

/**
 * Base of every policy error. `line`/`column` are 1-based; 0 means "no position" (e.g. a bad
 * incoming claim). `maaErrorCode` is the code Microsoft Azure Attestation returns for this family.
 */
export class PolicyError extends CcnodesError {
  declare readonly code: PolicyErrorCode;
  readonly line: number;
  readonly column: number;
  /** MAA error code for service responses: `PolicyParsingError` or `PolicyEvaluationError`. */
  readonly maaErrorCode: 'PolicyParsingError' | 'PolicyEvaluationError';

  constructor(
    code: PolicyErrorCode,
    message: string,
    position: SourcePosition | undefined,
    maaErrorCode: 'PolicyParsingError' | 'PolicyEvaluationError',
    details: Record<string, unknown> = {},
  ) {
    const where = position === undefined ? '' : `${position.line}:${position.column}: `;
    super(code, `${where}${message}`, {
      details:
        position === undefined ? details : { ...details, line: position.line, column: position.column },
    });
    this.line = position?.line ?? 0;
    this.column = position?.column ?? 0;
    this.maaErrorCode = maaErrorCode;
  }
}

/** The policy text is not a valid policy. Always carries the line and column of the problem. */
export class PolicySyntaxError extends PolicyError {
  declare readonly code: PolicySyntaxErrorCode;
  constructor(
    code: PolicySyntaxErrorCode,
    message: string,
    position: SourcePosition,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, position, 'PolicyParsingError', details);
  }
}

/** Evaluation failed (not a deny: a malformed claim, a function error, or an exceeded bound). */
export class PolicyEvaluationError extends PolicyError {
  declare readonly code: PolicyEvaluationErrorCode;
  constructor(
    code: PolicyEvaluationErrorCode,
    message: string,
    position?: SourcePosition,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, position, 'PolicyEvaluationError', details);
  }
}
