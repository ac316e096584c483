/**
 * `planner`: EPC capacity planning and autoscaling simulation with kube-scheduler / cluster-autoscaler semantics (pure).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export * from './model.ts';
export * from './quantity.ts';
export * from './skus.ts';
export * from './workload.ts';
export * from './nodes.ts';
export * from './fit.ts';
export * from './pack.ts';
export * from './hpa.ts';
export * from './simulate.ts';
export * from './svg.ts';
export * from './report.ts';
