/**
 * SIGSTRUCT: the 1808-byte enclave signature structure (Intel SDM vol. 3D §38.13; see
 * shared/spec/sgx-sim.md §2). Decode and encode only; signing and verification live in `sim/`.
 *
 * All integers are little-endian; MODULUS, SIGNATURE, Q1 and Q2 are 384-byte little-endian integers.
 * The RSA signature covers bytes [0,128) ‖ [900,1028) (see {@link sigstructSignedBytes}).
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { FormatError } from './errors.ts';
import type { SgxAttributes } from './report-body.ts';

/** Size of a SIGSTRUCT in bytes. */
export const SIGSTRUCT_SIZE = 1808;
/** The first 12 bytes of HEADER; the last 4 are a type word (bit 31 = Intel debug-signed). */
export const SIGSTRUCT_HEADER_PREFIX = Uint8Array.of(6, 0, 0, 0, 0xe1, 0, 0, 0, 0, 0, 1, 0);
/** HEADER2, constant. */
export const SIGSTRUCT_HEADER2 = Uint8Array.of(1, 1, 0, 0, 0x60, 0, 0, 0, 0x60, 0, 0, 0, 1, 0, 0, 0);
/** VENDOR value of Intel-signed enclaves. */
export const SIGSTRUCT_VENDOR_INTEL = 0x8086;

/** A decoded SIGSTRUCT. Byte fields are copies; `raw` is the original 1808 bytes. */
export interface Sigstruct {
  /** HEADER bytes 12..16 as u32 (bit 31 = Intel debug-signed; 0 for ISV enclaves). */
  headerType: number;
  vendor: number;
  /** DATE as stored: u32 `0xYYYYMMDD` in BCD-like hex (see {@link decodeSigstructDate}). */
  date: number;
  swDefined: number;
  /** RSA-3072 modulus, little-endian, 384 bytes. */
  modulus: Uint8Array;
  exponent: number;
  /** RSA signature, little-endian, 384 bytes. */
  signature: Uint8Array;
  miscSelect: number;
  miscMask: number;
  cetAttributes: number;
  cetAttributesMask: number;
  isvFamilyId: Uint8Array;
  attributes: SgxAttributes;
  attributeMask: SgxAttributes;
  /** Expected MRENCLAVE. */
  enclaveHash: Uint8Array;
  isvExtProdId: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  q1: Uint8Array;
  q2: Uint8Array;
}

function expectConst(r: ByteReader, expected: Uint8Array, field: string): void {
  const at = r.absoluteOffset;
  const got = r.bytesView(expected.length, field);
  for (let i = 0; i < expected.length; i++) {
    if (got[i] !== expected[i]) {
      throw new FormatError('ERR_FORMAT_VALUE', `${field}: unexpected byte at offset ${at + i}`, {
        field,
        offset: at + i,
      });
    }
  }
}

function expectZero(r: ByteReader, n: number, field: string): void {
  const at = r.absoluteOffset;
  const got = r.bytesView(n, field);
  const i = got.findIndex((b) => b !== 0);
  if (i >= 0) {
    throw new FormatError('ERR_FORMAT_VALUE', `${field}: reserved byte at offset ${at + i} is not zero`, {
      field,
      offset: at + i,
    });
  }
}

function attrs(r: ByteReader, field: string): SgxAttributes {
  return { flags: r.u64(`${field}.flags`), xfrm: r.u64(`${field}.xfrm`) };
}

/**
 * Decodes a SIGSTRUCT. Requires exactly 1808 bytes, the constant HEADER/HEADER2 and zero reserved
 * fields; throws `FormatError` naming the field and byte offset otherwise. Does not verify the signature.
 */
