/**
 * REPORT (432 bytes) = REPORTBODY (384) ‖ KEYID (32) ‖ MAC (16), the output of EREPORT
 * (shared/spec/sgx-sim.md §3.1). The MAC is AES-128-CMAC over bytes [0,384) under the target's
 * report key; checking it is the simulator's job, not the core's.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { FormatError } from './errors.ts';
import { REPORT_BODY_SIZE } from './constants.ts';
import { type ReportBody, type ReportBodyInit, decodeReportBody, writeReportBody } from './report-body.ts';

/** Size of REPORT in bytes. */
export const REPORT_SIZE = 432;

/** A decoded REPORT. */
export interface Report {
  readonly body: ReportBody;
  /** The 384 body bytes exactly as received (what the MAC covers). */
  readonly bodyRaw: Uint8Array;
  /** KEYID (32). */
  readonly keyId: Uint8Array;
  /** MAC (16). */
  readonly mac: Uint8Array;
}

/** Decodes exactly 432 bytes of REPORT. */
export function decodeReport(bytes: Uint8Array): Report {
  if (bytes.length !== REPORT_SIZE) {
    throw new FormatError('ERR_FORMAT_LENGTH', `REPORT: expected ${REPORT_SIZE} bytes, got ${bytes.length}`, {
      field: 'REPORT',
      offset: 0,
    });
  }
  const r = new ByteReader(bytes);
  const bodyRaw = bytes.slice(0, REPORT_BODY_SIZE);
  const body = decodeReportBody(bodyRaw, 'REPORT.BODY');
  r.skip(REPORT_BODY_SIZE, 'REPORT.BODY');
  const keyId = r.bytesView(32, 'REPORT.KEYID').slice();
  const mac = r.bytesView(16, 'REPORT.MAC').slice();
  r.expectEnd('REPORT');
  return { body, bodyRaw, keyId, mac };
}

/** Encodes REPORT from its body, KEYID and MAC. */
export function encodeReport(parts: {
  body: ReportBodyInit;
  keyId: Uint8Array;
  mac: Uint8Array;
}): Uint8Array {
  const w = new ByteWriter(REPORT_SIZE);
  writeReportBody(w, parts.body, 'REPORT.BODY');
  w.bytes(parts.keyId, 32, 'REPORT.KEYID').bytes(parts.mac, 16, 'REPORT.MAC');
  return w.finish();
}
