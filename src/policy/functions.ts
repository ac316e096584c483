/**
 * The policy 1.2 built-in functions (spec maa.md §3.1; Microsoft's "claim rule functions" page),
 * one table entry each. Values flow through expressions as bags (lists) of scalar claim values:
 * `c.value` is the value of every claim bound to `c`, a literal is a one-element bag and a JSON array
 * becomes a multi-element "Set". Per-value functions are applied to every combination of their
 * arguments' values; set functions see whole bags.
 */
import type { ClaimValue } from './claims.ts';
import { equalityCost, stringifyBounded, type Budget } from './budget.ts';
import { PolicyEvaluationError, type SourcePosition } from './errors.ts';
import { POLICY_LIMITS } from './limits.ts';
import { jmesPathSearch } from './jmespath.ts';

/** Context handed to a function: the work budget and the position of the call. */
export interface CallContext {
  readonly budget: Budget;
  readonly pos: SourcePosition;
}

/** One built-in. */
export interface FunctionDef {
  readonly name: string;
  readonly arity: number;
  /**
   * `each`: `apply` gets one value per argument and is called for every combination; its results
   * are concatenated and are read-only when any argument was. `sets`: `apply` gets each argument's
   * whole bag once and its result is never read-only (as documented for IsSubsetOf and
   * ContainsOnlyValue).
   */
  readonly mode: 'each' | 'sets';
  readonly apply: (args: readonly (ClaimValue | readonly ClaimValue[])[], ctx: CallContext) => ClaimValue[];
}

function typeError(ctx: CallContext, message: string): PolicyEvaluationError {
  return new PolicyEvaluationError('ERR_POLICY_EVAL_TYPE', message, ctx.pos);
}

function str(v: ClaimValue | readonly ClaimValue[], fn: string, n: number, ctx: CallContext): string {
  if (typeof v !== 'string')
    throw typeError(ctx, `${fn}: argument ${n} must be a String, got ${JSON.stringify(v)}`);
  return v;
}

/** JSON.parse with size and depth limits; errors become ERR_POLICY_EVAL_JSON. */
export function parseJsonBounded(text: string, fn: string, ctx: CallContext): unknown {
  if (text.length > POLICY_LIMITS.maxJsonChars) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_EVAL_LIMIT',
      `${fn}: JSON input longer than ${POLICY_LIMITS.maxJsonChars} characters`,
      ctx.pos,
    );
  }
  ctx.budget.charge(Math.ceil(text.length / 64) + 1, ctx.pos);
  ctx.budget.chargeJson(text.length, ctx.pos);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new PolicyEvaluationError(
      'ERR_POLICY_EVAL_JSON',
      `${fn}: argument is not valid JSON (${reason})`,
      ctx.pos,
    );
  }
  if (jsonDepth(value) > POLICY_LIMITS.maxJsonDepth) {
    throw new PolicyEvaluationError(
      'ERR_POLICY_EVAL_JSON',
      `${fn}: JSON nested deeper than ${POLICY_LIMITS.maxJsonDepth}`,
      ctx.pos,
    );
  }
  return value;
}

/** Depth of a parsed JSON value, iteratively (no recursion on hostile input). */
function jsonDepth(root: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (d > max) max = d;
    if (d > POLICY_LIMITS.maxJsonDepth) return d;
    if (Array.isArray(v)) for (const x of v) stack.push([x, d + 1]);
    else if (typeof v === 'object' && v !== null) for (const x of Object.values(v)) stack.push([x, d + 1]);
  }
  return max;
}

function jsonScalarToClaimValue(v: unknown, ctx: CallContext): ClaimValue | undefined {
  if (v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_JSON',
        `JsonToClaimValue: ${v} is a fraction; only integers are claim values`,
        ctx.pos,
      );
    }
    if (!Number.isSafeInteger(v)) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_JSON',
        `JsonToClaimValue: ${v} is outside the safe integer range`,
        ctx.pos,
      );
    }
    return v;
  }
  throw new PolicyEvaluationError(
    'ERR_POLICY_EVAL_JSON',
    'JsonToClaimValue: JSON objects and nested arrays are not claim values',
    ctx.pos,
  );
}

