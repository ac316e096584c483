import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `planner`: EPC capacity planning and autoscaling simulation with kube-scheduler / cluster-autoscaler semantics (pure). Each code names its error class (see docs/errors.md). */
export const PLANNER_ERRORS = {
  ERR_PLAN_QUANTITY: {
    type: 'PlannerInputError',
    summary:
      'A resource quantity in a workload or SKU table is not a Kubernetes quantity, is negative, or is fractional for an extended resource (names the field).',
  },
  ERR_PLAN_WORKLOAD: {
    type: 'PlannerInputError',
    summary:
      'A workload object has the wrong shape (unknown kind, bad replicas, requests differing from limits for an extended resource, bad toleration or affinity; names the object and field).',
  },
  ERR_PLAN_SKU_TABLE: {
    type: 'PlannerInputError',
    summary:
      'The SKU table is malformed (missing or non-positive vCPU, memory, EPC, pods or price; names the entry).',
  },
  ERR_PLAN_SKU_UNKNOWN: {
    type: 'PlannerInputError',
    summary: 'A requested SKU is not in the SKU table (names it and lists the known sizes).',
  },
  ERR_PLAN_LOAD: {
    type: 'PlannerInputError',
    summary:
      'The load profile CSV is malformed (header, non-numeric or decreasing time, unknown deployment; names the line and column).',
  },
  ERR_PLAN_HPA: {
    type: 'PlannerInputError',
    summary:
      'A HorizontalPodAutoscaler is not one the simulator understands (target missing or not a workload, min/max replicas, metric target; names the field).',
  },
  ERR_PLAN_AUTOSCALER: {
    type: 'PlannerInputError',
    summary:
      'A cluster-autoscaler setting is out of range or unknown (scale-down delay, unneeded time, max nodes, step; names the setting).',
  },
} as const satisfies ErrorRegistry;

export type PlannerErrorCode = keyof typeof PLANNER_ERRORS;

/** Input the planner cannot use: a workload, SKU table, load profile or autoscaler setting. */
export class PlannerInputError extends CcnodesError {
  constructor(code: PlannerErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details === undefined ? undefined : { details });
  }
}
