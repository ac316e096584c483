/**
 * Verifying an RA-TLS certificate, in this order (each failure has its own code):
 *
 *  1. parse: PEM/DER certificate (or CSR), RA-TLS extension of the expected format, quote decodes
 *     (`ERR_RATLS_CERT_FORMAT`, `ERR_RATLS_NO_EXTENSION`, `ERR_RATLS_EXTENSION_PAYLOAD`);
 *  2. certificate: a self-signed certificate's signature verifies with its own key, and `now` is in
 *     its validity (`ERR_RATLS_CERT_SIGNATURE`, `ERR_RATLS_CERT_VALIDITY`); a CA-issued certificate's
 *     chain is the TLS stack's business;
 *  3. binding: the certificate key is the one the quote binds, per format
 *     (`ERR_RATLS_KEY_HASH_MISMATCH`, `ERR_RATLS_CLAIMS_HASH_MISMATCH`);
 *  4. quote: core's `verifyQuote` against collateral (every `ERR_VERIFY_*` code, among them
 *     `ERR_VERIFY_COLLATERAL_EXPIRED` and `ERR_VERIFY_DEBUG_ENCLAVE`);
 *  5. identity: the expected TEE, MRENCLAVE, MRSIGNER, ISVPRODID, minimum ISVSVN, MRTD.
 */
import { timingSafeEqual } from 'node:crypto';
import {
  CollateralCache,
  INTEL_PCS_BASE_URL,
  PcsClient,
  collateralRequestOfQuote,
  parseCollateralApiChoice,
  type PcsFetchEvent,
} from '../collateral-source/index.ts';
import {
  SGX_ATTRIBUTE_FLAGS,
  TD_ATTRIBUTE_FLAGS,
  fromHex,
  prepareCollateral,
  toHex,
  verifyQuote,
  type PreparedCollateral,
  type RawCollateral,
  type ReportBody,
  type TdReport,
  type VerificationResult,
  type VerifyOptions,
} from '../core/index.ts';
import { nodeCertificate, parseRatlsCertificate, type ParsedRatlsCertificate } from './certificate.ts';
import { RatlsOptionsError, RatlsVerificationError } from './errors.ts';
import { hashSpki, oePublicKeyPem, sha256, type RatlsFormat } from './formats.ts';

/** What the peer must be. Give MRENCLAVE, or MRSIGNER (+ ISVPRODID, minimum ISVSVN), or MRTD. */
export interface RatlsExpectedIdentity {
  /** 'SGX' or 'TDX'; default: SGX when an SGX field is given, TDX when `mrTd` is. */
  readonly tee?: 'SGX' | 'TDX';
  readonly mrEnclave?: string | Uint8Array;
  readonly mrSigner?: string | Uint8Array;
  readonly isvProdId?: number;
  readonly minIsvSvn?: number;
  readonly mrTd?: string | Uint8Array;
}

/** Options of `verifyRatlsCertificate`. */
export interface RatlsVerifyOptions {
  readonly collateral: RawCollateral | PreparedCollateral;
  readonly now: Date;
  /** Only accept this format's extension (default: whichever is present, DICE first). */
  readonly format?: RatlsFormat;
  readonly expected?: RatlsExpectedIdentity;
  /** The ccnodes simulated root (PEM or DER); without it simulated quotes are refused. */
  readonly trustSimulatedRoot?: string | Uint8Array;
  /** DANGEROUS: accept debug enclaves / TDs. */
  readonly allowDebug?: boolean;
  /** DANGEROUS: report expired collateral as a flag instead of failing. */
  readonly allowExpiredCollateral?: boolean;
}

/** A verified RA-TLS certificate. */
export interface RatlsVerification {
  readonly format: RatlsFormat;
  readonly oid: string;
  readonly certificate: ParsedRatlsCertificate;
  /** How the key was bound: `spki-sha256`, `dice-claims`, `oe-pem` (Open Enclave's PEM hash). */
  readonly keyBinding: 'spki-sha256' | 'dice-claims' | 'oe-pem';
  /** Hex of the certificate key hash that matched. */
  readonly keyHash: string;
  readonly quote: VerificationResult;
  readonly identity: RatlsIdentity;
}

