/**
 * The simulated SGX PKI. It has the shape of Intel's (spec/dcap.md §2, spec/sgx-sim.md §5.3):
 *
 *   "ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)"         self-signed, CA, pathlen 1
 *     ├─ "ccnodes Simulated SGX PCK Processor CA"                 CA, pathlen 0 → PCK certificates
 *     ├─ "ccnodes Simulated SGX PCK Platform CA"                  CA, pathlen 0 → PCK certificates
 *     └─ "ccnodes Simulated SGX TCB Signing"                      signs TCB Info and QE Identity
 *   PCK leaf: "ccnodes Simulated SGX PCK Certificate" with the SGX extension (1.2.840.113741.1.13.1)
 *
 * The CNs keep the substrings Intel's verifier looks for ("SGX Root CA", "CA", "SGX PCK
 * Certificate"), so every parser treats the chain like Intel's, while the names, keys and CRL
 * distribution points (under the reserved `.invalid` domain) make it impossible to mistake for
 * Intel's: a verifier pinned to Intel's root key rejects every certificate issued here.
 *
 * All keys come from a {@link SimKeySource}; certificates, CRLs and serial numbers are deterministic
 * functions of it (fixed validity dates, RFC 6979 signatures), so one seed gives identical bytes.
 * ECDSA P-256 with SHA-256 throughout.
 */
import { createHash } from 'node:crypto';
import type { AlgorithmIdentifier, Extensions, Name as AsnName } from '@peculiar/asn1-x509';
import type { Extension, JsonNameParams, Name, X509Certificate } from '@peculiar/x509';
import { SimKeySource, type SimEcKey, type SimKeySourceOptions } from './keys.ts';
import { pkiLib } from './pki-lib.ts';
import { sgxExtension, type SgxExtensionFields } from './pki-sgx-extension.ts';

/** Subject CN of the simulated root. Verifiers recognise simulated chains by it. */
export const SIM_ROOT_CA_CN = 'ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)';
export const SIM_PROCESSOR_CA_CN = 'ccnodes Simulated SGX PCK Processor CA';
export const SIM_PLATFORM_CA_CN = 'ccnodes Simulated SGX PCK Platform CA';
export const SIM_TCB_SIGNING_CN = 'ccnodes Simulated SGX TCB Signing';
export const SIM_PCK_CERT_CN = 'ccnodes Simulated SGX PCK Certificate';
/** O, L, ST and C of every simulated certificate (Intel's shape: CN, O, L, ST, C). */
export const SIM_ORGANIZATION = 'ccnodes Simulation (NOT FOR PRODUCTION)';
const SIM_LOCALITY = 'Simulated';
const SIM_STATE = 'Simulated';
/** ISO 3166 user-assigned code: no real country. */
const SIM_COUNTRY = 'ZZ';

/** Base URL written into CRL distribution points; `.invalid` never resolves (RFC 2606). */
export const SIM_PCS_BASE_URL = 'https://pcs.sim.ccnodes.invalid';

/** Validity of every simulated certificate: fixed, so a seed fixes the certificate bytes. */
export const SIM_CERT_NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
export const SIM_CERT_NOT_AFTER = new Date('2049-12-31T23:59:59Z');

/** Which PCK CA issues a platform's PCK certificate (the PCS `ca` parameter). */
export type PckCaKind = 'processor' | 'platform';

/** One certificate of the simulated PKI, with its key. */
export interface SimCert {
  readonly cn: string;
  readonly x509: X509Certificate;
  readonly der: Uint8Array;
  readonly pem: string;
  /** Serial number, lower-case hex without leading zero bytes (as in CRL entries). */
  readonly serialHex: string;
  /** Subject key identifier (SHA-1 of the public key point). */
  readonly keyId: Uint8Array;
  readonly key: SimEcKey;
}

/** CRL contents chosen by the caller. */
export interface SimCrlOptions {
  /** thisUpdate (truncated to whole seconds). */
  readonly now: Date;
  /** nextUpdate − thisUpdate, in days. */
  readonly validityDays: number;
  /** Serials (hex) to list as revoked. */
  readonly revokedSerials?: readonly string[];
  /** CRL Number extension value. Default 1. */
  readonly crlNumber?: number;
}

