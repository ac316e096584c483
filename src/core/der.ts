/**
 * A minimal bounds-checked DER walker. The structured X.509 parsing is done with
 * `@peculiar/asn1-x509`; this walker exists to slice the exact bytes that signatures cover
 * (TBSCertificate, TBSCertList, Name) and to read the small SGX extension tree by OID.
 */

/** One DER element: tag byte, where its content starts, and its full encoding. */
export interface DerElement {
  /** The identifier octet (single-byte tags only, as in X.509). */
  readonly tag: number;
  /** The full element (tag, length and content). */
  readonly raw: Uint8Array;
  /** The content octets. */
  readonly content: Uint8Array;
}

/** Raised on malformed DER; callers turn it into their domain error. */
export class DerError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at DER offset ${offset}`);
    this.name = 'DerError';
  }
}

/** Reads the element that starts at `offset` in `bytes`. */
export function readDerElement(bytes: Uint8Array, offset = 0): DerElement {
  if (offset + 2 > bytes.length) throw new DerError('truncated DER header', offset);
  const tag = bytes[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte DER tags are not supported', offset);
  let len = bytes[offset + 1] as number;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new DerError(`unsupported DER length form (${n} length bytes)`, offset);
    if (pos + n > bytes.length) throw new DerError('truncated DER length', offset);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (bytes[pos + i] as number);
    pos += n;
  }
  if (pos + len > bytes.length)
    throw new DerError(`DER element of ${len} bytes overruns its container`, offset);
  return { tag, raw: bytes.subarray(offset, pos + len), content: bytes.subarray(pos, pos + len) };
}

/** The child elements of a constructed element's content. */
export function derChildren(content: Uint8Array): DerElement[] {
  const out: DerElement[] = [];
  let offset = 0;
  while (offset < content.length) {
    const el = readDerElement(content, offset);
    out.push(el);
    offset = el.raw.byteOffset - content.byteOffset + el.raw.length;
  }
  return out;
}

/** Decodes an OBJECT IDENTIFIER's content octets to dotted form. */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0) throw new DerError('empty OBJECT IDENTIFIER', 0);
  const parts: number[] = [];
  let value = 0;
  for (const b of content) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const a = first < 80 ? Math.floor(first / 40) : 2;
  return [a, first - a * 40, ...parts].join('.');
}

/** Decodes a non-negative INTEGER (or ENUMERATED) content of at most 6 bytes. */
export function decodeSmallUint(content: Uint8Array): number {
  if (content.length === 0 || content.length > 6) throw new DerError('INTEGER out of range', 0);
  if ((content[0] as number) & 0x80) throw new DerError('negative INTEGER', 0);
  let v = 0;
  for (const b of content) v = v * 256 + b;
  return v;
}