const DEFS: readonly FunctionDef[] = [
  {
    name: 'JmesPath',
    arity: 2,
    mode: 'each',
    apply: ([json, query], ctx) => {
      const doc = parseJsonBounded(str(json as ClaimValue, 'JmesPath', 1, ctx), 'JmesPath', ctx);
      const q = str(query as ClaimValue, 'JmesPath', 2, ctx);
      if (q.length === 0) throw typeError(ctx, 'JmesPath: the query must not be empty');
      const result = jmesPathSearch(doc, q, ctx);
      return [stringifyBounded(result, 'JmesPath', ctx.budget, ctx.pos)];
    },
  },
  {
    name: 'JsonToClaimValue',
    arity: 1,
    mode: 'each',
    apply: ([json], ctx) => {
      const parsed = parseJsonBounded(
        str(json as ClaimValue, 'JsonToClaimValue', 1, ctx),
        'JsonToClaimValue',
        ctx,
      );
      if (Array.isArray(parsed)) {
        const out: ClaimValue[] = [];
        for (const item of parsed as unknown[]) {
          if (typeof item === 'object' && item !== null) {
            throw new PolicyEvaluationError(
              'ERR_POLICY_EVAL_JSON',
              'JsonToClaimValue: only arrays of numbers, booleans, strings and nulls convert to a Set',
              ctx.pos,
            );
          }
          const v = jsonScalarToClaimValue(item, ctx);
          if (v !== undefined) out.push(v);
        }
        return out;
      }
      const v = jsonScalarToClaimValue(parsed, ctx);
      return v === undefined ? [] : [v];
    },
  },
  {
    name: 'IsSubsetOf',
    arity: 2,
    mode: 'sets',
    apply: ([a, b], ctx) => {
      const sub = a as readonly ClaimValue[];
      const sup = b as readonly ClaimValue[];
      ctx.budget.charge(sub.length * sup.length + 1, ctx.pos);
      let chars = 0;
      for (const x of sub) for (const y of sup) chars += equalityCost(x, y);
      if (chars > 0) ctx.budget.chargeBytes(chars, ctx.pos);
      return [sub.every((x) => sup.includes(x))];
    },
  },
  {
    name: 'AppendString',
    arity: 2,
    mode: 'each',
    apply: ([a, b], ctx) => {
      const out = str(a as ClaimValue, 'AppendString', 1, ctx) + str(b as ClaimValue, 'AppendString', 2, ctx);
      if (out.length > POLICY_LIMITS.maxJsonChars) {
        throw new PolicyEvaluationError(
          'ERR_POLICY_EVAL_LIMIT',
          `AppendString: result longer than ${POLICY_LIMITS.maxJsonChars} characters`,
          ctx.pos,
        );
      }
      ctx.budget.charge(Math.ceil(out.length / 64), ctx.pos);
      // The concatenation itself is lazy in V8; the characters are copied when the result is first
      // read (compared, parsed), and those reads are charged again where they happen.
      ctx.budget.chargeBytes(out.length, ctx.pos);
      return [out];
    },
  },
  {
    name: 'NegateBool',
    arity: 1,
    mode: 'each',
    apply: ([v], ctx) => {
      if (typeof v !== 'boolean')
        throw typeError(ctx, `NegateBool: argument must be a Boolean, got ${JSON.stringify(v)}`);
      return [!v];
    },
  },
  {
    name: 'ContainsOnlyValue',
    arity: 2,
    mode: 'sets',
    apply: ([set, single], ctx) => {
      const values = set as readonly ClaimValue[];
      const only = single as readonly ClaimValue[];
      if (only.length !== 1) {
        throw typeError(
          ctx,
          `ContainsOnlyValue: argument 2 must be a single value, got ${only.length} values`,
        );
      }
      ctx.budget.charge(values.length + 1, ctx.pos);
      let chars = 0;
      for (const x of values) chars += equalityCost(x, only[0]);
      if (chars > 0) ctx.budget.chargeBytes(chars, ctx.pos);
      return [values.length > 0 && values.every((x) => x === only[0])];
    },
  },
];

/** Built-ins by lower-case name (calls match case-insensitively). */
export const FUNCTIONS: ReadonlyMap<string, FunctionDef> = new Map(
  DEFS.map((d) => [d.name.toLowerCase(), d]),
);
