/**
 * The verifier seam: what the attestation pipeline needs to know about a verified SGX (or TDX) quote.
 * `createDcapEvidenceVerifier` (dcap-verifier.ts) implements it with the core verifier and a
 * collateral source; tests may inject their own.
 */
import type { TdReport } from '../core/index.ts';

/** The enclave report fields the service turns into claims (SGX REPORTBODY, spec/dcap.md §1.2). */
export interface EnclaveReport {
  readonly attributes: { readonly flags: bigint; readonly xfrm: bigint };
  readonly mrEnclave: Uint8Array;
  readonly mrSigner: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly configId: Uint8Array;
  readonly configSvn: number;
  readonly isvExtProdId: Uint8Array;
  readonly isvFamilyId: Uint8Array;
  readonly reportData: Uint8Array;
}

/** `x-ms-sgx-collateral`: lower-case hex SHA-256 of each collateral item and of the quote. */
export interface CollateralHashes {
  readonly qeidcertshash: string;
  readonly qeidcrlhash: string;
  readonly qeidhash: string;
  readonly quotehash: string;
  readonly tcbinfocertshash: string;
  readonly tcbinfocrlhash: string;
  readonly tcbinfohash: string;
}

/** A quote that passed verification. */
export interface VerifiedEvidence {
  readonly report: EnclaveReport;
  /** DCAP TCB status (UpToDate, SWHardeningNeeded, …). */
  readonly tcbStatus: string;
  readonly advisoryIds: readonly string[];
  /** True when the quote chains to the ccnodes simulated root. */
  readonly simulated: boolean;
  /** Named relaxations the verifier applied (empty in production). */
  readonly relaxations: readonly string[];
  readonly collateral: CollateralHashes;
}

/** A TDX quote that passed verification (`/attest/TdxVm`). */
export interface VerifiedTdxEvidence {
  readonly tee: 'TDX';
  /** The TD report (1.0 from a v4 quote, 1.0 or 1.5 from a v5 quote). */
  readonly td: TdReport;
  readonly tcbStatus: string;
  readonly advisoryIds: readonly string[];
  readonly simulated: boolean;
  readonly relaxations: readonly string[];
  readonly collateral: CollateralHashes;
}

/** Verifies a TDX quote; throws a `CcnodesError` on rejection (also for an SGX quote). */
export type TdxEvidenceVerifier = (quote: Uint8Array) => Promise<VerifiedTdxEvidence>;

/**
 * Verifies a DCAP quote; throws a `CcnodesError` (core's VerificationError, EvidenceError) on
 * rejection. `tdx`, when present, verifies TDX quotes for `/attest/TdxVm`; a verifier without it
 * makes the service refuse TdxVm requests (`ERR_ATTEST_UNSUPPORTED_TEE`).
 */
export type EvidenceVerifier = ((quote: Uint8Array) => Promise<VerifiedEvidence>) & {
  readonly tdx?: TdxEvidenceVerifier;
};

/** SGX ATTRIBUTES.FLAGS bits used here. */
export const SGX_FLAGS = { DEBUG: 0x2n, KSS: 0x80n } as const;
