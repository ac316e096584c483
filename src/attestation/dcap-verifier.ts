/**
 * The production `EvidenceVerifier`: decode the quote, find its FMSPC and PCK CA from the PCK
 * certificate, obtain collateral for them, and run the core verifier (pinned Intel root; the
 * simulated root only when configured). Also computes `x-ms-sgx-collateral` hashes. The verifier
 * carries a TDX twin (`verifier.tdx`, for `/attest/TdxVm`) built on the same collateral provider,
 * which asks for TDX collateral (`tee: 'tdx'`) and accepts TDX quotes only.
 */
import { createHash } from 'node:crypto';
import { isCcnodesError } from '../errors/index.ts';
import {
  decodeQuote,
  isPreparedCollateral,
  parseCertificate,
  pckExtensionsOf,
  pemCertificates,
  prepareCollateral,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  verifyQuote,
  type PreparedCollateral,
  type RawCollateral,
  type ReportBody,
  type TdReport,
  type VerificationResult,
  type VerifyOptions,
} from '../core/index.ts';
import { EvidenceError } from './errors.ts';
import type {
  CollateralHashes,
  EvidenceVerifier,
  TdxEvidenceVerifier,
  VerifiedEvidence,
  VerifiedTdxEvidence,
} from './evidence.ts';

/** What a collateral source is asked for. */
export interface CollateralRequest {
  /** FMSPC, upper-case hex (as PCS expects it). */
  readonly fmspc: string;
  /** Which PCK CA issued the PCK certificate (selects the PCK CRL). */
  readonly ca: 'processor' | 'platform';
  /** Which TCB Info and QE Identity: `sgx` (id SGX / QE) or `tdx` (id TDX / TD_QE). */
  readonly tee: 'sgx' | 'tdx';
}

/** Supplies collateral for a quote's platform. */
export type CollateralProvider = (request: CollateralRequest) => Promise<RawCollateral | PreparedCollateral>;

/** A provider that always returns one (offline) collateral set, prepared once. */
export function staticCollateral(raw: RawCollateral | PreparedCollateral): CollateralProvider {
  const prepared = prepareCollateral(raw);
  return () => Promise.resolve(prepared);
}

