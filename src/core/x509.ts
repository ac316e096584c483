/**
 * X.509 certificate helpers for DCAP: PEM chain splitting, a parsed-certificate cache keyed by the
 * DER bytes, chain building by subject/issuer (never by position), and cached ECDSA P-256
 * signature checks. Certificates are parsed with the bounds-checked DER walker (der.ts), which also
 * slices the signed bytes, so signatures are checked over exactly what was received. (The
 * verification path loads no ASN.1 schema library: that kept `ccnodes quote verify` slow to start.)
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  TAG,
  decodeBitStringBytes,
  decodeBoolean,
  decodeDirectoryString,
  decodeOid,
  decodeSmallUint,
  decodeTime,
  DerError,
  derChildren,
  expectTag,
  readDerElement,
  type DerElement,
} from './der.ts';

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

/**
 * Renders a Name (its DER: SEQUENCE OF SET OF {type OID, value}) as `CN=…, O=…` and returns its
 * CN. Every attribute value must be one of the string types (RFC 5280's DirectoryString, IA5String).
 */
export function describeName(nameDer: Uint8Array): { text: string; cn: string } {
  const parts: string[] = [];
  let cn = '';
  const name = expectTag(readDerElement(nameDer), TAG.sequence, 'Name');
  for (const rdn of derChildren(name.content)) {
    expectTag(rdn, TAG.set, 'RelativeDistinguishedName');
    for (const attr of derChildren(rdn.content)) {
      expectTag(attr, TAG.sequence, 'AttributeTypeAndValue');
      const [typeEl, valueEl, extra] = derChildren(attr.content);
      const type = decodeOid(expectTag(typeEl, TAG.oid, 'attribute type').content);
      if (valueEl === undefined || extra !== undefined) {
        throw new DerError('AttributeTypeAndValue is not {type, value}', 0);
      }
      const value = decodeDirectoryString(valueEl);
      if (value === undefined) {
        throw new DerError(`attribute ${type} has tag 0x${valueEl.tag.toString(16)}, not a string type`, 0);
      }
      if (type === OID.commonName && cn === '') cn = value;
      parts.push(`${ATTR_SHORT[type] ?? type}=${value}`);
    }
  }
  return { text: parts.join(', '), cn };
}

/** An AlgorithmIdentifier: SEQUENCE { algorithm OID, parameters ANY OPTIONAL }. */
export function decodeAlgorithmIdentifier(
  el: DerElement | undefined,
  what: string,
): { algorithm: string; parameters: DerElement | undefined } {
  const seq = expectTag(el, TAG.sequence, what);
  const [oid, parameters, extra] = derChildren(seq.content);
  if (extra !== undefined) throw new DerError(`${what} has more than two fields`, 0);
  return { algorithm: decodeOid(expectTag(oid, TAG.oid, `${what} algorithm`).content), parameters };
}

/**
 * Extensions (SEQUENCE OF {extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING}):
 * the content of each extnValue by OID (a repeated OID keeps its last value).
 */
export function decodeExtensions(el: DerElement, what: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const ext of derChildren(expectTag(el, TAG.sequence, what).content)) {
    expectTag(ext, TAG.sequence, `${what} entry`);
    const f = derChildren(ext.content);
    const id = decodeOid(expectTag(f[0], TAG.oid, 'extnID').content);
    let i = 1;
    if (f[i]?.tag === TAG.boolean) decodeBoolean(f[i++] as DerElement, `${id} critical`);
    const value = expectTag(f[i], TAG.octetString, `${id} extnValue`);
    if (f.length !== i + 1) throw new DerError(`extension ${id} has trailing fields`, 0);
    out.set(id, Uint8Array.from(value.content));
  }
  return out;
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
  let parsed: ReturnType<typeof decodeCertificate>;
  try {
    parsed = decodeCertificate(der);
  } catch (cause) {
    if (cause instanceof CertParseError) throw cause;
    throw new CertParseError(`malformed certificate: ${(cause as Error).message}`, cause);
  }
  const { spki, ...fields } = parsed;
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (cause) {
    throw new CertParseError('unusable subject public key', cause);
  }
  return { id: nextId++, ...fields, publicKey };
}

