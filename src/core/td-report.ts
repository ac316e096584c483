/**
 * TDX TD report body: version 1.0 (584 bytes, quote v4 and v5 body type 2) and version 1.5
 * (648 bytes, v5 body type 3). Layout: spec/dcap.md §1.2. Parsed for inspection; TDX
 * verification is later work.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { TD_REPORT_10_SIZE, TD_REPORT_15_SIZE } from './constants.ts';
import { namedBits } from './report-body.ts';

/** A decoded TD report. Byte fields are views into the input (no copies). */
export interface TdReport {
  /** `'1.0'` (584 bytes) or `'1.5'` (648 bytes, with `teeTcbSvn2` and `mrServiceTd`). */
  readonly version: '1.0' | '1.5';
  /** TEE_TCB_SVN (16): [0] TDX module minor SVN, [1] major version, then platform SVNs. */
  readonly teeTcbSvn: Uint8Array;
  /** MRSEAM (48). */
  readonly mrSeam: Uint8Array;
  /** MRSIGNERSEAM (48). */
  readonly mrSignerSeam: Uint8Array;
  readonly seamAttributes: bigint;
  readonly tdAttributes: bigint;
  readonly xfam: bigint;
  /** MRTD (48). */
  readonly mrTd: Uint8Array;
  /** MRCONFIGID (48). */
  readonly mrConfigId: Uint8Array;
  /** MROWNER (48). */
  readonly mrOwner: Uint8Array;
  /** MROWNERCONFIG (48). */
  readonly mrOwnerConfig: Uint8Array;
  /** RTMR0..RTMR3 (48 each). */
  readonly rtmr: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** REPORTDATA (64). */
  readonly reportData: Uint8Array;
  /** TEE_TCB_SVN2 (16), TD report 1.5 only. */
  readonly teeTcbSvn2?: Uint8Array;
  /** MRSERVICETD (48), TD report 1.5 only. */
  readonly mrServiceTd?: Uint8Array;
}

/** TDATTRIBUTES bits by name. */
export const TD_ATTRIBUTE_FLAGS = {
  DEBUG: 1n << 0n,
  SEPT_VE_DISABLE: 1n << 28n,
  PKS: 1n << 30n,
  KL: 1n << 31n,
  PERFMON: 1n << 63n,
} as const;

/** Names of the set TDATTRIBUTES bits; unknown bits appear as `bit<N>`. */
export function tdAttributeFlagNames(tdAttributes: bigint): string[] {
  return namedBits(tdAttributes, TD_ATTRIBUTE_FLAGS);
}

/** Size in bytes of a TD report of `version`. */
export function tdReportSize(version: TdReport['version']): number {
  return version === '1.0' ? TD_REPORT_10_SIZE : TD_REPORT_15_SIZE;
}

/**
 * Reads a TD report of the given version from `r`.
 * @throws FormatError `ERR_FORMAT_TRUNCATED` naming the field and offset.
 */
export function decodeTdReport(r: ByteReader, version: TdReport['version'], field = 'tdReport'): TdReport {
  const s = r.sub(tdReportSize(version), field);
  const teeTcbSvn = s.bytesView(16, `${field}.teeTcbSvn`);
  const mrSeam = s.bytesView(48, `${field}.mrSeam`);
  const mrSignerSeam = s.bytesView(48, `${field}.mrSignerSeam`);
  const seamAttributes = s.u64(`${field}.seamAttributes`);
  const tdAttributes = s.u64(`${field}.tdAttributes`);
  const xfam = s.u64(`${field}.xfam`);
  const mrTd = s.bytesView(48, `${field}.mrTd`);
  const mrConfigId = s.bytesView(48, `${field}.mrConfigId`);
  const mrOwner = s.bytesView(48, `${field}.mrOwner`);
  const mrOwnerConfig = s.bytesView(48, `${field}.mrOwnerConfig`);
  const rtmr = [
    s.bytesView(48, `${field}.rtmr0`),
    s.bytesView(48, `${field}.rtmr1`),
    s.bytesView(48, `${field}.rtmr2`),
    s.bytesView(48, `${field}.rtmr3`),
  ] as const;
  const reportData = s.bytesView(64, `${field}.reportData`);
  // Literals rather than a spread: spreading this object is an order of magnitude slower in V8.
  if (version === '1.0') {
    return {
      version,
      teeTcbSvn,
      mrSeam,
      mrSignerSeam,
      seamAttributes,
      tdAttributes,
      xfam,
      mrTd,
      mrConfigId,
      mrOwner,
      mrOwnerConfig,
      rtmr,
      reportData,
    };
  }
  return {
    version,
    teeTcbSvn,
    mrSeam,
    mrSignerSeam,
    seamAttributes,
    tdAttributes,
    xfam,
    mrTd,
    mrConfigId,
    mrOwner,
    mrOwnerConfig,
    rtmr,
    reportData,
    teeTcbSvn2: s.bytesView(16, `${field}.teeTcbSvn2`),
    mrServiceTd: s.bytesView(48, `${field}.mrServiceTd`),
  };
}

/** Appends the encoding of `report` (584 or 648 bytes, by its `version`) to `w`. */
export function writeTdReport(w: ByteWriter, report: TdReport, field = 'tdReport'): void {
  w.bytes(report.teeTcbSvn, 16, `${field}.teeTcbSvn`)
    .bytes(report.mrSeam, 48, `${field}.mrSeam`)
    .bytes(report.mrSignerSeam, 48, `${field}.mrSignerSeam`)
    .u64(report.seamAttributes, `${field}.seamAttributes`)
    .u64(report.tdAttributes, `${field}.tdAttributes`)
    .u64(report.xfam, `${field}.xfam`)
    .bytes(report.mrTd, 48, `${field}.mrTd`)
    .bytes(report.mrConfigId, 48, `${field}.mrConfigId`)
    .bytes(report.mrOwner, 48, `${field}.mrOwner`)
    .bytes(report.mrOwnerConfig, 48, `${field}.mrOwnerConfig`);
  report.rtmr.forEach((m, i) => w.bytes(m, 48, `${field}.rtmr${i}`));
  w.bytes(report.reportData, 64, `${field}.reportData`);
  if (report.version === '1.5') {
    w.bytes(report.teeTcbSvn2 ?? new Uint8Array(16), 16, `${field}.teeTcbSvn2`).bytes(
      report.mrServiceTd ?? new Uint8Array(48),
      48,
      `${field}.mrServiceTd`,
    );
  }
}

/** Encodes `report` to 584 (1.0) or 648 (1.5) bytes. */
export function encodeTdReport(report: TdReport): Uint8Array {
  const w = new ByteWriter(tdReportSize(report.version));
  writeTdReport(w, report);
  return w.finish();
}