/** The attested identity, hex-encoded. */
export type RatlsIdentity =
  | {
      readonly tee: 'SGX';
      mrEnclave: string;
      mrSigner: string;
      isvProdId: number;
      isvSvn: number;
      debug: boolean;
    }
  | { readonly tee: 'TDX'; mrTd: string; mrSignerSeam: string; debug: boolean };

function measurement(name: string, value: string | Uint8Array, size: number): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') {
    if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(value))
      throw new RatlsOptionsError(`${name}: expected ${size * 2} hex digits`, { option: name });
    bytes = fromHex(value);
  } else bytes = value;
  if (bytes.length !== size)
    throw new RatlsOptionsError(`${name}: expected ${size} bytes, got ${bytes.length}`, { option: name });
  return bytes;
}

function u16(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0 || value > 0xffff))
    throw new RatlsOptionsError(`${name}: expected an integer 0..65535`, { option: name });
}

/** Normalised expectations (bytes), validated once. */
export interface CheckedIdentity {
  readonly tee?: 'SGX' | 'TDX';
  readonly mrEnclave?: Uint8Array;
  readonly mrSigner?: Uint8Array;
  readonly isvProdId?: number;
  readonly minIsvSvn?: number;
  readonly mrTd?: Uint8Array;
  /** True when at least one measurement is pinned. */
  readonly pinned: boolean;
}

/**
 * Validates identity expectations.
 * @throws RatlsOptionsError `ERR_RATLS_OPTIONS`.
 */
