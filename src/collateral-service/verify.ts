/**
 * Verification of single collateral artefacts before they are cached or served. A quote is not
 * needed: each artefact is checked on its own against the configured trusted root.
 *
 * | artefact | checks |
 * |---|---|
 * | Root CA CRL | DER/PEM/hex X.509 CRL; issuer = the trusted root's subject; CRL Number and AKI present; signature by the trusted root's key |
 * | PCK CRL | issuer chain of exactly 2 (PCK CA, root), signatures checked, root = trusted root, CA not on the Root CA CRL; CRL issuer = CA subject, CRL Number and AKI, signature by the CA |
 * | TCB Info, QE/QvE/TD_QE Identity | core's signed-document preparation (exact received bytes, 2-certificate chain ordered and signature-checked), root = trusted root, signing certificate not on the Root CA CRL; the document's `id` matches the API (SGX/TDX, QE/QVE/TD_QE) and the TCB Info FMSPC the one asked for |
 * | PCK certificate | issuer chain of 2 (PCK CA, root) to the trusted root, CA not on the Root CA CRL, leaf signed by the CA and not on the PCK CRL of that CA; its PCE-ID the one asked for; `SGX-FMSPC` and `SGX-PCK-Certificate-CA-Type` headers agree with the certificate; a `pckcerts` list: all of one platform (PPID, FMSPC) |
 *
 * The trusted root is Intel's SGX Root CA (pinned by its public key, as the quote verifier does),
 * or — only when configured explicitly — the ccnodes simulated root, compared byte for byte.
 * Time: validity windows are not a reason to refuse an artefact (an expired one is reported as
 * expired by the service and its metrics, as Intel's QvE reports expiry separately), but every
 * signature, chain, issuer and revocation check fails closed.
 */
import { verify as cryptoVerify } from 'node:crypto';
import {
  INTEL_SGX_ROOT_CA_PEM,
  INTEL_SGX_ROOT_CA_PUBLIC_KEY,
  SIMULATED_ROOT_CN,
  crlDer,
  parseCertificate,
  parseCrl,
  parsePemChain,
  pckExtensionsOf,
  pemCertificates,
  prepareCollateral,
  type ParsedCert,
  type PckExtensions,
  type ParsedCrl,
} from '../core/index.ts';
import { CHAIN_HEADER, H, describeSpec, type ArtefactSpec, type StoredArtefact } from './artefacts.ts';
import { CollateralServiceConfigError, CollateralVerifyError } from './errors.ts';

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** The root every artefact must chain to. */
export interface TrustRoot {
  readonly kind: 'intel' | 'simulated';
  readonly cert: ParsedCert;
}

/** Intel's SGX Root CA, or the simulated root given as PEM (only when explicitly configured). */
export function trustRoot(simulatedRootPem?: string): TrustRoot {
  if (simulatedRootPem === undefined) {
    const [der] = pemCertificates(INTEL_SGX_ROOT_CA_PEM);
    return { kind: 'intel', cert: parseCertificate(der as Uint8Array) };
  }
  let cert: ParsedCert;
  try {
    const [der] = pemCertificates(simulatedRootPem);
    if (der === undefined) throw new Error('no PEM certificate');
    cert = parseCertificate(der);
  } catch (cause) {
    throw new CollateralServiceConfigError(
      '--trust-simulated-root: not a PEM certificate',
      { field: 'trust-simulated-root' },
      cause,
    );
  }
  if (cert.subjectCn !== SIMULATED_ROOT_CN || !cert.selfIssued)
    throw new CollateralServiceConfigError(
      `--trust-simulated-root: "${cert.subjectText}" is not the ccnodes simulated root (${SIMULATED_ROOT_CN})`,
      { field: 'trust-simulated-root' },
    );
  return { kind: 'simulated', cert };
}

/** What verification found out about an artefact. */
export interface VerifiedArtefact {
  /** `nextUpdate` of a CRL or signed document; the leaf's `notAfter` for a PCK certificate. */
  readonly expiresAt: Date;
  /** The parsed CRL (CRL artefacts), used to check other artefacts. */
  readonly crl?: ParsedCrl;
  /** FMSPC and CA of a PCK certificate (upper-case hex; from the certificate). */
  readonly pck?: { readonly fmspc: string; readonly ca: 'processor' | 'platform' };
}

/** The CRLs other artefacts are checked against. */
export interface RevocationSources {
  readonly rootCaCrl: ParsedCrl | undefined;
  pckCrl(ca: 'processor' | 'platform'): ParsedCrl | undefined;
}

function fail(spec: ArtefactSpec, check: string, message: string, cause?: unknown): never {
  throw new CollateralVerifyError(
    `${describeSpec(spec)}: ${message}`,
    { artefact: describeSpec(spec), check },
    cause,
  );
}

