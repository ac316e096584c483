/**
 * The quote helper's wire contract: AESM status codes and binary sizes (spec k8s-sgx.md §5), and the
 * JSON API it serves on its second socket (DESIGN.md §3). Pure constants and types.
 */

/** Default path of the quote helper's JSON API socket. */
export const QUOTE_HELPER_JSON_SOCKET_PATH = '/var/run/ccnodes/quote-helper.sock';

/** `aesm_error_t` values the quote helper uses or reports (Intel `aesm_error.h`). */
export const AESM_STATUS = {
  SUCCESS: 0,
  UNEXPECTED_ERROR: 1,
  NO_DEVICE_ERROR: 2,
  PARAMETER_ERROR: 3,
  NETWORK_ERROR: 12,
  BUSY: 18,
  OUT_OF_MEMORY_ERROR: 21,
  MSG_ERROR: 22,
  SGX_DEVICE_NOT_AVAILABLE: 24,
  SERVICE_NOT_AVAILABLE: 27,
  OUT_OF_EPC: 29,
  SERVICE_UNAVAILABLE: 30,
  UNRECOGNIZED_PLATFORM: 31,
  ECDSA_ID_MISMATCH: 32,
  PUB_KEY_ID_MISMATCH: 35,
  ATT_KEY_BLOB_ERROR: 37,
  UNSUPPORTED_ATT_KEY_ID: 38,
  INTERFACE_UNAVAILABLE: 40,
  PLATFORM_LIB_UNAVAILABLE: 41,
  ATT_KEY_NOT_INITIALIZED: 42,
  ATT_KEY_CERT_DATA_INVALID: 43,
  NO_PLATFORM_CERT_DATA: 44,
  ERROR_REPORT: 45,
  ENCLAVE_LOST: 46,
  INVALID_REPORT: 47,
  ENCLAVE_LOAD_ERROR: 48,
  UNABLE_TO_GENERATE_QE_REPORT: 49,
  KEY_CERTIFICATION_ERROR: 50,
  CONFIG_UNSUPPORTED: 51,
} as const;

export type AesmStatusName = keyof typeof AESM_STATUS;

/** Name of an `aesm_error_t` value, or `AESM_<n>` for values not in the table. */
export function aesmStatusName(status: number): string {
  for (const [name, value] of Object.entries(AESM_STATUS)) if (value === status) return name;
  return `AESM_${status}`;
}

/** `sgx_report_t`: 384-byte body, 32-byte key ID, 16-byte MAC. */
export const SGX_REPORT_SIZE = 432;
/** `sgx_target_info_t`. */
export const SGX_TARGET_INFO_SIZE = 512;
/** `sgx_att_key_id_ext_t` (and `sgx_att_key_id_t`). */
export const SGX_ATT_KEY_ID_SIZE = 256;
/** `sgx_ql_att_key_id_t`, the leading part of `sgx_att_key_id_ext_t`. */
export const SGX_QL_ATT_KEY_ID_SIZE = 158;
/** `sgx_qe_report_info_t`: nonce (16) ‖ app enclave target info (512) ‖ QE report (432). */
export const SGX_QE_REPORT_INFO_SIZE = 960;

/** `POST /v1/quote` JSON body. Binary fields are base64 (standard or url-safe). */
export interface QuoteHelperQuoteRequest {
  /** The enclave's `sgx_report_t` (432 bytes), targeted at the quoting enclave. */
  readonly report: string;
  /**
   * Optional: ask for a QE report too. `nonce` is 16 bytes, `targetInfo` the app enclave's
   * `sgx_target_info_t` (512 bytes); both or neither.
   */
  readonly nonce?: string;
  readonly targetInfo?: string;
}

/** `POST /v1/quote` answer. */
export interface QuoteHelperQuoteResponse {
  /** The quote (base64), exactly as long as the quote (no buffer padding). */
  readonly quote: string;
  readonly quoteSize: number;
  /** The QE report (432 bytes, base64) when a nonce and target info were sent. */
  readonly qeReport?: string;
  readonly provider: string;
  /** True when the quote chains to the simulated root, never to Intel's. */
  readonly simulated: boolean;
}

/** `GET /v1/target-info` answer. */
export interface QuoteHelperTargetInfoResponse {
  /** The quoting enclave's `sgx_target_info_t` (512 bytes, base64). */
  readonly targetInfo: string;
  /** The attestation key ID used (`sgx_att_key_id_ext_t`, 256 bytes, base64). */
  readonly attKeyId: string;
  /** SHA-256 of the attestation public key, hex. */
  readonly pubKeyId: string;
  readonly quoteSize: number;
  readonly provider: string;
  readonly simulated: boolean;
}

/** Error body of every JSON API failure. */
export interface QuoteHelperErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details?: unknown };
}
