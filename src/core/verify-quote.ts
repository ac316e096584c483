/**
 * DCAP quote verification (SGX, and TDX with the same chain, signature and TCB logic), following
 * Intel's QVL/QvE as described in spec/dcap.md §3–§4. Pure: no I/O and no clock — the caller
 * passes `now`. Every failure is a `VerificationError` with a stable code and the step number:
 *
 *  1. parse-quote: decode; version, key type, TEE type, QE vendor, certification data type 5.
 *  2. pck-chain: PCK chain from the quote built by subject/issuer (exactly 3 certificates, Intel
 *     names), every signature checked, root pinned by public key (or a caller-given anchor).
 *  3. crls: Root CA CRL issued and signed by the root; PCK CRL issued by the PCK's issuer (raw
 *     Name equality) and signed by it; both carry CRL Number and AKI; PCK CRL issuer chain valid.
 *  4. revocation: intermediate CAs against the Root CA CRL; PCK serial against the PCK CRL.
 *  5. validity-times: certificates (notBefore ≤ now ≤ notAfter) and CRLs (thisUpdate ≤ now ≤
 *     nextUpdate).
 *  6. tcb-info: issuer chain (2 certificates, trusted root, signer not revoked), signature over
 *     the exact received bytes, certificate times and nextUpdate ≥ now.
 *  7. qe-identity: the same for the QE Identity.
 *  8. tcb-info-match: TCB Info id/version fit the TEE; FMSPC and PCE-ID equal the PCK's.
 *  9. tdx-module: TDX only — MRSIGNERSEAM and SEAMATTRIBUTES against the TDX module identity.
 * 10. qe-report-signature: the QE report is signed by the PCK key.
 * 11. qe-report-data: QE REPORTDATA[0..32] = SHA-256(attestation key ‖ QE auth data).
 * 12. qe-identity-policy: id fits the TEE; MISCSELECT/ATTRIBUTES under masks, MRSIGNER,
 *     ISVPRODID; QE TCB level by ISVSVN.
 * 13. quote-signature: header ‖ body signed by the attestation key.
 * 14. tcb-level: platform TCB level (and TDX level + module level), merged with the QE status.
 * 15. enclave-policy: debug enclaves / TDs refused unless `dangerous.allowDebugEnclave`.
 *
 * Expiry (step 5–7) fails with `ERR_VERIFY_COLLATERAL_EXPIRED` unless
 * `dangerous.allowExpiredCollateral`, in which case the result says `collateralExpired: true`.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import {
  prepareCollateral,
  type PreparedCollateral,
  type PreparedSigned,
  type Prepared,
  type RawCollateral,
} from './collateral.ts';
import { clearCrlCache, crlSignedBy, type ParsedCrl } from './crl.ts';
import type { FormatError } from './errors.ts';
import { pckExtensionsOf, type PckExtensionError, type PckExtensions } from './pck-extensions.ts';
import type { QeIdentity } from './qe-identity.ts';
import { decodeQuote, type Quote } from './quote.ts';
import type { ReportBody } from './report-body.ts';
import type { TcbInfo, TdxModuleIdentity } from './tcb-info.ts';
import {
  mergeQeStatus,
  mergeTdxModuleStatus,
  selectIsvSvnLevel,
  selectSgxLevel,
  selectTdxLevel,
  type TcbLevel,
  type TcbStatus,
} from './tcb-status.ts';
import type { TdReport } from './td-report.ts';
import { classifyRoot, parseAnchor, type TrustAnchors } from './trust-anchors.ts';
import { VerificationError, type VerificationErrorCode, type VerifyStep } from './verify-errors.ts';
import {
  OID,
  buildChain,
  clearX509Caches,
  findLeaf,
  parseCertificate,
  pemCertificates,
  verifyP1363,
  type ChainError,
  type ParsedCert,
} from './x509.ts';

/** Options of `verifyQuote`. */
export interface VerifyOptions {
  /** The verification time: every validity period is checked against it. */
  readonly now: Date;
  /**
   * The ccnodes simulated root certificate (PEM or DER). Chains ending in the simulated root are
   * refused unless exactly this certificate is given; the result then says `simulated: true`.
   */
  readonly trustSimulatedRoot?: string | Uint8Array;
  /** Relaxations. Each one used is listed in `result.relaxations`. */
  readonly dangerous?: {
    /** Accept enclaves/TDs with the DEBUG attribute. */
    readonly allowDebugEnclave?: boolean;
    /** Treat expired collateral as a flag (`collateralExpired`) instead of an error. */
    readonly allowExpiredCollateral?: boolean;
    /** Extra root certificates (PEM or DER) accepted besides Intel's pinned root. */
    readonly extraTrustAnchors?: readonly (string | Uint8Array)[];
  };
}

