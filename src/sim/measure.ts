/**
 * MRENCLAVE and MRSIGNER, computed exactly as the hardware does (shared/spec/sgx-sim.md §1).
 *
 * MRENCLAVE is one running SHA-256 over 64-byte records: ECREATE (SSAFRAMESIZE in pages, SECS.SIZE),
 * then per page an EADD (page offset, SECINFO.FLAGS) and, for measured pages, 16 EEXTENDs (chunk
 * offset, then the 256 bytes of the chunk). The record stream is the SGXS format; it can be kept as a
 * measurement log for debugging.
 */
import { createHash, type Hash } from 'node:crypto';
import { SimEnclaveError } from './enclave-errors.ts';

export const PAGE_SIZE = 4096;
const CHUNK = 256;

/** SECINFO.FLAGS bits and page types. */
export const SECINFO = {
  R: 0x1,
  W: 0x2,
  X: 0x4,
  PT_SECS: 0x000,
  PT_TCS: 0x100,
  PT_REG: 0x200,
} as const;

function record(tag: string): Uint8Array {
  const r = new Uint8Array(64);
  for (let i = 0; i < tag.length; i++) r[i] = tag.charCodeAt(i);
  return r;
}

/** The first 8 bytes of every EEXTEND record. */
const EEXTEND_TAG = record('EEXTEND\0').subarray(0, 8);

function putU64(buf: Uint8Array, at: number, v: bigint | number): void {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  view.setBigUint64(at, BigInt(v), true);
}

function bad(message: string, field: string): SimEnclaveError {
  return new SimEnclaveError('ERR_MEASURE_INPUT', message, { field });
}

/**
 * The measurement state of one enclave build: call {@link ecreate} once, then {@link eadd} and
 * {@link eextend} in load order, then {@link finish}. With `keepLog`, the exact record stream is
 * kept ({@link log}); SHA-256 of the log equals MRENCLAVE.
 */
export class MeasurementBuilder {
  private readonly hash: Hash = createHash('sha256');
  private readonly logParts: Uint8Array[] | undefined;
  private created = false;
  private size = 0n;

  constructor(options: { keepLog?: boolean } = {}) {
    this.logParts = options.keepLog === true ? [] : undefined;
  }

  private feed(bytes: Uint8Array): void {
    this.hash.update(bytes);
    this.logParts?.push(bytes.slice());
  }

  /** ECREATE: `ssaFrameSize` in pages, `enclaveSize` in bytes (a power of two, at least 2 pages). */
  ecreate(ssaFrameSize: number, enclaveSize: bigint | number): this {
    const size = BigInt(enclaveSize);
    if (this.created) throw bad('ECREATE called twice', 'ecreate');
    if (!Number.isInteger(ssaFrameSize) || ssaFrameSize < 1 || ssaFrameSize > 0xffffffff) {
      throw bad(`SSAFRAMESIZE ${ssaFrameSize} must be a u32 of at least 1 page`, 'ssaFrameSize');
    }
    if (size < 2n * BigInt(PAGE_SIZE) || (size & (size - 1n)) !== 0n || size > 0xffffffffffffffffn) {
      throw bad(`SECS.SIZE ${size} must be a power of two of at least 8192 bytes`, 'enclaveSize');
    }
    const r = record('ECREATE\0');
    new DataView(r.buffer).setUint32(8, ssaFrameSize, true);
    putU64(r, 12, size);
    this.feed(r);
    this.created = true;
    this.size = size;
    return this;
  }

  private checkOffset(offset: bigint, align: number, field: string): void {
    if (!this.created) throw bad(`${field} before ECREATE`, field);
    if (offset < 0n || offset % BigInt(align) !== 0n || offset >= this.size) {
      throw bad(`${field} offset 0x${offset.toString(16)} is not ${align}-aligned inside the enclave`, field);
    }
  }

  /** EADD: a page at `offset` (relative to the enclave base) with SECINFO.FLAGS `flags`. */
  eadd(offset: bigint | number, flags: bigint | number): this {
    const off = BigInt(offset);
    this.checkOffset(off, PAGE_SIZE, 'EADD');
    const r = record('EADD\0\0\0\0');
    putU64(r, 8, off);
    putU64(r, 16, BigInt(flags));
    this.feed(r);
    return this;
  }

