/**
 * `dashboard`: the operator dashboard: web server and its data adapters (Kubernetes API, attestation API, metrics).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
