/**
 * Errors of `src/ratls`: RA-TLS certificates (parse, bind, identity) and their TLS helpers.
 * Quote verification failures keep core's codes (`ERR_VERIFY_*`, e.g. `ERR_VERIFY_COLLATERAL_EXPIRED`,
 * `ERR_VERIFY_DEBUG_ENCLAVE`); PCS/PCCS fetch failures keep collateral-source's (`ERR_PCS_*`).
 * docs/errors.md is generated from this registry.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `ratls`: RA-TLS: X.509 certificates carrying SGX/TDX quotes (Gramine, Gramine DICE, EGo/Open Enclave formats), their verification, TLS helpers. Each code names its error class (see docs/errors.md). */
export const RATLS_ERRORS = {
  ERR_RATLS_CERT_FORMAT: {
    type: 'RatlsFormatError',
    summary: 'The input is not one PEM or DER X.509 certificate (or CSR) that can be parsed.',
  },
  ERR_RATLS_NO_EXTENSION: {
    type: 'RatlsFormatError',
    summary:
      'The certificate carries none of the RA-TLS extensions (Gramine legacy quote, TCG DICE tagged evidence, EGo/Open Enclave report), or not the one of the requested format.',
  },
  ERR_RATLS_EXTENSION_PAYLOAD: {
    type: 'RatlsFormatError',
    summary:
      'An RA-TLS extension is present but its payload is malformed: bad CBOR, wrong CBOR tag or claim, bad Open Enclave report header, or a quote that does not decode.',
  },
  ERR_RATLS_CERT_SIGNATURE: {
    type: 'RatlsVerificationError',
    summary:
      "The self-signed RA-TLS certificate's signature does not verify with its own public key (no proof of possession of the attested key).",
  },
  ERR_RATLS_CERT_VALIDITY: {
    type: 'RatlsVerificationError',
    summary: 'The verification time is outside the certificate notBefore/notAfter window.',
  },
  ERR_RATLS_KEY_HASH_MISMATCH: {
    type: 'RatlsVerificationError',
    summary:
      "The hash of the certificate's public key is not the one the quote's REPORTDATA (or the DICE pubkey-hash claim) binds.",
  },
  ERR_RATLS_CLAIMS_HASH_MISMATCH: {
    type: 'RatlsVerificationError',
    summary: "TCG DICE evidence: the quote's REPORTDATA is not SHA-256 of the serialized claims it carries.",
  },
  ERR_RATLS_TEE_MISMATCH: {
    type: 'RatlsVerificationError',
    summary:
      'The quote is for another TEE than expected (an SGX identity was pinned but the quote is TDX, or the reverse).',
  },
  ERR_RATLS_MRENCLAVE_MISMATCH: {
    type: 'RatlsVerificationError',
    summary: "The quote's MRENCLAVE is not the expected one.",
  },
  ERR_RATLS_MRSIGNER_MISMATCH: {
    type: 'RatlsVerificationError',
    summary: "The quote's MRSIGNER is not the expected one.",
  },
  ERR_RATLS_ISVPRODID_MISMATCH: {
    type: 'RatlsVerificationError',
    summary: "The quote's ISVPRODID is not the expected product ID.",
  },
  ERR_RATLS_ISVSVN_TOO_LOW: {
    type: 'RatlsVerificationError',
    summary: "The quote's ISVSVN is below the minimum security version required.",
  },
  ERR_RATLS_MRTD_MISMATCH: {
    type: 'RatlsVerificationError',
    summary: "TDX: the quote's MRTD is not the expected one.",
  },
  ERR_RATLS_NO_PEER_CERTIFICATE: {
    type: 'RatlsVerificationError',
    summary: 'The TLS peer presented no certificate, so it cannot be attested.',
  },
  ERR_RATLS_OPTIONS: {
    type: 'RatlsOptionsError',
    summary:
      'RA-TLS options are unusable: a measurement of the wrong length, an unknown format, no collateral source, or a TLS helper without an expected identity.',
  },
} as const satisfies ErrorRegistry;

export type RatlsErrorCode = keyof typeof RATLS_ERRORS;

type CodesOf<T extends string> = {
  [K in RatlsErrorCode]: (typeof RATLS_ERRORS)[K]['type'] extends T ? K : never;
}[RatlsErrorCode];

/** The certificate or its RA-TLS extension cannot be read. `details` names the field or offset. */
export class RatlsFormatError extends CcnodesError {
  declare readonly code: CodesOf<'RatlsFormatError'>;
  constructor(
    code: CodesOf<'RatlsFormatError'>,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** A check of an RA-TLS certificate failed (binding, signature, identity). */
export class RatlsVerificationError extends CcnodesError {
  declare readonly code: CodesOf<'RatlsVerificationError'>;
  constructor(
    code: CodesOf<'RatlsVerificationError'>,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super(code, message, { details });
  }
}

/** The caller's RA-TLS options are unusable. `details.option` names the option. */
export class RatlsOptionsError extends CcnodesError {
  declare readonly code: CodesOf<'RatlsOptionsError'>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('ERR_RATLS_OPTIONS', message, { details });
  }
}
