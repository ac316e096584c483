/**
 * Verification collateral: the raw artefacts (`RawCollateral`), the JSON bundle that carries them
 * (our schema, docs/collateral.md, and the dcap-qvl JSON shape), and `prepareCollateral`, which
 * does once everything that depends only on the collateral — parsing, chain building, signature
 * checks of certificates, CRLs, TCB Info and QE Identity — so that a service verifying many quotes
 * pays for it once. Failures found while preparing are kept and raised by `verifyQuote` at their
 * step, so raw and prepared collateral fail identically.
 */
import { parseCrl, crlDer, type ParsedCrl } from './crl.ts';
import { JsonFieldError } from './json-fields.ts';
import { decodeQeIdentity, type QeIdentity } from './qe-identity.ts';
import { parseSignedJson, SignedJsonError, type SignedJson } from './signed-json.ts';
import { decodeTcbInfo, type TcbInfo } from './tcb-info.ts';
import { CollateralFormatError, VerificationError, type VerifyStep } from './verify-errors.ts';
import {
  CertParseError,
  ChainError,
  buildChain,
  findLeaf,
  parsePemChain,
  verifyP1363,
  type ParsedCert,
} from './x509.ts';

/** The collateral artefacts exactly as Intel PCS/PCCS serve them. */
export interface RawCollateral {
  /** Exact TCB Info response body: `{"tcbInfo":{…},"signature":"…"}`. */
  readonly tcbInfo: string;
  /** PEM: TCB Signing certificate, then the root (`TCB-Info-Issuer-Chain`). */
  readonly tcbInfoIssuerChain: string;
  /** Exact QE Identity response body: `{"enclaveIdentity":{…},"signature":"…"}`. */
  readonly qeIdentity: string;
  /** PEM (`SGX-Enclave-Identity-Issuer-Chain`). */
  readonly qeIdentityIssuerChain: string;
  /** PCK CRL (Processor or Platform CA), DER. */
  readonly pckCrl: Uint8Array;
  /** PEM: the PCK CA, then the root (`SGX-PCK-CRL-Issuer-Chain`). */
  readonly pckCrlIssuerChain: string;
  /** Root CA CRL, DER. */
  readonly rootCaCrl: Uint8Array;
}

/** A computation done at preparation time: its value, or the error to raise at its step. */
export type Prepared<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: VerificationError };

/** A signed collateral document, checked except for what depends on the trust anchor and time. */
export interface PreparedSigned<T> {
  readonly body: T;
  /** Signing certificate then root, ordered by subject/issuer; signatures checked. */
  readonly chain: readonly ParsedCert[];
}

/** Collateral with all anchor- and time-independent work done. Reuse it across verifications. */
export interface PreparedCollateral {
  readonly kind: 'prepared-collateral';
  readonly raw: RawCollateral;
  readonly rootCaCrl: Prepared<ParsedCrl>;
  readonly pckCrl: Prepared<ParsedCrl>;
  /** PCK CRL issuer chain (CA then root), ordered and signature-checked. */
  readonly pckCrlIssuerChain: Prepared<readonly ParsedCert[]>;
  readonly tcbInfo: Prepared<PreparedSigned<TcbInfo>>;
  readonly qeIdentity: Prepared<PreparedSigned<QeIdentity>>;
}

export function isPreparedCollateral(value: RawCollateral | PreparedCollateral): value is PreparedCollateral {
  return 'kind' in value;
}

function attempt<T>(fn: () => T): Prepared<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    if (error instanceof VerificationError) return { ok: false, error };
    throw error;
  }
}

/**
 * Orders a PEM issuer chain by subject/issuer and checks its signatures. `size` is the number of
 * certificates required (Intel: 2 for the TCB Info, QE Identity and PCK CRL issuer chains).
 */
export function prepareChain(pem: string, size: number, step: VerifyStep, what: string): ParsedCert[] {
  let certs: ParsedCert[];
  try {
    certs = parsePemChain(pem);
  } catch (cause) {
    if (cause instanceof CertParseError) {
      throw new VerificationError('ERR_VERIFY_CERT_FORMAT', step, `${what}: ${cause.message}`, {
        cause,
        details: { what },
      });
    }
    throw cause;
  }
  if (certs.length !== size) {
    throw new VerificationError(
      'ERR_VERIFY_CHAIN_INCOMPLETE',
      step,
      `${what}: expected ${size} certificates, found ${certs.length}`,
      { details: { what, found: certs.length } },
    );
  }
  try {
    return buildChain(findLeaf(certs), certs);
  } catch (cause) {
    if (cause instanceof ChainError) {
      const code = cause.kind === 'signature' ? 'ERR_VERIFY_CERT_SIGNATURE' : 'ERR_VERIFY_CHAIN_INCOMPLETE';
      throw new VerificationError(code, step, `${what}: ${cause.message}`, { cause, details: { what } });
    }
    throw cause;
  }
}

/**
 * Intel signs the compact JSON text of the member. PCS serves exactly that text, so the received
 * bytes are tried first. A cache or proxy may have re-formatted the document (indentation, spaces
 * after `:`), which changes no value; Intel's QVL verifies over the compact re-serialisation of the
 * parsed member, so such a document is accepted here too, by verifying over `JSON.stringify` of the
 * very value that is then used. Any change to a value still breaks the signature.
 */
