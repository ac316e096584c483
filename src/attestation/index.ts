/**
 * The ccnodes attestation service: a Microsoft Azure Attestation-compatible REST API over DCAP
 * quote verification, the MAA policy language, RS256 tokens, and secret release to attested
 * enclaves. See docs/attestation.md.
 */
export {
  buildApp,
  normalizeIssuer,
  DEFAULT_BODY_LIMIT,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  type AttestationAppDeps,
} from './app.ts';
export {
  createAttestationService,
  type AttestationService,
  type AttestationServiceConfig,
} from './service.ts';
export {
  ATTESTATION_ERRORS,
  AttestConfigError,
  AttestRequestError,
  AuthError,
  EvidenceBindingError,
  EvidenceError,
  PolicyDeniedError,
  PolicyManagementError,
  SecretReleaseError,
  ServiceLimitError,
  StorageError,
  type AttestationErrorCode,
} from './errors.ts';
export { toHttpError, type HttpErrorReply, type MaaErrorCode } from './http-errors.ts';
export {
  API_VERSIONS,
  OE_REPORT_HEADER_SIZE,
  parseAttestRequest,
  stripOeReportHeader,
  TDX_MIN_API_VERSION,
  type ApiVersion,
  type AttestRequest,
  type EvidenceKind,
} from './attest-request.ts';
export { decodeBase64Field, base64url } from './base64.ts';
export { checkDataBindings, policyHash, serviceClaims } from './claims.ts';
export {
  SGX_FLAGS,
  type CollateralHashes,
  type EnclaveReport,
  type EvidenceVerifier,
  type TdxEvidenceVerifier,
  type VerifiedEvidence,
  type VerifiedTdxEvidence,
} from './evidence.ts';
export {
  checkTdxDataBindings,
  TDX_ATTESTATION_TYPE,
  TDX_CLAIM_NAMES,
  TDX_EAT_PROFILE,
  tdxServiceClaims,
} from './tdx-claims.ts';
export { KeyEncryptionKey, loadOrCreateKekFile, parseKek } from './kek.ts';
export { SigningKeyRing, type PublishedJwk } from './signing-keys.ts';
export { TokenIssuer } from './token-issuer.ts';
export { parseReleasePolicy, releasePolicyHolds, type ReleaseNode } from './release-policy.ts';
export { enclaveKey } from './secrets.ts';
export { certThumbprint, unsignedPolicyJws } from './management-jws.ts';
export { POLICY_TYPES, type PolicyType } from './policy-service.ts';
export { createMetrics, type ServiceMetrics } from './metrics.ts';
export {
  openStorage,
  openSqliteStorage,
  openPostgresStorage,
  SCHEMA_VERSION,
  type AttestationStorage,
  type AuditEntry,
  type StoredPolicy,
  type StoredPolicyCertificate,
  type StoredSecret,
  type StoredSigningKey,
} from './storage/index.ts';
export {
  collateralHashes,
  collateralRequestOf,
  createDcapEvidenceVerifier,
  staticCollateral,
  type CollateralProvider,
  type CollateralRequest,
  type DcapVerifierOptions,
} from './dcap-verifier.ts';
