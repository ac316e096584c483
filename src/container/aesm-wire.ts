/**
 * The few AESM protobuf messages `container run` exchanges, encoded and decoded by hand (the
 * schema is `proto/aesm/aesm.proto`, package `aesm.message`): no protobuf runtime and no schema
 * parsing at start-up. A request is `Request` with one request field set; an answer is `Response`
 * with the matching response field (the same field number). Decoding is bounds-checked: a varint
 * longer than 10 bytes, a length that runs past the end, a group or reserved wire type, or a field
 * of the wrong wire type is an {@link AesmWireError} naming the byte offset.
 */

/** Protobuf wire types used here. */
const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
/** Largest protobuf field number (2^29 − 1). */
const MAX_FIELD = 0x1fff_ffff;

/** The request / response field numbers of the messages used (Request and Response share them). */
export const AESM_FIELDS = {
  initQuoteExReq: 15,
  getQuoteSizeExReq: 16,
  getQuoteExReq: 17,
  getSupportedAttKeyIDNumReq: 21,
  getSupportedAttKeyIDsReq: 22,
} as const;
export type AesmRequestName = keyof typeof AESM_FIELDS;

/** `Response.unsupportedRequestResponse`: aesmd's answer to a request it does not know. */
export const AESM_UNSUPPORTED_FIELD = 20;

/** A field of an inner request message: number and value (bytes, or an unsigned integer). */
export type AesmField = readonly [number, Uint8Array | number | boolean];

/** A malformed AESM answer; `offset` is the byte offset in the answer (after the frame length). */
export class AesmWireError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at byte ${offset}`);
    this.offset = offset;
  }
}

/** A non-negative safe integer as a varint (callers check the range). */
function varint(value: number): number[] {
  let v = BigInt(value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

/** A field's tag: its number and wire type. */
const tagBytes = (num: number, wire: number): number[] => varint(num * 8 + wire);

function encodeFields(fields: readonly AesmField[]): Uint8Array {
  const chunks: Uint8Array[] = [];
  for (const [num, value] of fields) {
    if (!Number.isInteger(num) || num < 1 || num > MAX_FIELD)
      throw new RangeError(`field number ${num}: not in 1..${MAX_FIELD}`);
    if (value instanceof Uint8Array) {
      chunks.push(Uint8Array.from([...tagBytes(num, LEN), ...varint(value.length)]), value);
    } else {
      const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`field ${num}: not an unsigned integer`);
      chunks.push(Uint8Array.from([...tagBytes(num, VARINT), ...varint(n)]));
    }
  }
  return Buffer.concat(chunks);
}

/** `Request { <name> = { fields } }`, ready to frame. */
export function encodeAesmRequest(name: AesmRequestName, fields: readonly AesmField[]): Uint8Array {
  return encodeFields([[AESM_FIELDS[name], encodeFields(fields)]]);
}

/**
 * One decoded field: a varint as bigint, or the bytes of a length-delimited or fixed-size field
 * (the wire type tells which, so checking it narrows the value). `at` is the offset of its tag.
 */
type Decoded =
  | { readonly wire: typeof VARINT; readonly value: bigint; readonly at: number }
  | { readonly wire: typeof LEN | typeof I64 | typeof I32; readonly value: Uint8Array; readonly at: number };

function readVarint(buf: Uint8Array, pos: number, base: number): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) throw new AesmWireError('truncated varint', base + pos);
    const b = buf[pos + i] ?? 0;
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) {
      if (v > 0xffff_ffff_ffff_ffffn) throw new AesmWireError('varint over 64 bits', base + pos);
      return [v, pos + i + 1];
    }
  }
  throw new AesmWireError('varint longer than 10 bytes', base + pos);
}

/** Parses one message level into its fields (last occurrence wins); `base` offsets the error positions. */
function decodeFields(buf: Uint8Array, base: number): Map<number, Decoded> {
  const out = new Map<number, Decoded>();
  let pos = 0;
  while (pos < buf.length) {
    const at = pos;
    const [tag, next] = readVarint(buf, pos, base);
    pos = next;
    const num = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (num === 0 || tag >> 3n > 0x1fff_ffffn)
      throw new AesmWireError(`field number ${tag >> 3n}`, base + at);
    if (wire === VARINT) {
      const [value, end] = readVarint(buf, pos, base);
      out.set(num, { wire, value, at: base + at });
      pos = end;
    } else if (wire === LEN) {
      const [len, start] = readVarint(buf, pos, base);
      if (len > BigInt(buf.length - start))
        throw new AesmWireError(
          `field ${num}: length ${len} runs past the end (${buf.length - start} left)`,
          base + pos,
        );
      pos = start + Number(len);
      out.set(num, { wire, value: buf.subarray(start, pos), at: base + at });
    } else if (wire === I64 || wire === I32) {
      const size = wire === I64 ? 8 : 4;
      if (pos + size > buf.length)
        throw new AesmWireError(`field ${num}: truncated fixed-size value`, base + pos);
      out.set(num, { wire, value: buf.subarray(pos, pos + size), at: base + at });
      pos += size;
    } else throw new AesmWireError(`field ${num}: unsupported wire type ${wire}`, base + at);
  }
  return out;
}

/** The fields of an AESM answer's inner response message, read by number with their types checked. */
export class AesmResponse {
  readonly #fields: Map<number, Decoded>;
  constructor(fields: Map<number, Decoded>) {
    this.#fields = fields;
  }

  /** An unsigned integer field (uint32/uint64, at most 2^53 − 1), or undefined when absent. */
  uint(num: number): number | undefined {
    const f = this.#fields.get(num);
    if (f === undefined) return undefined;
    if (f.wire !== VARINT)
      throw new AesmWireError(`field ${num}: wire type ${f.wire}, expected a varint`, f.at);
    if (f.value > BigInt(Number.MAX_SAFE_INTEGER))
      throw new AesmWireError(`field ${num}: ${f.value} is too large`, f.at);
    return Number(f.value);
  }

  /** A bytes field (a copy), or undefined when absent. */
  bytes(num: number): Uint8Array | undefined {
    const f = this.#fields.get(num);
    if (f === undefined) return undefined;
    if (f.wire !== LEN)
      throw new AesmWireError(`field ${num}: wire type ${f.wire}, expected length-delimited bytes`, f.at);
    return Uint8Array.from(f.value);
  }
}

/**
 * Decodes `Response` and returns the inner message of the answer to `name`, or `undefined` when the
 * answer carries no such field (an answer to another request, or `unsupportedRequestResponse`).
 * @throws AesmWireError on malformed bytes.
 */
export function decodeAesmResponse(name: AesmRequestName, answer: Uint8Array): AesmResponse | undefined {
  const outer = decodeFields(answer, 0);
  const f = outer.get(AESM_FIELDS[name]);
  if (f === undefined) return undefined;
  if (f.wire !== LEN)
    throw new AesmWireError(`field ${AESM_FIELDS[name]}: wire type ${f.wire}, expected a message`, f.at);
  // The inner bytes are a view of `answer`: their offset in it positions the errors.
  return new AesmResponse(decodeFields(f.value, f.value.byteOffset - answer.byteOffset));
}
