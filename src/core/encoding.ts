/**
 * Byte ↔ text helpers: hex, and the detection of how a binary input (a quote file, a CLI argument)
 * was written down: raw binary, hex text, or base64/base64url text.
 */
import { Buffer } from 'node:buffer';
import { FormatError, formatErrorAt } from './errors.ts';
import { MAX_QUOTE_SIZE } from './constants.ts';

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

const WS_RE = /\s+/g;
const B64_STD_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const B64_URL_RE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Interprets a binary input that may have been written as text, strictly:
 *
 * - any byte outside printable ASCII and whitespace → the input is binary and returned as is (a view);
 * - otherwise, with whitespace removed: hex (optional `0x`, even length) → decoded;
 * - otherwise base64 or base64url, with or without `=` padding, canonical (unused bits zero) → decoded;
 * - anything else (and empty input) → `ERR_FORMAT_ENCODING`.
 *
 * Input larger than {@link MAX_TEXT_INPUT_SIZE} fails with `ERR_FORMAT_LENGTH`.
 */
export function decodeBinaryInput(bytes: Uint8Array): Uint8Array {
  const input = asUint8Array(bytes);
  if (input.length > MAX_TEXT_INPUT_SIZE) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      'input',
      0,
      `${input.length} bytes exceed the limit of ${MAX_TEXT_INPUT_SIZE}`,
    );
  }
  for (let i = 0; i < input.length; i++) {
    if (!isTextByte(input[i] as number)) return input;
  }
  const text = asBuffer(input).toString('latin1').replace(WS_RE, '');
  if (text.length === 0) {
    throw formatErrorAt('ERR_FORMAT_ENCODING', 'input', 0, 'empty: no binary, hex or base64 data');
  }
  const hex = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
  if (HEX_RE.test(hex) && hex.length % 2 === 0 && hex.length > 0) {
    return asUint8Array(Buffer.from(hex, 'hex'));
  }
  return decodeBase64Strict(text);
}

function decodeBase64Strict(text: string): Uint8Array {
  const std = B64_STD_RE.test(text);
  const url = !std && B64_URL_RE.test(text);
  if (!std && !url) {
    const bad = text.search(/[^A-Za-z0-9+/=_-]/);
    const at = bad >= 0 ? bad : text.indexOf('=');
    const what =
      bad >= 0 ? `character ${JSON.stringify(text[bad])}` : 'misplaced "=" padding or mixed alphabets';
    throw formatErrorAt(
      'ERR_FORMAT_ENCODING',
      'input',
      Math.max(at, 0),
      `not binary, hex or base64 text (${what}; offset counts non-whitespace characters)`,
    );
  }
  const body = text.replace(/=+$/, '');
  const padded = text.length !== body.length;
  if (body.length % 4 === 1 || (padded && text.length % 4 !== 0)) {
    throw formatErrorAt(
      'ERR_FORMAT_ENCODING',
      'input',
      body.length,
      'not binary, hex or base64 text (base64 with an impossible length or padding)',
    );
  }
  const out = Buffer.from(body, url ? 'base64url' : 'base64');
  // Canonical form only: re-encoding must give the same characters (unused trailing bits zero).
  const again = out.toString(url ? 'base64url' : 'base64').replace(/=+$/, '');
  if (again !== body) {
    throw formatErrorAt(
      'ERR_FORMAT_ENCODING',
      'input',
      body.length - 1,
      'not binary, hex or base64 text (base64 that is not canonical: non-zero unused bits)',
    );
  }
  return asUint8Array(out);
}
