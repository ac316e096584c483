/**
 * A minimal bounds-checked DER walker: the parser of the DCAP certificates and CRLs (x509.ts,
 * crl.ts) and of the SGX extension tree. It slices the exact bytes that signatures cover
 * (TBSCertificate, TBSCertList, Name) and decodes the few universal types X.509 uses here (OID,
 * small INTEGER, BOOLEAN, BIT STRING, the string types of a Name, UTCTime/GeneralizedTime).
 * Generic X.509 (building certificates, other extensions) stays with `@peculiar/x509`; the
 * verification path does not load it, which keeps `ccnodes quote verify` quick to start.
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
  if ((content[content.length - 1] as number) & 0x80) {
    throw new DerError('OBJECT IDENTIFIER ends inside a sub-identifier', 0);
  }
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

/** DER universal tags used by the X.509 parsers. */
export const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  enumerated: 0x0a,
  utf8String: 0x0c,
  printableString: 0x13,
  teletexString: 0x14,
  ia5String: 0x16,
  utcTime: 0x17,
  generalizedTime: 0x18,
  universalString: 0x1c,
  bmpString: 0x1e,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Throws unless `el` is present and has tag `tag`; `what` names the field in the message. */
export function expectTag(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (el === undefined) throw new DerError(`${what} is missing`, 0);
  if (el.tag !== tag) {
    throw new DerError(`${what} has tag 0x${el.tag.toString(16)}, expected 0x${tag.toString(16)}`, 0);
  }
  return el;
}

/** The value bits of a BIT STRING whose bit count is a multiple of 8 (keys, signatures). */
export function decodeBitStringBytes(el: DerElement, what: string): Uint8Array {
  expectTag(el, TAG.bitString, what);
  if (el.content.length === 0) throw new DerError(`${what}: empty BIT STRING`, 0);
  if (el.content[0] !== 0) throw new DerError(`${what}: BIT STRING with unused bits`, 0);
  return el.content.subarray(1);
}

/** A DER BOOLEAN (one content byte, 0x00 false, anything else true). */
export function decodeBoolean(el: DerElement, what: string): boolean {
  expectTag(el, TAG.boolean, what);
  if (el.content.length !== 1) throw new DerError(`${what}: BOOLEAN of ${el.content.length} bytes`, 0);
  return el.content[0] !== 0;
}

const TIME_UTC = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const TIME_GENERALIZED = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * A UTCTime (`YYMMDDHHMMSSZ`, years 50–99 are 19xx, 00–49 are 20xx as RFC 5280 says) or a
 * GeneralizedTime (`YYYYMMDDHHMMSS[.fff]Z`). Only the UTC (`Z`) forms DER allows are accepted;
 * out-of-range fields (month 13, second 61) are refused.
 */
export function decodeTime(el: DerElement | undefined, what: string): Date {
  if (el === undefined) throw new DerError(`${what} is missing`, 0);
  const text = Buffer.from(el.content.buffer, el.content.byteOffset, el.content.byteLength).toString(
    'latin1',
  );
  let m: RegExpExecArray | null;
  let year: number;
  if (el.tag === TAG.utcTime && (m = TIME_UTC.exec(text)) !== null) {
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (el.tag === TAG.generalizedTime && (m = TIME_GENERALIZED.exec(text)) !== null) {
    year = Number(m[1]);
  } else {
    throw new DerError(`${what}: not a UTC UTCTime or GeneralizedTime (${JSON.stringify(text)})`, 0);
  }
  const [month, day, hour, minute, second] = [2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const t = Date.UTC(year, (month as number) - 1, day, hour, minute, second, ms);
  const d = new Date(t);
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== (month as number) - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    throw new DerError(`${what}: invalid date ${JSON.stringify(text)}`, 0);
  }
  return d;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The text of a directory string (UTF8String, PrintableString, IA5String, TeletexString,
 * BMPString, UniversalString), or undefined for any other type.
 */
export function decodeDirectoryString(el: DerElement): string | undefined {
  const b = Buffer.from(el.content.buffer, el.content.byteOffset, el.content.byteLength);
  switch (el.tag) {
    case TAG.utf8String:
      try {
        return UTF8.decode(b);
      } catch {
        return b.toString('latin1'); // not UTF-8 after all: show the bytes as Latin-1 (messages only)
      }
    case TAG.printableString:
    case TAG.ia5String:
    case TAG.teletexString:
      return b.toString('latin1');
    case TAG.bmpString: {
      let s = '';
      for (let i = 0; i + 1 < b.length; i += 2) s += String.fromCharCode(b.readUInt16BE(i));
      return s;
    }
    case TAG.universalString: {
      let s = '';
      for (let i = 0; i + 3 < b.length; i += 4) {
        const cp = b.readUInt32BE(i);
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      return undefined;
  }
}
