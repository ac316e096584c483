/**
 * The JWS envelopes of policy management (spec/maa.md §1.7): policy documents
 * (`{"AttestationPolicy": base64url(text)}`), reset bodies (empty payload) and policy-certificate
 * add/remove bodies. Unsigned (`alg: none`) or signed with the signer's certificate in `x5c`; a signed
 * JWS is verified here against its own `x5c[0]` — whether that signer is *trusted* is decided by
 * the caller against the registered policy management certificates.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { compactVerify } from 'jose';
import { PolicyManagementError } from './errors.ts';

const SIGNED_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

/** A decoded management JWS. */
export interface ManagementJws {
  /** The exact text received (what `x-ms-policy-token-hash` hashes). */
  readonly raw: string;
  readonly header: Record<string, unknown>;
  readonly payload: Uint8Array;
  /** DER of `x5c[0]` when signed (signature already verified with it), else undefined. */
  readonly signerCertDer?: Uint8Array;
  /**
   * Replay key (hex SHA-256): the signed text (`header.payload`, exactly as received) plus the
   * signature as numbers, with an ECDSA `s` folded to its low form. Re-encoding the signature or
   * negating `s` (both verify) yields the same key, so a captured body cannot be dressed up as new.
   */
  readonly replayKey: string;
}

/** Order of the ECDSA curve used by each JWS alg (to fold `s` into `min(s, n - s)`). */
const EC_ORDER: Readonly<Record<string, bigint>> = {
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  ES384: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  ES512:
    0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

const big = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt(`0x${Buffer.from(b).toString('hex')}`));

/** See {@link ManagementJws.replayKey}; `alg none` bodies are keyed by their exact text. */
export function managementJwsReplayKey(signingInput: string, alg: string, signature: Uint8Array): string {
  const h = createHash('sha256').update(signingInput, 'ascii').update('.');
  const n = EC_ORDER[alg];
  if (n !== undefined) {
    const half = signature.length / 2;
    const r = big(signature.subarray(0, half));
    const s = big(signature.subarray(half));
    const low = s > n / 2n ? n - s : s;
    h.update(`ec:${r.toString(16)}:${low.toString(16)}`);
  } else if (alg !== 'none') {
    h.update(`int:${big(signature).toString(16)}`);
  }
  return h.digest('hex');
}

/**
 * Optional claims of a management JWS payload that bind it (none is sent by the `@azure/attestation`
 * SDK, whose bodies carry only `AttestationPolicy` — or nothing, for a reset): JWT times and the
 * attestation type the change is meant for.
 */
export interface ManagementBinding {
  readonly iat?: number;
  readonly nbf?: number;
  readonly exp?: number;
  /** `x-ccnodes-attestation-type`: the attestation type the body was signed for. */
  readonly attestationType?: string;
}

/** The claim naming the attestation type a policy set/reset body is meant for. */
export const MANAGEMENT_TYPE_CLAIM = 'x-ccnodes-attestation-type';

/** Claims a reset payload may carry (an empty payload carries none). */
export const RESET_PAYLOAD_CLAIMS: readonly string[] = [MANAGEMENT_TYPE_CLAIM, 'iat', 'nbf', 'exp', 'jti'];

/** Reads the optional binding claims of a payload object; a present claim of the wrong type is refused. */
export function managementBinding(obj: Readonly<Record<string, unknown>>): ManagementBinding {
  const out: { -readonly [K in keyof ManagementBinding]: ManagementBinding[K] } = {};
  for (const k of ['iat', 'nbf', 'exp'] as const) {
    const v = obj[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new PolicyManagementError(
        'ERR_ATTEST_POLICY_JWS',
        `JWS payload claim ${k} must be a NumericDate`,
        {
          field: k,
        },
      );
    }
    out[k] = v;
  }
  const t = obj[MANAGEMENT_TYPE_CLAIM];
  if (t !== undefined) {
    if (typeof t !== 'string' || t === '') {
      throw new PolicyManagementError(
        'ERR_ATTEST_POLICY_JWS',
        `JWS payload claim ${MANAGEMENT_TYPE_CLAIM} must be a non-empty string`,
        { field: MANAGEMENT_TYPE_CLAIM },
      );
    }
    out.attestationType = t;
  }
  return out;
}

