/**
 * The seam between the AESM/JSON front ends and whatever produces quotes. A provider answers in
 * domain terms (target info, quote size, quote); failures it wants reported to AESM clients are
 * thrown as `AesmStatusError` with the `aesm_error_t` to send.
 */

/** What `initQuote` returns (AESM InitQuoteEx). */
export interface QuoteTarget {
  /** The quoting enclave's `sgx_target_info_t` (512 bytes). */
  readonly targetInfo: Uint8Array;
  /** Identifier of the attestation public key (ECDSA: SHA-256 of x‖y, 32 bytes). */
  readonly pubKeyId: Uint8Array;
}

/** What `quote` returns (AESM GetQuoteEx). */
export interface QuoteResult {
  /** The quote, exactly as long as the quote itself (no buffer padding). */
  readonly quote: Uint8Array;
  /** The QE report (432 bytes) when `qeReportInfo` was passed. */
  readonly qeReport?: Uint8Array;
}

/** The QE report request of GetQuoteEx (`sgx_qe_report_info_t` without its output part). */
export interface QeReportRequest {
  readonly nonce: Uint8Array;
  readonly appEnclaveTargetInfo: Uint8Array;
}

export interface ProviderHealth {
  readonly ok: boolean;
  readonly detail: string;
}

/** A source of quotes for the quote helper. */
export interface QuoteProvider {
  /** Short name shown in logs, metrics and the JSON API (`sim`, `aesmd`). */
  readonly name: string;
  /** True when quotes chain to the simulated root CA. */
  readonly simulated: boolean;
  /** The attestation key IDs the platform supports (256-byte `sgx_att_key_id_ext_t` each). */
  supportedAttKeyIds(): Promise<readonly Uint8Array[]>;
  /** Target info of the quoting enclave for `attKeyId` (default key when undefined). */
  initQuote(attKeyId: Uint8Array | undefined): Promise<QuoteTarget>;
  /** Size in bytes of a quote made with `attKeyId`. */
  quoteSize(attKeyId: Uint8Array | undefined): Promise<number>;
  /** Quotes a 432-byte `sgx_report_t` that targets the quoting enclave. */
  quote(
    report: Uint8Array,
    attKeyId: Uint8Array | undefined,
    qeReport?: QeReportRequest,
  ): Promise<QuoteResult>;
  /**
   * Optional pass-through: relays one raw AESM request body to an upstream aesmd and returns its raw
   * response body (undefined when upstream closed without answering). The AESM server uses it
   * instead of the methods above, so requests reach upstream byte for byte.
   */
  forward?(requestBody: Uint8Array): Promise<Uint8Array | undefined>;
  health(): Promise<ProviderHealth>;
  close(): Promise<void>;
}
