/**
 * Quote signature data ("auth data", spec/dcap.md §1.3).
 *
 * v3: ISV signature, attestation key, then the QE report certification data laid out inline
 * (QE report, its signature, QE auth data, certification data of type 1..5).
 * v4/v5: ISV signature, attestation key, then a certification data block of type 6 whose payload
 * is the QE report certification data, with a nested certification data block of type 1..5.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { formatErrorAt } from './errors.ts';
import {
  CERT_DATA_TYPE,
  ECDSA_PUBLIC_KEY_SIZE,
  ECDSA_SIGNATURE_SIZE,
  REPORT_BODY_SIZE,
} from './constants.ts';
import { decodeReportBody, writeReportBody, type ReportBody, type ReportBodyInit } from './report-body.ts';
import {
  decodeCertificationData,
  writeCertificationData,
  type CertificationData,
} from './certification-data.ts';

/** QE report, its PCK signature, QE auth data and the PCK certification data. */
export interface QeReportCertificationData {
  readonly qeReport: ReportBody;
  /** The 384 QE report bytes the PCK key signed (a view). */
  readonly qeReportRaw: Uint8Array;
  /** ECDSA P-256 r‖s over `qeReportRaw`, by the PCK key. */
  readonly qeReportSignature: Uint8Array;
  /** QE authentication data (Intel's QE: 32 bytes). */
  readonly qeAuthData: Uint8Array;
  /** PCK certification data (type 1..5; the nested block in v4/v5). */
  readonly certification: CertificationData;
}

/** Decoded signature data. */
export interface SignatureData extends QeReportCertificationData {
  /** ISV report signature: ECDSA P-256 r‖s over the signed data, by the attestation key. */
  readonly signature: Uint8Array;
  /** Attestation public key x‖y. */
  readonly attestationKey: Uint8Array;
  /** v4/v5 only: type and size of the outer certification block (type 6). */
  readonly outerCertification?: { readonly type: number; readonly size: number };
}

/** Parts for encoding; the QE report may be given decoded or as its 384 raw bytes. */
export interface SignatureDataInit {
  readonly signature: Uint8Array;
  readonly attestationKey: Uint8Array;
  readonly qeReport: ReportBodyInit | Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly qeAuthData: Uint8Array;
  readonly certification: Pick<CertificationData, 'type' | 'data'>;
}

const INNER_CERT = { minType: 1, maxType: 5 } as const;

/** Reads the QE report certification data (v3 inline part, or the v4/v5 type-6 payload). */
export function decodeQeReportCertificationData(r: ByteReader, field: string): QeReportCertificationData {
  const rawAt = r.offset;
  const qeReport = decodeReportBody(r, `${field}.qeReport`);
  const qeReportRaw = r.bytes.subarray(rawAt, rawAt + REPORT_BODY_SIZE);
  const qeReportSignature = r.bytesView(ECDSA_SIGNATURE_SIZE, `${field}.qeReportSignature`);
  const authSizeAt = r.absoluteOffset;
  const authSize = r.u16(`${field}.qeAuthData.size`);
  if (authSize > r.remaining) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      `${field}.qeAuthData.size`,
      authSizeAt,
      `declared size ${authSize} exceeds the ${r.remaining} bytes left`,
      { declared: authSize, remaining: r.remaining },
    );
  }
  const qeAuthData = r.bytesView(authSize, `${field}.qeAuthData`);
  const certification = decodeCertificationData(r, {
    field: `${field}.certification`,
    minType: INNER_CERT.minType,
    maxType: INNER_CERT.maxType,
  });
  return { qeReport, qeReportRaw, qeReportSignature, qeAuthData, certification };
}

/**
 * Decodes signature data from `r`, which must hold exactly the declared signature data (its length
 * field already consumed): every byte must belong to the structure.
 * @throws FormatError naming the field and absolute byte offset.
 */
export function decodeSignatureData(r: ByteReader, version: number): SignatureData {
  const field = 'signatureData';
  const signature = r.bytesView(ECDSA_SIGNATURE_SIZE, `${field}.signature`);
  const attestationKey = r.bytesView(ECDSA_PUBLIC_KEY_SIZE, `${field}.attestationKey`);
  let result: SignatureData;
  // Literals rather than spreads keep one object shape per layout (spreads are slow in V8 here).
  if (version === 3) {
    const qe = decodeQeReportCertificationData(r, field);
    result = {
      signature,
      attestationKey,
      qeReport: qe.qeReport,
      qeReportRaw: qe.qeReportRaw,
      qeReportSignature: qe.qeReportSignature,
      qeAuthData: qe.qeAuthData,
      certification: qe.certification,
    };
  } else {
    const outer = decodeCertificationData(r, {
      field: `${field}.certification`,
      minType: CERT_DATA_TYPE.QE_REPORT_CERTIFICATION,
      maxType: CERT_DATA_TYPE.QE_REPORT_CERTIFICATION,
    });
    const dataAt = r.absoluteOffset - outer.data.length;
    const inner = new ByteReader(outer.data, { base: dataAt });
    const qe = decodeQeReportCertificationData(inner, `${field}.qeReportCertificationData`);
    inner.expectEnd(`${field}.qeReportCertificationData`);
    result = {
      signature,
      attestationKey,
      qeReport: qe.qeReport,
      qeReportRaw: qe.qeReportRaw,
      qeReportSignature: qe.qeReportSignature,
      qeAuthData: qe.qeAuthData,
      certification: qe.certification,
      outerCertification: { type: outer.type, size: outer.data.length },
    };
  }
  r.expectEnd(field);
  return result;
}

function writeQeReportCertificationData(w: ByteWriter, parts: SignatureDataInit, field: string): void {
  if (parts.qeReport instanceof Uint8Array) {
    w.bytes(parts.qeReport, REPORT_BODY_SIZE, `${field}.qeReport`);
  } else {
    writeReportBody(w, parts.qeReport, `${field}.qeReport`);
  }
  w.bytes(parts.qeReportSignature, ECDSA_SIGNATURE_SIZE, `${field}.qeReportSignature`)
    .u16(parts.qeAuthData.length, `${field}.qeAuthData.size`)
    .bytes(parts.qeAuthData, undefined, `${field}.qeAuthData`);
  writeCertificationData(w, parts.certification, `${field}.certification`);
}

/**
 * Encodes signature data (without its length prefix) in the layout of `version`: v3 inline, v4/v5
 * wrapped in a type-6 block. `outerType` overrides the wrapper's type (for negative test cases).
 */
export function encodeSignatureData(
  parts: SignatureDataInit,
  version: number,
  outerType?: number,
): Uint8Array {
  const field = 'signatureData';
  const w = new ByteWriter(1024 + parts.certification.data.length + parts.qeAuthData.length);
  w.bytes(parts.signature, ECDSA_SIGNATURE_SIZE, `${field}.signature`).bytes(
    parts.attestationKey,
    ECDSA_PUBLIC_KEY_SIZE,
    `${field}.attestationKey`,
  );
  if (version === 3) {
    writeQeReportCertificationData(w, parts, field);
  } else {
    const inner = new ByteWriter(1024 + parts.certification.data.length + parts.qeAuthData.length);
    writeQeReportCertificationData(inner, parts, `${field}.qeReportCertificationData`);
    writeCertificationData(
      w,
      { type: outerType ?? CERT_DATA_TYPE.QE_REPORT_CERTIFICATION, data: inner.finish() },
      `${field}.certification`,
    );
  }
  return w.finish();
}