function signatureVerifies(signed: SignedJson, signer: ParsedCert): boolean {
  if (verifyP1363(Buffer.from(signed.bodyText, 'utf8'), signed.signature, signer.publicKey)) return true;
  const compact = JSON.stringify(signed.body);
  return (
    compact !== signed.bodyText &&
    verifyP1363(Buffer.from(compact, 'utf8'), signed.signature, signer.publicKey)
  );
}

function prepareSigned<T>(
  text: string,
  member: 'tcbInfo' | 'enclaveIdentity',
  chainPem: string,
  step: VerifyStep,
  decode: (body: unknown) => T,
): PreparedSigned<T> {
  const what = member === 'tcbInfo' ? 'TCB Info' : 'QE Identity';
  const invalid = member === 'tcbInfo' ? 'ERR_VERIFY_TCB_INFO_INVALID' : 'ERR_VERIFY_QE_IDENTITY_INVALID';
  const badSig = member === 'tcbInfo' ? 'ERR_VERIFY_TCB_INFO_SIGNATURE' : 'ERR_VERIFY_QE_IDENTITY_SIGNATURE';
  let signed;
  let body: T;
  try {
    signed = parseSignedJson(text, member);
    body = decode(signed.body);
  } catch (cause) {
    if (cause instanceof SignedJsonError || cause instanceof JsonFieldError) {
      const field = cause instanceof JsonFieldError ? cause.path : member;
      throw new VerificationError(invalid, step, `${what}: ${cause.message}`, { cause, details: { field } });
    }
    throw cause;
  }
  const chain = prepareChain(chainPem, 2, step, `${what} issuer chain`);
  const signer = chain[0] as ParsedCert;
  if (!signatureVerifies(signed, signer)) {
    throw new VerificationError(
      badSig,
      step,
      `${what} signature does not verify over the received ${member} bytes (nor their compact form)`,
      {
        details: { signer: signer.subjectText },
      },
    );
  }
  return { body, chain };
}

function prepareCrl(der: Uint8Array, step: VerifyStep, field: string): ParsedCrl {
  try {
    return parseCrl(der, field);
  } catch (cause) {
    if (cause instanceof CollateralFormatError) {
      throw new VerificationError('ERR_VERIFY_CRL_INVALID', step, cause.message, {
        cause,
        details: { field },
      });
    }
    throw cause;
  }
}

/**
 * Does the collateral-only work once: parses both CRLs, orders and signature-checks the three
 * issuer chains, and checks the TCB Info and QE Identity signatures over their exact received
 * bytes. Never throws for bad collateral: failures are raised by `verifyQuote` at their step.
 */
