/**
 * Errors of DCAP collateral handling and quote verification.
 *
 * `VerificationError` carries the stable `code` plus the number and name of the verification step
 * that failed (see `VERIFY_STEPS` and docs/verification.md). `CollateralFormatError` is raised when
 * a collateral artefact (bundle, TCB Info, QE Identity, CRL, certificate) cannot be read at all.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

export const CORE_VERIFY_ERRORS = {
  ERR_COLLATERAL_FORMAT: {
    type: 'CollateralFormatError',
    summary: 'A collateral bundle or artefact (JSON, PEM, DER, hex) is malformed or lacks a required field.',
  },
  ERR_VERIFY_QUOTE_FORMAT: {
    type: 'VerificationError',
    summary:
      'The quote could not be parsed (truncated, oversized length, bad structure); wraps the format error.',
  },
  ERR_VERIFY_UNSUPPORTED_QUOTE: {
    type: 'VerificationError',
    summary:
      'The quote is well formed but not verifiable: version, key type, TEE type, QE vendor or certification data type.',
  },
  ERR_VERIFY_CERT_FORMAT: {
    type: 'VerificationError',
    summary: 'A certificate in a chain is malformed, not ECDSA P-256/SHA-256, or lacks a required extension.',
  },
  ERR_VERIFY_CHAIN_INCOMPLETE: {
    type: 'VerificationError',
    summary:
      'A certificate chain cannot be built by subject/issuer (missing, extra or wrongly named certificate).',
  },
  ERR_VERIFY_CERT_SIGNATURE: {
    type: 'VerificationError',
    summary: 'A certificate signature does not verify with its issuer public key.',
  },
  ERR_VERIFY_UNTRUSTED_ROOT: {
    type: 'VerificationError',
    summary: 'The chain root is not the pinned Intel SGX Root CA key (nor a configured trust anchor).',
  },
  ERR_VERIFY_SIMULATED_ROOT: {
    type: 'VerificationError',
    summary:
      'The chain ends in the ccnodes simulated root, and that exact certificate was not passed as trustSimulatedRoot.',
  },
  ERR_VERIFY_CRL_INVALID: {
    type: 'VerificationError',
    summary: 'A CRL is malformed or lacks the CRL Number / Authority Key Identifier extensions.',
  },
  ERR_VERIFY_CRL_ISSUER: {
    type: 'VerificationError',
    summary: 'A CRL issuer does not equal the subject of the CA it must come from.',
  },
  ERR_VERIFY_CRL_SIGNATURE: {
    type: 'VerificationError',
    summary: 'A CRL signature does not verify with its issuing CA key.',
  },
  ERR_VERIFY_PCK_REVOKED: {
    type: 'VerificationError',
    summary: 'The PCK certificate serial is listed on the PCK CRL.',
  },
  ERR_VERIFY_INTERMEDIATE_REVOKED: {
    type: 'VerificationError',
    summary: 'An intermediate CA or the TCB signing certificate is listed on the Root CA CRL.',
  },
  ERR_VERIFY_COLLATERAL_EXPIRED: {
    type: 'VerificationError',
    summary:
      'A certificate, CRL, TCB Info or QE Identity is outside its validity period at the verification time.',
  },
  ERR_VERIFY_TCB_INFO_INVALID: {
    type: 'VerificationError',
    summary: 'TCB Info is malformed, of an unsupported version, or lacks a required field.',
  },
  ERR_VERIFY_TCB_INFO_SIGNATURE: {
    type: 'VerificationError',
    summary:
      'The TCB Info signature verifies neither over the received tcbInfo bytes nor over their compact form.',
  },
  ERR_VERIFY_QE_IDENTITY_INVALID: {
    type: 'VerificationError',
    summary: 'QE Identity is malformed, of an unsupported version, or lacks a required field.',
  },
  ERR_VERIFY_QE_IDENTITY_SIGNATURE: {
    type: 'VerificationError',
    summary:
      'The QE Identity signature verifies neither over the received enclaveIdentity bytes nor over their compact form.',
  },
  ERR_VERIFY_TCB_INFO_MISMATCH: {
    type: 'VerificationError',
    summary: 'TCB Info does not belong to this quote: its id/version does not fit the TEE type.',
  },
  ERR_VERIFY_FMSPC_MISMATCH: {
    type: 'VerificationError',
    summary: 'The FMSPC in the PCK certificate differs from the TCB Info fmspc.',
  },
  ERR_VERIFY_PCEID_MISMATCH: {
    type: 'VerificationError',
    summary: 'The PCE-ID in the PCK certificate differs from the TCB Info pceId.',
  },
  ERR_VERIFY_TDX_MODULE_MISMATCH: {
    type: 'VerificationError',
    summary: 'TDX only: MRSIGNERSEAM or SEAMATTRIBUTES do not match the TCB Info TDX module identity.',
  },
  ERR_VERIFY_QE_REPORT_SIGNATURE: {
    type: 'VerificationError',
    summary: 'The QE report signature does not verify with the PCK certificate key.',
  },
  ERR_VERIFY_QE_REPORT_DATA: {
    type: 'VerificationError',
    summary: 'The QE report data is not SHA-256(attestation key || QE authentication data).',
  },
  ERR_VERIFY_QE_IDENTITY_MISMATCH: {
    type: 'VerificationError',
    summary:
      'The QE report does not match the QE Identity (miscselect, attributes, mrsigner, isvprodid, id/TEE).',
  },
  ERR_VERIFY_QUOTE_SIGNATURE: {
    type: 'VerificationError',
    summary: 'The quote signature does not verify with the attestation key over header and body.',
  },
  ERR_VERIFY_TCB_NOT_SUPPORTED: {
    type: 'VerificationError',
    summary:
      'No TCB level of the TCB Info (or QE Identity / TDX module) matches the platform: TCB not supported.',
  },
  ERR_VERIFY_DEBUG_ENCLAVE: {
    type: 'VerificationError',
    summary: 'The enclave (or TD) runs in debug mode; refused unless dangerous.allowDebugEnclave is set.',
  },
} as const satisfies ErrorRegistry;

export type CoreVerifyErrorCode = keyof typeof CORE_VERIFY_ERRORS;

/** Codes carried by `VerificationError`. */
export type VerificationErrorCode = Exclude<CoreVerifyErrorCode, 'ERR_COLLATERAL_FORMAT'>;