/** The payload of a management JWS as a JSON object (`{}` for an empty payload). */
export function payloadObject(payload: Uint8Array): Record<string, unknown> {
  if (payload.length === 0) return {};
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw bad('JWS payload is not JSON');
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj))
    throw bad('JWS payload is not an object');
  return obj as Record<string, unknown>;
}

function bad(message: string): PolicyManagementError {
  return new PolicyManagementError('ERR_ATTEST_POLICY_JWS', message, { field: 'body' });
}

function b64urlStrict(part: string, what: string): Buffer {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw bad(`${what} is not base64url`);
  return Buffer.from(part, 'base64url');
}

/** Decodes and (when signed) verifies a management JWS. */
export async function readManagementJws(text: string, now: Date): Promise<ManagementJws> {
  const raw = text.trim();
  const parts = raw.split('.');
  if (parts.length !== 3) throw bad('body is not a compact JWS (three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  try {
    header = JSON.parse(b64urlStrict(h, 'JWS header').toString('utf8'));
  } catch (cause) {
    if (cause instanceof PolicyManagementError) throw cause;
    throw bad('JWS header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    throw bad('JWS header is not an object');
  const hdr = header as Record<string, unknown>;
  const payload = new Uint8Array(b64urlStrict(p, 'JWS payload'));
  const alg = hdr['alg'];
  if (alg === 'none') {
    if (s !== '') throw bad('an unsigned (alg none) JWS must have an empty signature');
    return { raw, header: hdr, payload, replayKey: managementJwsReplayKey(raw, 'none', new Uint8Array()) };
  }
  if (typeof alg !== 'string' || !SIGNED_ALGS.includes(alg))
    throw bad(`JWS alg ${String(alg)} is not supported`);
  const x5c = hdr['x5c'];
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string')
    throw bad('a signed JWS must carry its certificate in x5c');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(x5c[0], 'base64'));
  } catch {
    throw bad('x5c[0] is not a DER certificate');
  }
  if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) {
    throw new PolicyManagementError(
      'ERR_ATTEST_POLICY_SIGNER_UNTRUSTED',
      'the JWS signer certificate is not valid now',
    );
  }
  try {
    await compactVerify(raw, cert.publicKey, { algorithms: [alg] });
  } catch {
    throw new PolicyManagementError(
      'ERR_ATTEST_POLICY_SIGNER_UNTRUSTED',
      'the JWS signature does not verify with its x5c certificate',
    );
  }
  return {
    raw,
    header: hdr,
    payload,
    signerCertDer: new Uint8Array(cert.raw),
    replayKey: managementJwsReplayKey(`${h}.${p}`, alg, b64urlStrict(s, 'JWS signature')),
  };
}

/** Extracts the policy text from a stored-policy JWS payload (`AttestationPolicy`, or legacy `text`). */
export function policyTextFromPayload(payload: Uint8Array): string {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw bad('JWS payload is not JSON');
  }
  if (typeof obj !== 'object' || obj === null) throw bad('JWS payload is not an object');
  const rec = obj as Record<string, unknown>;
  const value = rec['AttestationPolicy'] ?? rec['text'];
  if (typeof value !== 'string' || value === '') throw bad('JWS payload lacks AttestationPolicy');
  if (/^[A-Za-z0-9_-]+={0,2}$/.test(value)) {
    const text = Buffer.from(value.replace(/=+$/, ''), 'base64url').toString('utf8');
    if (/version\s*=/i.test(text)) return text;
  }
  // Legacy form: the payload value is the policy text itself.
  return value;
}

/** The JWK MAA uses for a signer: `{"kty", "x5c": [base64 DER]}`. */
export function signerJwk(certDer: Uint8Array): Record<string, unknown> {
  const cert = new X509Certificate(Buffer.from(certDer));
  const kty = cert.publicKey.asymmetricKeyType === 'ec' ? 'EC' : 'RSA';
  return { kty, x5c: [Buffer.from(certDer).toString('base64')] };
}

/** MAA's certificate thumbprint: hex SHA-1 of the DER (we emit upper case; compare case-insensitively). */
export function certThumbprint(certDer: Uint8Array): string {
  return createHash('sha1').update(certDer).digest('hex').toUpperCase();
}

/** Unsigned JWS wrapping a policy text, as GET /policies returns a default or unsigned policy. */
export function unsignedPolicyJws(text: string): string {
  const enc = (v: unknown): string => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
  return `${enc({ alg: 'none' })}.${enc({ AttestationPolicy: Buffer.from(text, 'utf8').toString('base64url') })}.`;
}
