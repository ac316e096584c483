/**
 * DCAP ECDSA quote: SGX v3/v4/v5 and TDX v4/v5 (spec/dcap.md §1).
 *
 * Layout: header (48) ‖ [v5: body descriptor (6)] ‖ body ‖ signature data length L (u32) ‖
 * signature data (L). Bytes after the signature data (padding from fixed-size buffers) are
 * tolerated and counted in `trailingBytes`, as Intel's QVL does.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { formatErrorAt } from './errors.ts';
import { asUint8Array } from './encoding.ts';
import {
  BODY_TYPE_SGX,
  BODY_TYPE_TD_REPORT_10,
  BODY_TYPE_TD_REPORT_15,
  MAX_QUOTE_SIZE,
  REPORT_BODY_SIZE,
  TD_REPORT_10_SIZE,
  TD_REPORT_15_SIZE,
  TEE_TYPE_SGX,
} from './constants.ts';
import { decodeQuoteHeader, writeQuoteHeader, type QuoteHeader } from './quote-header.ts';
import { decodeReportBody, writeReportBody, type ReportBody, type ReportBodyInit } from './report-body.ts';
import { decodeTdReport, writeTdReport, type TdReport } from './td-report.ts';
import {
  decodeSignatureData,
  encodeSignatureData,
  type SignatureData,
  type SignatureDataInit,
} from './signature-data.ts';

/** The attested body: an SGX report, or a TD report 1.0 / 1.5. */
export type QuoteBody =
  | { readonly kind: 'sgx'; readonly report: ReportBody }
  | { readonly kind: 'td10' | 'td15'; readonly report: TdReport };

/** Body for encoding (SGX reserved fields may be left out). */
export type QuoteBodyInit =
  | { readonly kind: 'sgx'; readonly report: ReportBodyInit }
  | { readonly kind: 'td10' | 'td15'; readonly report: TdReport };

/** Quote v5 body descriptor. */
export interface BodyDescriptor {
  /** 1 = SGX report, 2 = TD report 1.0, 3 = TD report 1.5. */
  readonly type: number;
  readonly size: number;
}

/** A decoded quote. All byte fields are views into `raw` (no copies). */
export interface Quote extends SignatureData {
  /** The input as given, including any trailing bytes. */
  readonly raw: Uint8Array;
  readonly header: QuoteHeader;
  /** v5 only. */
  readonly bodyDescriptor?: BodyDescriptor;
  readonly body: QuoteBody;
  /** Header ‖ [descriptor] ‖ body: the bytes the attestation key signed. */
  readonly signedData: Uint8Array;
  /** Declared signature data length L. */
  readonly signatureDataLength: number;
  /** Bytes after the signature data (ignored, as Intel does). */
  readonly trailingBytes: number;
}

/** Parts of a quote for `encodeQuote`; a decoded `Quote` is acceptable as is. */
export interface QuoteInit extends SignatureDataInit {
  readonly header: QuoteHeader;
  readonly body: QuoteBodyInit;
}

/** Deliberate deviations for negative test cases; leave empty for a well-formed quote. */
export interface EncodeQuoteOptions {
  /** v5 body descriptor type to write instead of the one matching `body.kind`. */
  readonly bodyType?: number;
  /** v5 body descriptor size to write instead of the body's length. */
  readonly bodySize?: number;
  /** Signature data length L to write instead of the real one. */
  readonly signatureDataLength?: number;
  /** v4/v5 outer certification data type to write instead of 6. */
  readonly outerCertificationType?: number;
  /** Bytes appended after the signature data (padding). */
  readonly trailing?: Uint8Array;
}

const BODY_KIND_BY_TYPE: Readonly<Record<number, { kind: QuoteBody['kind']; size: number }>> = {
  [BODY_TYPE_SGX]: { kind: 'sgx', size: REPORT_BODY_SIZE },
  [BODY_TYPE_TD_REPORT_10]: { kind: 'td10', size: TD_REPORT_10_SIZE },
  [BODY_TYPE_TD_REPORT_15]: { kind: 'td15', size: TD_REPORT_15_SIZE },
};

function decodeBody(r: ByteReader, kind: QuoteBody['kind']): QuoteBody {
  if (kind === 'sgx') return { kind, report: decodeReportBody(r, 'body') };
  return { kind, report: decodeTdReport(r, kind === 'td10' ? '1.0' : '1.5', 'body') };
}

/**
 * Decodes a quote, applying Intel QVL's structural checks (spec/dcap.md §1.1).
 *
 * @param bytes the binary quote (at most 1 MiB; use `decodeBinaryInput` first for hex/base64 text).
 * @throws FormatError with a stable code (`ERR_FORMAT_TRUNCATED`, `ERR_FORMAT_LENGTH`,
 *   `ERR_FORMAT_VERSION`, `ERR_FORMAT_KEY_TYPE`, `ERR_FORMAT_TEE_TYPE`, `ERR_FORMAT_QE_VENDOR`,
 *   `ERR_FORMAT_CERT_TYPE`, `ERR_FORMAT_BODY_TYPE`, `ERR_FORMAT_ENCODING`) whose message names the
 *   field and absolute byte offset.
 */
