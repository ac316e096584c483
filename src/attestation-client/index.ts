/**
 * `attestation-client`: the one client of the attestation API (MAA-compatible): attest, token check against /certs, secret release and JWE opening.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export {
  ATTESTATION_API_VERSION,
  AttestationClient,
  MAX_RESPONSE_BYTES,
  PREPARED_VERIFY_KEYS,
  type AttestationClientOptions,
  type ReleasedSecret,
  type RetryOptions,
  type SgxEvidence,
  type TokenExpectations,
  type VerifiedToken,
} from './client.ts';
export { EphemeralKey, openJwe, reportDataFor, runtimeDataFor } from './key.ts';
