/**
 * The service-generated claims of a TDX attestation (`/attest/TdxVm`, docs/tdx.md §2), in the names
 * and encodings of Microsoft Azure Attestation's TDX EAT profile: lower-case hex byte strings for
 * measurements (48 bytes), REPORTDATA (64), TEE_TCB_SVN (16) and the 8-byte attribute fields (the
 * bytes as they are in the quote, i.e. little-endian), booleans for the TD attribute bits, a number
 * for the module SVN; plus our `x-ccnodes-*` claims. Also the data bindings of a TDX request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { TD_ATTRIBUTE_FLAGS } from '../core/index.ts';
import type { AttestRequest } from './attest-request.ts';
import { hex } from './base64.ts';
import type { ClaimSet } from './claims.ts';
import { EvidenceBindingError } from './errors.ts';
import type { VerifiedTdxEvidence } from './evidence.ts';

/** `x-ms-attestation-type` of TDX tokens. */
export const TDX_ATTESTATION_TYPE = 'tdxvm';

/** `eat_profile` of TDX tokens: the profile these claims follow (docs/tdx.md). */
export const TDX_EAT_PROFILE = 'https://aka.ms/maa-eat-profile-tdxvm';

/** Names of the claims a TDX token carries from the TD report and the verification (docs/tdx.md §2). */
export const TDX_CLAIM_NAMES = [
  'eat_profile',
  'dbgstat',
  'intuse',
  'tdx_mrsignerseam',
  'tdx_mrseam',
  'tdx_mrtd',
  'tdx_rtmr0',
  'tdx_rtmr1',
  'tdx_rtmr2',
  'tdx_rtmr3',
  'tdx_mrconfigid',
  'tdx_mrowner',
  'tdx_mrownerconfig',
  'tdx_report_data',
  'tdx_seam_attributes',
  'tdx_tee_tcb_svn',
  'tdx_xfam',
  'tdx_seamsvn',
  'tdx_td_attributes',
  'tdx_td_attributes_debug',
  'tdx_td_attributes_key_locker',
  'tdx_td_attributes_perfmon',
  'tdx_td_attributes_protection_keys',
  'tdx_td_attributes_septve_disable',
  'attester_tcb_status',
  'x-ccnodes-tdx-report-version',
  'x-ccnodes-tdx-tee-tcb-svn2',
  'x-ccnodes-tdx-mrservicetd',
  'x-ccnodes-collateral',
] as const;

/** An 8-byte quote field as MAA writes it: the little-endian bytes in hex. */
function u64Hex(value: bigint): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt.asUintN(64, value));
  return b.toString('hex');
}

/**
 * Checks the TDX request's bindings: SHA-256(runtimeData) == REPORTDATA[0..32] (as MAA documents
 * for TdxVm; the upper 32 bytes are free), and SHA-384(initTimeData) == MRCONFIGID (48 bytes; our
 * definition, docs/tdx.md §1.3).
 */
export function checkTdxDataBindings(request: AttestRequest, evidence: VerifiedTdxEvidence): void {
  if (request.runtimeData !== undefined) {
    const digest = createHash('sha256').update(request.runtimeData.bytes).digest();
    if (!timingSafeEqual(digest, Buffer.from(evidence.td.reportData.subarray(0, 32)))) {
      throw new EvidenceBindingError(
        'ERR_ATTEST_REPORT_DATA_MISMATCH',
        'runtimeData does not match the TD quote: SHA-256(runtimeData) differs from REPORTDATA[0..32]',
        { field: 'runtimeData' },
      );
    }
  }
  if (request.initTimeData !== undefined) {
    const digest = createHash('sha384').update(request.initTimeData.bytes).digest();
    if (!timingSafeEqual(digest, Buffer.from(evidence.td.mrConfigId))) {
      throw new EvidenceBindingError(
        'ERR_ATTEST_INIT_DATA_MISMATCH',
        'initTimeData does not match the TD quote: SHA-384(initTimeData) differs from MRCONFIGID',
        { field: 'initTimeData' },
      );
    }
  }
}

/** The service claims of a verified TD quote (docs/tdx.md §2). */
export function tdxServiceClaims(
  request: AttestRequest,
  evidence: VerifiedTdxEvidence,
  policy: { hash: string; signer: Record<string, unknown> | null },
): ClaimSet {
  const td = evidence.td;
  const attrs = td.tdAttributes;
  const debug = (attrs & TD_ATTRIBUTE_FLAGS.DEBUG) !== 0n;
  const c: ClaimSet = {
    'x-ms-ver': '1.0',
    'x-ms-attestation-type': TDX_ATTESTATION_TYPE,
    'x-ms-policy-hash': policy.hash,
  };
  if (policy.signer !== null) c['x-ms-policy-signer'] = policy.signer;
  c['eat_profile'] = TDX_EAT_PROFILE;
  c['dbgstat'] = debug ? 'enabled' : 'disabled-since-boot';
  c['intuse'] = 'generic';
  c['tdx_mrsignerseam'] = hex(td.mrSignerSeam);
  c['tdx_mrseam'] = hex(td.mrSeam);
  c['tdx_mrtd'] = hex(td.mrTd);
  td.rtmr.forEach((r, i) => (c[`tdx_rtmr${i}`] = hex(r)));
  c['tdx_mrconfigid'] = hex(td.mrConfigId);
  c['tdx_mrowner'] = hex(td.mrOwner);
  c['tdx_mrownerconfig'] = hex(td.mrOwnerConfig);
  c['tdx_report_data'] = hex(td.reportData);
  c['tdx_seam_attributes'] = u64Hex(td.seamAttributes);
  c['tdx_tee_tcb_svn'] = hex(td.teeTcbSvn);
  c['tdx_xfam'] = u64Hex(td.xfam);
  c['tdx_seamsvn'] = td.teeTcbSvn[0] ?? 0;
  c['tdx_td_attributes'] = u64Hex(attrs);
  c['tdx_td_attributes_debug'] = debug;
  c['tdx_td_attributes_key_locker'] = (attrs & TD_ATTRIBUTE_FLAGS.KL) !== 0n;
  c['tdx_td_attributes_perfmon'] = (attrs & TD_ATTRIBUTE_FLAGS.PERFMON) !== 0n;
  c['tdx_td_attributes_protection_keys'] = (attrs & TD_ATTRIBUTE_FLAGS.PKS) !== 0n;
  c['tdx_td_attributes_septve_disable'] = (attrs & TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE) !== 0n;
  c['attester_tcb_status'] = evidence.tcbStatus;
  if (request.runtimeData?.json !== undefined) c['x-ms-runtime'] = request.runtimeData.json;
  if (request.initTimeData?.json !== undefined) c['x-ms-inittime'] = request.initTimeData.json;
  c['x-ccnodes-tdx-report-version'] = td.version;
  if (td.version === '1.5') {
    c['x-ccnodes-tdx-tee-tcb-svn2'] = hex(td.teeTcbSvn2 ?? new Uint8Array(16));
    c['x-ccnodes-tdx-mrservicetd'] = hex(td.mrServiceTd ?? new Uint8Array(48));
  }
  c['x-ccnodes-collateral'] = { ...evidence.collateral };
  c['x-ccnodes-tcb-status'] = evidence.tcbStatus;
  c['x-ccnodes-advisory-ids'] = [...evidence.advisoryIds];
  c['x-ccnodes-simulated'] = evidence.simulated;
  if (evidence.relaxations.length > 0) c['x-ccnodes-relaxations'] = [...evidence.relaxations];
  return c;
}
