/**
 * Creating RA-TLS certificates and CSRs, and reading the evidence out of one. Checks live in
 * verify.ts; here a certificate is only taken apart.
 */
import { KeyObject, X509Certificate as NodeX509, createHash, createPrivateKey, webcrypto } from 'node:crypto';
import {
  BasicConstraintsExtension,
  cryptoProvider,
  Extension,
  Pkcs10CertificateRequest,
  Pkcs10CertificateRequestGenerator,
  X509Certificate,
  X509CertificateGenerator,
} from '@peculiar/x509';
import { FormatError, decodeQuote, derChildren, readDerElement, type Quote } from '../core/index.ts';
import { RatlsFormatError, RatlsOptionsError } from './errors.ts';
import {
  FORMAT_OIDS,
  RATLS_FORMATS,
  decodeExtensionValue,
  extensionOid,
  extensionValue,
  reportDataFor,
  type KeyBinding,
  type RatlsFormat,
} from './formats.ts';

// The same provider src/kube/tls.ts installs: Node's WebCrypto.
cryptoProvider.set(webcrypto);
const subtle = webcrypto.subtle;

/** Produces a quote whose REPORTDATA is `reportData` (64 bytes): the enclave's side of RA-TLS. */
export type Quoter = (reportData: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Options of `createRatlsCertificate` and `createRatlsCsr`. */
export interface CreateRatlsOptions {
  readonly format: RatlsFormat;
  /** Gets the quote over the key binding (see `simulatedQuoter` for the simulated platform). */
  readonly quoter: Quoter;
  /** Subject (and, self-signed, issuer) distinguished name. Default `CN=ccnodes RA-TLS,O=ccnodes`. */
  readonly subject?: string;
  /** Validity; default: one hour before now to one year after. */
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** ECDSA curve of the generated key; default P-384 for Gramine formats (as Gramine), P-256 for ego (as EGo). */
  readonly curve?: 'P-256' | 'P-384';
}

/** A created certificate (or CSR) with its private key. */
export interface CreatedRatls {
  readonly format: RatlsFormat;
  /** DER of the certificate or CSR. */
  readonly der: Uint8Array;
  readonly pem: string;
  /** PKCS#8 PEM of the private key. */
  readonly keyPem: string;
  readonly quote: Uint8Array;
  /** The REPORTDATA the quote was asked to carry. */
  readonly reportData: Uint8Array;
}

function checkFormat(format: string): asserts format is RatlsFormat {
  if (!(RATLS_FORMATS as readonly string[]).includes(format))
    throw new RatlsOptionsError(`format: "${format}" is not one of ${RATLS_FORMATS.join(', ')}`, {
      option: 'format',
    });
}

function toPem(der: Uint8Array, label: string): string {
  const lines =
    Buffer.from(der)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function keyAndEvidence(options: CreateRatlsOptions): Promise<{
  keys: webcrypto.CryptoKeyPair;
  keyPem: string;
  extension: Extension;
  quote: Uint8Array;
  reportData: Uint8Array;
}> {
  checkFormat(options.format);
  const namedCurve = options.curve ?? (options.format === 'ego' ? 'P-256' : 'P-384');
  const keys = await subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify']);
  const spki = new Uint8Array(await subtle.exportKey('spki', keys.publicKey));
  const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', keys.privateKey));
  const reportData = reportDataFor(options.format, spki);
  const quote = await options.quoter(reportData.slice());
  const value = extensionValue(options.format, quote, spki);
  return {
    keys,
    keyPem: toPem(pkcs8, 'PRIVATE KEY'),
    extension: new Extension(extensionOid(options.format), false, value),
    quote,
    reportData,
  };
}

/** Creates a fresh ECDSA key and a self-signed certificate whose extension carries a quote binding it. */
export async function createRatlsCertificate(options: CreateRatlsOptions): Promise<CreatedRatls> {
  const { keys, keyPem, extension, quote, reportData } = await keyAndEvidence(options);
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: options.subject ?? 'CN=ccnodes RA-TLS,O=ccnodes',
    notBefore: options.notBefore ?? new Date(now - 3_600_000),
    notAfter: options.notAfter ?? new Date(now + 365 * 86_400_000),
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new BasicConstraintsExtension(false), extension],
  });
  const der = new Uint8Array(cert.rawData);
  return { format: options.format, der, pem: toPem(der, 'CERTIFICATE'), keyPem, quote, reportData };
}