/**
 * The verification steps, numbered as in docs/verification.md. `spec` points at the matching
 * paragraph of the DCAP research notes (spec/dcap.md §3) and Intel's QVL stage.
 */
export const VERIFY_STEPS = {
  1: { name: 'parse-quote', spec: '§3.4.1 parse and structural checks' },
  2: { name: 'pck-chain', spec: '§3.1.1-3 PCK chain by subject/issuer, pinned root' },
  3: { name: 'crls', spec: '§3.1.4 Root CA CRL and PCK CRL: issuer, extensions, signature' },
  4: { name: 'revocation', spec: '§3.1.5 intermediate and PCK serials against the CRLs' },
  5: { name: 'validity-times', spec: '§3.1.6 certificate and CRL validity at the verification time' },
  6: { name: 'tcb-info', spec: '§3.2 TCB Info issuer chain, signature, nextUpdate' },
  7: { name: 'qe-identity', spec: '§3.3 QE Identity issuer chain, signature, nextUpdate' },
  8: { name: 'tcb-info-match', spec: '§3.4.2-4 PCK CRL issuer, TCB Info id, FMSPC, PCE-ID' },
  9: { name: 'tdx-module', spec: '§3.4.5 TDX module identity (TDX only)' },
  10: { name: 'qe-report-signature', spec: '§3.4.6 QE report signed by the PCK key' },
  11: { name: 'qe-report-data', spec: '§3.4.7 QE report data binds the attestation key' },
  12: { name: 'qe-identity-policy', spec: '§3.4.8 QE identity policy and QE TCB level' },
  13: { name: 'quote-signature', spec: '§3.4.9 quote signed by the attestation key' },
  14: { name: 'tcb-level', spec: '§3.4.10 / §4 TCB level selection and status merge' },
  15: { name: 'enclave-policy', spec: '§3.4 note: debug enclaves refused (relying-party rule)' },
} as const;

/** A step number of `VERIFY_STEPS`. */
export type VerifyStep = keyof typeof VERIFY_STEPS;

/** A verification failed at `step`; `code` says why. */
export class VerificationError extends CcnodesError {
  declare readonly code: VerificationErrorCode;
  /** Number of the failed step (see `VERIFY_STEPS`). */
  readonly step: VerifyStep;
  /** Name of the failed step, e.g. `pck-chain`. */
  readonly stepName: string;

  constructor(
    code: VerificationErrorCode,
    step: VerifyStep,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    const stepName = VERIFY_STEPS[step].name;
    super(code, message, {
      details: { ...(options.details ?? {}), step, stepName },
      cause: options.cause,
    });
    this.step = step;
    this.stepName = stepName;
  }
}

/** A collateral artefact could not be read (bad JSON, PEM, DER, hex, missing member). */
export class CollateralFormatError extends CcnodesError {
  declare readonly code: 'ERR_COLLATERAL_FORMAT';
  constructor(message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super('ERR_COLLATERAL_FORMAT', message, { details, cause });
  }
}
