/**
 * `sgx_qe_report_info_t` (960 bytes; spec k8s-sgx.md §5.3): nonce (16) ‖ app enclave target info
 * (512) ‖ QE report (432). The caller fills the first two; the quoting enclave returns its report,
 * targeted at the app enclave, with REPORTDATA = SHA-256(nonce ‖ quote) ‖ 32 zero bytes.
 */
import { createHash } from 'node:crypto';
import { ByteReader } from '../../core/index.ts';
import { SGX_QE_REPORT_INFO_SIZE, SGX_REPORT_SIZE, SGX_TARGET_INFO_SIZE } from '../../contract/index.ts';

export const QE_REPORT_INFO_NONCE_SIZE = 16;

export interface QeReportInfo {
  readonly nonce: Uint8Array;
  readonly appEnclaveTargetInfo: Uint8Array;
  readonly qeReport: Uint8Array;
}

/** Splits a 960-byte `sgx_qe_report_info_t`; fails with a FormatError naming the field otherwise. */
export function decodeQeReportInfo(bytes: Uint8Array): QeReportInfo {
  const r = new ByteReader(bytes);
  const info = {
    nonce: r.bytesView(QE_REPORT_INFO_NONCE_SIZE, 'qe_report_info.nonce'),
    appEnclaveTargetInfo: r.bytesView(SGX_TARGET_INFO_SIZE, 'qe_report_info.app_enclave_target_info'),
    qeReport: r.bytesView(SGX_REPORT_SIZE, 'qe_report_info.qe_report'),
  };
  r.expectEnd('qe_report_info');
  return info;
}

/** Joins the three parts into 960 bytes. */
export function encodeQeReportInfo(info: QeReportInfo): Uint8Array {
  const out = new Uint8Array(SGX_QE_REPORT_INFO_SIZE);
  out.set(info.nonce, 0);
  out.set(info.appEnclaveTargetInfo, QE_REPORT_INFO_NONCE_SIZE);
  out.set(info.qeReport, QE_REPORT_INFO_NONCE_SIZE + SGX_TARGET_INFO_SIZE);
  return out;
}

/** REPORTDATA of the QE report: SHA-256(nonce ‖ quote) followed by 32 zero bytes. */
export function qeReportData(nonce: Uint8Array, quote: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(createHash('sha256').update(nonce).update(quote).digest(), 0);
  return out;
}