function signedBy(tbs: Uint8Array, signature: Uint8Array, algorithm: string, issuer: ParsedCert): boolean {
  if (algorithm !== ECDSA_WITH_SHA256) return false;
  try {
    return cryptoVerify('sha256', tbs, issuer.publicKey, signature);
  } catch {
    return false;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a).equals(Buffer.from(b));
}

/** True when `root` is the configured trusted root (Intel: pinned key; simulated: exact certificate). */
function isTrusted(root: ParsedCert, trust: TrustRoot): boolean {
  if (!root.selfIssued || !signedBy(root.tbs, root.signature, root.signatureAlgorithm, root)) return false;
  if (trust.kind === 'intel') return root.publicKeyHex === INTEL_SGX_ROOT_CA_PUBLIC_KEY;
  return sameBytes(root.der, trust.cert.der);
}

/** The URL-decoded issuer chain header of an artefact. */
export function issuerChainOf(a: Pick<StoredArtefact, 'spec' | 'headers'>): string {
  const name = CHAIN_HEADER[a.spec.kind][0];
  const raw = name === undefined ? undefined : a.headers[name];
  if (raw === undefined)
    return fail(a.spec, 'issuer-chain', `the ${name ?? 'issuer chain'} header is missing`);
  try {
    return decodeURIComponent(raw);
  } catch (cause) {
    return fail(a.spec, 'issuer-chain', `the ${name ?? ''} header is not URL-encoded PEM`, cause);
  }
}

/**
 * A two-certificate issuer chain (issuing CA or signing certificate, then root): both signatures
 * verify, the root is the trusted root, and the issuing certificate is not on the Root CA CRL.
 */
function checkChain(
  spec: ArtefactSpec,
  pem: string,
  trust: TrustRoot,
  rootCrl: ParsedCrl | undefined,
): ParsedCert {
  let certs: ParsedCert[];
  try {
    certs = parsePemChain(pem);
  } catch (cause) {
    return fail(spec, 'issuer-chain', 'issuer chain is not PEM certificates', cause);
  }
  if (certs.length !== 2)
    fail(spec, 'issuer-chain', `issuer chain has ${certs.length} certificates, expected 2`);
  const root = certs.find((c) => c.selfIssued);
  const issuer = certs.find((c) => !c.selfIssued);
  if (root === undefined || issuer === undefined)
    return fail(spec, 'issuer-chain', 'issuer chain is not an issuing certificate and a root');
  if (!isTrusted(root, trust))
    fail(
      spec,
      'trusted-root',
      `issuer chain root "${root.subjectText}" is not the trusted ${trust.kind === 'intel' ? 'Intel SGX Root CA' : 'simulated root'}`,
    );
  if (
    issuer.issuerHex !== root.subjectHex ||
    !signedBy(issuer.tbs, issuer.signature, issuer.signatureAlgorithm, root)
  )
    fail(spec, 'issuer-chain', `"${issuer.subjectText}" is not signed by the root`);
  if (rootCrl === undefined)
    fail(spec, 'revocation', 'no verified Root CA CRL to check the issuer chain against');
  if (rootCrl.revoked.has(issuer.serial))
    fail(spec, 'revocation', `"${issuer.subjectText}" (serial ${issuer.serial}) is on the Root CA CRL`);
  return issuer;
}

function checkCrl(spec: ArtefactSpec, crl: ParsedCrl, issuer: ParsedCert): void {
  if (!crl.hasCrlNumber || !crl.hasAuthorityKeyId)
    fail(spec, 'crl', 'the CRL lacks the CRL Number or Authority Key Identifier extension');
  if (crl.issuerHex !== issuer.subjectHex)
    fail(spec, 'crl-issuer', `CRL issuer "${crl.issuerText}" is not "${issuer.subjectText}"`);
  if (!signedBy(crl.tbs, crl.signature, crl.signatureAlgorithm, issuer))
    fail(spec, 'crl-signature', `CRL signature does not verify with "${issuer.subjectText}"`);
  if (crl.nextUpdate === undefined) fail(spec, 'crl', 'the CRL has no nextUpdate');
}

function parseCrlBody(spec: ArtefactSpec, body: Uint8Array): ParsedCrl {
  try {
    return parseCrl(crlDer(body, spec.kind), spec.kind);
  } catch (cause) {
    return fail(spec, 'crl', 'body is not an X.509 CRL (DER, PEM or hex)', cause);
  }
}

const EMPTY = new Uint8Array();

