import { PolicyEvaluationError, type SourcePosition } from './errors.ts';
import { POLICY_LIMITS } from './limits.ts';

/**
 * A work counter shared by one evaluation: every claim comparison, function application and
 * JMESPath step costs one unit, so hostile policies or claim sets end with `ERR_POLICY_EVAL_LIMIT`
 * instead of running long.
 */
export class Budget {
  private used = 0;

  constructor(private readonly limit: number = POLICY_LIMITS.maxSteps) {}

  /** Spends `units`; throws when the budget is exhausted. `pos` is the rule position, if known. */
  charge(units: number, pos?: SourcePosition): void {
    this.used += units;
    if (this.used > this.limit) {
      throw new PolicyEvaluationError(
        'ERR_POLICY_EVAL_LIMIT',
        `evaluation exceeded ${this.limit} work steps`,
        pos,
        { limit: this.limit },
      );
    }
  }

  /** Units spent so far. */
  get spent(): number {
    return this.used;
  }
}
