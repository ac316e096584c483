/**
 * A small test PKI for the verifier's negative corpus: our own P-256 CAs with Intel-shaped names
 * (root, PCK Processor CA, TCB Signing), a PCK leaf with the SGX extension, both CRLs, signed TCB
 * Info and QE Identity, and an SGX v3 quote signed end to end. Every artefact can be varied by
 * one option, so that each negative case changes exactly one thing.
 *
 * Not the simulator PKI (src/sim): this exists only for tests and is trusted only through
 * `dangerous.extraTrustAnchors`.
 */
import 'reflect-metadata';
import { KeyObject, createHash, sign as nodeSign, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import {
  INTEL_QE_VENDOR_ID,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  pemChainToCertificationData,
  type QuoteHeader,
  type RawCollateral,
  type ReportBody,
  type VerifyOptions,
} from '../../src/core/index.ts';

x509.cryptoProvider.set(webcrypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const INTEL_O = 'O=Intel Corporation, L=Santa Clara, ST=CA, C=US';
export const SGX_OID = '1.2.840.113741.1.13.1';

/** A certificate with its key pair. */
export interface CertKey {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  readonly keys: webcrypto.CryptoKeyPair;
  /** Node KeyObject of the private key (for raw r‖s signatures). */
  readonly privateKey: KeyObject;
  readonly serial: string;
}

let serialCounter = 0x1000;

async function newKeys(): Promise<webcrypto.CryptoKeyPair> {
  return await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
}

/** Issues a certificate; `issuer` undefined means self-signed. */
export async function issueCert(params: {
  /** Distinguished name text, or the exact DER of a Name. */
  subject: string | Uint8Array;
  issuer?: CertKey;
  ca: boolean;
  notBefore?: Date;
  notAfter?: Date;
  extensions?: x509.Extension[];
  keys?: webcrypto.CryptoKeyPair;
}): Promise<CertKey> {
  const keys = params.keys ?? (await newKeys());
  const serial = (serialCounter++).toString(16).padStart(8, '0').toUpperCase();
  const exts: x509.Extension[] = [
    new x509.BasicConstraintsExtension(params.ca, params.ca ? 1 : undefined, true),
    new x509.KeyUsagesExtension(
      // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- flag union of the same enum
      params.ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
        : x509.KeyUsageFlags.digitalSignature,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ...(params.extensions ?? []),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: typeof params.subject === 'string' ? params.subject : new x509.Name(params.subject),
    issuer:
      params.issuer?.cert.subjectName ??
      (typeof params.subject === 'string' ? params.subject : new x509.Name(params.subject)),
    notBefore: params.notBefore ?? new Date('2025-01-01T00:00:00Z'),
    notAfter: params.notAfter ?? new Date('2030-01-01T00:00:00Z'),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: (params.issuer?.keys ?? keys).privateKey,
    extensions: exts,
  });
  return {
    cert,
    pem: cert.toString('pem') + '\n',
    keys,
    privateKey: KeyObject.from(keys.privateKey),
    serial,
  };
}

// --- tiny DER encoder for the SGX extension ------------------------------------------------------
function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = content.length;
  const head = len < 0x80 ? [tag, len] : len < 0x100 ? [tag, 0x81, len] : [tag, 0x82, len >> 8, len & 0xff];
  return Uint8Array.from([...head, ...content]);
}
const seq = (...items: Uint8Array[]): Uint8Array => tlv(0x30, Uint8Array.from(items.flatMap((i) => [...i])));
function oid(dotted: string): Uint8Array {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const out = [a * 40 + b];
  for (const n of rest) {
    const bytes = [n & 0x7f];
    let v = Math.floor(n / 128);
    while (v > 0) {
      bytes.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...bytes);
  }
  return tlv(0x06, Uint8Array.from(out));
}
const int = (n: number): Uint8Array =>
  tlv(0x02, n < 0x80 ? Uint8Array.of(n) : n < 0x100 ? Uint8Array.of(0, n) : Uint8Array.of(n >> 8, n & 0xff));
const octet = (b: Uint8Array): Uint8Array => tlv(0x04, b);

/** Platform TCB of the test PCK certificate. */
export interface TestPlatform {
  readonly components: readonly number[];
  readonly pceSvn: number;
  readonly fmspc: string;
  readonly pceId: string;
}

export const DEFAULT_PLATFORM: TestPlatform = {
  components: [5, 5, 2, 2, 4, 1, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0],
  pceSvn: 13,
  fmspc: '00A067110000',
  pceId: '0000',
};

/** DER value of the SGX extension for `p`. */
export function sgxExtensionValue(p: TestPlatform): Uint8Array {
  const tcb = seq(
    ...p.components.map((c, i) => seq(oid(`${SGX_OID}.2.${i + 1}`), int(c))),
    seq(oid(`${SGX_OID}.2.17`), int(p.pceSvn)),
    seq(oid(`${SGX_OID}.2.18`), octet(Uint8Array.from(p.components))),
  );
  return seq(
    seq(oid(`${SGX_OID}.1`), octet(new Uint8Array(16).fill(0xab))),
    seq(oid(`${SGX_OID}.2`), tcb),
    seq(oid(`${SGX_OID}.3`), octet(Buffer.from(p.pceId, 'hex'))),
    seq(oid(`${SGX_OID}.4`), octet(Buffer.from(p.fmspc, 'hex'))),
    seq(oid(`${SGX_OID}.5`), tlv(0x0a, Uint8Array.of(0))),
  );
}

// --- PKI ------------------------------------------------------------------------------------------

export interface TestPki {
  readonly root: CertKey;
  readonly processorCa: CertKey;
  readonly tcbSigning: CertKey;
  readonly pck: CertKey;
}

/** Creates root, Processor CA, TCB Signing and a PCK leaf. `rootCn` defaults to Intel's. */
export async function createTestPki(
  options: { rootCn?: string; platform?: TestPlatform } = {},
): Promise<TestPki> {
  const root = await issueCert({
    subject: `CN=${options.rootCn ?? 'Intel SGX Root CA'}, ${INTEL_O}`,
    ca: true,
  });
  const processorCa = await issueCert({
    subject: `CN=Intel SGX PCK Processor CA, ${INTEL_O}`,
    issuer: root,
    ca: true,
  });
  const tcbSigning = await issueCert({
    subject: `CN=Intel SGX TCB Signing, ${INTEL_O}`,
    issuer: root,
    ca: false,
  });
  const pck = await issuePck(processorCa, options.platform ?? DEFAULT_PLATFORM);
  return { root, processorCa, tcbSigning, pck };
}

/** Issues a PCK leaf under `ca` with the SGX extension for `platform` (omitted if null). */
export async function issuePck(
  ca: CertKey,
  platform: TestPlatform | null,
  validity: { notBefore?: Date; notAfter?: Date } = {},
): Promise<CertKey> {
  return issueCert({
    subject: `CN=Intel SGX PCK Certificate, ${INTEL_O}`,
    issuer: ca,
    ca: false,
    ...validity,
    extensions: platform === null ? [] : [new x509.Extension(SGX_OID, false, sgxExtensionValue(platform))],
  });
}

/** Options of a test CRL. */
export interface CrlOptions {
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  readonly revoked?: readonly string[];
  /** Issuer name written into the CRL (default: the signer's subject). */
  readonly issuerName?: string;
  /** Leave out CRL Number and AKI. */
  readonly noExtensions?: boolean;
}

/** A DER CRL signed by `signer`. */
export async function makeCrl(signer: CertKey, o: CrlOptions = {}): Promise<Uint8Array> {
  const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const extensions: x509.Extension[] = o.noExtensions
    ? []
    : [
        new x509.Extension('2.5.29.20', false, int(1)),
        new x509.AuthorityKeyIdentifierExtension(ski?.keyId ?? '00', false),
      ];
  const crl = await x509.X509CrlGenerator.create({
    issuer: o.issuerName ?? signer.cert.subject,
    thisUpdate: o.thisUpdate ?? new Date('2026-01-01T00:00:00Z'),
    nextUpdate: o.nextUpdate ?? new Date('2026-02-01T00:00:00Z'),
    signingAlgorithm: ALG,
    signingKey: signer.keys.privateKey,
    extensions,
    entries: (o.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date('2025-06-01T00:00:00Z'),
    })),
  });
  return new Uint8Array(crl.rawData);
}