function checkSignedDoc(
  a: Pick<StoredArtefact, 'spec' | 'body' | 'headers'>,
  trust: TrustRoot,
  rootCrl: ParsedCrl | undefined,
): Date {
  const spec = a.spec;
  const text = Buffer.from(a.body).toString('utf8');
  const chain = issuerChainOf(a);
  checkChain(spec, chain, trust, rootCrl);
  // Core's preparation does the document checks (exact bytes, chain order and signatures); the
  // other artefacts of the set are left empty and not looked at.
  const isTcb = spec.kind === 'tcb';
  const prepared = prepareCollateral({
    tcbInfo: isTcb ? text : '',
    tcbInfoIssuerChain: isTcb ? chain : '',
    qeIdentity: isTcb ? '' : text,
    qeIdentityIssuerChain: isTcb ? '' : chain,
    pckCrl: EMPTY,
    pckCrlIssuerChain: '',
    rootCaCrl: EMPTY,
  });
  if (isTcb) {
    const doc = prepared.tcbInfo;
    if (!doc.ok) return fail(spec, 'signature', doc.error.message, doc.error);
    const info = doc.value.body;
    const wantId = spec.tee === 'tdx' ? 'TDX' : 'SGX';
    if (info.id !== wantId) fail(spec, 'content', `TCB Info id ${info.id} is not ${wantId}`);
    if (info.fmspcHex.toUpperCase() !== spec.fmspc)
      fail(spec, 'content', `TCB Info is for FMSPC ${info.fmspcHex.toUpperCase()}, not ${spec.fmspc}`);
    return info.nextUpdate;
  }
  const doc = prepared.qeIdentity;
  if (!doc.ok) return fail(spec, 'signature', doc.error.message, doc.error);
  const id = doc.value.body;
  const wantId = spec.kind === 'qve' ? 'QVE' : spec.tee === 'tdx' ? 'TD_QE' : 'QE';
  if (id.id !== wantId) fail(spec, 'content', `enclave identity id ${id.id} is not ${wantId}`);
  return id.nextUpdate;
}

/**
 * Verifies one artefact (see the module comment). CRL artefacts return their parsed CRL, so the
 * caller can check later artefacts against it.
 *
 * @throws CollateralVerifyError naming the artefact and the failed check.
 */
export function verifyArtefact(
  a: Pick<StoredArtefact, 'spec' | 'body' | 'headers'>,
  trust: TrustRoot,
  crls: RevocationSources,
): VerifiedArtefact {
  const spec = a.spec;
  switch (spec.kind) {
    case 'rootcacrl': {
      const crl = parseCrlBody(spec, a.body);
      checkCrl(spec, crl, trust.cert);
      return { expiresAt: crl.nextUpdate as Date, crl };
    }
    case 'pckcrl': {
      const crl = parseCrlBody(spec, a.body);
      const ca = checkChain(spec, issuerChainOf(a), trust, crls.rootCaCrl);
      const kind = /platform/i.test(ca.subjectCn)
        ? 'platform'
        : /processor/i.test(ca.subjectCn)
          ? 'processor'
          : undefined;
      if (kind !== spec.ca)
        fail(spec, 'content', `issuer chain names "${ca.subjectCn}", not the ${spec.ca} CA`);
      checkCrl(spec, crl, ca);
      return { expiresAt: crl.nextUpdate as Date, crl };
    }
    case 'tcb':
    case 'qe':
    case 'qve':
      return { expiresAt: checkSignedDoc(a, trust, crls.rootCaCrl) };
    case 'pckcert':
      return verifyPckCert(
        spec,
        Buffer.from(a.body).toString('latin1'),
        a.headers,
        issuerChainOf(a),
        trust,
        crls,
      );
    case 'pckcerts':
      return verifyPckCerts(a, trust, crls);
  }
}

/**
 * `pckcerts`: a JSON array of `{tcb, tcbm, cert}` where `cert` is a URL-encoded PEM certificate or
 * "Not available"; every available certificate is checked as a single PCK certificate, and at
 * least one must be there. Expires with the first certificate to expire.
 */
