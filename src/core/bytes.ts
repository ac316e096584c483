/**
 * The one bounds-checked byte reader and writer for every binary format in ccnodes.
 *
 * Every read names the field it reads, so a short or malformed input fails with a `FormatError`
 * whose message says which field at which absolute byte offset. Integers are little-endian, as in
 * all SGX structures.
 */
import { FormatError } from './errors.ts';

export class ByteReader {
  private pos: number;
  /** Absolute offset of `bytes[0]` in the outermost input, for error messages. */
  readonly base: number;

  constructor(
    readonly bytes: Uint8Array,
    options: { base?: number; offset?: number } = {},
  ) {
    this.base = options.base ?? 0;
    this.pos = options.offset ?? 0;
  }

  /** Current position, relative to `bytes`. */
  get offset(): number {
    return this.pos;
  }

  /** Absolute offset of the current position in the outermost input. */
  get absoluteOffset(): number {
    return this.base + this.pos;
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  private need(n: number, field: string): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new FormatError(
        'ERR_FORMAT_LENGTH',
        `${field}: invalid length ${n} at byte offset ${this.absoluteOffset}`,
        {
          field,
          offset: this.absoluteOffset,
        },
      );
    }
    if (n > this.remaining) {
      throw new FormatError(
        'ERR_FORMAT_TRUNCATED',
        `${field}: needs ${n} bytes at byte offset ${this.absoluteOffset}, only ${this.remaining} left`,
        { field, offset: this.absoluteOffset, needed: n, remaining: this.remaining },
      );
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.bytes[this.pos++] as number;
  }

  u16(field: string): number {
    this.need(2, field);
    const b = this.bytes;
    const v = (b[this.pos] as number) | ((b[this.pos + 1] as number) << 8);
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.bytes;
    const p = this.pos;
    const v =
      ((b[p] as number) | ((b[p + 1] as number) << 8) | ((b[p + 2] as number) << 16)) +
      (b[p + 3] as number) * 0x1000000;
    this.pos += 4;
    return v;
  }

  u64(field: string): bigint {
    const lo = BigInt(this.u32(field));
    const hi = BigInt(this.u32(field));
    return (hi << 32n) | lo;
  }

  /** A view (no copy) of the next `n` bytes. */
  bytesView(n: number, field: string): Uint8Array {
    this.need(n, field);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** A reader over the next `n` bytes that reports absolute offsets. */
  sub(n: number, field: string): ByteReader {
    const at = this.absoluteOffset;
    const view = this.bytesView(n, field);
    return new ByteReader(view, { base: at });
  }

  skip(n: number, field: string): void {
    this.need(n, field);
    this.pos += n;
  }

  /** Fails unless every byte was consumed. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) {
      throw new FormatError(
        'ERR_FORMAT_LENGTH',
        `${what}: ${this.remaining} unexpected trailing bytes at byte offset ${this.absoluteOffset}`,
        { field: what, offset: this.absoluteOffset, trailing: this.remaining },
      );
    }
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 1024) {
    this.buf = new Uint8Array(initialCapacity);
  }

  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private checkInt(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max) {
      throw new FormatError('ERR_FORMAT_VALUE', `${field}: ${v} does not fit (0..${max})`, { field });
    }
  }

  u8(v: number, field = 'u8'): this {
    this.checkInt(v, 0xff, field);
    this.ensure(1);
    this.buf[this.len++] = v;
    return this;
  }

  u16(v: number, field = 'u16'): this {
    this.checkInt(v, 0xffff, field);
    this.ensure(2);
    this.buf[this.len++] = v & 0xff;
    this.buf[this.len++] = v >>> 8;
    return this;
  }

  u32(v: number, field = 'u32'): this {
    this.checkInt(v, 0xffffffff, field);
    this.ensure(4);
    for (let i = 0; i < 4; i++) this.buf[this.len++] = (v >>> (8 * i)) & 0xff;
    return this;
  }

  u64(v: bigint, field = 'u64'): this {
    if (v < 0n || v > 0xffffffffffffffffn) {
      throw new FormatError('ERR_FORMAT_VALUE', `${field}: ${v} does not fit in 64 bits`, { field });
    }
    this.u32(Number(v & 0xffffffffn), field);
    this.u32(Number(v >> 32n), field);
    return this;
  }

  /** Writes `bytes`; with `size`, requires exactly that many (fixed-size fields). */
  bytes(bytes: Uint8Array, size?: number, field = 'bytes'): this {
    if (size !== undefined && bytes.length !== size) {
      throw new FormatError('ERR_FORMAT_LENGTH', `${field}: expected ${size} bytes, got ${bytes.length}`, {
        field,
      });
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }

  /** The bytes written so far (a copy). */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
