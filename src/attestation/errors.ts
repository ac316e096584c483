/**
 * Error registry of the attestation service. Every code maps to exactly one MAA error
 * (`InvalidParameter`, `PolicyEvaluationError`, …) and HTTP status in `http-errors.ts`.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

export const ATTESTATION_ERRORS = {
  ERR_ATTEST_BAD_REQUEST: {
    type: 'AttestRequestError',
    summary: 'The request body is not the JSON shape the endpoint expects; names the field.',
  },
  ERR_ATTEST_BAD_BASE64: {
    type: 'AttestRequestError',
    summary: 'A binary request field is not base64url/base64 text; names the field.',
  },
  ERR_ATTEST_BAD_API_VERSION: {
    type: 'AttestRequestError',
    summary: 'The api-version query parameter is missing or not a version this service accepts.',
  },
  ERR_ATTEST_BAD_JSON_DATA: {
    type: 'AttestRequestError',
    summary:
      'runtimeData/initTimeData declared dataType JSON but the bytes are not a JSON object, or nest deeper than the policy JSON depth limit (64); names the field.',
  },
  ERR_ATTEST_BAD_OE_REPORT: {
    type: 'AttestRequestError',
    summary: 'An OpenEnclave report header is malformed (version, type or size field).',
  },
  ERR_ATTEST_REPORT_DATA_MISMATCH: {
    type: 'EvidenceBindingError',
    summary: 'SHA-256(runtimeData) does not equal the first 32 bytes of the quote REPORTDATA.',
  },
  ERR_ATTEST_INIT_DATA_MISMATCH: {
    type: 'EvidenceBindingError',
    summary: 'SHA-256(initTimeData) does not equal the first 32 bytes of the quote CONFIGID.',
  },
  ERR_ATTEST_EVIDENCE_REJECTED: {
    type: 'EvidenceError',
    summary: 'The quote failed verification (format, signature, chain, collateral or TCB).',
  },
  ERR_ATTEST_UNSUPPORTED_TEE: {
    type: 'EvidenceError',
    summary: 'The quote is not an SGX enclave quote (e.g. a TDX quote sent to /attest/SgxEnclave).',
  },
  ERR_ATTEST_TCB_REJECTED: {
    type: 'EvidenceError',
    summary: "The platform's TCB status is not in the service's accepted set (Revoked is never accepted).",
  },
  ERR_ATTEST_COLLATERAL_UNAVAILABLE: {
    type: 'EvidenceError',
    summary: 'Collateral for the quote could not be obtained from the configured source.',
  },
  ERR_ATTEST_POLICY_DENIED: {
    type: 'PolicyDeniedError',
    summary: 'The attestation policy did not permit the evidence (no permit, or a deny fired).',
  },
  ERR_ATTEST_POLICY_JWS: {
    type: 'PolicyManagementError',
    summary: 'A policy or certificate-management body is not a well-formed JWS of the expected shape.',
  },
  ERR_ATTEST_POLICY_UNSIGNED: {
    type: 'PolicyManagementError',
    summary: 'Isolated mode: an unsigned (alg none) policy or management request was refused.',
  },
  ERR_ATTEST_POLICY_SIGNER_UNTRUSTED: {
    type: 'PolicyManagementError',
    summary: 'A signed policy/management JWS is not signed by a registered policy management certificate.',
  },
  ERR_ATTEST_POLICY_TYPE: {
    type: 'PolicyManagementError',
    summary: 'The attestation type in the path is not one this service knows.',
  },
  ERR_ATTEST_CERT_LAST_SIGNER: {
    type: 'PolicyManagementError',
    summary: 'Removing the last policy management certificate is refused.',
  },
  ERR_ATTEST_POLICY_REPLAY: {
    type: 'PolicyManagementError',
    summary:
      'Isolated mode: this signed management JWS was already applied once; a signature authorizes one change, so sign a new body.',
  },
  ERR_ATTEST_POLICY_ROLLBACK: {
    type: 'PolicyManagementError',
    summary:
      "Isolated mode: the management JWS's iat is older than that of the latest change applied to the same attestation type (or to the certificates).",
  },
  ERR_ATTEST_POLICY_JWS_TIME: {
    type: 'PolicyManagementError',
    summary: 'A management JWS is not valid now: its nbf or iat is in the future, or its exp has passed.',
  },
  ERR_ATTEST_POLICY_TYPE_MISMATCH: {
    type: 'PolicyManagementError',
    summary:
      'A policy set/reset JWS names (x-ccnodes-attestation-type) another attestation type than the one in the path.',
  },
  ERR_ATTEST_NOT_ISOLATED: {
    type: 'PolicyManagementError',
    summary: 'Policy management certificates can only be changed in isolated mode.',
  },
  ERR_ATTEST_UNAUTHORIZED: {
    type: 'AuthError',
    summary: 'A management call lacked a valid admin bearer credential.',
  },
  ERR_SECRET_TOKEN_INVALID: {
    type: 'SecretReleaseError',
    summary: 'The token presented for secret release is not a valid, unexpired token of this service.',
  },
  ERR_SECRET_POLICY_DENIED: {
    type: 'SecretReleaseError',
    summary: "The token's claims do not satisfy the secret's release policy.",
  },
  ERR_SECRET_TOKEN_PURPOSE: {
    type: 'SecretReleaseError',
    summary:
      'The token presented for secret release is not an attestation token (x-ccnodes-token-purpose is missing or names a policy or certificates response).',
  },
  ERR_SECRET_ATTESTATION_TYPE: {
    type: 'SecretReleaseError',
    summary:
      "The token was issued under the policy of an attestation type the secret's release policy does not accept (attestationTypes).",
  },
  ERR_SECRET_POLICY_HASH: {
    type: 'SecretReleaseError',
    summary:
      "The token's x-ms-policy-hash is not one of the policy hashes the secret's release policy accepts (policyHashes).",
  },
  ERR_SECRET_NOT_FOUND: {
    type: 'SecretReleaseError',
    summary: 'No secret is stored under the requested name.',
  },
  ERR_SECRET_RELEASE_POLICY: {
    type: 'SecretReleaseError',
    summary: 'A release policy is not valid JSON of the anyOf/allOf claim-condition shape.',
  },
  ERR_SECRET_NO_ENCLAVE_KEY: {
    type: 'SecretReleaseError',
    summary: 'The runtime data carries no usable public key (RSA or EC JWK) to encrypt the secret to.',
  },
  ERR_STORAGE_MIGRATION: {
    type: 'StorageError',
    summary: 'The database schema is newer than this build or a migration failed.',
  },
  ERR_STORAGE_KEK: {
    type: 'StorageError',
    summary:
      'The key-encryption key is missing, malformed, has loose permissions, or does not open stored data.',
  },
  ERR_STORAGE_INTEGRITY: {
    type: 'StorageError',
    summary:
      'A stored policy, release policy, signer certificate, signing key or applied-management-JWS ledger row fails its KEK-derived MAC, or was deleted, inserted, replayed or moved; names the record. The request that needed it fails (500).',
  },
  ERR_STORAGE_BACKEND: {
    type: 'StorageError',
    summary: 'The storage backend failed (constraint, query or I/O error).',
  },
  ERR_STORAGE_UNAVAILABLE: {
    type: 'StorageError',
    summary:
      'The database cannot be reached right now (PostgreSQL down, restarting, refusing or timing out connections); the request fails fast with 503 and the service reconnects by itself.',
  },
  ERR_ATTEST_POLICY_TIMEOUT: {
    type: 'ServiceLimitError',
    summary: 'Policy evaluation ran past its wall-clock deadline (or out of its memory) and was stopped.',
  },
  ERR_ATTEST_RATE_LIMITED: {
    type: 'ServiceLimitError',
    summary: 'Too many draft-policy attestations from this client address; retry after Retry-After seconds.',
  },
  ERR_ATTEST_BUSY: {
    type: 'ServiceLimitError',
    summary: 'Too many policy evaluations are already waiting; the request is refused instead of queued.',
  },
  ERR_ATTEST_POLICY_WORKER: {
    type: 'ServiceLimitError',
    summary: 'The policy evaluation worker thread could not start or failed unexpectedly.',
  },
  ERR_ATTEST_CONFIG: {
    type: 'AttestConfigError',
    summary: 'The service configuration is invalid (listen address, TLS files, public URL, lifetime).',
  },
} as const satisfies ErrorRegistry;

export type AttestationErrorCode = keyof typeof ATTESTATION_ERRORS;

type CodesOf<T extends string> = {
  [K in AttestationErrorCode]: (typeof ATTESTATION_ERRORS)[K]['type'] extends T ? K : never;
}[AttestationErrorCode];

type Details = Record<string, unknown>;

/** Malformed request (body shape, encodings, api-version). `details.field` names the field. */
export class AttestRequestError extends CcnodesError {
  declare readonly code: CodesOf<'AttestRequestError'>;
  constructor(code: CodesOf<'AttestRequestError'>, message: string, details: Details = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** The evidence is genuine but not bound to the data the caller sent with it. */
export class EvidenceBindingError extends CcnodesError {
  declare readonly code: CodesOf<'EvidenceBindingError'>;
  constructor(code: CodesOf<'EvidenceBindingError'>, message: string, details: Details = {}) {
    super(code, message, { details });
  }
}

/** The evidence itself was rejected by the verifier or could not be checked. */
export class EvidenceError extends CcnodesError {
  declare readonly code: CodesOf<'EvidenceError'>;
  constructor(code: CodesOf<'EvidenceError'>, message: string, details: Details = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** The attestation policy refused the evidence. */
export class PolicyDeniedError extends CcnodesError {
  declare readonly code: CodesOf<'PolicyDeniedError'>;
  constructor(message: string, details: Details = {}) {
    super('ERR_ATTEST_POLICY_DENIED', message, { details });
  }
}

/** Policy or policy-certificate management failures. */
export class PolicyManagementError extends CcnodesError {
  declare readonly code: CodesOf<'PolicyManagementError'>;
  constructor(
    code: CodesOf<'PolicyManagementError'>,
    message: string,
    details: Details = {},
    cause?: unknown,
  ) {
    super(code, message, { details, cause });
  }
}

/** Missing or wrong admin credential. */
export class AuthError extends CcnodesError {
  declare readonly code: CodesOf<'AuthError'>;
  constructor(message: string) {
    super('ERR_ATTEST_UNAUTHORIZED', message);
  }
}

/** Secret storage and release failures. */
export class SecretReleaseError extends CcnodesError {
  declare readonly code: CodesOf<'SecretReleaseError'>;
  constructor(code: CodesOf<'SecretReleaseError'>, message: string, details: Details = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** Storage backend, migrations and at-rest encryption. */
export class StorageError extends CcnodesError {
  declare readonly code: CodesOf<'StorageError'>;
  constructor(code: CodesOf<'StorageError'>, message: string, details: Details = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** A bound that protects the service's availability: deadline, rate limit, queue length. */
export class ServiceLimitError extends CcnodesError {
  declare readonly code: CodesOf<'ServiceLimitError'>;
  constructor(code: CodesOf<'ServiceLimitError'>, message: string, details: Details = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}

/** Invalid service configuration (raised at start-up, before serving). */
export class AttestConfigError extends CcnodesError {
  declare readonly code: CodesOf<'AttestConfigError'>;
  constructor(message: string, details: Details = {}) {
    super('ERR_ATTEST_CONFIG', message, { details });
  }
}
