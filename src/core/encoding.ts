/**
 * Byte ↔ text helpers: hex, and the detection of how a binary input (a quote file, a CLI argument)
 * was written down: raw binary, hex text, or base64/base64url text.
 */
import { Buffer } from 'node:buffer';
import { FormatError, formatErrorAt } from './errors.ts';
import { MAX_QUOTE_SIZE, QUOTE_HEADER_SIZE, REPORT_BODY_SIZE } from './constants.ts';

/** Largest text input `decodeBinaryInput` accepts (hex of a maximal quote plus whitespace). */
export const MAX_TEXT_INPUT_SIZE = 4 * MAX_QUOTE_SIZE;

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Lower-case hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return asBuffer(bytes).toString('hex');
}

/** A plain `Uint8Array` view over the same memory (no copy); normalises `Buffer` inputs. */
export function asUint8Array(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const HEX_RE = /^[0-9a-fA-F]*$/;

/**
 * Strict hex decoding (even length, hex digits only, optional `0x` prefix).
 * @throws FormatError `ERR_FORMAT_ENCODING` naming `field`.
 */
export function fromHex(text: string, field = 'hex'): Uint8Array {
  const s = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (s.length % 2 !== 0) {
    throw new FormatError('ERR_FORMAT_ENCODING', `${field}: odd number of hex digits (${s.length})`, {
      field,
    });
  }
  if (!HEX_RE.test(s)) {
    const bad = s.search(/[^0-9a-fA-F]/);
    throw formatErrorAt('ERR_FORMAT_ENCODING', field, bad, `not a hex digit ${JSON.stringify(s[bad])}`);
  }
  return asUint8Array(Buffer.from(s, 'hex'));
}

/** True for bytes that may appear in hex/base64 text: printable ASCII and whitespace. */
function isTextByte(b: number): boolean {
  return (b >= 0x20 && b <= 0x7e) || b === 0x09 || b === 0x0a || b === 0x0d;
}

/** How the caller says its input is written: `auto` applies the detection rule of {@link decodeInput}. */
export type InputEncoding = 'auto' | 'binary' | 'hex' | 'base64';

/** The values accepted for an {@link InputEncoding} (the CLI's `--encoding`). */
export const INPUT_ENCODINGS: readonly InputEncoding[] = ['auto', 'binary', 'hex', 'base64'];

/** How an input was actually read. */
export type DetectedEncoding = 'binary' | 'hex' | 'base64' | 'base64url';

export interface DecodeInputOptions {
  /** `auto` (default) detects; any other value reads the input in that encoding only. */
  readonly encoding?: InputEncoding;
  /**
   * What the decoded bytes should look like (e.g. {@link isPlausibleQuote}). Used only by `auto`, and
   * only to choose between hex and base64 when the text is valid in both.
   */
  readonly expect?: (decoded: Uint8Array) => boolean;
}

export interface DecodedInput {
  readonly bytes: Uint8Array;
  readonly encoding: DetectedEncoding;
}

/** Smallest possible quote: header, a 384-byte SGX report body and the signature-data length field. */
export const MIN_QUOTE_SIZE: number = QUOTE_HEADER_SIZE + REPORT_BODY_SIZE + 4;

/**
 * Whether `bytes` has the outline of a DCAP quote: at least {@link MIN_QUOTE_SIZE} (436) bytes and a
 * little-endian 16-bit version of 3, 4 or 5 in bytes 0–1. A cheap shape test for
 * {@link DecodeInputOptions.expect}, not a validation (`decodeQuote` does that).
 */
export function isPlausibleQuote(bytes: Uint8Array): boolean {
  if (bytes.length < MIN_QUOTE_SIZE) return false;
  const version = (bytes[0] as number) | ((bytes[1] as number) << 8);
  return version >= 3 && version <= 5;
}

/** Whitespace allowed (and ignored) in hex and base64 text: space, tab, CR, LF. */
const WS_RE = /[ \t\r\n]+/g;
const NOT_HEX_RE = /[^0-9a-fA-F]/;
const NOT_B64_RE = /[^A-Za-z0-9+/_=-]/;

/** Text with whitespace removed, and the way back to offsets in the input as given. */
class CompactText {
  readonly text: string;
  constructor(readonly original: string) {
    this.text = original.replace(WS_RE, '');
  }
  /** Byte offset in the original input of the `i`-th non-whitespace character (`i` may be the end). */
  offsetOf(i: number): number {
    let seen = 0;
    for (let at = 0; at < this.original.length; at++) {
      const c = this.original.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) continue;
      if (seen === i) return at;
      seen++;
    }
    return this.original.length;
  }
}

