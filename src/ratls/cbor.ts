/**
 * The small subset of CBOR (RFC 8949) that TCG DICE tagged evidence uses: unsigned integers, byte
 * strings, text strings, arrays, maps and tags, all of definite length. Anything else (negative
 * integers, floats, indefinite lengths, trailing bytes, nesting deeper than 16) is refused with
 * `ERR_RATLS_EXTENSION_PAYLOAD` naming the byte offset.
 */
import { RatlsFormatError } from './errors.ts';

/** A decoded CBOR item. Maps keep their entries in order (keys are items too). */
export type CborItem =
  | { readonly type: 'uint'; readonly value: bigint }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'text'; readonly value: string }
  | { readonly type: 'array'; readonly items: readonly CborItem[] }
  | { readonly type: 'map'; readonly entries: readonly (readonly [CborItem, CborItem])[] }
  | { readonly type: 'tag'; readonly tag: bigint; readonly item: CborItem };

const MAX_DEPTH = 16;

function head(major: number, value: number | bigint): Uint8Array {
  const v = BigInt(value);
  const m = major << 5;
  if (v < 24n) return Uint8Array.of(m | Number(v));
  if (v < 0x100n) return Uint8Array.of(m | 24, Number(v));
  if (v < 0x10000n) return Uint8Array.of(m | 25, Number(v >> 8n), Number(v & 0xffn));
  if (v < 0x100000000n) {
    const b = new Uint8Array(5);
    b[0] = m | 26;
    new DataView(b.buffer).setUint32(1, Number(v));
    return b;
  }
  const b = new Uint8Array(9);
  b[0] = m | 27;
  new DataView(b.buffer).setBigUint64(1, v);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes an item in the preferred (shortest) serialization. */
export function encodeCbor(item: CborItem): Uint8Array {
  switch (item.type) {
    case 'uint':
      return head(0, item.value);
    case 'bytes':
      return concat([head(2, item.value.length), item.value]);
    case 'text': {
      const b = new TextEncoder().encode(item.value);
      return concat([head(3, b.length), b]);
    }
    case 'array':
      return concat([head(4, item.items.length), ...item.items.map(encodeCbor)]);
    case 'map':
      return concat([
        head(5, item.entries.length),
        ...item.entries.flatMap(([k, v]) => [encodeCbor(k), encodeCbor(v)]),
      ]);
    case 'tag':
      return concat([head(6, item.tag), encodeCbor(item.item)]);
  }
}

/** Shorthands for building items. */
export const cbor = {
  uint: (value: number | bigint): CborItem => ({ type: 'uint', value: BigInt(value) }),
  bytes: (value: Uint8Array): CborItem => ({ type: 'bytes', value }),
  text: (value: string): CborItem => ({ type: 'text', value }),
  array: (...items: CborItem[]): CborItem => ({ type: 'array', items }),
  map: (...entries: [CborItem, CborItem][]): CborItem => ({ type: 'map', entries }),
  tag: (tag: number | bigint, item: CborItem): CborItem => ({ type: 'tag', tag: BigInt(tag), item }),
};

class Reader {
  offset = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  fail(message: string, at = this.offset): never {
    throw new RatlsFormatError('ERR_RATLS_EXTENSION_PAYLOAD', `${this.what}: ${message} at byte ${at}`, {
      details: { field: this.what, offset: at },
    });
  }

  take(n: number): Uint8Array {
    const left = this.bytes.length - this.offset;
    if (n > left) this.fail(`needs ${n} more bytes, ${left} left`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  argument(info: number, at: number): bigint {
    if (info < 24) return BigInt(info);
    if (info === 24) return BigInt(this.take(1)[0] ?? 0);
    if (info === 25) {
      const b = this.take(2);
      return BigInt(((b[0] ?? 0) << 8) | (b[1] ?? 0));
    }
    if (info === 26) {
      const b = this.take(4);
      return BigInt(new DataView(b.buffer, b.byteOffset, 4).getUint32(0));
    }
    if (info === 27) {
      const b = this.take(8);
      return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
    }
    return this.fail(`indefinite or reserved length (additional info ${info})`, at);
  }

  length(info: number, at: number): number {
    const n = this.argument(info, at);
    const left = this.bytes.length - this.offset;
    if (n > BigInt(left)) this.fail(`length ${n} exceeds the ${left} bytes left`, at);
    return Number(n);
  }

  item(depth: number): CborItem {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const at = this.offset;
    const first = this.take(1)[0] ?? 0;
    const major = first >> 5;
    const info = first & 0x1f;
    switch (major) {
      case 0:
        return { type: 'uint', value: this.argument(info, at) };
      case 2:
        return { type: 'bytes', value: this.take(this.length(info, at)) };
      case 3: {
        const b = this.take(this.length(info, at));
        try {
          return { type: 'text', value: new TextDecoder('utf-8', { fatal: true }).decode(b) };
        } catch {
          return this.fail('text string is not UTF-8', at);
        }
      }
      case 4: {
        const n = this.length(info, at);
        const items: CborItem[] = [];
        for (let i = 0; i < n; i++) items.push(this.item(depth + 1));
        return { type: 'array', items };
      }
      case 5: {
        const n = this.length(info, at);
        const entries: [CborItem, CborItem][] = [];
        for (let i = 0; i < n; i++) entries.push([this.item(depth + 1), this.item(depth + 1)]);
        return { type: 'map', entries };
      }
      case 6:
        return { type: 'tag', tag: this.argument(info, at), item: this.item(depth + 1) };
      default:
        return this.fail(`unsupported CBOR major type ${major}`, at);
    }
  }
}

/**
 * Decodes exactly one item filling `bytes`.
 * @param what names the field in error messages.
 * @throws RatlsFormatError `ERR_RATLS_EXTENSION_PAYLOAD`.
 */
export function decodeCbor(bytes: Uint8Array, what: string): CborItem {
  const r = new Reader(bytes, what);
  const item = r.item(0);
  const trailing = bytes.length - r.offset;
  if (trailing !== 0) r.fail(`${trailing} trailing bytes after the CBOR item`);
  return item;
}
