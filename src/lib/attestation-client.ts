/**
 * `ccnodes/attestation-client`: a small client of a Microsoft Azure Attestation-compatible service —
 * attest SGX evidence, verify the returned token against the service's `/certs`, release secrets and
 * decrypt them. See docs/api.md.
 */
export * from '../attestation-client/index.ts';
export { CcnodesError, isCcnodesError } from '../errors/index.ts';