type Attempt =
  { ok: true; bytes: Uint8Array; encoding: DetectedEncoding } | { ok: false; at: number; why: string };

/** Hex: optional `0x`/`0X` prefix, then an even, non-zero number of hex digits. */
function tryHex(text: string): Attempt {
  const prefixed = text.startsWith('0x') || text.startsWith('0X');
  const digits = prefixed ? text.slice(2) : text;
  const shift = prefixed ? 2 : 0;
  const bad = digits.search(NOT_HEX_RE);
  if (bad >= 0)
    return { ok: false, at: bad + shift, why: `${JSON.stringify(digits[bad])} is not a hex digit` };
  if (digits.length === 0) return { ok: false, at: shift, why: 'no hex digits' };
  if (digits.length % 2 !== 0) {
    return { ok: false, at: text.length - 1, why: `odd number of hex digits (${digits.length})` };
  }
  return { ok: true, bytes: asUint8Array(Buffer.from(digits, 'hex')), encoding: 'hex' };
}

/**
 * Base64 (`+/`) or base64url (`-_`), one alphabet, `=` padding optional but complete when present,
 * canonical (the unused low bits of the last character zero), at least one byte.
 */
function tryBase64(text: string): Attempt {
  const bad = text.search(NOT_B64_RE);
  if (bad >= 0) return { ok: false, at: bad, why: `${JSON.stringify(text[bad])} is not a base64 character` };
  const pad = text.indexOf('=');
  const body = pad >= 0 ? text.slice(0, pad) : text;
  if (pad >= 0) {
    const after = text.slice(pad).search(/[^=]/);
    if (after >= 0) return { ok: false, at: pad, why: '"=" padding before the end' };
    if (text.length - pad > 2) return { ok: false, at: pad + 2, why: 'more than two "=" padding characters' };
  }
  const std = body.search(/[+/]/);
  const url = body.search(/[-_]/);
  if (std >= 0 && url >= 0) {
    const at = Math.max(std, url);
    return { ok: false, at, why: `${JSON.stringify(body[at])} mixes the base64 and base64url alphabets` };
  }
  if (body.length === 0) return { ok: false, at: 0, why: 'no base64 characters' };
  if (body.length % 4 === 1) {
    return { ok: false, at: body.length - 1, why: `impossible base64 length (${body.length} characters)` };
  }
  if (pad >= 0 && text.length % 4 !== 0) {
    return { ok: false, at: pad, why: 'padding does not complete a 4-character group' };
  }
  const alphabet = url >= 0 ? 'base64url' : 'base64';
  const out = Buffer.from(body, alphabet);
  // Canonical form only: re-encoding must give the same characters (unused trailing bits zero).
  if (out.toString(alphabet).replace(/=+$/, '') !== body) {
    return { ok: false, at: body.length - 1, why: 'not canonical base64 (non-zero unused bits)' };
  }
  return { ok: true, bytes: asUint8Array(out), encoding: alphabet };
}

function encodingError(
  input: CompactText,
  encoding: InputEncoding,
  failed: { at: number; why: string },
): FormatError {
  const what = encoding === 'auto' ? 'not binary, hex or base64 text' : `not valid ${encoding}`;
  return formatErrorAt('ERR_FORMAT_ENCODING', 'input', input.offsetOf(failed.at), `${what}: ${failed.why}`, {
    encoding,
  });
}