/** The outcome of a successful verification. */
export interface VerificationResult {
  /** Final TCB status: platform status merged with the QE status (Intel's rules). */
  readonly status: TcbStatus;
  /** Advisory IDs of the matched platform level(s) and QE level, without duplicates. */
  readonly advisoryIds: readonly string[];
  /** Platform status (for TDX: the TDX level merged with the TDX module status). */
  readonly platformStatus: TcbStatus;
  readonly qeStatus: TcbStatus;
  /** `tcbDate` of the matched platform TCB level. */
  readonly tcbDate: string;
  readonly tcbEvaluationDataNumber: number;
  /** Earliest nextUpdate/notAfter over every collateral item and certificate used. */
  readonly collateralExpiry: Date;
  /** True when some collateral was outside its validity at `now` (only with the relaxation). */
  readonly collateralExpired: boolean;
  /** True when the chain ends in the trusted ccnodes simulated root. */
  readonly simulated: boolean;
  /** Names of the dangerous options that changed the outcome. */
  readonly relaxations: readonly string[];
  readonly tee: 'SGX' | 'TDX';
  readonly quote: Quote;
  /** The attested body: SGX report body or TD report. */
  readonly report: ReportBody | TdReport;
  /** FMSPC (lower-case hex) from the PCK certificate. */
  readonly fmspc: string;
  readonly pck: PckExtensions;
}

// ---------------------------------------------------------------------------------------------
// PCK chain cache: everything about a quote's certification data that depends on its bytes only.

interface PckChain {
  readonly leaf: ParsedCert;
  readonly intermediate: ParsedCert;
  readonly root: ParsedCert;
  readonly pck: PckExtensions;
}

const chainCache = new Map<string, Prepared<PckChain>>();
const keyCache = new Map<string, KeyObject | null>();
/** Entries each cache holds at most: a full cache is emptied before the next entry is added. */
export const VERIFY_CACHE_LIMIT = 1024;

/** Adds `entry` under `key` and returns it; a full cache is emptied first (bounds memory only). */
function remember<V>(cache: Map<string, V>, key: string, entry: V): V {
  if (cache.size >= VERIFY_CACHE_LIMIT) cache.clear();
  cache.set(key, entry);
  return entry;
}

function fail(
  code: VerificationErrorCode,
  step: VerifyStep,
  message: string,
  details: Record<string, unknown> = {},
): never {
  throw new VerificationError(code, step, message, { details });
}

/** Most recent certification data and its entry: a byte compare avoids hashing the key. */
let lastChain: { readonly data: Buffer; readonly entry: Prepared<PckChain> } | undefined;

function pckChainOf(quote: Quote): PckChain {
  const data = quote.certification.data;
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (lastChain === undefined || !lastChain.data.equals(view)) {
    const key = view.toString('latin1');
    const entry = chainCache.get(key) ?? remember(chainCache, key, preparePckChain(key));
    lastChain = { data: Buffer.from(view), entry };
  }
  return value(lastChain.entry);
}

/** The PCK chain of certification data, or its refusal (both are cached). */
function preparePckChain(pemText: string): Prepared<PckChain> {
  try {
    return { ok: true, value: buildPckChain(pemText) };
  } catch (error) {
    // buildPckChain turns every failure into a VerificationError (step 2).
    return { ok: false, error: error as VerificationError };
  }
}

