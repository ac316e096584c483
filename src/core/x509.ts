/**
 * X.509 certificate helpers for DCAP: PEM chain splitting, a parsed-certificate cache keyed by the
 * DER bytes, chain building by subject/issuer (never by position), and cached ECDSA P-256
 * signature checks. Parsing uses `@peculiar/asn1-x509`; the signed bytes are sliced with the DER
 * walker so that signatures are checked over exactly what was received.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { BasicConstraints, Certificate, type Extension, type Name } from '@peculiar/asn1-x509';
import { decodeOid, derChildren, readDerElement } from './der.ts';

/** OIDs used by the DCAP certificates. */
export const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  sgxExtensions: '1.2.840.113741.1.13.1',
} as const;

/** A parsed certificate. Instances are cached and shared: treat as immutable. */
export interface ParsedCert {
  /** Process-unique id, stable for the same DER bytes while cached (used as a cache key). */
  readonly id: number;
  readonly der: Uint8Array;
  /** Exactly the TBSCertificate bytes the signature covers. */
  readonly tbs: Uint8Array;
  /** The DER-encoded ECDSA signature. */
  readonly signature: Uint8Array;
  readonly signatureAlgorithm: string;
  /** Serial number as upper-case hex without leading zero bytes. */
  readonly serial: string;
  /** Raw DER of the issuer and subject Names, and their hex form for comparisons. */
  readonly issuerRaw: Uint8Array;
  readonly subjectRaw: Uint8Array;
  readonly issuerHex: string;
  readonly subjectHex: string;
  readonly issuerCn: string;
  readonly subjectCn: string;
  /** `CN=…, O=…` rendering for messages. */
  readonly subjectText: string;
  readonly issuerText: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly publicKey: KeyObject;
  /** The uncompressed EC point (65 bytes), or empty for non-EC keys. */
  readonly publicKeyPoint: Uint8Array;
  readonly publicKeyHex: string;
  /** The algorithm OID of the subject public key and its curve OID (if EC). */
  readonly keyAlgorithm: string;
  readonly keyCurve: string | undefined;
  readonly isCa: boolean;
  readonly selfIssued: boolean;
  /** Extension values (content of the extnValue OCTET STRING) by OID. */
  readonly extensions: ReadonlyMap<string, Uint8Array>;
}

/** Thrown by the parsing helpers; callers map it to their step's error. */
export class CertParseError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CertParseError';
  }
}

const ATTR_SHORT: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.6': 'C',
};

/** Renders a Name as `CN=…, O=…` and returns its CN. */
export function describeName(name: Name): { text: string; cn: string } {
  const parts: string[] = [];
  let cn = '';
  for (const rdn of name) {
    for (const attr of rdn) {
      const value = attr.value.toString();
      if (attr.type === OID.commonName && cn === '') cn = value;
      parts.push(`${ATTR_SHORT[attr.type] ?? attr.type}=${value}`);
    }
  }
  return { text: parts.join(', '), cn };
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Hex of an unsigned big-endian integer, upper case, leading zero bytes removed. */
export function serialHex(bytes: Uint8Array): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return toHex(bytes.subarray(i)).toUpperCase();
}

let nextId = 1;
const CACHE_LIMIT = 4096;
const certCache = new Map<string, ParsedCert>();

function cacheKey(der: Uint8Array): string {
  return Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
}

/**
 * Parses one DER certificate; results are cached by the exact DER bytes (bounded cache), so the
 * Intel CA certificates and a platform's PCK chain are parsed once per process.
 */
export function parseCertificate(der: Uint8Array): ParsedCert {
  const key = cacheKey(der);
  const hit = certCache.get(key);
  if (hit !== undefined) return hit;
  const parsed = parseUncached(Uint8Array.from(der));
  if (certCache.size >= CACHE_LIMIT) certCache.clear();
  certCache.set(key, parsed);
  return parsed;
}

