/**
 * Quote header (48 bytes, every quote version), with Intel QVL's structural checks
 * (spec/dcap.md §1.1): version 3, 4 or 5; attestation key type 2; TEE type SGX or TDX (v3: SGX
 * only); QE vendor ID Intel's.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { formatErrorAt } from './errors.ts';
import { toHex } from './encoding.ts';
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  INTEL_QE_VENDOR_ID,
  INTEL_QE_VENDOR_ID_HEX,
  QE_VENDOR_ID_SIZE,
  QUOTE_HEADER_SIZE,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  USER_DATA_SIZE,
} from './constants.ts';

/** A decoded quote header. */
export interface QuoteHeader {
  /** 3, 4 or 5. */
  readonly version: number;
  /** 2 = ECDSA-256 with P-256. */
  readonly attestationKeyType: number;
  /** 0 = SGX, 0x81 = TDX. */
  readonly teeType: number;
  /** QE SVN (v3); reserved in v4/v5 (kept as read). */
  readonly qeSvn: number;
  /** PCE SVN (v3); reserved in v4/v5 (kept as read). */
  readonly pceSvn: number;
  /** QE vendor ID (16). */
  readonly qeVendorId: Uint8Array;
  /** User data (20); Intel's QE: 16-byte QE ID then 4 zero bytes. */
  readonly userData: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Reads and checks the 48-byte header.
 * @throws FormatError `ERR_FORMAT_TRUNCATED`, `ERR_FORMAT_VERSION`, `ERR_FORMAT_KEY_TYPE`,
 *   `ERR_FORMAT_TEE_TYPE` or `ERR_FORMAT_QE_VENDOR`, naming the field and byte offset.
 */
export function decodeQuoteHeader(r: ByteReader): QuoteHeader {
  const s = r.sub(QUOTE_HEADER_SIZE, 'header');
  const at = s.base;
  const version = s.u16('header.version');
  if (version !== 3 && version !== 4 && version !== 5) {
    throw formatErrorAt(
      'ERR_FORMAT_VERSION',
      'header.version',
      at,
      `unsupported quote version ${version} (3, 4 or 5)`,
      {
        actual: version,
      },
    );
  }
  const attestationKeyType = s.u16('header.attestationKeyType');
  if (attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw formatErrorAt(
      'ERR_FORMAT_KEY_TYPE',
      'header.attestationKeyType',
      at + 2,
      `unsupported attestation key type ${attestationKeyType} (only 2 = ECDSA-256 P-256)`,
      { actual: attestationKeyType },
    );
  }
  const teeType = s.u32('header.teeType');
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX) {
    throw formatErrorAt(
      'ERR_FORMAT_TEE_TYPE',
      'header.teeType',
      at + 4,
      `unknown TEE type 0x${teeType.toString(16)} (0 = SGX, 0x81 = TDX)`,
      { actual: teeType },
    );
  }
  if (version === 3 && teeType !== TEE_TYPE_SGX) {
    throw formatErrorAt(
      'ERR_FORMAT_TEE_TYPE',
      'header.teeType',
      at + 4,
      'a version 3 quote must be SGX (TEE type 0)',
      {
        actual: teeType,
      },
    );
  }
  const qeSvn = s.u16('header.qeSvn');
  const pceSvn = s.u16('header.pceSvn');
  const qeVendorId = s.bytesView(QE_VENDOR_ID_SIZE, 'header.qeVendorId');
  if (!sameBytes(qeVendorId, INTEL_QE_VENDOR_ID)) {
    throw formatErrorAt(
      'ERR_FORMAT_QE_VENDOR',
      'header.qeVendorId',
      at + 12,
      `QE vendor ID ${toHex(qeVendorId)} is not Intel's (${INTEL_QE_VENDOR_ID_HEX})`,
      { actual: toHex(qeVendorId) },
    );
  }
  const userData = s.bytesView(USER_DATA_SIZE, 'header.userData');
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData };
}

/**
 * Appends the 48-byte header. No semantic checks (builders of negative test cases may write any
 * value); only that each value fits its field.
 */
export function writeQuoteHeader(w: ByteWriter, h: QuoteHeader): void {
  w.u16(h.version, 'header.version')
    .u16(h.attestationKeyType, 'header.attestationKeyType')
    .u32(h.teeType, 'header.teeType')
    .u16(h.qeSvn, 'header.qeSvn')
    .u16(h.pceSvn, 'header.pceSvn')
    .bytes(h.qeVendorId, QE_VENDOR_ID_SIZE, 'header.qeVendorId')
    .bytes(h.userData, USER_DATA_SIZE, 'header.userData');
}

/** Encodes a header to its 48 bytes. */
export function encodeQuoteHeader(h: QuoteHeader): Uint8Array {
  const w = new ByteWriter(QUOTE_HEADER_SIZE);
  writeQuoteHeader(w, h);
  return w.finish();
}