/**
 * Empties every cache the verifier keeps between calls (parsed certificates and CRLs, signature
 * results, PCK chains, attestation keys), so that the next `verifyQuote` with raw collateral parses
 * everything and checks every signature again: the cold path, as the verify-quote benchmark
 * measures it. Trust anchors are cached per options object; pass a fresh one to re-parse them.
 */
export function clearVerifyCaches(): void {
  chainCache.clear();
  keyCache.clear();
  lastChain = undefined;
  clearX509Caches();
  clearCrlCache();
}

function buildPckChain(pemText: string): PckChain {
  let certs: ParsedCert[];
  try {
    certs = pemCertificates(pemText).map((der) => parseCertificate(der));
  } catch (cause) {
    // parseCertificate wraps every failure in a CertParseError.
    fail('ERR_VERIFY_CERT_FORMAT', 2, `PCK chain: ${(cause as Error).message}`);
  }
  if (certs.length !== 3) {
    fail('ERR_VERIFY_CHAIN_INCOMPLETE', 2, `PCK chain must hold 3 certificates, found ${certs.length}`, {
      found: certs.length,
    });
  }
  let chain: ParsedCert[];
  try {
    chain = buildChain(findLeaf(certs), certs);
  } catch (cause) {
    // findLeaf and buildChain throw nothing but ChainError.
    const { kind, message } = cause as ChainError;
    fail(
      kind === 'signature' ? 'ERR_VERIFY_CERT_SIGNATURE' : 'ERR_VERIFY_CHAIN_INCOMPLETE',
      2,
      `PCK chain: ${message}`,
    );
  }
  const [leaf, intermediate, root] = chain as [ParsedCert, ParsedCert, ParsedCert];
  if (chain.length !== 3)
    fail('ERR_VERIFY_CHAIN_INCOMPLETE', 2, `PCK chain has ${chain.length} levels, expected 3`);
  if (!leaf.subjectCn.includes('SGX PCK Certificate')) {
    fail('ERR_VERIFY_CHAIN_INCOMPLETE', 2, `PCK leaf CN "${leaf.subjectCn}" is not an SGX PCK Certificate`);
  }
  if (!intermediate.subjectCn.includes('CA')) {
    fail('ERR_VERIFY_CHAIN_INCOMPLETE', 2, `PCK intermediate CN "${intermediate.subjectCn}" is not a CA`);
  }
  if (!root.subjectCn.includes('SGX Root CA')) {
    fail('ERR_VERIFY_CHAIN_INCOMPLETE', 2, `PCK root CN "${root.subjectCn}" is not an SGX Root CA`);
  }
  for (const c of chain) {
    if (c.keyAlgorithm !== OID.ecPublicKey || c.keyCurve !== OID.prime256v1) {
      fail('ERR_VERIFY_CERT_FORMAT', 2, `certificate "${c.subjectText}" does not have a P-256 key`);
    }
  }
  let pck: PckExtensions;
  try {
    pck = pckExtensionsOf(leaf);
  } catch (cause) {
    // pckExtensionsOf throws nothing but PckExtensionError.
    const { message, field } = cause as PckExtensionError;
    fail('ERR_VERIFY_CERT_FORMAT', 2, `PCK certificate: ${message}`, { field });
  }
  return { leaf, intermediate, root, pck };
}

function attestationKeyObject(raw: Uint8Array): KeyObject | null {
  const hex = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  return keyCache.get(hex) ?? remember(keyCache, hex, importAttestationKey(raw));
}