/** r‖s signature (hex) over `text`. */
export function signText(key: KeyObject, text: string | Uint8Array): Uint8Array {
  return new Uint8Array(
    nodeSign('sha256', typeof text === 'string' ? Buffer.from(text) : text, {
      key,
      dsaEncoding: 'ieee-p1363',
    }),
  );
}

/** `{"<member>":<bodyText>,"signature":"<hex>"}` signed by `key` over the exact body text. */
export function signedDocument(member: string, bodyText: string, key: KeyObject): string {
  return `{"${member}":${bodyText},"signature":"${Buffer.from(signText(key, bodyText)).toString('hex')}"}`;
}

const comps = (svns: readonly number[]): { svn: number }[] => svns.map((svn) => ({ svn }));

/** Default TCB Info body: level 0 newer than the platform, level 1 = platform (SWHardeningNeeded), level 2 all zero. */
export function defaultTcbInfo(p: TestPlatform = DEFAULT_PLATFORM): Record<string, unknown> {
  return {
    id: 'SGX',
    version: 3,
    issueDate: '2026-01-01T00:00:00Z',
    nextUpdate: '2026-02-01T00:00:00Z',
    fmspc: p.fmspc,
    pceId: p.pceId,
    tcbType: 0,
    tcbEvaluationDataNumber: 18,
    tcbLevels: [
      {
        tcb: { sgxtcbcomponents: comps(p.components.map((c) => c + 1)), pcesvn: p.pceSvn },
        tcbDate: '2025-11-12T00:00:00Z',
        tcbStatus: 'UpToDate',
      },
      {
        tcb: { sgxtcbcomponents: comps(p.components), pcesvn: p.pceSvn },
        tcbDate: '2025-05-14T00:00:00Z',
        tcbStatus: 'SWHardeningNeeded',
        advisoryIDs: ['INTEL-SA-TEST-1'],
      },
      {
        tcb: { sgxtcbcomponents: comps(new Array<number>(16).fill(0)), pcesvn: 0 },
        tcbDate: '2018-01-04T00:00:00Z',
        tcbStatus: 'OutOfDate',
        advisoryIDs: ['INTEL-SA-TEST-0'],
      },
    ],
  };
}