/**
 * Creates a fresh key and a PKCS#10 request carrying the RA-TLS extension, for a CA (an
 * attestation service) to issue a certificate that keeps the extension.
 */
export async function createRatlsCsr(
  options: Omit<CreateRatlsOptions, 'notBefore' | 'notAfter'>,
): Promise<CreatedRatls> {
  const { keys, keyPem, extension, quote, reportData } = await keyAndEvidence(options);
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: options.subject ?? 'CN=ccnodes RA-TLS,O=ccnodes',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [extension],
  });
  const der = new Uint8Array(csr.rawData);
  return { format: options.format, der, pem: toPem(der, 'CERTIFICATE REQUEST'), keyPem, quote, reportData };
}

// ---------------------------------------------------------------------------------------------
// Parsing

/** The evidence read from an RA-TLS certificate (not yet checked). */
export interface RatlsEvidence {
  readonly format: RatlsFormat;
  /** The extension's OID as found. */
  readonly oid: string;
  readonly quoteBytes: Uint8Array;
  readonly quote: Quote;
  readonly binding: KeyBinding;
}

/** A certificate or CSR taken apart. */
export interface ParsedRatlsCertificate {
  readonly kind: 'certificate' | 'csr';
  readonly der: Uint8Array;
  /** DER SubjectPublicKeyInfo of the certified key. */
  readonly spki: Uint8Array;
  readonly subject: string;
  readonly issuer?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** Issuer name equals subject name (a self-signed RA-TLS certificate). */
  readonly selfIssued: boolean;
  /** The evidence used: TCG DICE before Gramine legacy before EGo/Open Enclave (Gramine's order). */
  readonly evidence: RatlsEvidence;
  /** Formats whose extension is present (more than one for Gramine ≥ 1.8 certificates). */
  readonly formatsPresent: readonly RatlsFormat[];
}

const PEM_RE =
  /-----BEGIN (CERTIFICATE|CERTIFICATE REQUEST|NEW CERTIFICATE REQUEST)-----([\s\S]*?)-----END \1-----/g;

/**
 * Reads PEM (exactly one certificate or CSR) or DER input.
 * @throws RatlsFormatError `ERR_RATLS_CERT_FORMAT`.
 */
export function readCertificateInput(input: Uint8Array | string): {
  der: Uint8Array;
  kind: 'certificate' | 'csr';
} {
  // DER first: an RA-TLS certificate's quote embeds PEM text (the PCK chain), so a DER input
  // contains BEGIN markers too; a DER SEQUENCE whose length covers the whole input is DER.
  if (typeof input !== 'string' && isWholeDerSequence(input))
    return { der: input, kind: derIsCsr(input) ? 'csr' : 'certificate' };
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  if (text.includes('-----BEGIN ')) {
    const blocks = [...text.matchAll(PEM_RE)];
    if (blocks.length !== 1 || blocks[0] === undefined)
      throw new RatlsFormatError(
        'ERR_RATLS_CERT_FORMAT',
        `expected one PEM certificate or CSR, found ${blocks.length}`,
        {
          details: { blocks: blocks.length },
        },
      );
    const [, label, body] = blocks[0];
    const b64 = (body ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length === 0)
      throw new RatlsFormatError('ERR_RATLS_CERT_FORMAT', `PEM ${label ?? ''} body is not base64`, {});
    return {
      der: new Uint8Array(Buffer.from(b64, 'base64')),
      kind: label === 'CERTIFICATE' ? 'certificate' : 'csr',
    };
  }
  throw new RatlsFormatError(
    'ERR_RATLS_CERT_FORMAT',
    'neither a DER SEQUENCE covering the input nor a PEM block',
    {
      details: { bytes: input.length },
    },
  );
}

