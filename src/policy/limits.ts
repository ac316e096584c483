/**
 * Bounds that keep parsing and evaluation linear-ish and finite on hostile input. Exceeding a parse
 * bound raises `ERR_POLICY_LIMIT` or `ERR_POLICY_TOO_LARGE`; exceeding an evaluation bound raises
 * `ERR_POLICY_EVAL_LIMIT`. Documented in docs/policy.md ("Limits").
 */
export const POLICY_LIMITS = {
  /** Policy text length in UTF-16 code units (128 KiB of ASCII). */
  maxPolicyChars: 128 * 1024,
  /** Tokens in one policy. */
  maxTokens: 50_000,
  /** Rules across all sections. */
  maxRules: 1_000,
  /** Conditions joined by `&&` in one rule. */
  maxConditionsPerRule: 32,
  /** Property tests inside one `[...]`. */
  maxTestsPerCondition: 32,
  /** Nesting depth of function calls in one expression. */
  maxExpressionDepth: 16,
  /** Claims in the working (incoming) set, including those added during evaluation. */
  maxClaims: 10_000,
  /** Values one expression may produce (sets, cartesian products of set arguments). */
  maxValuesPerExpression: 1_000,
  /** Work units (claim comparisons, function applications, JMESPath steps) per evaluation. */
  maxSteps: 2_000_000,
  /**
   * Characters of claim data one evaluation may touch: both sides of equal-length string
   * comparisons, strings built by functions, and JSON parsed or produced (16 units a character).
   */
  maxBytesTouched: 64 * 1024 * 1024,
  /** Length of a JSON text given to JmesPath/JsonToClaimValue, and of any string a function builds. */
  maxJsonChars: 1024 * 1024,
  /** Nesting depth of JSON values and JMESPath expressions. */
  maxJsonDepth: 64,
} as const;
