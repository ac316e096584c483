/**
 * TARGETINFO (512 bytes): names the enclave a REPORT is meant for (shared/spec/sgx-sim.md §3.2).
 * EREPORT derives the report key from these fields, so only that enclave can check the MAC.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { FormatError } from './errors.ts';
import type { SgxAttributes } from './report-body.ts';

/** Size of TARGETINFO in bytes. */
export const TARGET_INFO_SIZE = 512;

/** A decoded TARGETINFO. */
export interface TargetInfo {
  /** The target enclave's MRENCLAVE (32). */
  readonly mrEnclave: Uint8Array;
  readonly attributes: SgxAttributes;
  readonly cetAttributes: number;
  readonly configSvn: number;
  readonly miscSelect: number;
  /** CONFIGID (64). */
  readonly configId: Uint8Array;
}

function zeroCheck(r: ByteReader, n: number, field: string): void {
  const at = r.absoluteOffset;
  const v = r.bytesView(n, field);
  const i = v.findIndex((b) => b !== 0);
  if (i >= 0) {
    throw new FormatError('ERR_FORMAT_VALUE', `${field}: reserved byte at offset ${at + i} is not zero`, {
      field,
      offset: at + i,
    });
  }
}

/** Decodes exactly 512 bytes of TARGETINFO; reserved bytes must be zero. */
export function decodeTargetInfo(bytes: Uint8Array): TargetInfo {
  if (bytes.length !== TARGET_INFO_SIZE) {
    throw new FormatError('ERR_FORMAT_LENGTH', `TARGETINFO: expected 512 bytes, got ${bytes.length}`, {
      field: 'TARGETINFO',
      offset: 0,
    });
  }
  const r = new ByteReader(bytes);
  const mrEnclave = r.bytesView(32, 'TARGETINFO.MEASUREMENT').slice();
  const attributes = {
    flags: r.u64('TARGETINFO.ATTRIBUTES.flags'),
    xfrm: r.u64('TARGETINFO.ATTRIBUTES.xfrm'),
  };
  const cetAttributes = r.u8('TARGETINFO.CET_ATTRIBUTES');
  zeroCheck(r, 1, 'TARGETINFO.reserved1');
  const configSvn = r.u16('TARGETINFO.CONFIGSVN');
  const miscSelect = r.u32('TARGETINFO.MISCSELECT');
  zeroCheck(r, 8, 'TARGETINFO.reserved2');
  const configId = r.bytesView(64, 'TARGETINFO.CONFIGID').slice();
  zeroCheck(r, 384, 'TARGETINFO.reserved3');
  r.expectEnd('TARGETINFO');
  return { mrEnclave, attributes, cetAttributes, configSvn, miscSelect, configId };
}

/** Encodes TARGETINFO to 512 bytes. */
export function encodeTargetInfo(t: TargetInfo): Uint8Array {
  return new ByteWriter(TARGET_INFO_SIZE)
    .bytes(t.mrEnclave, 32, 'TARGETINFO.MEASUREMENT')
    .u64(t.attributes.flags, 'TARGETINFO.ATTRIBUTES.flags')
    .u64(t.attributes.xfrm, 'TARGETINFO.ATTRIBUTES.xfrm')
    .u8(t.cetAttributes, 'TARGETINFO.CET_ATTRIBUTES')
    .zeros(1)
    .u16(t.configSvn, 'TARGETINFO.CONFIGSVN')
    .u32(t.miscSelect, 'TARGETINFO.MISCSELECT')
    .zeros(8)
    .bytes(t.configId, 64, 'TARGETINFO.CONFIGID')
    .zeros(384)
    .finish();
}
