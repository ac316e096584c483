/** Errors of the PCCS-compatible collateral service (`ccnodes collateral serve|fetch|export|import`). */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `collateral-service`: the PCCS-compatible collateral service (`ccnodes collateral serve`) and its persistent cache. Each code names its error class (see docs/errors.md). */
export const COLLATERAL_SERVICE_ERRORS = {
  ERR_COLLATERAL_SERVICE_CONFIG: {
    type: 'CollateralServiceConfigError',
    summary:
      'The collateral service configuration is unusable (mode, listen address, upstream URL, data directory, API key file, trusted root, database URL); names the field.',
  },
  ERR_COLLATERAL_SERVICE_REQUEST: {
    type: 'CollateralRequestError',
    summary:
      'A PCCS API request has a missing, repeated or malformed query parameter or body (HTTP 400); names the parameter.',
  },
  ERR_COLLATERAL_SERVICE_NOT_FOUND: {
    type: 'CollateralNotFoundError',
    summary:
      'The artefact is not cached and cannot be fetched (OFFLINE mode, or the upstream answered 404): HTTP 404, or 461 for an unknown platform.',
  },
  ERR_COLLATERAL_SERVICE_UPSTREAM: {
    type: 'CollateralUpstreamError',
    summary:
      'The upstream PCS/PCCS could not be reached or answered an error status or a malformed response (HTTP 502); names the upstream URL.',
  },
  ERR_COLLATERAL_SERVICE_VERIFY: {
    type: 'CollateralVerifyError',
    summary:
      'An artefact failed verification (signature, issuer chain to the trusted root, CRL issuer or signature, revocation, FMSPC/TEE/identity mismatch) and was neither cached nor served (HTTP 460 when it came from the upstream); names the artefact and the check.',
  },
  ERR_COLLATERAL_SERVICE_STORAGE: {
    type: 'CollateralStorageError',
    summary: 'The persistent collateral cache (SQLite or PostgreSQL) failed to open, migrate, read or write.',
  },
  ERR_COLLATERAL_SERVICE_BUNDLE: {
    type: 'CollateralBundleError',
    summary:
      'A collateral bundle (`collateral export`/`import`/`fetch`) is not JSON of the ccnodes-collateral-cache/1 shape; names the member.',
  },
} as const satisfies ErrorRegistry;

export type CollateralServiceErrorCode = keyof typeof COLLATERAL_SERVICE_ERRORS;

/** Base of the collateral service errors; `details` name the field, artefact or URL involved. */
export class CollateralServiceError extends CcnodesError {
  declare readonly code: CollateralServiceErrorCode;
  constructor(
    code: CollateralServiceErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, { details, cause });
  }
}

/** `ERR_COLLATERAL_SERVICE_CONFIG`. */
export class CollateralServiceConfigError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_SERVICE_CONFIG', message, details, cause);
  }
}

/** `ERR_COLLATERAL_SERVICE_REQUEST` (HTTP 400). */
export class CollateralRequestError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_COLLATERAL_SERVICE_REQUEST', message, details);
  }
}

/** `ERR_COLLATERAL_SERVICE_NOT_FOUND` (HTTP 404, or 461 when `details.platformUnknown`). */
export class CollateralNotFoundError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_COLLATERAL_SERVICE_NOT_FOUND', message, details);
  }
}

/** `ERR_COLLATERAL_SERVICE_UPSTREAM` (HTTP 502). */
export class CollateralUpstreamError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_SERVICE_UPSTREAM', message, details, cause);
  }
}

/** `ERR_COLLATERAL_SERVICE_VERIFY`: `details.artefact` and `details.check` name what failed. */
export class CollateralVerifyError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_SERVICE_VERIFY', message, details, cause);
  }
}

/** `ERR_COLLATERAL_SERVICE_STORAGE`. */
export class CollateralStorageError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_SERVICE_STORAGE', message, details, cause);
  }
}

/** `ERR_COLLATERAL_SERVICE_BUNDLE`. */
export class CollateralBundleError extends CollateralServiceError {
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_SERVICE_BUNDLE', message, details, cause);
  }
}