function parseUncached(der: Uint8Array): ParsedCert {
  let cert: Certificate;
  let tbs: Uint8Array;
  let issuerRaw: Uint8Array;
  let subjectRaw: Uint8Array;
  let spki: Uint8Array;
  try {
    const outer = readDerElement(der);
    if (outer.raw.length !== der.length) throw new CertParseError('trailing bytes after the certificate');
    const [tbsEl] = derChildren(outer.content);
    if (tbsEl === undefined) throw new CertParseError('empty certificate');
    tbs = tbsEl.raw;
    const fields = derChildren(tbsEl.content);
    const off = fields[0]?.tag === 0xa0 ? 1 : 0;
    const iss = fields[off + 2];
    const sub = fields[off + 4];
    const key = fields[off + 5];
    if (iss === undefined || sub === undefined || key === undefined) {
      throw new CertParseError('TBSCertificate is missing fields');
    }
    issuerRaw = iss.raw;
    subjectRaw = sub.raw;
    spki = key.raw;
    cert = AsnConvert.parse(der, Certificate);
  } catch (cause) {
    if (cause instanceof CertParseError) throw cause;
    throw new CertParseError(`malformed certificate: ${(cause as Error).message}`, cause);
  }
  const tbsCert = cert.tbsCertificate;
  const extensions = new Map<string, Uint8Array>();
  let isCa = false;
  const certExtensions: readonly Extension[] = tbsCert.extensions ? [...tbsCert.extensions] : [];
  for (const ext of certExtensions) {
    const value = new Uint8Array(ext.extnValue.buffer);
    extensions.set(ext.extnID, value);
    if (ext.extnID === OID.basicConstraints) {
      try {
        isCa = AsnConvert.parse(value, BasicConstraints).cA;
      } catch (cause) {
        throw new CertParseError('malformed basicConstraints', cause);
      }
    }
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CertParseError('unusable subject public key', cause);
  }
  const alg = tbsCert.subjectPublicKeyInfo.algorithm;
  let keyCurve: string | undefined;
  if (alg.algorithm === OID.ecPublicKey && alg.parameters) {
    try {
      const p = readDerElement(new Uint8Array(alg.parameters));
      if (p.tag === 0x06) keyCurve = decodeOid(p.content);
    } catch {
      keyCurve = undefined;
    }
  }
  const point = new Uint8Array(tbsCert.subjectPublicKeyInfo.subjectPublicKey);
  const issuer = describeName(tbsCert.issuer);
  const subject = describeName(tbsCert.subject);
  const issuerHex = toHex(issuerRaw);
  const subjectHex = toHex(subjectRaw);
  return {
    id: nextId++,
    der,
    tbs,
    signature: new Uint8Array(cert.signatureValue),
    signatureAlgorithm: cert.signatureAlgorithm.algorithm,
    serial: serialHex(new Uint8Array(tbsCert.serialNumber)),
    issuerRaw,
    subjectRaw,
    issuerHex,
    subjectHex,
    issuerCn: issuer.cn,
    subjectCn: subject.cn,
    issuerText: issuer.text,
    subjectText: subject.text,
    notBefore: tbsCert.validity.notBefore.getTime(),
    notAfter: tbsCert.validity.notAfter.getTime(),
    publicKey,
    publicKeyPoint: point,
    publicKeyHex: toHex(point),
    keyAlgorithm: alg.algorithm,
    keyCurve,
    isCa,
    selfIssued: issuerHex === subjectHex,
    extensions,
  };
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g;

/**
 * Splits text holding concatenated PEM certificates (as in certification data type 5 and the PCS
 * issuer-chain headers) into DER blobs, in order. NUL padding and text between blocks are ignored.
 */
export function pemCertificates(text: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of text.matchAll(PEM_CERT)) {
    const b64 = (m[1] ?? '').replace(/\s+/g, '');
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  return out;
}

/** Parses every certificate in a PEM text (cached). */
export function parsePemChain(text: string): ParsedCert[] {
  return pemCertificates(text).map((der) => parseCertificate(der));
}

const sigCache = new Map<string, boolean>();

/**
 * Checks an ECDSA-with-SHA256 signature (DER form) made by `signer` over `data`. Results are
 * cached under `cacheId` (which must identify the exact signed bytes and signature) and the
 * signer's id, so repeated checks of the same certificate/CRL cost nothing.
 */
export function verifyDerSignature(
  cacheId: string,
  data: Uint8Array,
  signature: Uint8Array,
  signer: ParsedCert,
): boolean {
  const key = `${cacheId}|${signer.id}`;
  const hit = sigCache.get(key);
  if (hit !== undefined) return hit;
  let ok: boolean;
  try {
    ok = cryptoVerify('sha256', data, signer.publicKey, signature);
  } catch {
    ok = false;
  }
  if (sigCache.size >= CACHE_LIMIT * 4) sigCache.clear();
  sigCache.set(key, ok);
  return ok;
}

/**
 * Empties the parsed-certificate and signature-result caches (benchmarks of the cold path; tests).
 * Certificates parsed afterwards get new ids, so no earlier signature result can be reused.
 */
export function clearX509Caches(): void {
  certCache.clear();
  sigCache.clear();
}

/** True when `cert` is signed (ECDSA-SHA256) by `issuer`'s key. Cached. */
export function isSignedBy(cert: ParsedCert, issuer: ParsedCert): boolean {
  if (cert.signatureAlgorithm !== OID.ecdsaWithSha256) return false;
  return verifyDerSignature(`c${cert.id}`, cert.tbs, cert.signature, issuer);
}

/** Thrown by `buildChain`: `kind` says whether a link is missing or a signature failed. */
export class ChainError extends Error {
  constructor(
    readonly kind: 'incomplete' | 'signature',
    message: string,
  ) {
    super(message);
    this.name = 'ChainError';
  }
}

/**
 * Orders `certs` from `leaf` up to a self-issued root by matching each certificate's issuer Name
 * with another's subject Name (input order is irrelevant), checking every signature on the way.
 * Every certificate given must be used exactly once. The root's self-signature is checked too.
 */
export function buildChain(leaf: ParsedCert, certs: readonly ParsedCert[]): ParsedCert[] {
  const pool = certs.filter((c) => c !== leaf);
  const chain: ParsedCert[] = [leaf];
  let current = leaf;
  while (!current.selfIssued) {
    const idx = pool.findIndex((c) => c.subjectHex === current.issuerHex);
    if (idx < 0) {
      throw new ChainError(
        'incomplete',
        `no issuer certificate for "${current.subjectText}" (issuer "${current.issuerText}")`,
      );
    }
    const issuer = pool.splice(idx, 1)[0] as ParsedCert;
    if (!issuer.isCa)
      throw new ChainError('incomplete', `issuer "${issuer.subjectText}" is not a CA certificate`);
    if (!isSignedBy(current, issuer)) {
      throw new ChainError(
        'signature',
        `signature of "${current.subjectText}" does not verify with "${issuer.subjectText}"`,
      );
    }
    chain.push(issuer);
    current = issuer;
    if (chain.length > 8) throw new ChainError('incomplete', 'certificate chain too long');
  }
  if (!isSignedBy(current, current)) {
    throw new ChainError('signature', `self-signature of root "${current.subjectText}" does not verify`);
  }
  if (pool.length > 0) {
    throw new ChainError(
      'incomplete',
      `certificate "${pool[0]?.subjectText ?? ''}" is not part of the chain`,
    );
  }
  return chain;
}

/**
 * Finds the leaf of an unordered set: the one certificate that issued no other certificate in the
 * set. Throws `ChainError('incomplete')` when there is not exactly one.
 */
export function findLeaf(certs: readonly ParsedCert[]): ParsedCert {
  const leaves = certs.filter(
    (c) => !certs.some((o) => o !== c && !o.selfIssued && o.issuerHex === c.subjectHex),
  );
  if (leaves.length !== 1 || leaves[0] === undefined) {
    throw new ChainError('incomplete', `expected one leaf certificate, found ${leaves.length}`);
  }
  return leaves[0];
}

/** Verifies a raw r‖s (IEEE P1363) ECDSA-SHA256 signature, as used inside quotes and collateral JSON. */
export function verifyP1363(data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return cryptoVerify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
