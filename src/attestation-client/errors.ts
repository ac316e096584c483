import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `attestation-client`: the one client of the attestation API (MAA-compatible): attest, token check against /certs, secret release and JWE opening. Each code names its error class (see docs/errors.md). */
export const ATTESTATION_CLIENT_ERRORS = {} as const satisfies ErrorRegistry;