export const QE_MRSIGNER = '8C4F5775D796503E96137F77C68A829A0056AC8DED70140B081B094490C57BFF';

export function defaultQeIdentity(): Record<string, unknown> {
  return {
    id: 'QE',
    version: 2,
    issueDate: '2026-01-01T00:00:00Z',
    nextUpdate: '2026-02-01T00:00:00Z',
    tcbEvaluationDataNumber: 18,
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: '11000000000000000000000000000000',
    attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
    mrsigner: QE_MRSIGNER,
    isvprodid: 1,
    tcbLevels: [
      { tcb: { isvsvn: 8 }, tcbDate: '2025-05-14T00:00:00Z', tcbStatus: 'UpToDate' },
      {
        tcb: { isvsvn: 0 },
        tcbDate: '2018-01-04T00:00:00Z',
        tcbStatus: 'OutOfDate',
        advisoryIDs: ['INTEL-SA-QE-0'],
      },
    ],
  };
}

/** Verification time inside every default validity window. */
export const TEST_NOW = new Date('2026-01-15T00:00:00Z');

/** One variation of the default SGX case. */
export interface SgxCaseOptions {
  readonly pck?: CertKey;
  /** PEM blocks of the quote's certification data (default leaf, Processor CA, root). */
  readonly chainPems?: (pki: TestPki, pck: CertKey) => string[];
  readonly tcbInfo?: (body: Record<string, unknown>) => Record<string, unknown>;
  readonly tcbInfoText?: (signedDoc: string) => string;
  readonly tcbInfoChain?: (pki: TestPki) => string;
  readonly qeIdentity?: (body: Record<string, unknown>) => Record<string, unknown>;
  readonly qeIdentityText?: (signedDoc: string) => string;
  readonly pckCrl?: CrlOptions & { signer?: CertKey };
  readonly rootCrl?: CrlOptions & { signer?: CertKey };
  readonly pckCrlChain?: (pki: TestPki) => string;
  /** Changes to the enclave report body. */
  readonly report?: Partial<ReportBody>;
  /** Changes to the QE report body (before signing). */
  readonly qeReport?: Partial<ReportBody>;
  /** Replace the computed QE report data. */
  readonly qeReportData?: Uint8Array;
  readonly header?: Partial<QuoteHeader>;
}