export function decodeSigstruct(bytes: Uint8Array): Sigstruct {
  if (bytes.length !== SIGSTRUCT_SIZE) {
    throw new FormatError(
      'ERR_FORMAT_LENGTH',
      `SIGSTRUCT: expected ${SIGSTRUCT_SIZE} bytes, got ${bytes.length}`,
      { field: 'SIGSTRUCT', offset: 0 },
    );
  }
  const r = new ByteReader(bytes);
  expectConst(r, SIGSTRUCT_HEADER_PREFIX, 'SIGSTRUCT.HEADER');
  const headerType = r.u32('SIGSTRUCT.HEADER.type');
  const vendor = r.u32('SIGSTRUCT.VENDOR');
  if (vendor !== 0 && vendor !== SIGSTRUCT_VENDOR_INTEL) {
    throw new FormatError(
      'ERR_FORMAT_VALUE',
      `SIGSTRUCT.VENDOR: 0x${vendor.toString(16)} is neither 0 nor 0x8086`,
      {
        field: 'SIGSTRUCT.VENDOR',
        offset: 16,
      },
    );
  }
  const date = r.u32('SIGSTRUCT.DATE');
  expectConst(r, SIGSTRUCT_HEADER2, 'SIGSTRUCT.HEADER2');
  const swDefined = r.u32('SIGSTRUCT.SWDEFINED');
  expectZero(r, 84, 'SIGSTRUCT.reserved1');
  const modulus = r.bytesView(384, 'SIGSTRUCT.MODULUS').slice();
  const exponent = r.u32('SIGSTRUCT.EXPONENT');
  const signature = r.bytesView(384, 'SIGSTRUCT.SIGNATURE').slice();
  const miscSelect = r.u32('SIGSTRUCT.MISCSELECT');
  const miscMask = r.u32('SIGSTRUCT.MISCMASK');
  const cetAttributes = r.u8('SIGSTRUCT.CET_ATTRIBUTES');
  const cetAttributesMask = r.u8('SIGSTRUCT.CET_ATTRIBUTES_MASK');
  expectZero(r, 2, 'SIGSTRUCT.reserved2');
  const isvFamilyId = r.bytesView(16, 'SIGSTRUCT.ISVFAMILYID').slice();
  const attributes = attrs(r, 'SIGSTRUCT.ATTRIBUTES');
  const attributeMask = attrs(r, 'SIGSTRUCT.ATTRIBUTEMASK');
  const enclaveHash = r.bytesView(32, 'SIGSTRUCT.ENCLAVEHASH').slice();
  expectZero(r, 16, 'SIGSTRUCT.reserved3');
  const isvExtProdId = r.bytesView(16, 'SIGSTRUCT.ISVEXTPRODID').slice();
  const isvProdId = r.u16('SIGSTRUCT.ISVPRODID');
  const isvSvn = r.u16('SIGSTRUCT.ISVSVN');
  expectZero(r, 12, 'SIGSTRUCT.reserved4');
  const q1 = r.bytesView(384, 'SIGSTRUCT.Q1').slice();
  const q2 = r.bytesView(384, 'SIGSTRUCT.Q2').slice();
  r.expectEnd('SIGSTRUCT');
  return {
    headerType,
    vendor,
    date,
    swDefined,
    modulus,
    exponent,
    signature,
    miscSelect,
    miscMask,
    cetAttributes,
    cetAttributesMask,
    isvFamilyId,
    attributes,
    attributeMask,
    enclaveHash,
    isvExtProdId,
    isvProdId,
    isvSvn,
    q1,
    q2,
  };
}

