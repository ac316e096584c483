/**
 * SGX report body (384 bytes): the ISV enclave report inside an SGX quote, and the QE report inside
 * the signature data. Layout: spec/dcap.md §1.2. Integers are little-endian.
 */
import { ByteReader, ByteWriter } from './bytes.ts';
import { FormatError } from './errors.ts';
import { REPORT_BODY_SIZE } from './constants.ts';
import { asUint8Array } from './encoding.ts';

/** SGX ATTRIBUTES: flags and XFRM, each a u64. */
export interface SgxAttributes {
  readonly flags: bigint;
  readonly xfrm: bigint;
}

/** A decoded SGX report body. Byte fields are views into the input (no copies). */
export interface ReportBody {
  /** CPUSVN (16). */
  readonly cpuSvn: Uint8Array;
  readonly miscSelect: number;
  /** Reserved bytes 20..32 (12), kept so that encoding reproduces the input. */
  readonly reserved1: Uint8Array;
  /** ISV extended product ID (16). */
  readonly isvExtProdId: Uint8Array;
  readonly attributes: SgxAttributes;
  /** MRENCLAVE (32). */
  readonly mrEnclave: Uint8Array;
  /** Reserved bytes 96..128 (32). */
  readonly reserved2: Uint8Array;
  /** MRSIGNER (32). */
  readonly mrSigner: Uint8Array;
  /** Reserved bytes 160..192 (32). */
  readonly reserved3: Uint8Array;
  /** CONFIGID (64). */
  readonly configId: Uint8Array;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly configSvn: number;
  /** Reserved bytes 262..304 (42). */
  readonly reserved4: Uint8Array;
  /** ISV family ID (16). */
  readonly isvFamilyId: Uint8Array;
  /** REPORTDATA (64). */
  readonly reportData: Uint8Array;
}

/** What `encodeReportBody` needs: a `ReportBody` whose reserved fields may be left out (zeros). */
export type ReportBodyInit = Omit<ReportBody, 'reserved1' | 'reserved2' | 'reserved3' | 'reserved4'> &
  Partial<Pick<ReportBody, 'reserved1' | 'reserved2' | 'reserved3' | 'reserved4'>>;

/** Byte offsets of the fields, relative to the start of the report body. */
export const REPORT_BODY_OFFSETS = {
  cpuSvn: 0,
  miscSelect: 16,
  reserved1: 20,
  isvExtProdId: 32,
  attributes: 48,
  mrEnclave: 64,
  reserved2: 96,
  mrSigner: 128,
  reserved3: 160,
  configId: 192,
  isvProdId: 256,
  isvSvn: 258,
  configSvn: 260,
  reserved4: 262,
  isvFamilyId: 304,
  reportData: 320,
} as const;

/** SGX ATTRIBUTES.FLAGS bits by name. */
export const SGX_ATTRIBUTE_FLAGS = {
  INIT: 1n << 0n,
  DEBUG: 1n << 1n,
  MODE64BIT: 1n << 2n,
  PROVISIONKEY: 1n << 4n,
  EINITTOKENKEY: 1n << 5n,
  CET: 1n << 6n,
  KSS: 1n << 7n,
  AEXNOTIFY: 1n << 10n,
} as const;

/** Names of the set ATTRIBUTES.FLAGS bits; unknown bits appear as `bit<N>`. */
export function sgxAttributeFlagNames(flags: bigint): string[] {
  return namedBits(flags, SGX_ATTRIBUTE_FLAGS);
}

/** Names set bits of `value` from `table`, then unknown bits as `bit<N>`. Shared with TD reports. */
export function namedBits(value: bigint, table: Readonly<Record<string, bigint>>): string[] {
  const names: string[] = [];
  let known = 0n;
  for (const [name, bit] of Object.entries(table)) {
    known |= bit;
    if ((value & bit) !== 0n) names.push(name);
  }
  const rest = value & ~known;
  for (let i = 0n; i < 64n; i++) if ((rest >> i) & 1n) names.push(`bit${i}`);
  return names;
}

/**
 * Decodes a 384-byte SGX report body. Given bytes, they must be exactly 384 long; given a reader,
 * reads the next 384 bytes. `field` prefixes field names in error messages.
 * @throws FormatError `ERR_FORMAT_TRUNCATED` / `ERR_FORMAT_LENGTH` naming the field and offset.
 */
