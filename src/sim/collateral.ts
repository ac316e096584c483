/**
 * Signed TCB Info (v3) and QE Identity (v2) documents, exactly in the shape Intel's PCS serves them
 * (spec/dcap.md §5): `{"tcbInfo":{…},"signature":"<hex r‖s>"}` and
 * `{"enclaveIdentity":{…},"signature":"…"}`, compact JSON with Intel's member order. The signature
 * is ECDSA P-256/SHA-256 by the simulated TCB Signing key over the exact bytes of the inner object
 * text, which is the substring a verifier must extract.
 */
import type { TcbStatus } from '../core/index.ts';
import type { SimPki } from './pki.ts';

/** A TCB status as it appears in collateral (spec/dcap.md §4): the core's `TcbStatus`. */
export type SimTcbStatus = TcbStatus;

/** One platform TCB level of a TCB Info document. */
export interface SimTcbLevel {
  /** The 16 SGX TCB component SVNs. */
  readonly sgxComponents: readonly number[];
  readonly pceSvn: number;
  /** `YYYY-MM-DDTHH:MM:SSZ`. */
  readonly tcbDate: string;
  readonly tcbStatus: SimTcbStatus;
  readonly advisoryIds: readonly string[];
}

/** The content of one FMSPC's TCB Info. */
export interface SimTcbInfoSpec {
  /** FMSPC, 12 hex digits (written upper-case). */
  readonly fmspc: string;
  /** PCE-ID, 4 hex digits. */
  readonly pceId: string;
  readonly tcbEvaluationDataNumber: number;
  /** Newest first, as Intel orders them. */
  readonly levels: readonly SimTcbLevel[];
}

/** One QE TCB level (by ISVSVN). */
export interface SimQeTcbLevel {
  readonly isvSvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: SimTcbStatus;
  readonly advisoryIds: readonly string[];
}

/** The content of the QE Identity. */
export interface SimQeIdentitySpec {
  readonly tcbEvaluationDataNumber: number;
  /** 8 hex digits each. */
  readonly miscselect: string;
  readonly miscselectMask: string;
  /** 32 hex digits each. */
  readonly attributes: string;
  readonly attributesMask: string;
  /** 64 hex digits. */
  readonly mrsigner: string;
  readonly isvprodid: number;
  /** Highest ISVSVN first. */
  readonly levels: readonly SimQeTcbLevel[];
}

/** Issue time and lifetime of a collateral document. */
export interface SimIssueOptions {
  /** issueDate (truncated to whole seconds). */
  readonly now: Date;
  /** nextUpdate − issueDate in days; Intel uses 30. */
  readonly validityDays?: number;
}

const DAY_MS = 86_400_000;
export const DEFAULT_COLLATERAL_VALIDITY_DAYS = 30;

/** Intel's timestamp format: whole seconds, `Z`. */
export function pcsTimestamp(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** issueDate and nextUpdate of a document issued at `options.now`. */
export function collateralWindow(options: SimIssueOptions): { issueDate: string; nextUpdate: string } {
  const issue = new Date(Math.floor(options.now.getTime() / 1000) * 1000);
  const days = options.validityDays ?? DEFAULT_COLLATERAL_VALIDITY_DAYS;
  return {
    issueDate: pcsTimestamp(issue),
    nextUpdate: pcsTimestamp(new Date(issue.getTime() + days * DAY_MS)),
  };
}

function withAdvisories<T extends object>(
  level: T,
  advisoryIds: readonly string[],
): T & { advisoryIDs?: string[] } {
  return advisoryIds.length === 0 ? level : { ...level, advisoryIDs: [...advisoryIds] };
}

/** Wraps `inner` (compact JSON text) as `{"<member>":<inner>,"signature":"<hex>"}`, signed. */
export function signedCollateralDocument(pki: SimPki, member: string, inner: string): string {
  const signature = pki.tcbSigning.key.signDeterministic(Buffer.from(inner, 'utf8'));
  return `{"${member}":${inner},"signature":"${Buffer.from(signature).toString('hex')}"}`;
}

/** The TCB Info response body for `spec`, issued at `options.now`. */
export function signedTcbInfo(pki: SimPki, spec: SimTcbInfoSpec, options: SimIssueOptions): string {
  const { issueDate, nextUpdate } = collateralWindow(options);
  const inner = JSON.stringify({
    id: 'SGX',
    version: 3,
    issueDate,
    nextUpdate,
    fmspc: spec.fmspc.toUpperCase(),
    pceId: spec.pceId.toUpperCase(),
    tcbType: 0,
    tcbEvaluationDataNumber: spec.tcbEvaluationDataNumber,
    tcbLevels: spec.levels.map((level) =>
      withAdvisories(
        {
          tcb: { sgxtcbcomponents: level.sgxComponents.map((svn) => ({ svn })), pcesvn: level.pceSvn },
          tcbDate: level.tcbDate,
          tcbStatus: level.tcbStatus,
        },
        level.advisoryIds,
      ),
    ),
  });
  return signedCollateralDocument(pki, 'tcbInfo', inner);
}

/**
 * The QE Identity response body for `spec`, issued at `options.now`; `id` `TD_QE` gives the TDX
 * quoting enclave's identity (same shape, served under /tdx/certification/v4/qe/identity).
 */
export function signedQeIdentity(
  pki: SimPki,
  spec: SimQeIdentitySpec,
  options: SimIssueOptions,
  id: 'QE' | 'TD_QE' = 'QE',
): string {
  const { issueDate, nextUpdate } = collateralWindow(options);
  const inner = JSON.stringify({
    id,
    version: 2,
    issueDate,
    nextUpdate,
    tcbEvaluationDataNumber: spec.tcbEvaluationDataNumber,
    miscselect: spec.miscselect.toUpperCase(),
    miscselectMask: spec.miscselectMask.toUpperCase(),
    attributes: spec.attributes.toUpperCase(),
    attributesMask: spec.attributesMask.toUpperCase(),
    mrsigner: spec.mrsigner.toUpperCase(),
    isvprodid: spec.isvprodid,
    tcbLevels: spec.levels.map((level) =>
      withAdvisories(
        { tcb: { isvsvn: level.isvSvn }, tcbDate: level.tcbDate, tcbStatus: level.tcbStatus },
        level.advisoryIds,
      ),
    ),
  });
  return signedCollateralDocument(pki, 'enclaveIdentity', inner);
}
