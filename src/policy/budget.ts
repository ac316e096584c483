import { PolicyEvaluationError, type SourcePosition } from './errors.ts';
import { POLICY_LIMITS } from './limits.ts';

/**
 * The work counters of one evaluation. Two meters, each with its own limit:
 *
 * - **steps**: every claim comparison, function application and JMESPath node costs one unit;
 * - **bytes**: every character of claim data the evaluation touches — both sides of an equal-length
 *   string comparison (unequal lengths compare without reading the text), strings built by
 *   `AppendString`/`join`, JSON text parsed or produced — costs one unit, and JSON work costs
 *   {@link JSON_CHAR_COST} per character (parsing and serialising are far slower per character
 *   than comparing).
 *
 * A step costs about the same whatever it touches, so without the byte meter a few hundred rules
 * comparing megabyte strings would stay far inside the step limit and still run for seconds.
 * Exceeding either meter throws `ERR_POLICY_EVAL_LIMIT`.
 */
export class Budget {
  private used = 0;
  private touched = 0;

  constructor(
    private readonly limit: number = POLICY_LIMITS.maxSteps,
    private readonly byteLimit: number = POLICY_LIMITS.maxBytesTouched,
  ) {}

  /** Spends `units` steps; throws when the step budget is exhausted. `pos` is the rule position, if known. */
  charge(units: number, pos?: SourcePosition): void {
    this.used += units;
    if (this.used > this.limit) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `evaluation exceeded ${this.limit} work steps`,
        pos,
        { limit: this.limit, meter: 'steps' },
      );
    }
  }

  /** Spends `chars` byte units (characters touched); throws when the byte budget is exhausted. */
  chargeBytes(chars: number, pos?: SourcePosition): void {
    this.touched += chars;
    if (this.touched > this.byteLimit) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `evaluation touched more than ${this.byteLimit} characters of claim data (comparisons, built strings, JSON)`,
        pos,
        { limit: this.byteLimit, meter: 'bytes' },
      );
    }
  }

  /** Charges for parsing or producing `chars` characters of JSON text. */
  chargeJson(chars: number, pos?: SourcePosition): void {
    this.chargeBytes(chars * JSON_CHAR_COST, pos);
  }

  /** Steps spent so far. */
  get spent(): number {
    return this.used;
  }

  /** Byte units spent so far. */
  get bytesSpent(): number {
    return this.touched;
  }
}

/**
 * Byte units one character of JSON costs (parsed or serialised). Measured on a 2-core machine:
 * comparing flat strings runs at several GB/s, `JSON.parse`/`JSON.stringify` of object-heavy text
 * at tens of MB/s; 16 keeps the worst case of the byte meter within a fraction of a second.
 */
export const JSON_CHAR_COST = 16;

/**
 * Characters an equality test of `a` and `b` may read: both strings when they have the same length
 * (strings of different lengths, and non-strings, compare without reading any text).
 */
export function equalityCost(a: unknown, b: unknown): number {
  return typeof a === 'string' && typeof b === 'string' && a.length === b.length ? 2 * a.length : 0;
}

/**
 * JSON.stringify with the size bound checked first: a JMESPath result can reference the same
 * (large) sub-document many times (`[@, @, @, …]`), so its text may be far larger than the input.
 * The walk that sizes it (an upper-bound estimate) stops as soon as the bound is passed, and the
 * text is paid for as JSON work before it is produced. `what` names the caller in the error.
 */
export function stringifyBounded(
  value: unknown,
  what: string,
  budget: Budget,
  pos: SourcePosition | undefined,
): string {
  const max = POLICY_LIMITS.maxJsonChars;
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const x of v as unknown[]) stack.push(x);
    } else if (typeof v === 'object' && v !== null) {
      size += 1;
      for (const [k, x] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(x);
      }
    } else size += 24;
    if (size > max) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `${what}: result longer than ${max} characters of JSON`,
        pos,
      );
    }
  }
  budget.chargeJson(size, pos);
  const text = JSON.stringify(value);
  if (text.length > max) {
    // Escapes made it longer than estimated; still refused, and it was at most 6x the estimate.
    throw new PolicyEvaluationError(
      'ERR_POLICY_EVAL_LIMIT',
      `${what}: result longer than ${max} characters of JSON`,
      pos,
    );
  }
  return text;
}
