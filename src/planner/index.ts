/**
 * `planner`: EPC capacity planning and autoscaling simulation with kube-scheduler / cluster-autoscaler semantics (pure).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
