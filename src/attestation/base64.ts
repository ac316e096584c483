/**
 * Base64 as MAA clients send it: base64url with or without padding, and (leniently) standard
 * base64. Output is always unpadded base64url (spec/maa.md §8 item 6).
 */
import { AttestRequestError } from './errors.ts';

const B64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes base64url (padded or not) or standard base64. Throws `ERR_ATTEST_BAD_BASE64` naming
 * `field` for anything else — Node's decoder alone would silently skip invalid characters.
 */
export function decodeBase64Field(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string') {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', `${field} must be a base64url string`, { field });
  }
  const trimmed = text.trim();
  const body = trimmed.replace(/=+$/, '');
  if (
    !B64_ANY.test(trimmed) ||
    body.length % 4 === 1 ||
    (trimmed.length !== body.length && trimmed.length % 4 !== 0)
  ) {
    throw new AttestRequestError('ERR_ATTEST_BAD_BASE64', `${field} is not valid base64url`, { field });
  }
  if (/[+/]/.test(body) && /[-_]/.test(body)) {
    throw new AttestRequestError('ERR_ATTEST_BAD_BASE64', `${field} mixes base64 and base64url alphabets`, {
      field,
    });
  }
  return new Uint8Array(Buffer.from(body.replaceAll('+', '-').replaceAll('/', '_'), 'base64url'));
}

/** Unpadded base64url of bytes or a UTF-8 string. */
export function base64url(data: Uint8Array | string): string {
  return (typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data)).toString('base64url');
}

/** Lower-case hex. */
export function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}