/** The P-256 public key of a raw x‖y attestation key, or null when it is not a point on the curve. */
function importAttestationKey(raw: Uint8Array): KeyObject | null {
  try {
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: Buffer.from(raw.subarray(0, 32)).toString('base64url'),
        y: Buffer.from(raw.subarray(32, 64)).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

function value<T>(p: Prepared<T>): T {
  if (!p.ok) throw p.error;
  return p.value;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Per-verification state for the time checks. */
class Clock {
  readonly now: number;
  expired = false;
  earliest = Number.POSITIVE_INFINITY;
  constructor(
    now: Date,
    private readonly allowExpired: boolean,
  ) {
    this.now = now.getTime();
    if (Number.isNaN(this.now)) throw new TypeError('verifyQuote: options.now is not a valid Date');
  }

  /** Checks `from ≤ now ≤ until` (`until` inclusive); `from` may be undefined (not enforced). */
  window(step: VerifyStep, what: string, from: Date | undefined, until: Date | undefined): void {
    const end = until?.getTime() ?? Number.NEGATIVE_INFINITY;
    this.earliest = Math.min(this.earliest, end);
    const start = from?.getTime() ?? Number.NEGATIVE_INFINITY;
    const state = this.now < start ? 'not yet valid' : this.now > end ? 'expired' : undefined;
    if (state === undefined) return;
    if (this.allowExpired) {
      this.expired = true;
      return;
    }
    fail(
      'ERR_VERIFY_COLLATERAL_EXPIRED',
      step,
      `${what} is ${state} at ${new Date(this.now).toISOString()}`,
      {
        what,
        notBefore: from?.toISOString(),
        notAfter: until?.toISOString(),
      },
    );
  }

  certs(step: VerifyStep, what: string, certs: readonly ParsedCert[]): void {
    for (const c of certs)
      this.window(step, `${what}: certificate "${c.subjectCn}"`, c.notBefore, c.notAfter);
  }
}

const anchorCache = new WeakMap<
  object,
  {
    sim: VerifyOptions['trustSimulatedRoot'];
    extra: readonly (string | Uint8Array)[] | undefined;
    anchors: TrustAnchors;
  }
>();

/** Parsed trust anchors of `options`, cached per options object (re-parsed if its inputs change). */
function anchorsOf(options: VerifyOptions): TrustAnchors {
  const extraInput = options.dangerous?.extraTrustAnchors;
  const hit = anchorCache.get(options);
  if (hit !== undefined && hit.sim === options.trustSimulatedRoot && hit.extra === extraInput)
    return hit.anchors;
  const sim = options.trustSimulatedRoot === undefined ? undefined : parseAnchor(options.trustSimulatedRoot);
  const extra = (extraInput ?? []).map((a) => parseAnchor(a)).filter((a): a is ParsedCert => a !== undefined);
  const anchors: TrustAnchors = { simulatedRoot: sim, extra };
  anchorCache.set(options, { sim: options.trustSimulatedRoot, extra: extraInput, anchors });
  return anchors;
}

function acceptRoot(
  root: ParsedCert,
  anchors: TrustAnchors,
  step: VerifyStep,
  what: string,
): 'intel' | 'simulated' | 'extra' {
  const kind = classifyRoot(root, anchors);
  if (kind === 'simulated-untrusted') {
    fail(
      'ERR_VERIFY_SIMULATED_ROOT',
      step,
      `${what} ends in the ccnodes simulated root, which was not passed as trustSimulatedRoot`,
    );
  }
  if (kind === 'untrusted') {
    fail(
      'ERR_VERIFY_UNTRUSTED_ROOT',
      step,
      `${what} root "${root.subjectText}" is not the Intel SGX Root CA (key differs)`,
      {
        rootPublicKey: root.publicKeyHex,
      },
    );
  }
  return kind;
}

function checkCrl(crl: ParsedCrl, issuer: ParsedCert, what: string): void {
  if (!crl.hasCrlNumber || !crl.hasAuthorityKeyId) {
    fail('ERR_VERIFY_CRL_INVALID', 3, `${what} lacks the CRL Number or Authority Key Identifier extension`);
  }
  if (crl.issuerHex !== issuer.subjectHex) {
    fail('ERR_VERIFY_CRL_ISSUER', 3, `${what} issuer "${crl.issuerText}" is not "${issuer.subjectText}"`);
  }
  if (!crlSignedBy(crl, issuer))
    fail('ERR_VERIFY_CRL_SIGNATURE', 3, `${what} signature does not verify with "${issuer.subjectText}"`);
}

function checkSigned<T>(
  doc: PreparedSigned<T>,
  root: ParsedCert,
  rootCrl: ParsedCrl,
  anchors: TrustAnchors,
  clock: Clock,
  step: VerifyStep,
  what: string,
  nextUpdate: Date,
): void {
  const docRoot = doc.chain[doc.chain.length - 1] as ParsedCert;
  acceptRoot(docRoot, anchors, step, `${what} issuer chain`);
  if (docRoot.publicKeyHex !== root.publicKeyHex) {
    fail(
      'ERR_VERIFY_UNTRUSTED_ROOT',
      step,
      `${what} issuer chain ends in a different root than the PCK chain`,
    );
  }
  const signer = doc.chain[0] as ParsedCert;
  if (rootCrl.revoked.has(signer.serial)) {
    fail(
      'ERR_VERIFY_INTERMEDIATE_REVOKED',
      step,
      `${what} signing certificate ${signer.serial} is on the Root CA CRL`,
      {
        serial: signer.serial,
      },
    );
  }
  clock.certs(step, `${what} issuer chain`, doc.chain);
  clock.window(step, what, undefined, nextUpdate);
}

function teeOf(quote: Quote): 'SGX' | 'TDX' {
  return quote.body.kind === 'sgx' ? 'SGX' : 'TDX';
}

function moduleIdentityFor(info: TcbInfo, td: TdReport): TdxModuleIdentity | undefined {
  const major = td.teeTcbSvn[1] ?? 0;
  if (major === 0) return info.tdxModule;
  const id = `TDX_${major.toString(16).toUpperCase().padStart(2, '0')}`;
  const found = info.tdxModuleIdentities.find((m) => m.id === id);
  if (found === undefined)
    fail('ERR_VERIFY_TDX_MODULE_MISMATCH', 9, `TCB Info has no TDX module identity ${id}`, { id });
  return found;
}

function checkTdxModule(info: TcbInfo, td: TdReport): void {
  const identity = moduleIdentityFor(info, td);
  if (identity === undefined)
    fail('ERR_VERIFY_TDX_MODULE_MISMATCH', 9, 'TCB Info has no TDX module identity');
  if (!sameBytes(td.mrSignerSeam, identity.mrsigner)) {
    fail('ERR_VERIFY_TDX_MODULE_MISMATCH', 9, 'MRSIGNERSEAM differs from the TDX module identity mrsigner');
  }
  const attrs = Buffer.alloc(8);
  attrs.writeBigUInt64LE(td.seamAttributes);
  for (let i = 0; i < 8; i++) {
    if (((attrs[i] as number) & (identity.attributesMask[i] as number)) !== identity.attributes[i]) {
      fail('ERR_VERIFY_TDX_MODULE_MISMATCH', 9, 'SEAMATTRIBUTES do not match the TDX module identity');
    }
  }
  if (td.seamAttributes !== 0n) fail('ERR_VERIFY_TDX_MODULE_MISMATCH', 9, 'SEAMATTRIBUTES are not zero');
}

function checkQeIdentity(quote: Quote, id: QeIdentity, tee: 'SGX' | 'TDX'): void {
  const expectedId = tee === 'SGX' ? 'QE' : 'TD_QE';
  const mismatch = (field: string, message: string): never =>
    fail('ERR_VERIFY_QE_IDENTITY_MISMATCH', 12, `QE identity mismatch: ${message}`, { field });
  if (id.id !== expectedId)
    mismatch('id', `identity id "${id.id}" is not "${expectedId}" for a ${tee} quote`);
  const qe = quote.qeReport;
  if ((qe.miscSelect & id.miscselectMask) >>> 0 !== id.miscselect >>> 0) mismatch('miscselect', 'MISCSELECT');
  const attrs = quote.qeReportRaw.subarray(48, 64);
  for (let i = 0; i < 16; i++) {
    if (((attrs[i] as number) & (id.attributesMask[i] as number)) !== id.attributes[i])
      mismatch('attributes', 'ATTRIBUTES');
  }
  if (!sameBytes(qe.mrSigner, id.mrsigner)) mismatch('mrsigner', 'MRSIGNER');
  if (qe.isvProdId !== id.isvProdId)
    mismatch('isvprodid', `ISVPRODID ${qe.isvProdId} is not ${id.isvProdId}`);
}

function union(...lists: (readonly string[] | undefined)[]): string[] {
  const out: string[] = [];
  for (const list of lists) for (const a of list ?? []) if (!out.includes(a)) out.push(a);
  return out;
}

/** Decoder refusals that mean "a kind of quote we do not support" rather than "malformed". */
const UNSUPPORTED_FORMAT_CODES: ReadonlySet<string> = new Set([
  'ERR_FORMAT_VERSION',
  'ERR_FORMAT_KEY_TYPE',
  'ERR_FORMAT_TEE_TYPE',
  'ERR_FORMAT_QE_VENDOR',
  'ERR_FORMAT_CERT_TYPE',
  'ERR_FORMAT_BODY_TYPE',
]);

function decodeStep1(input: Uint8Array | Quote): Quote {
  if (!(input instanceof Uint8Array)) return input;
  try {
    return decodeQuote(input);
  } catch (cause) {
    // decodeQuote throws nothing but FormatError (test/core/fuzz.test.ts checks it on mutated quotes).
    const { code, message, details } = cause as FormatError;
    throw new VerificationError(
      UNSUPPORTED_FORMAT_CODES.has(code) ? 'ERR_VERIFY_UNSUPPORTED_QUOTE' : 'ERR_VERIFY_QUOTE_FORMAT',
      1,
      `quote: ${message}`,
      { cause, details: { formatCode: code, ...details } },
    );
  }
}

/**
 * Verifies a DCAP quote against its collateral at `options.now`. See the file header and
 * docs/verification.md for the steps.
 *
 * @param input the quote bytes (binary) or an already decoded `Quote`.
 * @param collateral raw artefacts, or `prepareCollateral(raw)` reused across calls (faster).
 * @throws VerificationError with `code` and `step` on any failure.
 */
export function verifyQuote(
  input: Uint8Array | Quote,
  collateral: RawCollateral | PreparedCollateral,
  options: VerifyOptions,
): VerificationResult {
  const dangerous = options.dangerous ?? {};
  const clock = new Clock(options.now, dangerous.allowExpiredCollateral === true);
  const relaxations: string[] = [];
  const prepared = prepareCollateral(collateral); // returns prepared collateral as it is
  const anchors = anchorsOf(options);

  // Step 1: parse and structural checks.
  const quote = decodeStep1(input);
  const tee = teeOf(quote);
  if (quote.certification.type !== 5) {
    fail(
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
      `certification data type ${quote.certification.type} is not supported (5 = PCK chain)`,
      {
        certificationType: quote.certification.type,
      },
    );
  }

  // Step 2: PCK chain by subject/issuer, signatures, pinned root.
  const { leaf, intermediate, root, pck } = pckChainOf(quote);
  const rootKind = acceptRoot(root, anchors, 2, 'PCK chain');
  if (rootKind === 'extra') relaxations.push('dangerous.extraTrustAnchors');

  // Step 3: CRLs.
  const rootCrl = value(prepared.rootCaCrl);
  const pckCrl = value(prepared.pckCrl);
  checkCrl(rootCrl, root, 'Root CA CRL');
  // The PCK CRL must be issued by the PCK's issuer: the intermediate, whose subject is the leaf's
  // issuer (buildChain links by raw Name) and whose CN was checked for "CA" at step 2.
  checkCrl(pckCrl, intermediate, 'PCK CRL');
  const crlChain = value(prepared.pckCrlIssuerChain);
  const crlChainRoot = crlChain[crlChain.length - 1] as ParsedCert;
  acceptRoot(crlChainRoot, anchors, 3, 'PCK CRL issuer chain');
  if (
    crlChainRoot.publicKeyHex !== root.publicKeyHex ||
    (crlChain[0] as ParsedCert).subjectHex !== pckCrl.issuerHex
  ) {
    fail(
      'ERR_VERIFY_CRL_ISSUER',
      3,
      'PCK CRL issuer chain does not lead from the PCK CRL issuer to the PCK root',
    );
  }

  // Step 4: revocation.
  for (const ca of [intermediate, crlChain[0] as ParsedCert]) {
    if (rootCrl.revoked.has(ca.serial)) {
      fail(
        'ERR_VERIFY_INTERMEDIATE_REVOKED',
        4,
        `intermediate CA "${ca.subjectCn}" (${ca.serial}) is on the Root CA CRL`,
        {
          serial: ca.serial,
        },
      );
    }
  }
  if (pckCrl.revoked.has(leaf.serial)) {
    fail('ERR_VERIFY_PCK_REVOKED', 4, `PCK certificate ${leaf.serial} is on the PCK CRL`, {
      serial: leaf.serial,
    });
  }

  // Step 5: validity times of the PCK chain, the PCK CRL issuer chain and both CRLs.
  clock.certs(5, 'PCK chain', [leaf, intermediate, root]);
  clock.certs(5, 'PCK CRL issuer chain', crlChain);
  clock.window(5, 'Root CA CRL', rootCrl.thisUpdate, rootCrl.nextUpdate);
  clock.window(5, 'PCK CRL', pckCrl.thisUpdate, pckCrl.nextUpdate);

  // Step 6: TCB Info.
  const tcbDoc = value(prepared.tcbInfo);
  const tcbInfo = tcbDoc.body;
  checkSigned(tcbDoc, root, rootCrl, anchors, clock, 6, 'TCB Info', tcbInfo.nextUpdate);

  // Step 7: QE Identity.
  const qeDoc = value(prepared.qeIdentity);
  const qeIdentity = qeDoc.body;
  checkSigned(qeDoc, root, rootCrl, anchors, clock, 7, 'QE Identity', qeIdentity.nextUpdate);

  // Step 8: TCB Info belongs to this quote.
  if (tcbInfo.id !== tee || (tee === 'TDX' && tcbInfo.version < 3)) {
    fail(
      'ERR_VERIFY_TCB_INFO_MISMATCH',
      8,
      `TCB Info id ${tcbInfo.id} v${tcbInfo.version} does not fit a ${tee} quote`,
    );
  }
  if (!sameBytes(pck.fmspc, tcbInfo.fmspc)) {
    fail(
      'ERR_VERIFY_FMSPC_MISMATCH',
      8,
      `PCK FMSPC ${pck.fmspcHex} differs from TCB Info fmspc ${tcbInfo.fmspcHex}`,
    );
  }
  if (!sameBytes(pck.pceId, tcbInfo.pceId)) {
    fail(
      'ERR_VERIFY_PCEID_MISMATCH',
      8,
      `PCK PCE-ID ${pck.pceIdHex} differs from TCB Info pceId ${tcbInfo.pceIdHex}`,
    );
  }

  // Step 9: TDX module identity.
  if (quote.body.kind !== 'sgx') checkTdxModule(tcbInfo, quote.body.report);

  // Step 10: QE report signature by the PCK key.
  if (!verifyP1363(quote.qeReportRaw, quote.qeReportSignature, leaf.publicKey)) {
    fail(
      'ERR_VERIFY_QE_REPORT_SIGNATURE',
      10,
      'QE report signature does not verify with the PCK certificate key',
    );
  }

  // Step 11: QE report data binds the attestation key and QE auth data.
  const binding = createHash('sha256').update(quote.attestationKey).update(quote.qeAuthData).digest();
  if (!sameBytes(binding, quote.qeReport.reportData.subarray(0, 32))) {
    fail('ERR_VERIFY_QE_REPORT_DATA', 11, 'QE report data is not SHA-256(attestation key || QE auth data)');
  }

  // Step 12: QE identity policy and QE TCB level.
  checkQeIdentity(quote, qeIdentity, tee);
  const qeLevel = selectIsvSvnLevel(qeIdentity.tcbLevels, quote.qeReport.isvSvn);
  if (qeLevel === undefined) {
    fail(
      'ERR_VERIFY_TCB_NOT_SUPPORTED',
      12,
      `QE ISVSVN ${quote.qeReport.isvSvn} is below every QE Identity TCB level`,
    );
  }

  // Step 13: quote signature by the attestation key.
  const attKey = attestationKeyObject(quote.attestationKey);
  if (attKey === null || !verifyP1363(quote.signedData, quote.signature, attKey)) {
    fail('ERR_VERIFY_QUOTE_SIGNATURE', 13, 'quote signature does not verify with the attestation key');
  }

  // Step 14: TCB level selection and status merge.
  let level: TcbLevel | undefined;
  let platformStatus: TcbStatus;
  let moduleAdvisories: readonly string[] = [];
  if (quote.body.kind === 'sgx') {
    level = selectSgxLevel(tcbInfo.tcbLevels, pck.tcbComponents, pck.pceSvn);
    if (level === undefined)
      fail('ERR_VERIFY_TCB_NOT_SUPPORTED', 14, 'no TCB level matches the PCK TCB: no matching tcb level');
    platformStatus = level.tcbStatus;
  } else {
    const td = quote.body.report;
    level = selectTdxLevel(tcbInfo.tcbLevels, pck.tcbComponents, pck.pceSvn, td.teeTcbSvn);
    if (level === undefined)
      fail(
        'ERR_VERIFY_TCB_NOT_SUPPORTED',
        14,
        'no TCB level matches the PCK and TEE TCB: no matching tcb level',
      );
    platformStatus = level.tcbStatus;
    if ((td.teeTcbSvn[1] ?? 0) > 0) {
      const identity = moduleIdentityFor(tcbInfo, td) as TdxModuleIdentity;
      const moduleLevel = selectIsvSvnLevel(identity.tcbLevels, td.teeTcbSvn[0] ?? 0);
      if (moduleLevel === undefined) {
        fail(
          'ERR_VERIFY_TCB_NOT_SUPPORTED',
          14,
          `TDX module SVN ${td.teeTcbSvn[0] ?? 0} is below every ${identity.id} level`,
        );
      }
      platformStatus = mergeTdxModuleStatus(platformStatus, moduleLevel.tcbStatus);
      moduleAdvisories = moduleLevel.advisoryIds;
    }
  }
  const status = mergeQeStatus(platformStatus, qeLevel.tcbStatus);

  // Step 15: relying-party enclave policy: debug enclaves.
  const debug =
    quote.body.kind === 'sgx'
      ? (quote.body.report.attributes.flags & 2n) !== 0n
      : (quote.body.report.tdAttributes & 1n) !== 0n;
  if (debug) {
    if (dangerous.allowDebugEnclave !== true) {
      fail('ERR_VERIFY_DEBUG_ENCLAVE', 15, `the ${tee === 'SGX' ? 'enclave' : 'TD'} runs in debug mode`);
    }
    relaxations.push('dangerous.allowDebugEnclave');
  }
  if (clock.expired) relaxations.push('dangerous.allowExpiredCollateral');

  return {
    status,
    advisoryIds: union(level.advisoryIds, moduleAdvisories, qeLevel.advisoryIds),
    platformStatus,
    qeStatus: qeLevel.tcbStatus,
    tcbDate: level.tcbDate,
    tcbEvaluationDataNumber: tcbInfo.tcbEvaluationDataNumber,
    collateralExpiry: new Date(clock.earliest),
    collateralExpired: clock.expired,
    simulated: rootKind === 'simulated',
    relaxations,
    tee,
    quote,
    report: quote.body.report,
    fmspc: pck.fmspcHex,
    pck,
  };
}
