import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `planner`: EPC capacity planning and autoscaling simulation with kube-scheduler / cluster-autoscaler semantics (pure). Each code names its error class (see docs/errors.md). */
export const PLANNER_ERRORS = {} as const satisfies ErrorRegistry;
