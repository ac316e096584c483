/**
 * X.509 v2 CRLs as Intel PCS serves them (Root CA CRL, PCK Processor/Platform CA CRLs): DER, PEM
 * or hex-encoded DER in; issuer, dates, required extensions and revoked serials out. Parsed CRLs
 * are cached by their DER bytes (parsed with the DER walker of der.ts). The signature is checked
 * over the exact TBSCertList bytes.
 */
import {
  DerError,
  TAG,
  decodeBitStringBytes,
  decodeTime,
  derChildren,
  expectTag,
  readDerElement,
  type DerElement,
} from './der.ts';
import { CollateralFormatError } from './verify-errors.ts';
import {
  OID,
  decodeAlgorithmIdentifier,
  decodeExtensions,
  describeName,
  serialHex,
  toHex,
  verifyDerSignature,
  type ParsedCert,
} from './x509.ts';

/** A parsed CRL. Cached and shared: treat as immutable. */
export interface ParsedCrl {
  readonly id: number;
  readonly der: Uint8Array;
  /** Exactly the TBSCertList bytes the signature covers. */
  readonly tbs: Uint8Array;
  readonly signature: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly issuerRaw: Uint8Array;
  readonly issuerHex: string;
  readonly issuerCn: string;
  readonly issuerText: string;
  readonly thisUpdate: Date;
  /** Absent in the DER means "no next update": treated as invalid by the verifier. */
  readonly nextUpdate: Date | undefined;
  readonly hasCrlNumber: boolean;
  readonly hasAuthorityKeyId: boolean;
  /** Revoked serial numbers, upper-case hex without leading zero bytes. */
  readonly revoked: ReadonlySet<string>;
}

/**
 * Accepts a CRL as DER bytes, or as text holding PEM (`X509 CRL`) or hex-encoded DER, and returns
 * the DER. Throws `CollateralFormatError` naming `field` otherwise.
 */
export function crlDer(input: Uint8Array | string, field = 'crl'): Uint8Array {
  const bytes = typeof input === 'string' ? new Uint8Array(Buffer.from(input, 'latin1')) : input;
  if (bytes[0] === 0x30) return bytes;
  const text = Buffer.from(bytes).toString('latin1').trim();
  const pem = /-----BEGIN X509 CRL-----([A-Za-z0-9+/=\s]+)-----END X509 CRL-----/.exec(text);
  if (pem) return new Uint8Array(Buffer.from((pem[1] ?? '').replace(/\s+/g, ''), 'base64'));
  if (/^([0-9a-fA-F]{2})+$/.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  throw new CollateralFormatError(`${field}: not a DER, PEM or hex-encoded CRL`, { field });
}

let nextId = 1;
const cache = new Map<string, ParsedCrl>();

/** Parses a DER CRL (cached by bytes). Throws `CollateralFormatError` naming `field`. */
export function parseCrl(der: Uint8Array, field = 'crl'): ParsedCrl {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const parsed = parseUncached(Uint8Array.from(der), field);
  if (cache.size >= 256) cache.clear();
  cache.set(key, parsed);
  return parsed;
}

/**
 * CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING };
 * TBSCertList ::= SEQUENCE { version INTEGER OPTIONAL, signature, issuer, thisUpdate,
 * nextUpdate Time OPTIONAL, revokedCertificates SEQUENCE OF { userCertificate INTEGER,
 * revocationDate Time, crlEntryExtensions OPTIONAL } OPTIONAL, [0] crlExtensions OPTIONAL }
 * (RFC 5280 §5.1).
 */
function parseUncached(der: Uint8Array, field: string): ParsedCrl {
  try {
    const outer = expectTag(readDerElement(der), TAG.sequence, 'CertificateList');
    if (outer.raw.length !== der.length) throw new Error('trailing bytes after the CRL');
    const top = derChildren(outer.content);
    const tbsEl = top[0];
    if (tbsEl === undefined) throw new Error('empty CRL');
    expectTag(tbsEl, TAG.sequence, 'TBSCertList');
    if (top.length !== 3) throw new DerError(`CertificateList has ${top.length} fields, expected 3`, 0);
    const signatureAlgorithm = decodeAlgorithmIdentifier(top[1], 'signatureAlgorithm').algorithm;
    const signature = Uint8Array.from(decodeBitStringBytes(top[2] as DerElement, 'signatureValue'));
    const fields = derChildren(tbsEl.content);
    let i = fields[0]?.tag === TAG.integer ? 1 : 0;
    decodeAlgorithmIdentifier(fields[i++], 'signature');
    const issuerEl = fields[i++];
    if (issuerEl === undefined) throw new Error('TBSCertList has no issuer');
    expectTag(issuerEl, TAG.sequence, 'issuer');
    const thisUpdate = decodeTime(fields[i++], 'thisUpdate');
    let nextUpdate: Date | undefined;
    const maybeNext = fields[i];
    if (maybeNext?.tag === TAG.utcTime || maybeNext?.tag === TAG.generalizedTime) {
      nextUpdate = decodeTime(maybeNext, 'nextUpdate');
      i++;
    }
    const revoked = new Set<string>();
    if (fields[i]?.tag === TAG.sequence) {
      for (const entry of derChildren((fields[i++] as DerElement).content)) {
        const [serial, date, exts, extra] = derChildren(
          expectTag(entry, TAG.sequence, 'revoked entry').content,
        );
        const serialBytes = expectTag(serial, TAG.integer, 'userCertificate').content;
        if (serialBytes.length === 0) throw new DerError('userCertificate is empty', 0);
        decodeTime(date, 'revocationDate');
        if (exts !== undefined) decodeExtensions(exts, 'crlEntryExtensions');
        if (extra !== undefined) throw new DerError('revoked entry has trailing fields', 0);
        revoked.add(serialHex(serialBytes));
      }
    }
    let exts = new Map<string, Uint8Array>();
    if (fields[i]?.tag === 0xa0) {
      const [extsEl, extra] = derChildren((fields[i++] as DerElement).content);
      if (extsEl === undefined || extra !== undefined)
        throw new DerError('crlExtensions [0] is not one SEQUENCE', 0);
      exts = decodeExtensions(extsEl, 'crlExtensions');
    }
    if (i !== fields.length) throw new DerError(`TBSCertList has an unexpected field at index ${i}`, 0);
    const issuer = describeName(issuerEl.raw);
    return {
      id: nextId++,
      der,
      tbs: tbsEl.raw,
      signature,
      signatureAlgorithm,
      issuerRaw: issuerEl.raw,
      issuerHex: toHex(issuerEl.raw),
      issuerCn: issuer.cn,
      issuerText: issuer.text,
      thisUpdate,
      nextUpdate,
      hasCrlNumber: exts.has(OID.crlNumber),
      hasAuthorityKeyId: exts.has(OID.authorityKeyIdentifier),
      revoked,
    };
  } catch (cause) {
    throw new CollateralFormatError(`${field}: malformed CRL: ${(cause as Error).message}`, { field }, cause);
  }
}

/** Empties the parsed-CRL cache (benchmarks of the cold path; tests). */
export function clearCrlCache(): void {
  cache.clear();
}

/** True when the CRL's signature verifies with `issuer`'s key (ECDSA-SHA256). Cached. */
export function crlSignedBy(crl: ParsedCrl, issuer: ParsedCert): boolean {
  if (crl.signatureAlgorithm !== OID.ecdsaWithSha256) return false;
  return verifyDerSignature(`r${crl.id}`, crl.tbs, crl.signature, issuer);
}