/**
 * Whether a DER SEQUENCE is a PKCS #10 CertificationRequest rather than an X.509 Certificate. Both
 * are SEQUENCE { info SEQUENCE, AlgorithmIdentifier, BIT STRING }; they differ in the info:
 * a TBSCertificate starts with `[0] version` (v2/v3) or, in v1, `INTEGER serial` followed by the
 * AlgorithmIdentifier (a SEQUENCE starting with an OID), while a CertificationRequestInfo starts
 * with `INTEGER version` followed by the subject Name (a SEQUENCE of SETs, or empty). Anything
 * that does not parse is left to the certificate parser, which names the problem.
 */
function derIsCsr(der: Uint8Array): boolean {
  try {
    const [info] = derChildren(readDerElement(der).content);
    if (info?.tag !== 0x30) return false;
    const [first, second] = derChildren(info.content);
    if (first?.tag !== 0x02 || second?.tag !== 0x30) return false;
    if (second.content.length === 0) return true; // an empty subject Name
    return readDerElement(second.content).tag === 0x31; // a RelativeDistinguishedName SET
  } catch {
    return false;
  }
}

function isWholeDerSequence(b: Uint8Array): boolean {
  if (b.length < 2 || b[0] !== 0x30) return false;
  const first = b[1] ?? 0;
  if (first < 0x80) return 2 + first === b.length;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || b.length < 2 + n) return false;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + (b[2 + i] ?? 0);
  return 2 + n + len === b.length;
}

function asnFailure(what: string, cause: unknown): RatlsFormatError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new RatlsFormatError('ERR_RATLS_CERT_FORMAT', `not a DER ${what}: ${reason}`, { cause });
}

/**
 * Takes an RA-TLS certificate (or CSR) apart: key, names, validity and the quote of the first
 * RA-TLS extension found (DICE, then Gramine legacy, then EGo/Open Enclave), or of `format` only.
 * @throws RatlsFormatError `ERR_RATLS_CERT_FORMAT`, `ERR_RATLS_NO_EXTENSION`, `ERR_RATLS_EXTENSION_PAYLOAD`.
 */
export function parseRatlsCertificate(
  input: Uint8Array | string,
  options: { format?: RatlsFormat } = {},
): ParsedRatlsCertificate {
  if (options.format !== undefined) checkFormat(options.format);
  const { der, kind } = readCertificateInput(input);
  // The same peer certificate comes back on every handshake: parsing is pure on the bytes, so the
  // result is kept (the checks that depend on the time or collateral are never cached).
  const key = `${options.format ?? ''}|${kind}|${createHash('sha256').update(der).digest('hex')}`;
  const hit = parseCache.get(key);
  if (hit !== undefined) return hit;
  const parsed = parseUncached(der.slice(), kind, options); // a private copy: callers may reuse buffers
  if (parseCache.size >= PARSE_CACHE_LIMIT) parseCache.clear();
  parseCache.set(key, parsed);
  return parsed;
}

const PARSE_CACHE_LIMIT = 256;
const parseCache = new Map<string, ParsedRatlsCertificate>();

