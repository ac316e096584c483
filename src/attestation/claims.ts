/**
 * Builds the service-generated SGX claim set (spec/maa.md §2.2) from verified evidence and the
 * request, after checking the runtime-data and init-time-data bindings.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AttestRequest } from './attest-request.ts';
import { base64url, hex } from './base64.ts';
import { EvidenceBindingError } from './errors.ts';
import { SGX_FLAGS, type VerifiedEvidence } from './evidence.ts';

/** A token payload under construction. */
export type ClaimSet = Record<string, unknown>;

/**
 * Checks SHA-256(runtimeData) == REPORTDATA[0..32] (as MAA does; the upper 32 bytes are free) and
 * SHA-256(initTimeData) == CONFIGID[0..32].
 */
export function checkDataBindings(request: AttestRequest, evidence: VerifiedEvidence): void {
  if (request.runtimeData !== undefined) {
    const digest = createHash('sha256').update(request.runtimeData.bytes).digest();
    if (!timingSafeEqual(digest, Buffer.from(evidence.report.reportData.subarray(0, 32)))) {
      throw new EvidenceBindingError(
        'ERR_ATTEST_REPORT_DATA_MISMATCH',
        'runtimeData does not match the quote: SHA-256(runtimeData) differs from REPORTDATA[0..32]',
        { field: 'runtimeData' },
      );
    }
  }
  if (request.initTimeData !== undefined) {
    const digest = createHash('sha256').update(request.initTimeData.bytes).digest();
    if (!timingSafeEqual(digest, Buffer.from(evidence.report.configId.subarray(0, 32)))) {
      throw new EvidenceBindingError(
        'ERR_ATTEST_INIT_DATA_MISMATCH',
        'initTimeData does not match the quote: SHA-256(initTimeData) differs from CONFIGID[0..32]',
        { field: 'initTimeData' },
      );
    }
  }
}

/** `x-ms-policy-hash`: base64url(SHA-256(ASCII of base64url(UTF-8 policy text))). */
export function policyHash(policyText: string): string {
  return base64url(createHash('sha256').update(base64url(policyText), 'ascii').digest());
}

function isZero(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/**
 * Service-generated claims, in MAA's naming and encodings: hex lower-case measurements, numbers for
 * product id / svn, boolean debuggable, unpadded base64url EHD.
 */
export function serviceClaims(
  request: AttestRequest,
  evidence: VerifiedEvidence,
  policy: { hash: string; signer: Record<string, unknown> | null },
): ClaimSet {
  const r = evidence.report;
  const c: ClaimSet = {
    'x-ms-ver': '1.0',
    'x-ms-attestation-type': 'sgx',
    'x-ms-policy-hash': policy.hash,
  };
  if (policy.signer !== null) c['x-ms-policy-signer'] = policy.signer;
  c['x-ms-sgx-is-debuggable'] = (r.attributes.flags & SGX_FLAGS.DEBUG) !== 0n;
  c['x-ms-sgx-mrenclave'] = hex(r.mrEnclave);
  c['x-ms-sgx-mrsigner'] = hex(r.mrSigner);
  c['x-ms-sgx-product-id'] = r.isvProdId;
  c['x-ms-sgx-svn'] = r.isvSvn;
  c['x-ms-sgx-report-data'] = hex(r.reportData);
  const kss =
    (r.attributes.flags & SGX_FLAGS.KSS) !== 0n ||
    !isZero(r.configId) ||
    r.configSvn !== 0 ||
    !isZero(r.isvExtProdId) ||
    !isZero(r.isvFamilyId);
  if (kss) {
    c['x-ms-sgx-config-id'] = hex(r.configId);
    c['x-ms-sgx-config-svn'] = r.configSvn;
    c['x-ms-sgx-isv-extended-product-id'] = hex(r.isvExtProdId);
    c['x-ms-sgx-isv-family-id'] = hex(r.isvFamilyId);
  }
  if (request.runtimeData !== undefined) {
    c['x-ms-sgx-ehd'] = base64url(request.runtimeData.bytes);
    if (request.runtimeData.json !== undefined) c['x-ms-runtime'] = request.runtimeData.json;
  }
  if (request.initTimeData?.json !== undefined) c['x-ms-inittime'] = request.initTimeData.json;
  c['x-ms-sgx-collateral'] = { ...evidence.collateral };
  c['x-ccnodes-tcb-status'] = evidence.tcbStatus;
  c['x-ccnodes-advisory-ids'] = [...evidence.advisoryIds];
  c['x-ccnodes-simulated'] = evidence.simulated;
  if (evidence.relaxations.length > 0) c['x-ccnodes-relaxations'] = [...evidence.relaxations];
  return c;
}

/** Legacy service-side duplicates real MAA tokens carry (spec/maa.md §2.2, §8 item 8). */
export function legacyServiceClaims(service: ClaimSet): ClaimSet {
  const out: ClaimSet = {};
  const ehd = service['x-ms-sgx-ehd'];
  if (typeof ehd === 'string') {
    out['maa-ehd'] = ehd;
    out['aas-ehd'] = ehd;
  }
  out['maa-attestationcollateral'] = service['x-ms-sgx-collateral'];
  return out;
}