/** ecdsa-with-SHA256 (RFC 5758: no parameters). */
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

function ecdsaWithSha256(): AlgorithmIdentifier {
  return new (pkiLib().asn1X509.AlgorithmIdentifier)({ algorithm: ECDSA_WITH_SHA256 });
}

/** A big-endian unsigned integer as the minimal DER INTEGER contents. */
function derUnsigned(bytes: Uint8Array): ArrayBuffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  const out = new Uint8Array(trimmed.length + ((trimmed[0] ?? 0) & 0x80 ? 1 : 0));
  out.set(trimmed, out.length - trimmed.length);
  return out.buffer;
}

/** Signs DER `tbs` with `key` (RFC 6979) and returns the DER ECDSA-Sig-Value. */
function signatureValue(key: SimEcKey, tbs: ArrayBuffer): ArrayBuffer {
  const rs = key.signDeterministic(new Uint8Array(tbs));
  const { asn1Ecc, asn1Schema } = pkiLib();
  return asn1Schema.AsnConvert.serialize(
    new asn1Ecc.ECDSASigValue({ r: derUnsigned(rs.subarray(0, 32)), s: derUnsigned(rs.subarray(32)) }),
  );
}

function asnName(name: Name): AsnName {
  const { asn1Schema, asn1X509 } = pkiLib();
  return asn1Schema.AsnConvert.parse(name.toArrayBuffer(), asn1X509.Name);
}

function asnExtensions(extensions: readonly Extension[]): Extensions {
  const { asn1Schema, asn1X509 } = pkiLib();
  return new asn1X509.Extensions(
    extensions.map((e) => asn1Schema.AsnConvert.parse(e.rawData, asn1X509.Extension)),
  );
}

/** Distinguished name in Intel's shape: UTF8String CN/O/L/ST, PrintableString C. */
export function simName(cn: string): Name {
  const params: JsonNameParams = [
    { CN: [{ utf8String: cn }] },
    { O: [{ utf8String: SIM_ORGANIZATION }] },
    { L: [{ utf8String: SIM_LOCALITY }] },
    { ST: [{ utf8String: SIM_STATE }] },
    { C: [{ printableString: SIM_COUNTRY }] },
  ];
  return new (pkiLib().x509.Name)(params);
}

function keyIdOf(key: SimEcKey): Uint8Array {
  const point = new Uint8Array(65);
  point[0] = 0x04;
  point.set(key.publicRaw, 1);
  return new Uint8Array(createHash('sha1').update(point).digest());
}

