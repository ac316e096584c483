/**
 * Wire names and shapes shared by ccnodes components: pure constants, types and the Kubernetes quantity
 * parser (quantity.ts); imports nothing.
 */
export * from './resources.ts';
export * from './devices.ts';
export * from './sockets.ts';
export * from './labels.ts';
export * from './allocation.ts';
export * from './aesm.ts';
export * from './kube.ts';
export * from './quantity.ts';
