/**
 * X.509 v2 CRLs as Intel PCS serves them (Root CA CRL, PCK Processor/Platform CA CRLs): DER, PEM
 * or hex-encoded DER in; issuer, dates, required extensions and revoked serials out. Parsed CRLs
 * are cached by their DER bytes. The signature is checked over the exact TBSCertList bytes.
 */
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { derChildren, readDerElement } from './der.ts';
import { CollateralFormatError } from './verify-errors.ts';
import { OID, describeName, serialHex, toHex, verifyDerSignature, type ParsedCert } from './x509.ts';

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

function parseUncached(der: Uint8Array, field: string): ParsedCrl {
  try {
    const outer = readDerElement(der);
    if (outer.raw.length !== der.length) throw new Error('trailing bytes after the CRL');
    const [tbsEl] = derChildren(outer.content);
    if (tbsEl === undefined) throw new Error('empty CRL');
    const fields = derChildren(tbsEl.content);
    const off = fields[0]?.tag === 0x02 ? 1 : 0;
    const issuerEl = fields[off + 1];
    if (issuerEl === undefined) throw new Error('TBSCertList has no issuer');
    const crl = AsnConvert.parse(der, CertificateList);
    const tbs = crl.tbsCertList;
    const issuer = describeName(tbs.issuer);
    const exts = tbs.crlExtensions ?? [];
    const revoked = new Set<string>();
    for (const entry of tbs.revokedCertificates ?? []) {
      revoked.add(serialHex(new Uint8Array(entry.userCertificate)));
    }
    return {
      id: nextId++,
      der,
      tbs: tbsEl.raw,
      signature: new Uint8Array(crl.signature),
      signatureAlgorithm: crl.signatureAlgorithm.algorithm,
      issuerRaw: issuerEl.raw,
      issuerHex: toHex(issuerEl.raw),
      issuerCn: issuer.cn,
      issuerText: issuer.text,
      thisUpdate: tbs.thisUpdate.getTime(),
      nextUpdate: tbs.nextUpdate?.getTime(),
      hasCrlNumber: exts.some((e) => e.extnID === OID.crlNumber),
      hasAuthorityKeyId: exts.some((e) => e.extnID === OID.authorityKeyIdentifier),
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