function verifyPckCerts(
  a: Pick<StoredArtefact, 'spec' | 'body' | 'headers'>,
  trust: TrustRoot,
  crls: RevocationSources,
): VerifiedArtefact {
  const spec = a.spec;
  let list: unknown;
  try {
    list = JSON.parse(Buffer.from(a.body).toString('utf8'));
  } catch (cause) {
    return fail(spec, 'certificate', 'body is not JSON', cause);
  }
  if (!Array.isArray(list)) return fail(spec, 'certificate', 'body is not a JSON array');
  const chain = issuerChainOf(a);
  let first: VerifiedArtefact | undefined;
  let platform: { readonly index: number; readonly fmspc: string; readonly ppid: string } | undefined;
  for (const [i, item] of (list as unknown[]).entries()) {
    const cert = (item as { cert?: unknown } | null)?.cert;
    if (typeof cert !== 'string') return fail(spec, 'certificate', `entry ${i} has no cert`);
    if (cert === 'Not available') continue;
    let pem: string;
    try {
      pem = decodeURIComponent(cert);
    } catch (cause) {
      return fail(spec, 'certificate', `entry ${i}: cert is not URL-encoded PEM`, cause);
    }
    const { result: v, ppid } = checkPckCert(spec, pem, a.headers, chain, trust, crls);
    const fmspc = v.pck?.fmspc ?? '';
    // one platform's list: every certificate names the same platform (PPID) and FMSPC
    if (platform === undefined) platform = { index: i, fmspc, ppid };
    else if (ppid !== platform.ppid || fmspc !== platform.fmspc)
      fail(
        spec,
        'content',
        `entry ${i} is for another platform (PPID ${ppid}, FMSPC ${fmspc}) than entry ${platform.index} (PPID ${platform.ppid}, FMSPC ${platform.fmspc})`,
      );
    if (first === undefined || v.expiresAt < first.expiresAt) first = v;
  }
  if (first === undefined) return fail(spec, 'certificate', 'no certificate is available');
  return first;
}

function verifyPckCert(
  spec: ArtefactSpec,
  bodyPem: string,
  headers: Readonly<Record<string, string>>,
  chainPem: string,
  trust: TrustRoot,
  crls: RevocationSources,
): VerifiedArtefact {
  return checkPckCert(spec, bodyPem, headers, chainPem, trust, crls).result;
}

/** {@link verifyPckCert}, also giving the certificate's PPID (upper-case hex) for the list check. */
function checkPckCert(
  spec: ArtefactSpec,
  bodyPem: string,
  headers: Readonly<Record<string, string>>,
  chainPem: string,
  trust: TrustRoot,
  crls: RevocationSources,
): { readonly result: VerifiedArtefact; readonly ppid: string } {
  const ca = checkChain(spec, chainPem, trust, crls.rootCaCrl);
  let leaf: ParsedCert;
  try {
    const ders = pemCertificates(bodyPem);
    if (ders.length !== 1) throw new Error(`${ders.length} certificates in the body`);
    leaf = parseCertificate(ders[0] as Uint8Array);
  } catch (cause) {
    return fail(spec, 'certificate', 'body is not one PEM certificate', cause);
  }
  if (leaf.issuerHex !== ca.subjectHex || !signedBy(leaf.tbs, leaf.signature, leaf.signatureAlgorithm, ca))
    fail(spec, 'certificate', `the PCK certificate is not signed by "${ca.subjectText}"`);
  const caKind = /platform/i.test(ca.subjectCn) ? 'platform' : 'processor';
  const pckCrl = crls.pckCrl(caKind);
  if (pckCrl === undefined)
    fail(spec, 'revocation', `no verified PCK CRL of the ${caKind} CA to check the certificate against`);
  if (pckCrl.revoked.has(leaf.serial))
    fail(spec, 'revocation', `PCK certificate ${leaf.serial} is on the PCK CRL`);
  let ext: PckExtensions;
  try {
    ext = pckExtensionsOf(leaf);
  } catch (cause) {
    return fail(spec, 'certificate', 'the PCK certificate lacks the SGX extensions', cause);
  }
  const fmspc = ext.fmspcHex.toUpperCase();
  const pceId = ext.pceIdHex.toUpperCase();
  if ((spec.kind === 'pckcert' || spec.kind === 'pckcerts') && pceId !== spec.pceid.toUpperCase())
    fail(spec, 'content', `the PCK certificate's PCE-ID ${pceId} is not the one asked for (${spec.pceid})`);
  const headerFmspc = headers[H.fmspc];
  if (headerFmspc !== undefined && headerFmspc.toUpperCase() !== fmspc)
    fail(spec, 'content', `SGX-FMSPC ${headerFmspc} disagrees with the certificate's FMSPC ${fmspc}`);
  const headerCa = headers[H.pckCertificateCaType];
  if (headerCa !== undefined && headerCa.toLowerCase() !== caKind)
    fail(
      spec,
      'content',
      `SGX-PCK-Certificate-CA-Type ${headerCa} disagrees with the issuing CA (${caKind})`,
    );
  return {
    result: { expiresAt: leaf.notAfter, pck: { fmspc, ca: caKind } },
    ppid: Buffer.from(ext.ppid).toString('hex').toUpperCase(),
  };
}

/** Which PCK CA issued a PCK certificate issuer chain (by the CA's CN; `processor` when unclear). */
export function caKindOfChain(pem: string): 'processor' | 'platform' {
  try {
    const ca = parsePemChain(pem).find((c) => !c.selfIssued);
    return ca !== undefined && /platform/i.test(ca.subjectCn) ? 'platform' : 'processor';
  } catch {
    return 'processor';
  }
}