/** A generated case: quote, collateral and verify options that trust the test root. */
export interface SgxCase {
  readonly quote: Uint8Array;
  readonly collateral: RawCollateral;
  readonly options: VerifyOptions;
  readonly pki: TestPki;
}

/** Builds an SGX v3 quote plus collateral from `pki`, with one variation from `o`. */
export async function buildSgxCase(pki: TestPki, o: SgxCaseOptions = {}): Promise<SgxCase> {
  const pck = o.pck ?? pki.pck;
  const tcbBody = JSON.stringify((o.tcbInfo ?? ((b) => b))(defaultTcbInfo()));
  let tcbDoc = signedDocument('tcbInfo', tcbBody, pki.tcbSigning.privateKey);
  if (o.tcbInfoText) tcbDoc = o.tcbInfoText(tcbDoc);
  const qeBody = JSON.stringify((o.qeIdentity ?? ((b) => b))(defaultQeIdentity()));
  let qeDoc = signedDocument('enclaveIdentity', qeBody, pki.tcbSigning.privateKey);
  if (o.qeIdentityText) qeDoc = o.qeIdentityText(qeDoc);
  const tcbChain = o.tcbInfoChain?.(pki) ?? pki.tcbSigning.pem + pki.root.pem;

  const attKeys = await newKeys();
  const attPriv = KeyObject.from(attKeys.privateKey);
  const jwk = KeyObject.from(attKeys.publicKey).export({ format: 'jwk' });
  const attestationKey = Uint8Array.from([
    ...Buffer.from(jwk.x ?? '', 'base64url'),
    ...Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const binding = createHash('sha256').update(attestationKey).update(qeAuthData).digest();
  const qeReportData = o.qeReportData ?? Uint8Array.from([...binding, ...new Uint8Array(32)]);
  const qeReport = emptyReportBody({
    cpuSvn: Uint8Array.from(DEFAULT_PLATFORM.components),
    attributes: { flags: 0x15n, xfrm: 0xe7n },
    mrSigner: new Uint8Array(Buffer.from(QE_MRSIGNER, 'hex')),
    isvProdId: 1,
    isvSvn: 8,
    reportData: qeReportData,
    ...o.qeReport,
  });
  const qeReportRaw = encodeReportBody(qeReport);
  const report = emptyReportBody({
    attributes: { flags: 0x05n, xfrm: 0x03n },
    mrEnclave: new Uint8Array(32).fill(0x11),
    mrSigner: new Uint8Array(32).fill(0x22),
    reportData: new Uint8Array(64).fill(0x33),
    ...o.report,
  });
  const header: QuoteHeader = {
    version: 3,
    attestationKeyType: 2,
    teeType: 0,
    qeSvn: 8,
    pceSvn: 13,
    qeVendorId: INTEL_QE_VENDOR_ID,
    userData: new Uint8Array(20),
    ...o.header,
  };
  const body = { kind: 'sgx' as const, report };
  const signature = signText(attPriv, encodeQuoteSignedData({ header, body }));
  const chainPems = o.chainPems?.(pki, pck) ?? [pck.pem, pki.processorCa.pem, pki.root.pem];
  const quote = encodeQuote({
    header,
    body,
    signature,
    attestationKey,
    qeReport: qeReportRaw,
    qeReportSignature: signText(pck.privateKey, qeReportRaw),
    qeAuthData,
    certification: { type: 5, data: pemChainToCertificationData(chainPems) },
  });
  const collateral: RawCollateral = {
    tcbInfo: tcbDoc,
    tcbInfoIssuerChain: tcbChain,
    qeIdentity: qeDoc,
    qeIdentityIssuerChain: pki.tcbSigning.pem + pki.root.pem,
    pckCrl: await makeCrl(o.pckCrl?.signer ?? pki.processorCa, o.pckCrl),
    pckCrlIssuerChain: o.pckCrlChain?.(pki) ?? pki.processorCa.pem + pki.root.pem,
    rootCaCrl: await makeCrl(o.rootCrl?.signer ?? pki.root, o.rootCrl),
  };
  return {
    quote,
    collateral,
    options: { now: TEST_NOW, dangerous: { extraTrustAnchors: [pki.root.pem] } },
    pki,
  };
}