/** Encodes a SIGSTRUCT (1808 bytes). Fixed-size fields must have their exact sizes. */
export function encodeSigstruct(s: Sigstruct): Uint8Array {
  const w = new ByteWriter(SIGSTRUCT_SIZE);
  w.bytes(SIGSTRUCT_HEADER_PREFIX);
  w.u32(s.headerType, 'SIGSTRUCT.HEADER.type');
  w.u32(s.vendor, 'SIGSTRUCT.VENDOR');
  w.u32(s.date, 'SIGSTRUCT.DATE');
  w.bytes(SIGSTRUCT_HEADER2);
  w.u32(s.swDefined, 'SIGSTRUCT.SWDEFINED');
  w.zeros(84);
  w.bytes(s.modulus, 384, 'SIGSTRUCT.MODULUS');
  w.u32(s.exponent, 'SIGSTRUCT.EXPONENT');
  w.bytes(s.signature, 384, 'SIGSTRUCT.SIGNATURE');
  w.u32(s.miscSelect, 'SIGSTRUCT.MISCSELECT');
  w.u32(s.miscMask, 'SIGSTRUCT.MISCMASK');
  w.u8(s.cetAttributes, 'SIGSTRUCT.CET_ATTRIBUTES');
  w.u8(s.cetAttributesMask, 'SIGSTRUCT.CET_ATTRIBUTES_MASK');
  w.zeros(2);
  w.bytes(s.isvFamilyId, 16, 'SIGSTRUCT.ISVFAMILYID');
  w.u64(s.attributes.flags, 'SIGSTRUCT.ATTRIBUTES.flags');
  w.u64(s.attributes.xfrm, 'SIGSTRUCT.ATTRIBUTES.xfrm');
  w.u64(s.attributeMask.flags, 'SIGSTRUCT.ATTRIBUTEMASK.flags');
  w.u64(s.attributeMask.xfrm, 'SIGSTRUCT.ATTRIBUTEMASK.xfrm');
  w.bytes(s.enclaveHash, 32, 'SIGSTRUCT.ENCLAVEHASH');
  w.zeros(16);
  w.bytes(s.isvExtProdId, 16, 'SIGSTRUCT.ISVEXTPRODID');
  w.u16(s.isvProdId, 'SIGSTRUCT.ISVPRODID');
  w.u16(s.isvSvn, 'SIGSTRUCT.ISVSVN');
  w.zeros(12);
  w.bytes(s.q1, 384, 'SIGSTRUCT.Q1');
  w.bytes(s.q2, 384, 'SIGSTRUCT.Q2');
  return w.finish();
}

/** The 256 bytes the SIGSTRUCT signature covers: bytes [0,128) ‖ [900,1028) of the encoded struct. */
export function sigstructSignedBytes(encoded: Uint8Array): Uint8Array {
  if (encoded.length !== SIGSTRUCT_SIZE) {
    throw new FormatError(
      'ERR_FORMAT_LENGTH',
      `SIGSTRUCT: expected ${SIGSTRUCT_SIZE} bytes, got ${encoded.length}`,
      {
        field: 'SIGSTRUCT',
      },
    );
  }
  const out = new Uint8Array(256);
  out.set(encoded.subarray(0, 128), 0);
  out.set(encoded.subarray(900, 1028), 128);
  return out;
}

/** Byte ranges of SIGSTRUCT covered by the signature, `[start, end)`. */
export const SIGSTRUCT_SIGNED_REGIONS: readonly (readonly [number, number])[] = [
  [0, 128],
  [900, 1028],
];

/**
 * Decodes SIGSTRUCT.DATE (`0xYYYYMMDD` written as hex digits) to `YYYY-MM-DD`; `undefined` for 0
 * (unset) or digits that are not a valid BCD date.
 */
export function decodeSigstructDate(date: number): string | undefined {
  if (date === 0) return undefined;
  const hex = date.toString(16).padStart(8, '0');
  if (!/^\d{8}$/.test(hex)) return undefined;
  const y = Number(hex.slice(0, 4));
  const m = Number(hex.slice(4, 6));
  const d = Number(hex.slice(6, 8));
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1) return undefined;
  return `${hex.slice(0, 4)}-${hex.slice(4, 6)}-${hex.slice(6, 8)}`;
}

/** Encodes `YYYY-MM-DD` as SIGSTRUCT.DATE (`2021-02-10` → `0x20210210`). */
export function encodeSigstructDate(isoDate: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  const month = m === null ? 0 : Number(m[2]);
  const day = m === null ? 0 : Number(m[3]);
  if (m === null || month < 1 || month > 12 || day < 1 || day > 31) {
    throw new FormatError('ERR_FORMAT_VALUE', `SIGSTRUCT.DATE: "${isoDate}" is not a YYYY-MM-DD date`, {
      field: 'SIGSTRUCT.DATE',
    });
  }
  return Number.parseInt(`${m[1] ?? ''}${m[2] ?? ''}${m[3] ?? ''}`, 16);
}