function serialFor(keys: SimKeySource, label: string): string {
  const bytes = keys.derive(`serial/${label}`, 20);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x10; // positive, no leading zero byte
  return Buffer.from(bytes).toString('hex');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function toSimCert(cn: string, x509: X509Certificate, key: SimEcKey, keyId: Uint8Array): SimCert {
  const der = new Uint8Array(x509.rawData);
  return {
    cn,
    x509,
    der,
    pem: x509.toString('pem') + '\n',
    serialHex: x509.serialNumber.toLowerCase(),
    keyId,
    key,
  };
}

interface IssueParams {
  readonly label: string;
  readonly cn: string;
  readonly key: SimEcKey;
  readonly issuer: SimCert | 'self';
  readonly ca: { pathLength: number } | false;
  readonly crlUrl: string;
  readonly extra?: readonly Extension[];
  /** notAfter of the certificate; default {@link SIM_CERT_NOT_AFTER}. */
  readonly notAfter?: Date;
}

/** Options of {@link SimPki.issuePck}. */
export interface SimPckIssueOptions {
  /**
   * notAfter of the PCK certificate (whole seconds); default {@link SIM_CERT_NOT_AFTER}, as every
   * simulated certificate. Lets a test build a PCK certificate list with several expiry dates.
   */
  readonly notAfter?: Date;
}

/** Options of {@link createSimPki}. */
export type SimPkiOptions = SimKeySourceOptions;

/** The simulated root, intermediates and TCB signing certificate, plus PCK and CRL issuance. */
export class SimPki {
  readonly keys: SimKeySource;
  readonly root: SimCert;
  readonly processorCa: SimCert;
  readonly platformCa: SimCert;
  readonly tcbSigning: SimCert;

  private constructor(
    keys: SimKeySource,
    root: SimCert,
    processorCa: SimCert,
    platformCa: SimCert,
    tcb: SimCert,
  ) {
    this.keys = keys;
    this.root = root;
    this.processorCa = processorCa;
    this.platformCa = platformCa;
    this.tcbSigning = tcb;
  }

  /** Builds the PKI from the key source described by `options`. */
  static create(options: SimPkiOptions = {}): SimPki {
    const keys = SimKeySource.open(options);
    const root = issue(keys, {
      label: 'root',
      cn: SIM_ROOT_CA_CN,
      key: keys.ecKey('pki/root'),
      issuer: 'self',
      ca: { pathLength: 1 },
      crlUrl: `${SIM_PCS_BASE_URL}/sgx/certification/v4/rootcacrl`,
    });
    const intermediate = (label: PckCaKind, cn: string): SimCert =>
      issue(keys, {
        label: `${label}-ca`,
        cn,
        key: keys.ecKey(`pki/${label}-ca`),
        issuer: root,
        ca: { pathLength: 0 },
        crlUrl: `${SIM_PCS_BASE_URL}/sgx/certification/v4/rootcacrl`,
      });
    const processorCa = intermediate('processor', SIM_PROCESSOR_CA_CN);
    const platformCa = intermediate('platform', SIM_PLATFORM_CA_CN);
    const tcbSigning = issue(keys, {
      label: 'tcb-signing',
      cn: SIM_TCB_SIGNING_CN,
      key: keys.ecKey('pki/tcb-signing'),
      issuer: root,
      ca: false,
      crlUrl: `${SIM_PCS_BASE_URL}/sgx/certification/v4/rootcacrl`,
    });
    return new SimPki(keys, root, processorCa, platformCa, tcbSigning);
  }

  /** PEM of the simulated root certificate (what `trustSimulatedRoot` must be given). */
  get rootPem(): string {
    return this.root.pem;
  }

  /** The PCK CA of `kind`. */
  pckCa(kind: PckCaKind): SimCert {
    return kind === 'processor' ? this.processorCa : this.platformCa;
  }

  /**
   * Issues a PCK certificate "CN=ccnodes Simulated SGX PCK Certificate" for `key`, under the PCK CA
   * of `ca`, carrying `fields` in the SGX extension. `label` makes its serial number unique.
   */
  issuePck(
    label: string,
    key: SimEcKey,
    ca: PckCaKind,
    fields: SgxExtensionFields,
    options: SimPckIssueOptions = {},
  ): SimCert {
    return issue(this.keys, {
      ...(options.notAfter === undefined ? {} : { notAfter: options.notAfter }),
      label: `pck/${label}`,
      cn: SIM_PCK_CERT_CN,
      key,
      issuer: this.pckCa(ca),
      ca: false,
      crlUrl: `${SIM_PCS_BASE_URL}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`,
      extra: [sgxExtension(fields)],
    });
  }

  /** The Root CA CRL (DER), issued by the simulated root. */
  rootCaCrl(options: SimCrlOptions): Uint8Array {
    return issueCrl(this.root, options);
  }

  /** The PCK CRL (DER) of the PCK CA of `kind`. */
  pckCrl(kind: PckCaKind, options: SimCrlOptions): Uint8Array {
    return issueCrl(this.pckCa(kind), options);
  }

  /** Issuer chain of TCB Info and QE Identity: TCB signing certificate, then root (PEM). */
  tcbIssuerChainPem(): string {
    return this.tcbSigning.pem + this.root.pem;
  }

  /** Issuer chain of a PCK CRL or PCK certificate: PCK CA, then root (PEM). */
  pckIssuerChainPem(kind: PckCaKind): string {
    return this.pckCa(kind).pem + this.root.pem;
  }
}

/** Creates the simulated PKI (see {@link SimPki}). */
export function createSimPki(options: SimPkiOptions = {}): SimPki {
  return SimPki.create(options);
}

function issue(keys: SimKeySource, p: IssueParams): SimCert {
  const { asn1Schema, asn1X509, x509: lib } = pkiLib();
  const { AsnConvert } = asn1Schema;
  const { Certificate, id_ce_keyUsage, KeyUsage, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } =
    asn1X509;
  const {
    AuthorityKeyIdentifierExtension,
    BasicConstraintsExtension,
    CRLDistributionPointsExtension,
    Extension,
    KeyUsageFlags,
    SubjectKeyIdentifierExtension,
    X509Certificate,
  } = lib;
  const keyId = keyIdOf(p.key);
  const issuerCert = p.issuer === 'self' ? undefined : p.issuer;
  const issuerKey = issuerCert?.key ?? p.key;
  const issuerKeyId = issuerCert?.keyId ?? keyId;
  const usage = new KeyUsage(
    p.ca
      ? KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign
      : KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation,
  );
  const extensions: Extension[] = [
    new AuthorityKeyIdentifierExtension(hex(issuerKeyId)),
    new CRLDistributionPointsExtension([p.crlUrl]),
    new SubjectKeyIdentifierExtension(hex(keyId)),
    new Extension(id_ce_keyUsage, true, AsnConvert.serialize(usage)),
    p.ca
      ? new BasicConstraintsExtension(true, p.ca.pathLength, true)
      : new BasicConstraintsExtension(false, undefined, true),
    ...(p.extra ?? []),
  ];
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: Uint8Array.from(Buffer.from(serialFor(keys, p.label), 'hex')).buffer,
    signature: ecdsaWithSha256(),
    issuer: asnName(issuerCert === undefined ? simName(p.cn) : issuerCert.x509.subjectName),
    validity: new Validity({ notBefore: SIM_CERT_NOT_BEFORE, notAfter: p.notAfter ?? SIM_CERT_NOT_AFTER }),
    subject: asnName(simName(p.cn)),
    subjectPublicKeyInfo: AsnConvert.parse(p.key.spki, SubjectPublicKeyInfo),
    extensions: asnExtensions(extensions),
  });
  const cert = new Certificate({
    tbsCertificate: tbs,
    signatureAlgorithm: ecdsaWithSha256(),
    signatureValue: signatureValue(issuerKey, AsnConvert.serialize(tbs)),
  });
  const x509 = new X509Certificate(AsnConvert.serialize(cert));
  return toSimCert(p.cn, x509, p.key, keyId);
}