/**
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING };
 * TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity,
 * subject, subjectPublicKeyInfo, [1] issuerUniqueID OPTIONAL, [2] subjectUniqueID OPTIONAL,
 * [3] extensions OPTIONAL } (RFC 5280 §4.1). Everything but the key object.
 */
function decodeCertificate(der: Uint8Array): Omit<ParsedCert, 'id' | 'publicKey'> & { spki: Uint8Array } {
  const outer = expectTag(readDerElement(der), TAG.sequence, 'Certificate');
  if (outer.raw.length !== der.length) throw new CertParseError('trailing bytes after the certificate');
  const top = derChildren(outer.content);
  const tbsEl = top[0];
  if (tbsEl === undefined) throw new CertParseError('empty certificate');
  expectTag(tbsEl, TAG.sequence, 'TBSCertificate');
  if (top.length !== 3) throw new DerError(`Certificate has ${top.length} fields, expected 3`, 0);
  const signatureAlgorithm = decodeAlgorithmIdentifier(top[1], 'signatureAlgorithm').algorithm;
  const signature = Uint8Array.from(decodeBitStringBytes(top[2] as DerElement, 'signatureValue'));
  const fields = derChildren(tbsEl.content);
  let i = 0;
  if (fields[0]?.tag === 0xa0) {
    const [version, extra] = derChildren(fields[0].content);
    expectTag(version, TAG.integer, 'version');
    if (extra !== undefined) throw new DerError('version has trailing fields', 0);
    i = 1;
  }
  const serialEl = fields[i];
  const iss = fields[i + 2];
  const validityEl = fields[i + 3];
  const sub = fields[i + 4];
  const key = fields[i + 5];
  if (iss === undefined || sub === undefined || key === undefined) {
    throw new CertParseError('TBSCertificate is missing fields');
  }
  const serialBytes = expectTag(serialEl, TAG.integer, 'serialNumber').content;
  if (serialBytes.length === 0) throw new DerError('serialNumber is empty', 0);
  decodeAlgorithmIdentifier(fields[i + 1], 'signature');
  expectTag(iss, TAG.sequence, 'issuer');
  const validity = derChildren(expectTag(validityEl, TAG.sequence, 'validity').content);
  if (validity.length !== 2) throw new DerError('validity is not {notBefore, notAfter}', 0);
  const notBefore = decodeTime(validity[0], 'notBefore');
  const notAfter = decodeTime(validity[1], 'notAfter');
  expectTag(sub, TAG.sequence, 'subject');
  const spkiFields = derChildren(expectTag(key, TAG.sequence, 'subjectPublicKeyInfo').content);
  if (spkiFields.length !== 2) throw new DerError('subjectPublicKeyInfo is not {algorithm, key}', 0);
  const alg = decodeAlgorithmIdentifier(spkiFields[0], 'subjectPublicKeyInfo algorithm');
  const point = Uint8Array.from(decodeBitStringBytes(spkiFields[1] as DerElement, 'subjectPublicKey'));
  let extensions = new Map<string, Uint8Array>();
  let j = i + 6;
  if (fields[j]?.tag === 0x81) j++;
  if (fields[j]?.tag === 0x82) j++;
  if (fields[j]?.tag === 0xa3) {
    const [extsEl, extra] = derChildren((fields[j] as DerElement).content);
    if (extsEl === undefined || extra !== undefined)
      throw new DerError('extensions [3] is not one SEQUENCE', 0);
    extensions = decodeExtensions(extsEl, 'extensions');
    j++;
  }
  if (j !== fields.length) throw new DerError(`TBSCertificate has an unexpected field at index ${j}`, 0);
  let isCa = false;
  const bc = extensions.get(OID.basicConstraints);
  if (bc !== undefined) {
    try {
      const seq = expectTag(readDerElement(bc), TAG.sequence, 'basicConstraints');
      if (seq.raw.length !== bc.length) throw new DerError('trailing bytes after basicConstraints', 0);
      // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
      const f = derChildren(seq.content);
      let k = 0;
      if (f[k]?.tag === TAG.boolean) isCa = decodeBoolean(f[k++] as DerElement, 'cA');
      if (f[k]?.tag === TAG.integer) decodeSmallUint((f[k++] as DerElement).content);
      if (k !== f.length) throw new DerError('basicConstraints has an unexpected field', 0);
    } catch (cause) {
      throw new CertParseError('malformed basicConstraints', cause);
    }
  }
  let keyCurve: string | undefined;
  if (alg.algorithm === OID.ecPublicKey && alg.parameters?.tag === TAG.oid) {
    try {
      keyCurve = decodeOid(alg.parameters.content);
    } catch {
      keyCurve = undefined;
    }
  }
  const issuerRaw = iss.raw;
  const subjectRaw = sub.raw;
  const issuer = describeName(issuerRaw);
  const subject = describeName(subjectRaw);
  const issuerHex = toHex(issuerRaw);
  const subjectHex = toHex(subjectRaw);
  return {
    der,
    tbs: tbsEl.raw,
    signature,
    signatureAlgorithm,
    serial: serialHex(serialBytes),
    issuerRaw,
    subjectRaw,
    issuerHex,
    subjectHex,
    issuerCn: issuer.cn,
    subjectCn: subject.cn,
    issuerText: issuer.text,
    subjectText: subject.text,
    notBefore,
    notAfter,
    spki: key.raw,
    publicKeyPoint: point,
    publicKeyHex: toHex(point),
    keyAlgorithm: alg.algorithm,
    keyCurve,
    isCa,
    selfIssued: issuerHex === subjectHex,
    extensions,
  };
}