function parseUncached(
  der: Uint8Array,
  kind: 'certificate' | 'csr',
  options: { format?: RatlsFormat },
): ParsedRatlsCertificate {
  let extensions: readonly Extension[];
  let spki: Uint8Array;
  let subject: string;
  let issuer: string | undefined;
  let notBefore: Date | undefined;
  let notAfter: Date | undefined;
  if (kind === 'certificate') {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch (cause) {
      throw asnFailure('X.509 certificate', cause);
    }
    extensions = cert.extensions;
    spki = new Uint8Array(cert.publicKey.rawData);
    subject = cert.subject;
    issuer = cert.issuer;
    notBefore = cert.notBefore;
    notAfter = cert.notAfter;
  } else {
    let csr: Pkcs10CertificateRequest;
    try {
      csr = new Pkcs10CertificateRequest(der);
    } catch (cause) {
      throw asnFailure('PKCS#10 request', cause);
    }
    extensions = csr.extensions;
    spki = new Uint8Array(csr.publicKey.rawData);
    subject = csr.subject;
  }
  const byOid = new Map<string, Extension[]>();
  for (const e of extensions) byOid.set(e.type, [...(byOid.get(e.type) ?? []), e]);
  const present: RatlsFormat[] = [];
  let chosen: { format: RatlsFormat; ext: Extension } | undefined;
  for (const format of ['gramine-dice', 'gramine', 'ego'] as const) {
    for (const oid of FORMAT_OIDS[format]) {
      const found = byOid.get(oid);
      if (found === undefined) continue;
      if (found.length > 1)
        throw new RatlsFormatError(
          'ERR_RATLS_EXTENSION_PAYLOAD',
          `extension ${oid} appears ${found.length} times`,
          {
            details: { oid },
          },
        );
      if (!present.includes(format)) present.push(format);
      if (
        chosen === undefined &&
        (options.format === undefined || options.format === format) &&
        found[0] !== undefined
      )
        chosen = { format, ext: found[0] };
    }
  }
  if (chosen === undefined)
    throw new RatlsFormatError(
      'ERR_RATLS_NO_EXTENSION',
      options.format === undefined
        ? `no RA-TLS extension (looked for ${Object.values(FORMAT_OIDS).flat().join(', ')})`
        : `no ${options.format} RA-TLS extension (${FORMAT_OIDS[options.format].join(' or ')})` +
            (present.length > 0 ? `; the certificate carries ${present.join(', ')}` : ''),
      { details: { format: options.format ?? null, present } },
    );
  const oid = chosen.ext.type;
  const payload = decodeExtensionValue(chosen.format, oid, new Uint8Array(chosen.ext.value));
  let quote: Quote;
  try {
    quote = decodeQuote(payload.quote);
  } catch (cause) {
    if (!(cause instanceof FormatError)) throw cause;
    throw new RatlsFormatError(
      'ERR_RATLS_EXTENSION_PAYLOAD',
      `extension ${oid}: the quote does not decode: ${cause.message} (${cause.code})`,
      {
        details: { oid, formatCode: cause.code },
        cause,
      },
    );
  }
  return {
    kind,
    der,
    spki,
    subject,
    ...(issuer === undefined ? {} : { issuer }),
    ...(notBefore === undefined ? {} : { notBefore }),
    ...(notAfter === undefined ? {} : { notAfter }),
    selfIssued: issuer !== undefined && issuer === subject,
    evidence: { format: chosen.format, oid, quoteBytes: payload.quote, quote, binding: payload.binding },
    formatsPresent: present,
  };
}

/**
 * Node's view of a DER certificate (for its signature check). Node reads a buffer as PEM first and
 * finds the first BEGIN CERTIFICATE marker anywhere in it — an RA-TLS certificate's quote carries
 * the PEM PCK chain, so DER input would be read as the embedded PCK certificate. Passing our own
 * PEM of the DER makes the certificate itself the first (and only outer) block.
 */
export function nodeCertificate(der: Uint8Array): NodeX509 {
  return new NodeX509(toPem(der, 'CERTIFICATE'));
}

/** The private key of a `CreatedRatls` as a Node KeyObject. */
export function privateKeyOf(created: Pick<CreatedRatls, 'keyPem'>): KeyObject {
  return createPrivateKey(created.keyPem);
}
