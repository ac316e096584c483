/**
 * `ratls`: RA-TLS: X.509 certificates carrying SGX/TDX quotes (Gramine, Gramine DICE, EGo/Open Enclave formats), their verification, TLS helpers.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