export function prepareCollateral(raw: RawCollateral | PreparedCollateral): PreparedCollateral {
  if (isPreparedCollateral(raw)) return raw;
  return {
    kind: 'prepared-collateral',
    raw,
    rootCaCrl: attempt(() => prepareCrl(raw.rootCaCrl, 3, 'rootCaCrl')),
    pckCrl: attempt(() => prepareCrl(raw.pckCrl, 3, 'pckCrl')),
    pckCrlIssuerChain: attempt(() => prepareChain(raw.pckCrlIssuerChain, 2, 3, 'PCK CRL issuer chain')),
    tcbInfo: attempt(() => prepareSigned(raw.tcbInfo, 'tcbInfo', raw.tcbInfoIssuerChain, 6, decodeTcbInfo)),
    qeIdentity: attempt(() =>
      prepareSigned(raw.qeIdentity, 'enclaveIdentity', raw.qeIdentityIssuerChain, 7, decodeQeIdentity),
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Bundle JSON

function bundleField(obj: Record<string, unknown>, key: string): unknown {
  const v = obj[key];
  if (v === undefined || v === null)
    throw new CollateralFormatError(`collateral bundle lacks "${key}"`, { field: key });
  return v;
}

function bundleString(obj: Record<string, unknown>, key: string): string {
  const v = bundleField(obj, key);
  if (typeof v !== 'string')
    throw new CollateralFormatError(`collateral bundle "${key}" is not a string`, { field: key });
  return v;
}

/** A CRL in a bundle: hex/PEM string, or an array of byte values (dcap-qvl). */
function bundleCrl(obj: Record<string, unknown>, key: string): Uint8Array {
  const v = bundleField(obj, key);
  if (typeof v === 'string') return crlDer(v, key);
  if (Array.isArray(v) && v.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) <= 255)) {
    return Uint8Array.from(v as number[]);
  }
  throw new CollateralFormatError(`collateral bundle "${key}" is not a CRL (hex, PEM or byte array)`, {
    field: key,
  });
}

/** A signature in the dcap-qvl shape: hex string or byte array; returned as hex. */
function bundleSignatureHex(obj: Record<string, unknown>, key: string): string {
  const v = bundleField(obj, key);
  const hex =
    typeof v === 'string'
      ? v
      : Array.isArray(v)
        ? Buffer.from(Uint8Array.from(v as number[])).toString('hex')
        : '';
  if (!/^[0-9a-fA-F]{128}$/.test(hex)) {
    throw new CollateralFormatError(`collateral bundle "${key}" is not a 64-byte signature`, { field: key });
  }
  return hex;
}

/**
 * Parses a collateral bundle. Two shapes are accepted:
 * - ours (docs/collateral.md): `{"tcbInfo": "<exact PCS body>", "tcbInfoIssuerChain": "<PEM>",
 *   "qeIdentity": "<exact PCS body>", "qeIdentityIssuerChain", "pckCrl": "<PEM or hex>",
 *   "pckCrlIssuerChain", "rootCaCrl"}`;
 * - dcap-qvl's: `tcb_info` (exact text of the tcbInfo value) with `tcb_info_signature`,
 *   `qe_identity` with `qe_identity_signature`, `*_issuer_chain`, `pck_crl`, `root_ca_crl`.
 * @throws CollateralFormatError naming the missing or malformed member.
 */
export function parseCollateralBundle(jsonText: string): RawCollateral {
  let parsed: unknown;
  try {
    parsed = JSON.parse(jsonText);
  } catch (cause) {
    throw new CollateralFormatError(`collateral bundle is not JSON: ${(cause as Error).message}`, {}, cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CollateralFormatError('collateral bundle is not a JSON object');
  }
  const obj = parsed as Record<string, unknown>;
  if ('tcb_info' in obj) {
    const tcbText = bundleString(obj, 'tcb_info');
    const qeText = bundleString(obj, 'qe_identity');
    return {
      tcbInfo: `{"tcbInfo":${tcbText},"signature":"${bundleSignatureHex(obj, 'tcb_info_signature')}"}`,
      tcbInfoIssuerChain: bundleString(obj, 'tcb_info_issuer_chain'),
      qeIdentity: `{"enclaveIdentity":${qeText},"signature":"${bundleSignatureHex(obj, 'qe_identity_signature')}"}`,
      qeIdentityIssuerChain: bundleString(obj, 'qe_identity_issuer_chain'),
      pckCrl: bundleCrl(obj, 'pck_crl'),
      pckCrlIssuerChain: bundleString(obj, 'pck_crl_issuer_chain'),
      rootCaCrl: bundleCrl(obj, 'root_ca_crl'),
    };
  }
  return {
    tcbInfo: bundleString(obj, 'tcbInfo'),
    tcbInfoIssuerChain: bundleString(obj, 'tcbInfoIssuerChain'),
    qeIdentity: bundleString(obj, 'qeIdentity'),
    qeIdentityIssuerChain: bundleString(obj, 'qeIdentityIssuerChain'),
    pckCrl: bundleCrl(obj, 'pckCrl'),
    pckCrlIssuerChain: bundleString(obj, 'pckCrlIssuerChain'),
    rootCaCrl: bundleCrl(obj, 'rootCaCrl'),
  };
}

/** Serialises collateral in our bundle schema (CRLs as hex DER). Round-trips with `parseCollateralBundle`. */
export function serializeCollateralBundle(raw: RawCollateral): string {
  return JSON.stringify(
    {
      format: 'ccnodes-collateral/1',
      tcbInfo: raw.tcbInfo,
      tcbInfoIssuerChain: raw.tcbInfoIssuerChain,
      qeIdentity: raw.qeIdentity,
      qeIdentityIssuerChain: raw.qeIdentityIssuerChain,
      pckCrl: Buffer.from(raw.pckCrl).toString('hex'),
      pckCrlIssuerChain: raw.pckCrlIssuerChain,
      rootCaCrl: Buffer.from(raw.rootCaCrl).toString('hex'),
    },
    null,
    2,
  );
}

/** Splits concatenated DER values (each a SEQUENCE with a definite length); undefined if not DER. */
function splitDer(bytes: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes[at] !== 0x30 || at + 2 > bytes.length) return undefined;
    const first = bytes[at + 1] ?? 0;
    let len: number;
    let header: number;
    if (first < 0x80) {
      len = first;
      header = 2;
    } else {
      const n = first & 0x7f;
      if (n === 0 || n > 4 || at + 2 + n > bytes.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (bytes[at + 2 + i] ?? 0);
      header = 2 + n;
    }
    if (at + header + len > bytes.length) return undefined;
    out.push(bytes.subarray(at, at + header + len));
    at += header + len;
  }
  return out.length === 0 ? undefined : out;
}

/**
 * A certificate file as users have it — PEM (one or more certificates) or DER (one certificate, or
 * several concatenated) — as PEM text, the form `RawCollateral` chains use. Throws
 * `CollateralFormatError` naming `field` when it is neither.
 */
export function certificatesPem(bytes: Uint8Array, field = 'certificate'): string {
  const text = Buffer.from(bytes).toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return text;
  const ders = splitDer(bytes);
  if (ders === undefined)
    throw new CollateralFormatError(`${field}: neither PEM certificates nor DER certificates`, { field });
  return ders
    .map((der) => {
      const b64 = Buffer.from(der).toString('base64');
      return `-----BEGIN CERTIFICATE-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
    })
    .join('');
}
