/**
 * `attestation-client`: the one client of the attestation API (MAA-compatible): attest, token check against /certs, secret release and JWE opening.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