const DAY_MS = 86_400_000;

function issueCrl(issuer: SimCert, options: SimCrlOptions): Uint8Array {
  const { asn1Schema, asn1X509, x509: lib } = pkiLib();
  const { AsnConvert } = asn1Schema;
  const { CertificateList, CRLNumber, id_ce_cRLNumber, RevokedCertificate, TBSCertList, Time, Version } =
    asn1X509;
  const { AuthorityKeyIdentifierExtension, Extension } = lib;
  const thisUpdate = new Date(Math.floor(options.now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + options.validityDays * DAY_MS);
  const crlNumber = AsnConvert.serialize(new CRLNumber(options.crlNumber ?? 1));
  const revoked = (options.revokedSerials ?? []).map(
    (serial) =>
      new RevokedCertificate({
        userCertificate: derUnsigned(new Uint8Array(Buffer.from(serial, 'hex'))),
        revocationDate: new Time(thisUpdate),
      }),
  );
  const tbs = new TBSCertList({
    version: Version.v2,
    signature: ecdsaWithSha256(),
    issuer: asnName(issuer.x509.subjectName),
    thisUpdate: new Time(thisUpdate),
    nextUpdate: new Time(nextUpdate),
    ...(revoked.length === 0 ? {} : { revokedCertificates: revoked }),
    crlExtensions: asnExtensions([
      new Extension(id_ce_cRLNumber, false, crlNumber),
      new AuthorityKeyIdentifierExtension(hex(issuer.keyId)),
    ]),
  });
  const crl = new CertificateList({
    tbsCertList: tbs,
    signatureAlgorithm: ecdsaWithSha256(),
    signature: signatureValue(issuer.key, AsnConvert.serialize(tbs)),
  });
  return new Uint8Array(AsnConvert.serialize(crl));
}
