/**
 * `ccnodes/ratls`: RA-TLS — X.509 certificates carrying an enclave's quote (Gramine, Gramine DICE
 * and EGo/Open Enclave formats), their verification, and TLS helpers. See docs/ratls.md and docs/api.md.
 */
export * from '../ratls/index.ts';
export { CcnodesError, isCcnodesError } from '../errors/index.ts';