/**
 * Reads a binary input (a quote file, a report body, a CLI argument) that may have been written down
 * as text. With `encoding` other than `auto`, the input is read in that encoding only:
 *
 * - `binary`: the bytes as they are (a view, no copy);
 * - `hex`: whitespace ignored, optional `0x`/`0X` prefix, an even number of hex digits, either case;
 * - `base64`: whitespace ignored, standard (`+/`) or URL-safe (`-_`) alphabet but not both, `=`
 *   padding optional (complete when present), canonical (the unused bits of the last character zero).
 *
 * `auto` (the default) decides as follows, and is deterministic:
 *
 * 1. Any byte that is not printable ASCII (0x20–0x7e), tab, LF or CR → `binary`. (Every quote starts
 *    with its version, 3, 4 or 5 little-endian, so a binary quote always takes this branch.)
 * 2. Otherwise whitespace is removed and the text is tried as `hex` and as `base64` (rules above).
 *    Valid in neither → `ERR_FORMAT_ENCODING`; valid in one → that one (so `0x12345`, odd hex, is
 *    read as the base64 it also is; a quote or report read that way then fails its own shape check).
 * 3. Valid in both (all hex digits, even length, e.g. `A0CB` or `0300…`): if `expect` is given and
 *    accepts exactly one of the two decodings, that one; otherwise `hex`. So a quote is read the way
 *    that yields a quote ({@link isPlausibleQuote}), and without `expect` hex always wins.
 *
 * Errors: input over {@link MAX_TEXT_INPUT_SIZE} bytes → `ERR_FORMAT_LENGTH`; empty text, or text not
 * valid in the requested (or any) encoding → `ERR_FORMAT_ENCODING` with `details.encoding` and
 * `details.offset`, the byte offset in the input as given (whitespace counted) of the first character
 * that does not fit.
 */
export function decodeInput(bytes: Uint8Array, options: DecodeInputOptions = {}): DecodedInput {
  const input = asUint8Array(bytes);
  const encoding = options.encoding ?? 'auto';
  if (!INPUT_ENCODINGS.includes(encoding)) {
    throw new FormatError('ERR_FORMAT_ENCODING', `unknown input encoding ${JSON.stringify(encoding)}`, {
      field: 'encoding',
    });
  }
  if (input.length > MAX_TEXT_INPUT_SIZE) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      'input',
      0,
      `${input.length} bytes exceed the limit of ${MAX_TEXT_INPUT_SIZE}`,
    );
  }
  if (encoding === 'binary') return { bytes: input, encoding: 'binary' };
  if (encoding === 'auto') {
    for (let i = 0; i < input.length; i++) {
      if (!isTextByte(input[i] as number)) return { bytes: input, encoding: 'binary' };
    }
  }
  const text = new CompactText(asBuffer(input).toString('latin1'));
  if (text.text.length === 0) {
    throw formatErrorAt('ERR_FORMAT_ENCODING', 'input', 0, 'empty: no binary, hex or base64 data', {
      encoding,
    });
  }
  if (encoding !== 'auto') {
    const only = encoding === 'hex' ? tryHex(text.text) : tryBase64(text.text);
    if (!only.ok) throw encodingError(text, encoding, only);
    return { bytes: only.bytes, encoding: only.encoding };
  }
  const hex = tryHex(text.text);
  const b64 = tryBase64(text.text);
  if (hex.ok && b64.ok) {
    const expect = options.expect;
    if (expect !== undefined && !expect(hex.bytes) && expect(b64.bytes)) {
      return { bytes: b64.bytes, encoding: b64.encoding };
    }
    return { bytes: hex.bytes, encoding: 'hex' };
  }
  if (hex.ok) return { bytes: hex.bytes, encoding: 'hex' };
  if (b64.ok) return { bytes: b64.bytes, encoding: b64.encoding };
  // Neither: report the base64 failure (its alphabet contains the hex digits), unless the text is
  // all hex digits or starts with 0x, where the hex complaint is the useful one.
  const hexLike = text.text.search(NOT_HEX_RE) < 0 || /^0[xX]/.test(text.text);
  throw encodingError(text, 'auto', hexLike ? hex : b64);
}

/** {@link decodeInput} returning only the bytes. */
export function decodeBinaryInput(bytes: Uint8Array, options: DecodeInputOptions = {}): Uint8Array {
  return decodeInput(bytes, options).bytes;
}
