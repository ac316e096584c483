/**
 * Fixed sizes, type codes and identifiers of the Intel SGX/TDX DCAP quote formats
 * (spec/dcap.md §1). All sizes are in bytes.
 */

/** Quote header (every version). */
export const QUOTE_HEADER_SIZE = 48;
/** SGX report body (ISV enclave report and QE report). */
export const REPORT_BODY_SIZE = 384;
/** TD report 1.0 (TDX quote v4, v5 body type 2). */
export const TD_REPORT_10_SIZE = 584;
/** TD report 1.5 (TDX quote v5 body type 3). */
export const TD_REPORT_15_SIZE = 648;
/** Quote v5 body descriptor: type u16, size u32. */
export const BODY_DESCRIPTOR_SIZE = 6;
/** ECDSA P-256 signature, raw r‖s. */
export const ECDSA_SIGNATURE_SIZE = 64;
/** ECDSA P-256 public key, raw x‖y. */
export const ECDSA_PUBLIC_KEY_SIZE = 64;
/** Quote header user data (Intel's QE: 16-byte QE ID, then 4 zero bytes). */
export const USER_DATA_SIZE = 20;
/** QE vendor ID field size. */
export const QE_VENDOR_ID_SIZE = 16;
/** Largest quote (or binary input) accepted by the decoders: 1 MiB. */
export const MAX_QUOTE_SIZE = 1024 * 1024;

/** Quote versions this library decodes. */
export const QUOTE_VERSIONS = [3, 4, 5] as const;
export type QuoteVersion = (typeof QUOTE_VERSIONS)[number];

/** Attestation key type 2: ECDSA-256 with P-256 (the only one supported). */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;

/** TEE type of an SGX quote. */
export const TEE_TYPE_SGX = 0x00000000;
/** TEE type of a TDX quote. */
export const TEE_TYPE_TDX = 0x00000081;

/** Quote v5 body descriptor types. */
export const BODY_TYPE_SGX = 1;
export const BODY_TYPE_TD_REPORT_10 = 2;
export const BODY_TYPE_TD_REPORT_15 = 3;

/** Intel's QE vendor ID, hex. */
export const INTEL_QE_VENDOR_ID_HEX = '939a7233f79c4ca9940a0db3957f0607';
/** Intel's QE vendor ID bytes (do not mutate; copy if you need a writable array). */
export const INTEL_QE_VENDOR_ID: Uint8Array = Uint8Array.from(
  INTEL_QE_VENDOR_ID_HEX.match(/../g) ?? [],
  (h) => parseInt(h, 16),
);

/** Certification data types (spec/dcap.md §1.4). */
export const CERT_DATA_TYPE = {
  PPID_CLEARTEXT: 1,
  PPID_RSA2048_OAEP: 2,
  PPID_RSA3072_OAEP: 3,
  PCK_LEAF_CERT: 4,
  PCK_CERT_CHAIN: 5,
  QE_REPORT_CERTIFICATION: 6,
  PLATFORM_MANIFEST: 7,
} as const;

/** Sizes of the PPID in certification data types 1..3. */
export const PPID_CLEARTEXT_SIZE = 16;
export const PPID_RSA2048_SIZE = 256;
export const PPID_RSA3072_SIZE = 384;
/** CPUSVN field size. */
export const CPUSVN_SIZE = 16;