export function checkIdentity(e: RatlsExpectedIdentity = {}): CheckedIdentity {
  u16('isvProdId', e.isvProdId);
  u16('minIsvSvn', e.minIsvSvn);
  const sgx =
    e.mrEnclave !== undefined ||
    e.mrSigner !== undefined ||
    e.isvProdId !== undefined ||
    e.minIsvSvn !== undefined;
  if (sgx && e.mrTd !== undefined)
    throw new RatlsOptionsError('mrTd cannot be combined with SGX identity fields', { option: 'mrTd' });
  const tee = e.tee ?? (e.mrTd !== undefined ? 'TDX' : sgx ? 'SGX' : undefined);
  if (tee === 'TDX' && sgx)
    throw new RatlsOptionsError('tee TDX cannot be combined with SGX identity fields', { option: 'tee' });
  if (tee === 'SGX' && e.mrTd !== undefined)
    throw new RatlsOptionsError('tee SGX cannot be combined with mrTd', { option: 'tee' });
  return {
    ...(tee === undefined ? {} : { tee }),
    ...(e.mrEnclave === undefined ? {} : { mrEnclave: measurement('mrEnclave', e.mrEnclave, 32) }),
    ...(e.mrSigner === undefined ? {} : { mrSigner: measurement('mrSigner', e.mrSigner, 32) }),
    ...(e.isvProdId === undefined ? {} : { isvProdId: e.isvProdId }),
    ...(e.minIsvSvn === undefined ? {} : { minIsvSvn: e.minIsvSvn }),
    ...(e.mrTd === undefined ? {} : { mrTd: measurement('mrTd', e.mrTd, 48) }),
    pinned: e.mrEnclave !== undefined || e.mrSigner !== undefined || e.mrTd !== undefined,
  };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function reportDataOf(parsed: ParsedRatlsCertificate): Uint8Array {
  return parsed.evidence.quote.body.report.reportData;
}

/** Self-signature results per parsed certificate (pure on its bytes). */
const signatureCache = new WeakMap<ParsedRatlsCertificate, boolean>();

/** Step 2: proof of possession and validity of a self-signed certificate. */
function checkCertificate(parsed: ParsedRatlsCertificate, now: Date): void {
  // A CSR is neither self-issued (it has no issuer) nor bounded in time: its signature is the
  // CA's concern, and both checks below pass over it.
  if (parsed.selfIssued) {
    let ok = signatureCache.get(parsed);
    if (ok === undefined) {
      try {
        const cert = nodeCertificate(parsed.der);
        ok = cert.verify(cert.publicKey);
      } catch {
        ok = false;
      }
      signatureCache.set(parsed, ok);
    }
    if (!ok)
      throw new RatlsVerificationError(
        'ERR_RATLS_CERT_SIGNATURE',
        'the self-signed certificate is not signed by its own key',
        { subject: parsed.subject },
      );
  }
  if (parsed.notBefore !== undefined && parsed.notAfter !== undefined) {
    const t = now.getTime();
    if (t < parsed.notBefore.getTime() || t > parsed.notAfter.getTime())
      throw new RatlsVerificationError(
        'ERR_RATLS_CERT_VALIDITY',
        `certificate valid ${parsed.notBefore.toISOString()} .. ${parsed.notAfter.toISOString()}, not at ${now.toISOString()}`,
        {
          notBefore: parsed.notBefore.toISOString(),
          notAfter: parsed.notAfter.toISOString(),
          now: now.toISOString(),
        },
      );
  }
}

/**
 * Step 3: the certificate key is the one the quote binds.
 * @throws RatlsVerificationError `ERR_RATLS_KEY_HASH_MISMATCH` / `ERR_RATLS_CLAIMS_HASH_MISMATCH`.
 */
export function checkKeyBinding(parsed: ParsedRatlsCertificate): {
  keyBinding: RatlsVerification['keyBinding'];
  keyHash: string;
} {
  const bound = reportDataOf(parsed).subarray(0, 32);
  const b = parsed.evidence.binding;
  const mismatch = (expected: Uint8Array, what: string): RatlsVerificationError =>
    new RatlsVerificationError(
      'ERR_RATLS_KEY_HASH_MISMATCH',
      `${what} ${toHex(expected)} is not the certificate key's hash bound by the quote`,
      { format: parsed.evidence.format, bound: toHex(bound), keyHash: toHex(expected) },
    );
  if (b.kind === 'dice-claims') {
    const claimsHash = sha256(b.claims);
    if (!same(claimsHash, bound))
      throw new RatlsVerificationError(
        'ERR_RATLS_CLAIMS_HASH_MISMATCH',
        `REPORTDATA[0..32] ${toHex(bound)} is not SHA-256 of the DICE claims (${toHex(claimsHash)})`,
        { bound: toHex(bound), claimsHash: toHex(claimsHash) },
      );
    const keyHash = hashSpki(parsed.spki, b.hashAlgorithm);
    if (!same(keyHash, b.keyHash))
      throw new RatlsVerificationError(
        'ERR_RATLS_KEY_HASH_MISMATCH',
        `the pubkey-hash claim ${toHex(b.keyHash)} is not the ${b.hashAlgorithm} of the certificate key (${toHex(keyHash)})`,
        { format: parsed.evidence.format, claimed: toHex(b.keyHash), keyHash: toHex(keyHash) },
      );
    return { keyBinding: 'dice-claims', keyHash: toHex(keyHash) };
  }
  const spkiHash = sha256(parsed.spki);
  if (same(spkiHash, bound)) return { keyBinding: 'spki-sha256', keyHash: toHex(spkiHash) };
  if (b.kind === 'oe-report') {
    const pemHash = sha256(oePublicKeyPem(parsed.spki));
    if (same(pemHash, bound)) return { keyBinding: 'oe-pem', keyHash: toHex(pemHash) };
  }
  throw mismatch(spkiHash, 'SHA-256 of the certificate SubjectPublicKeyInfo');
}

/** The identity of a verified quote body, hex-encoded. */
export function identityOf(report: ReportBody | TdReport): RatlsIdentity {
  if ('mrEnclave' in report)
    return {
      tee: 'SGX',
      mrEnclave: toHex(report.mrEnclave),
      mrSigner: toHex(report.mrSigner),
      isvProdId: report.isvProdId,
      isvSvn: report.isvSvn,
      debug: (report.attributes.flags & SGX_ATTRIBUTE_FLAGS.DEBUG) !== 0n,
    };
  return {
    tee: 'TDX',
    mrTd: toHex(report.mrTd),
    mrSignerSeam: toHex(report.mrSignerSeam),
    debug: (report.tdAttributes & TD_ATTRIBUTE_FLAGS.DEBUG) !== 0n,
  };
}

/**
 * Step 5: identity expectations against the verified report.
 * @throws RatlsVerificationError `ERR_RATLS_TEE_MISMATCH`, `ERR_RATLS_MRENCLAVE_MISMATCH`,
 *   `ERR_RATLS_MRSIGNER_MISMATCH`, `ERR_RATLS_ISVPRODID_MISMATCH`, `ERR_RATLS_ISVSVN_TOO_LOW`, `ERR_RATLS_MRTD_MISMATCH`.
 */
export function checkExpectedIdentity(report: ReportBody | TdReport, expected: CheckedIdentity): void {
  const isSgx = 'mrEnclave' in report;
  if (expected.tee !== undefined && expected.tee !== (isSgx ? 'SGX' : 'TDX'))
    throw new RatlsVerificationError(
      'ERR_RATLS_TEE_MISMATCH',
      `expected a ${expected.tee} quote, got ${isSgx ? 'SGX' : 'TDX'}`,
      {
        expected: expected.tee,
        actual: isSgx ? 'SGX' : 'TDX',
      },
    );
  const pin = (
    code: 'ERR_RATLS_MRENCLAVE_MISMATCH' | 'ERR_RATLS_MRSIGNER_MISMATCH' | 'ERR_RATLS_MRTD_MISMATCH',
    name: string,
    want: Uint8Array | undefined,
    got: Uint8Array,
  ): void => {
    if (want !== undefined && !same(want, got))
      throw new RatlsVerificationError(code, `${name} ${toHex(got)} is not the expected ${toHex(want)}`, {
        expected: toHex(want),
        actual: toHex(got),
      });
  };
  if (isSgx) {
    pin('ERR_RATLS_MRENCLAVE_MISMATCH', 'MRENCLAVE', expected.mrEnclave, report.mrEnclave);
    pin('ERR_RATLS_MRSIGNER_MISMATCH', 'MRSIGNER', expected.mrSigner, report.mrSigner);
    if (expected.isvProdId !== undefined && expected.isvProdId !== report.isvProdId)
      throw new RatlsVerificationError(
        'ERR_RATLS_ISVPRODID_MISMATCH',
        `ISVPRODID ${report.isvProdId} is not the expected ${expected.isvProdId}`,
        {
          expected: expected.isvProdId,
          actual: report.isvProdId,
        },
      );
    if (expected.minIsvSvn !== undefined && report.isvSvn < expected.minIsvSvn)
      throw new RatlsVerificationError(
        'ERR_RATLS_ISVSVN_TOO_LOW',
        `ISVSVN ${report.isvSvn} is below the minimum ${expected.minIsvSvn}`,
        {
          minimum: expected.minIsvSvn,
          actual: report.isvSvn,
        },
      );
  } else {
    pin('ERR_RATLS_MRTD_MISMATCH', 'MRTD', expected.mrTd, report.mrTd);
  }
}

/** Core verify options, reused per (simulated root, relaxations) so core keeps its parsed anchors. */
const quoteOptionsCache = new Map<unknown, Map<string, { now: Date } & VerifyOptions>>();

function quoteOptions(options: RatlsVerifyOptions): VerifyOptions {
  const key = `${String(options.allowDebug === true)}|${String(options.allowExpiredCollateral === true)}`;
  let byRoot = quoteOptionsCache.get(options.trustSimulatedRoot);
  if (byRoot === undefined) {
    if (quoteOptionsCache.size >= 64) quoteOptionsCache.clear();
    byRoot = new Map();
    quoteOptionsCache.set(options.trustSimulatedRoot, byRoot);
  }
  let o = byRoot.get(key);
  if (o === undefined) {
    o = {
      now: options.now,
      ...(options.trustSimulatedRoot === undefined ? {} : { trustSimulatedRoot: options.trustSimulatedRoot }),
      dangerous: {
        allowDebugEnclave: options.allowDebug === true,
        allowExpiredCollateral: options.allowExpiredCollateral === true,
      },
    };
    byRoot.set(key, o);
  }
  // verifyQuote is synchronous and reads `now` once, so updating the shared object is safe.
  o.now = options.now;
  return o;
}

/**
 * Verifies an RA-TLS certificate (PEM or DER) against collateral, synchronously.
 * @throws RatlsFormatError, RatlsVerificationError, core's VerificationError, RatlsOptionsError.
 */
export function verifyRatlsCertificate(
  input: Uint8Array | string | ParsedRatlsCertificate,
  options: RatlsVerifyOptions,
): RatlsVerification {
  const expected = checkIdentity(options.expected);
  const parsed =
    typeof input === 'object' && 'evidence' in input ? input : parseRatlsCertificate(input, options); // reads options.format only
  checkCertificate(parsed, options.now);
  const binding = checkKeyBinding(parsed);
  const result = verifyQuote(parsed.evidence.quote, options.collateral, quoteOptions(options));
  checkExpectedIdentity(result.report, expected);
  return {
    format: parsed.evidence.format,
    oid: parsed.evidence.oid,
    certificate: parsed,
    ...binding,
    quote: result,
    identity: identityOf(result.report),
  };
}

// ---------------------------------------------------------------------------------------------
// A reusable verifier (TLS helpers use it): fixed expectations, collateral given or fetched.

/** Options of `createRatlsVerifier`. */
export interface RatlsVerifierOptions extends Omit<RatlsVerifyOptions, 'collateral' | 'now'> {
  /** Offline collateral for every certificate (a single platform). */
  readonly collateral?: RawCollateral | PreparedCollateral;
  /** Otherwise: fetch per FMSPC from this PCS/PCCS (cached). Default Intel's PCS. */
  readonly pccsUrl?: string;
  readonly onFetch?: (event: PcsFetchEvent) => void;
  /** The verification clock (default: the current time). */
  readonly now?: () => Date;
  /**
   * Accept any enclave that passes verification. Without it, the TLS helpers refuse to run
   * without a pinned measurement (MRENCLAVE, MRSIGNER or MRTD).
   */
  readonly allowAnyIdentity?: boolean;
}

/** Verifies peers' RA-TLS certificates with fixed expectations. */
export interface RatlsVerifier {
  readonly options: RatlsVerifierOptions;
  /** Verifies, fetching collateral when none was given. */
  verify(input: Uint8Array | string): Promise<RatlsVerification>;
  /** Verifies with the given collateral only (throws `ERR_RATLS_OPTIONS` without it). */
  verifySync(input: Uint8Array | string): RatlsVerification;
  /**
   * For Node's `tls.connect({ checkServerIdentity })` with a CA-issued RA-TLS certificate (Node
   * calls it only after the chain verified; self-signed certificates need `connectRatls` or the
   * agents instead). Needs offline collateral. Returns the error, or undefined when verified.
   */
  checkServerIdentity(host: string, cert: { raw: Buffer }): Error | undefined;
}

/**
 * Creates a verifier.
 * @throws RatlsOptionsError on unusable expectations, or when no measurement is pinned and
 *   `allowAnyIdentity` is not set.
 */
export function createRatlsVerifier(options: RatlsVerifierOptions): RatlsVerifier {
  const identity = checkIdentity(options.expected);
  if (!identity.pinned && options.allowAnyIdentity !== true)
    throw new RatlsOptionsError('expected: pin MRENCLAVE, MRSIGNER or MRTD (or set allowAnyIdentity)', {
      option: 'expected',
    });
  const clock = options.now ?? ((): Date => new Date());
  // (prepareCollateral returns already prepared collateral unchanged)
  const given = options.collateral === undefined ? undefined : prepareCollateral(options.collateral);
  let cache: CollateralCache | undefined;
  const base = (collateral: PreparedCollateral): RatlsVerifyOptions => ({
    ...options,
    collateral,
    now: clock(),
  });
  const verifySync = (input: Uint8Array | string): RatlsVerification => {
    if (given === undefined)
      throw new RatlsOptionsError('verifySync needs offline collateral (options.collateral)', {
        option: 'collateral',
      });
    return verifyRatlsCertificate(input, base(given));
  };
  return {
    options,
    verifySync,
    async verify(input) {
      if (given !== undefined) return verifySync(input);
      const parsed = parseRatlsCertificate(input, options); // reads options.format only
      checkCertificate(parsed, clock());
      checkKeyBinding(parsed);
      cache ??= new CollateralCache({
        client: new PcsClient({
          baseUrl: options.pccsUrl ?? INTEL_PCS_BASE_URL,
          api: parseCollateralApiChoice('auto'),
          onFetch: (event) => options.onFetch?.(event),
        }),
      });
      const request = collateralRequestOfQuote(parsed.evidence.quoteBytes);
      const collateral = await cache.get(request.fmspc, request.ca, request.tee);
      return verifyRatlsCertificate(parsed, base(collateral));
    },
    checkServerIdentity(_host, cert) {
      try {
        verifySync(new Uint8Array(cert.raw));
        return undefined;
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    },
  };
}