export function decodeReportBody(input: Uint8Array | ByteReader, field = 'reportBody'): ReportBody {
  let r: ByteReader;
  if (input instanceof ByteReader) {
    r = input;
  } else {
    const bytes = asUint8Array(input);
    if (bytes.length !== REPORT_BODY_SIZE) {
      throw new FormatError(
        'ERR_FORMAT_LENGTH',
        `${field}: expected ${REPORT_BODY_SIZE} bytes, got ${bytes.length} at byte offset 0`,
        { field, offset: 0, length: bytes.length },
      );
    }
    r = new ByteReader(bytes);
  }
  // One bounds check for the whole structure, then field reads that cannot fail.
  const s = r.sub(REPORT_BODY_SIZE, field);
  return {
    cpuSvn: s.bytesView(16, `${field}.cpuSvn`),
    miscSelect: s.u32(`${field}.miscSelect`),
    reserved1: s.bytesView(12, `${field}.reserved1`),
    isvExtProdId: s.bytesView(16, `${field}.isvExtProdId`),
    attributes: { flags: s.u64(`${field}.attributes.flags`), xfrm: s.u64(`${field}.attributes.xfrm`) },
    mrEnclave: s.bytesView(32, `${field}.mrEnclave`),
    reserved2: s.bytesView(32, `${field}.reserved2`),
    mrSigner: s.bytesView(32, `${field}.mrSigner`),
    reserved3: s.bytesView(32, `${field}.reserved3`),
    configId: s.bytesView(64, `${field}.configId`),
    isvProdId: s.u16(`${field}.isvProdId`),
    isvSvn: s.u16(`${field}.isvSvn`),
    configSvn: s.u16(`${field}.configSvn`),
    reserved4: s.bytesView(42, `${field}.reserved4`),
    isvFamilyId: s.bytesView(16, `${field}.isvFamilyId`),
    reportData: s.bytesView(64, `${field}.reportData`),
  };
}

const ZERO_42 = new Uint8Array(42);

/** Appends the 384-byte encoding of `body` to `w`. Fixed-size fields must have their exact size. */
export function writeReportBody(w: ByteWriter, body: ReportBodyInit, field = 'reportBody'): void {
  w.bytes(body.cpuSvn, 16, `${field}.cpuSvn`)
    .u32(body.miscSelect, `${field}.miscSelect`)
    .bytes(body.reserved1 ?? ZERO_42.subarray(0, 12), 12, `${field}.reserved1`)
    .bytes(body.isvExtProdId, 16, `${field}.isvExtProdId`)
    .u64(body.attributes.flags, `${field}.attributes.flags`)
    .u64(body.attributes.xfrm, `${field}.attributes.xfrm`)
    .bytes(body.mrEnclave, 32, `${field}.mrEnclave`)
    .bytes(body.reserved2 ?? ZERO_42.subarray(0, 32), 32, `${field}.reserved2`)
    .bytes(body.mrSigner, 32, `${field}.mrSigner`)
    .bytes(body.reserved3 ?? ZERO_42.subarray(0, 32), 32, `${field}.reserved3`)
    .bytes(body.configId, 64, `${field}.configId`)
    .u16(body.isvProdId, `${field}.isvProdId`)
    .u16(body.isvSvn, `${field}.isvSvn`)
    .u16(body.configSvn, `${field}.configSvn`)
    .bytes(body.reserved4 ?? ZERO_42, 42, `${field}.reserved4`)
    .bytes(body.isvFamilyId, 16, `${field}.isvFamilyId`)
    .bytes(body.reportData, 64, `${field}.reportData`);
}

/** Encodes `body` to its 384 bytes. */
export function encodeReportBody(body: ReportBodyInit): Uint8Array {
  const w = new ByteWriter(REPORT_BODY_SIZE);
  writeReportBody(w, body);
  return w.finish();
}

/** An all-zero report body with the given fields replaced: a convenient starting point for builders. */
export function emptyReportBody(overrides: Partial<ReportBodyInit> = {}): ReportBody {
  return {
    cpuSvn: new Uint8Array(16),
    miscSelect: 0,
    reserved1: new Uint8Array(12),
    isvExtProdId: new Uint8Array(16),
    attributes: { flags: 0n, xfrm: 0n },
    mrEnclave: new Uint8Array(32),
    reserved2: new Uint8Array(32),
    mrSigner: new Uint8Array(32),
    reserved3: new Uint8Array(32),
    configId: new Uint8Array(64),
    isvProdId: 0,
    isvSvn: 0,
    configSvn: 0,
    reserved4: new Uint8Array(42),
    isvFamilyId: new Uint8Array(16),
    reportData: new Uint8Array(64),
    ...overrides,
  };
}