  /** EEXTEND: measures the 256-byte `chunk` at `offset`. */
  eextend(offset: bigint | number, chunk: Uint8Array): this {
    const off = BigInt(offset);
    this.checkOffset(off, CHUNK, 'EEXTEND');
    if (chunk.length !== CHUNK) throw bad(`EEXTEND chunk must be 256 bytes, got ${chunk.length}`, 'EEXTEND');
    const r = record('EEXTEND\0');
    putU64(r, 8, off);
    this.feed(r);
    this.feed(chunk);
    return this;
  }

  /** EADD plus, if `measured`, 16 EEXTENDs of `content` (at most 4096 bytes, zero-padded). */
  addPage(offset: bigint | number, flags: bigint | number, content: Uint8Array, measured: boolean): this {
    if (content.length > PAGE_SIZE) throw bad(`page content is ${content.length} bytes`, 'page');
    this.eadd(offset, flags);
    if (!measured) return this;
    // The 16 EEXTEND records and chunks in one buffer, fed at once: the same bytes as 16
    // eextend() calls (each chunk lies inside the page EADD has just checked), with one hash
    // update instead of 32.
    const stream = new Uint8Array((PAGE_SIZE / CHUNK) * (64 + CHUNK));
    const view = new DataView(stream.buffer);
    const base = BigInt(offset);
    for (let i = 0, at = 0; i < PAGE_SIZE; i += CHUNK, at += 64 + CHUNK) {
      stream.set(EEXTEND_TAG, at);
      view.setBigUint64(at + 8, base + BigInt(i), true);
      stream.set(content.subarray(Math.min(i, content.length), Math.min(i + CHUNK, content.length)), at + 64);
    }
    this.feed(stream);
    return this;
  }

  /** The final MRENCLAVE (32 bytes). */
  finish(): Uint8Array {
    if (!this.created) throw bad('finish before ECREATE', 'ecreate');
    return new Uint8Array(this.hash.digest());
  }

  /** The SGXS-style record stream, if `keepLog` was set. */
  log(): Uint8Array | undefined {
    if (this.logParts === undefined) return undefined;
    return new Uint8Array(Buffer.concat(this.logParts));
  }
}

/** One page to add, in load order. */
export interface MeasuredPage {
  /** Offset from the enclave base (page-aligned). */
  offset: bigint | number;
  /** SECINFO.FLAGS (e.g. 0x100 TCS, 0x201 REG|R, 0x203 REG|RW, 0x205 REG|RX). */
  secinfoFlags: bigint | number;
  /** True: EADD + 16 EEXTENDs; false: EADD only (content not measured). */
  measured: boolean;
  /** Page content, up to 4096 bytes, zero-padded. */
  content: Uint8Array;
}

/** Input of {@link measurePages}: the ECREATE parameters and the pages in load order. */
export interface MeasurementInput {
  enclaveSize: bigint | number;
  ssaFrameSize: number;
  pages: readonly MeasuredPage[];
}

/** Computes MRENCLAVE over ECREATE and the pages in the given order. */
export function measurePages(
  input: MeasurementInput,
  options: { keepLog?: boolean } = {},
): {
  mrEnclave: Uint8Array;
  log?: Uint8Array;
} {
  const b = new MeasurementBuilder(options);
  b.ecreate(input.ssaFrameSize, input.enclaveSize);
  for (const p of input.pages) b.addPage(p.offset, p.secinfoFlags, p.content, p.measured);
  const mrEnclave = b.finish();
  const log = b.log();
  return log === undefined ? { mrEnclave } : { mrEnclave, log };
}

/**
 * MRSIGNER: SHA-256 of the 384-byte RSA modulus exactly as SIGSTRUCT stores it (little-endian).
 */
export function mrSignerFromModulus(modulusLittleEndian: Uint8Array): Uint8Array {
  if (modulusLittleEndian.length !== 384) {
    throw bad(`modulus must be 384 bytes, got ${modulusLittleEndian.length}`, 'modulus');
  }
  return new Uint8Array(createHash('sha256').update(modulusLittleEndian).digest());
}
