/**
 * Errors of `attestation-client`. Codes are `ERR_ATTESTATION_CLIENT_<CONDITION>`; docs/errors.md is
 * generated from this registry. None of them carries a secret or a token in its message or details.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `attestation-client`: the one client of the attestation API (MAA-compatible): attest, token check against /certs, secret release and JWE opening. Each code names its error class (see docs/errors.md). */
export const ATTESTATION_CLIENT_ERRORS = {
  ERR_ATTESTATION_CLIENT_CONFIG: {
    type: 'AttestationClientConfigError',
    summary:
      'A client option is unusable: the service URL is not http(s), the CA is not PEM, a pinned key is not 32 bytes of hex, a retry bound is out of range.',
  },
  ERR_ATTESTATION_CLIENT_UNREACHABLE: {
    type: 'AttestationUnreachableError',
    summary:
      'The attestation service could not be reached (connection refused, TLS failure, timeout, 429/502/503/504) after the bounded retries with backoff.',
  },
  ERR_ATTESTATION_CLIENT_REFUSED: {
    type: 'AttestationRefusedError',
    summary:
      "The attestation service answered with an HTTP error (evidence refused, release policy not met, unknown secret); `details.status` and `details.serviceCode` carry the service's answer.",
  },
  ERR_ATTESTATION_CLIENT_RESPONSE: {
    type: 'AttestationResponseError',
    summary:
      'An answer of the attestation service is not the JSON shape the API defines (no token, no jwe, no keys).',
  },
  ERR_ATTESTATION_CLIENT_TOKEN: {
    type: 'AttestationTokenError',
    summary:
      'A token failed verification: signature against /certs, algorithm, key id, issuer, expiry, pinned signing key, or an expected claim (MRENCLAVE, runtime key) differs.',
  },
  ERR_ATTESTATION_CLIENT_JWE: {
    type: 'AttestationJweError',
    summary: 'A released secret (compact JWE) could not be opened with the ephemeral private key.',
  },
} as const satisfies ErrorRegistry;

export type AttestationClientErrorCode = keyof typeof ATTESTATION_CLIENT_ERRORS;

type Options = { details?: Record<string, unknown>; cause?: unknown };

/** A client option is unusable; `details.field` names it. */
export class AttestationClientConfigError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_CONFIG';
  constructor(message: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_CONFIG', message, options);
  }
}

/** The service stayed unreachable through every attempt; `details.attempts`, `details.url`. */
export class AttestationUnreachableError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_UNREACHABLE';
  constructor(message: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_UNREACHABLE', message, options);
  }
}

/** The service refused: `details.status` (HTTP) and `details.serviceCode` (its `error.code`). */
export class AttestationRefusedError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_REFUSED';
  /** HTTP status of the refusal. */
  readonly status: number;
  /** The service's stable code (`x-ccnodes-error-code` header, e.g. `ERR_SECRET_POLICY_DENIED`), else the MAA code, else `HTTP_<status>`. */
  readonly serviceCode: string;
  constructor(message: string, status: number, serviceCode: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_REFUSED', message, {
      ...options,
      details: { ...(options.details ?? {}), status, serviceCode },
    });
    this.status = status;
    this.serviceCode = serviceCode;
  }
}

/** An answer does not have the API's shape; `details.field` names what is missing. */
export class AttestationResponseError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_RESPONSE';
  constructor(message: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_RESPONSE', message, options);
  }
}

/** A token failed verification; `details.check` names the failed check. */
export class AttestationTokenError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_TOKEN';
  constructor(message: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_TOKEN', message, options);
  }
}

/** A released secret could not be opened. */
export class AttestationJweError extends CcnodesError {
  declare readonly code: 'ERR_ATTESTATION_CLIENT_JWE';
  constructor(message: string, options: Options = {}) {
    super('ERR_ATTESTATION_CLIENT_JWE', message, options);
  }
}