/** Options of the DCAP verifier. */
export interface DcapVerifierOptions {
  readonly collateral: CollateralProvider;
  /** PEM or DER of the ccnodes simulated root to trust (simulation mode). */
  readonly trustSimulatedRoot?: string | Uint8Array;
  /** Verification clock (default: wall clock). Tests pin it inside the collateral window. */
  readonly now?: () => Date;
  readonly dangerous?: VerifyOptions['dangerous'];
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');
const hashCache = new WeakMap<RawCollateral, Omit<CollateralHashes, 'quotehash'>>();

/** `x-ms-sgx-collateral` hashes of a collateral set (cached per set) and of the quote. */
export function collateralHashes(raw: RawCollateral, quote: Uint8Array): CollateralHashes {
  let h = hashCache.get(raw);
  if (h === undefined) {
    h = {
      qeidcertshash: sha256(raw.qeIdentityIssuerChain),
      qeidcrlhash: sha256(raw.rootCaCrl),
      qeidhash: sha256(raw.qeIdentity),
      tcbinfocertshash: sha256(raw.tcbInfoIssuerChain),
      tcbinfocrlhash: sha256(raw.pckCrl),
      tcbinfohash: sha256(raw.tcbInfo),
    };
    hashCache.set(raw, h);
  }
  return { ...h, quotehash: sha256(quote) };
}

/**
 * Reads FMSPC and CA kind from the quote's PCK certificate (certification data type 5, also inside
 * type 6), after checking that the quote is of the expected TEE (`sgx` by default).
 */
export function collateralRequestOf(quoteBytes: Uint8Array, tee: 'sgx' | 'tdx' = 'sgx'): CollateralRequest {
  const quote = decodeQuote(quoteBytes);
  if (tee === 'sgx' && quote.header.teeType !== TEE_TYPE_SGX) {
    throw new EvidenceError(
      'ERR_ATTEST_UNSUPPORTED_TEE',
      'the quote is not an SGX enclave quote (TEE type is not SGX)',
      {
        field: 'quote',
      },
    );
  }
  if (tee === 'tdx' && quote.header.teeType !== TEE_TYPE_TDX) {
    throw new EvidenceError(
      'ERR_ATTEST_UNSUPPORTED_TEE',
      'the quote is not a TDX quote (TEE type is not TDX); attest SGX enclaves at /attest/SgxEnclave',
      { field: 'quote' },
    );
  }
  const pem = quote.certification.pckChainPem?.[0];
  if (pem === undefined) {
    throw new EvidenceError(
      'ERR_ATTEST_EVIDENCE_REJECTED',
      `quote certification data type ${quote.certification.type} carries no PCK certificate chain (type 5 is required)`,
      { field: 'quote' },
    );
  }
  const der = pemCertificates(pem)[0];
  if (der === undefined) {
    throw new EvidenceError('ERR_ATTEST_EVIDENCE_REJECTED', 'the PCK certificate in the quote is not PEM', {
      field: 'quote',
    });
  }
  const cert = parseCertificate(der);
  const ext = pckExtensionsOf(cert);
  return {
    fmspc: ext.fmspcHex.toUpperCase(),
    ca: /platform/i.test(cert.issuerCn) ? 'platform' : 'processor',
    tee,
  };
}

/** Obtains collateral for the quote's platform and runs the core verifier. */
async function verifyWithCollateral(
  options: DcapVerifierOptions,
  now: () => Date,
  quoteBytes: Uint8Array,
  tee: 'sgx' | 'tdx',
): Promise<{ result: VerificationResult; raw: RawCollateral }> {
  const request = collateralRequestOf(quoteBytes, tee);
  let collateral: RawCollateral | PreparedCollateral;
  try {
    collateral = await options.collateral(request);
  } catch (cause) {
    const detail = isCcnodesError(cause) ? `: ${cause.message}` : '';
    throw new EvidenceError(
      'ERR_ATTEST_COLLATERAL_UNAVAILABLE',
      `${tee === 'tdx' ? 'TDX ' : ''}collateral for FMSPC ${request.fmspc} (${request.ca} CA) is unavailable${detail}`,
      { fmspc: request.fmspc },
      cause,
    );
  }
  const result = verifyQuote(quoteBytes, collateral, {
    now: now(),
    ...(options.trustSimulatedRoot === undefined ? {} : { trustSimulatedRoot: options.trustSimulatedRoot }),
    ...(options.dangerous === undefined ? {} : { dangerous: options.dangerous }),
  });
  if (result.tee !== (tee === 'tdx' ? 'TDX' : 'SGX')) {
    throw new EvidenceError(
      'ERR_ATTEST_UNSUPPORTED_TEE',
      tee === 'tdx' ? 'the quote is not a TDX quote' : 'the quote is not an SGX enclave quote',
      { field: 'quote' },
    );
  }
  return { result, raw: isPreparedCollateral(collateral) ? collateral.raw : collateral };
}

/** Creates the DCAP verifier (SGX), with its TDX twin as `.tdx`. */
export function createDcapEvidenceVerifier(options: DcapVerifierOptions): EvidenceVerifier {
  const now = options.now ?? ((): Date => new Date());
  const tdx: TdxEvidenceVerifier = async (quoteBytes) => {
    const { result, raw } = await verifyWithCollateral(options, now, quoteBytes, 'tdx');
    const out: VerifiedTdxEvidence = {
      tee: 'TDX',
      td: result.report as TdReport,
      tcbStatus: result.status,
      advisoryIds: result.advisoryIds,
      simulated: result.simulated,
      relaxations: result.relaxations,
      collateral: collateralHashes(raw, quoteBytes),
    };
    return out;
  };
  const sgx = async (quoteBytes: Uint8Array): Promise<VerifiedEvidence> => {
    const { result, raw } = await verifyWithCollateral(options, now, quoteBytes, 'sgx');
    const out: VerifiedEvidence = {
      report: result.report as ReportBody,
      tcbStatus: result.status,
      advisoryIds: result.advisoryIds,
      simulated: result.simulated,
      relaxations: result.relaxations,
      collateral: collateralHashes(raw, quoteBytes),
    };
    return out;
  };
  return Object.assign(sgx, { tdx });
}