/**
 * The URIs of the fullName of each point in a CRL Distribution Points extension value (RFC 5280
 * §4.2.1.13: SEQUENCE OF DistributionPoint { [0] distributionPoint { [0] fullName GeneralNames }
 * OPTIONAL, [1] reasons OPTIONAL, [2] cRLIssuer OPTIONAL }; a URI is GeneralName [6] IA5String).
 * Other kinds of name are skipped. Throws `DerError` when the value is malformed.
 */
export function crlDistributionPointUris(value: Uint8Array): string[] {
  const top = expectTag(readDerElement(value), TAG.sequence, 'CRLDistributionPoints');
  if (top.raw.length !== value.length) throw new DerError('trailing bytes after CRLDistributionPoints', 0);
  const uris: string[] = [];
  for (const point of derChildren(top.content)) {
    const fields = derChildren(expectTag(point, TAG.sequence, 'DistributionPoint').content);
    let i = 0;
    if (fields[i]?.tag === 0xa0) {
      const [name, extra] = derChildren((fields[i++] as DerElement).content);
      if (name === undefined || extra !== undefined)
        throw new DerError('distributionPoint is not one name', 0);
      if (name.tag === 0xa0) {
        for (const general of derChildren(name.content)) {
          // GeneralName is a CHOICE of context tags [0]..[8]; [6] is a URI (IA5String).
          if ((general.tag & 0xc0) !== 0x80 || (general.tag & 0x1f) > 8) {
            throw new DerError(`GeneralName has tag 0x${general.tag.toString(16)}`, 0);
          }
          if (general.tag === 0x86) uris.push(Buffer.from(general.content).toString('latin1'));
        }
      } else if (name.tag !== 0xa1) {
        throw new DerError(`distributionPoint name has tag 0x${name.tag.toString(16)}`, 0);
      }
    }
    if (fields[i]?.tag === 0x81) i++;
    if (fields[i]?.tag === 0xa2) i++;
    if (i !== fields.length) throw new DerError('DistributionPoint has an unexpected field', 0);
  }
  return uris;
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
