/**
 * KEYREQUEST (512 bytes): the input of EGETKEY (shared/spec/sgx-sim.md §3.3). Also the first 512
 * bytes of an SGX SDK sealed blob.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { FormatError } from './errors.ts';
import type { SgxAttributes } from './report-body.ts';

/** Size of KEYREQUEST in bytes. */
export const KEY_REQUEST_SIZE = 512;

/** KEYNAME values. */
export const KEY_NAME = {
  EINITTOKEN: 0,
  PROVISION: 1,
  PROVISION_SEAL: 2,
  REPORT: 3,
  SEAL: 4,
} as const;

/** KEYPOLICY bits (bits 2–5 need the KSS attribute). */
export const KEY_POLICY = {
  MRENCLAVE: 0x1,
  MRSIGNER: 0x2,
  NOISVPRODID: 0x4,
  CONFIGID: 0x8,
  ISVFAMILYID: 0x10,
  ISVEXTPRODID: 0x20,
} as const;

/** A decoded KEYREQUEST. */
export interface KeyRequest {
  readonly keyName: number;
  readonly keyPolicy: number;
  readonly isvSvn: number;
  /** CPUSVN requested (16). */
  readonly cpuSvn: Uint8Array;
  readonly attributeMask: SgxAttributes;
  /** KEYID (32). */
  readonly keyId: Uint8Array;
  readonly miscMask: number;
  readonly configSvn: number;
}

/** Decodes exactly 512 bytes of KEYREQUEST; reserved bytes (6..8, 78..512) must be zero. */
export function decodeKeyRequest(input: Uint8Array | ByteReader, field = 'KEYREQUEST'): KeyRequest {
  let r: ByteReader;
  if (input instanceof ByteReader) {
    r = input.sub(KEY_REQUEST_SIZE, field);
  } else {
    if (input.length !== KEY_REQUEST_SIZE) {
      throw new FormatError('ERR_FORMAT_LENGTH', `${field}: expected 512 bytes, got ${input.length}`, {
        field,
        offset: 0,
      });
    }
    r = new ByteReader(input);
  }
  const keyName = r.u16(`${field}.KEYNAME`);
  const keyPolicy = r.u16(`${field}.KEYPOLICY`);
  const isvSvn = r.u16(`${field}.ISVSVN`);
  const reservedAt = r.absoluteOffset;
  if (r.u16(`${field}.reserved1`) !== 0) {
    throw new FormatError('ERR_FORMAT_VALUE', `${field}.reserved1: not zero at offset ${reservedAt}`, {
      field: `${field}.reserved1`,
      offset: reservedAt,
    });
  }
  const cpuSvn = r.bytesView(16, `${field}.CPUSVN`).slice();
  const attributeMask = {
    flags: r.u64(`${field}.ATTRIBUTEMASK.flags`),
    xfrm: r.u64(`${field}.ATTRIBUTEMASK.xfrm`),
  };
  const keyId = r.bytesView(32, `${field}.KEYID`).slice();
  const miscMask = r.u32(`${field}.MISCMASK`);
  const configSvn = r.u16(`${field}.CONFIGSVN`);
  const restAt = r.absoluteOffset;
  const rest = r.bytesView(434, `${field}.reserved2`);
  const i = rest.findIndex((b) => b !== 0);
  if (i >= 0) {
    throw new FormatError(
      'ERR_FORMAT_VALUE',
      `${field}.reserved2: byte at offset ${restAt + i} is not zero`,
      {
        field: `${field}.reserved2`,
        offset: restAt + i,
      },
    );
  }
  return { keyName, keyPolicy, isvSvn, cpuSvn, attributeMask, keyId, miscMask, configSvn };
}

/** Encodes KEYREQUEST to 512 bytes. */
export function encodeKeyRequest(k: KeyRequest): Uint8Array {
  return new ByteWriter(KEY_REQUEST_SIZE)
    .u16(k.keyName, 'KEYREQUEST.KEYNAME')
    .u16(k.keyPolicy, 'KEYREQUEST.KEYPOLICY')
    .u16(k.isvSvn, 'KEYREQUEST.ISVSVN')
    .zeros(2)
    .bytes(k.cpuSvn, 16, 'KEYREQUEST.CPUSVN')
    .u64(k.attributeMask.flags, 'KEYREQUEST.ATTRIBUTEMASK.flags')
    .u64(k.attributeMask.xfrm, 'KEYREQUEST.ATTRIBUTEMASK.xfrm')
    .bytes(k.keyId, 32, 'KEYREQUEST.KEYID')
    .u32(k.miscMask, 'KEYREQUEST.MISCMASK')
    .u16(k.configSvn, 'KEYREQUEST.CONFIGSVN')
    .zeros(434)
    .finish();
}