export function decodeQuote(bytes: Uint8Array): Quote {
  const raw = asUint8Array(bytes);
  if (raw.length > MAX_QUOTE_SIZE) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      'quote',
      0,
      `${raw.length} bytes exceed the limit of ${MAX_QUOTE_SIZE}`,
      {
        length: raw.length,
      },
    );
  }
  const r = new ByteReader(raw);
  const header = decodeQuoteHeader(r);
  let body: QuoteBody;
  let bodyDescriptor: BodyDescriptor | undefined;
  if (header.version === 5) {
    const typeAt = r.absoluteOffset;
    const type = r.u16('bodyDescriptor.type');
    const expected = BODY_KIND_BY_TYPE[type];
    if (expected === undefined) {
      throw formatErrorAt(
        'ERR_FORMAT_BODY_TYPE',
        'bodyDescriptor.type',
        typeAt,
        `unknown body type ${type} (1, 2 or 3)`,
        {
          actual: type,
        },
      );
    }
    if ((expected.kind === 'sgx') !== (header.teeType === TEE_TYPE_SGX)) {
      throw formatErrorAt(
        'ERR_FORMAT_BODY_TYPE',
        'bodyDescriptor.type',
        typeAt,
        `body type ${type} does not match TEE type 0x${header.teeType.toString(16)}`,
        { actual: type },
      );
    }
    const sizeAt = r.absoluteOffset;
    const size = r.u32('bodyDescriptor.size');
    if (size !== expected.size) {
      throw formatErrorAt(
        'ERR_FORMAT_LENGTH',
        'bodyDescriptor.size',
        sizeAt,
        `body size ${size} does not match body type ${type} (${expected.size} bytes)`,
        { declared: size, expected: expected.size },
      );
    }
    bodyDescriptor = { type, size };
    body = decodeBody(r, expected.kind);
  } else {
    body = decodeBody(r, header.teeType === TEE_TYPE_SGX ? 'sgx' : 'td10');
  }
  const signedData = raw.subarray(0, r.offset);
  const lengthAt = r.absoluteOffset;
  const signatureDataLength = r.u32('signatureData.length');
  if (signatureDataLength > r.remaining) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      'signatureData.length',
      lengthAt,
      `declared length ${signatureDataLength} exceeds the ${r.remaining} bytes left`,
      { declared: signatureDataLength, remaining: r.remaining },
    );
  }
  const sig = decodeSignatureData(r.sub(signatureDataLength, 'signatureData'), header.version);
  const trailingBytes = r.remaining;
  // Object literals rather than spreads: one stable shape per variant keeps decoding fast.
  const common = {
    raw,
    header,
    body,
    signedData,
    signatureDataLength,
    signature: sig.signature,
    attestationKey: sig.attestationKey,
    qeReport: sig.qeReport,
    qeReportRaw: sig.qeReportRaw,
    qeReportSignature: sig.qeReportSignature,
    qeAuthData: sig.qeAuthData,
    certification: sig.certification,
    trailingBytes,
  };
  if (sig.outerCertification === undefined) {
    return bodyDescriptor === undefined ? common : Object.assign(common, { bodyDescriptor });
  }
  const withOuter = Object.assign(common, { outerCertification: sig.outerCertification });
  return bodyDescriptor === undefined ? withOuter : Object.assign(withOuter, { bodyDescriptor });
}

function bodyTypeOf(kind: QuoteBody['kind']): number {
  return kind === 'sgx' ? BODY_TYPE_SGX : kind === 'td10' ? BODY_TYPE_TD_REPORT_10 : BODY_TYPE_TD_REPORT_15;
}

function writeSignedData(
  w: ByteWriter,
  parts: Pick<QuoteInit, 'header' | 'body'>,
  options: EncodeQuoteOptions,
): void {
  writeQuoteHeader(w, parts.header);
  const bw = new ByteWriter(TD_REPORT_15_SIZE);
  if (parts.body.kind === 'sgx') writeReportBody(bw, parts.body.report, 'body');
  else writeTdReport(bw, parts.body.report, 'body');
  const body = bw.finish();
  if (parts.header.version === 5) {
    w.u16(options.bodyType ?? bodyTypeOf(parts.body.kind), 'bodyDescriptor.type').u32(
      options.bodySize ?? body.length,
      'bodyDescriptor.size',
    );
  }
  w.bytes(body, undefined, 'body');
}

/**
 * Encodes header ‖ [v5 body descriptor] ‖ body: the bytes the attestation key signs. Builders sign
 * this, then call `encodeQuote` with the signature.
 */
export function encodeQuoteSignedData(
  parts: Pick<QuoteInit, 'header' | 'body'>,
  options: EncodeQuoteOptions = {},
): Uint8Array {
  const w = new ByteWriter(1024);
  writeSignedData(w, parts, options);
  return w.finish();
}

/**
 * Encodes a quote from its parts, in the layout of `parts.header.version` (v3: inline signature
 * data; v4/v5: type-6 wrapper; v5: body descriptor). Performs no semantic checks, so that negative
 * test cases can carry any value; `decodeQuote(encodeQuote(q))` reproduces `q`.
 */
export function encodeQuote(parts: QuoteInit, options: EncodeQuoteOptions = {}): Uint8Array {
  const sig = encodeSignatureData(parts, parts.header.version, options.outerCertificationType);
  const trailing = options.trailing ?? new Uint8Array(0);
  const w = new ByteWriter(1024 + sig.length + trailing.length);
  writeSignedData(w, parts, options);
  w.u32(options.signatureDataLength ?? sig.length, 'signatureData.length')
    .bytes(sig, undefined, 'signatureData')
    .bytes(trailing, undefined, 'trailing');
  return w.finish();
}
