/**
 * A simulated SGX platform as DCAP sees it: a PCE with a PCK key and PCK certificate for a
 * configured TCB (CPUSVN, PCESVN, FMSPC), and a quoting enclave with an ECDSA P-256 attestation key
 * certified the way Intel's QE3 is (spec/sgx-sim.md §5.1): the QE report's REPORTDATA is
 * SHA-256(attestation key ‖ QE authentication data) ‖ 32 zero bytes, and the PCK key signs that
 * 384-byte QE report. `quote()` then produces an ECDSA quote v3 with certification data type 5 (the
 * PEM chain PCK ‖ PCK CA ‖ simulated root).
 *
 * What is NOT simulated here: the QE does not check an EREPORT MAC from the application enclave (it
 * is given a report body and quotes it as is; the enclave simulator owns EREPORT), the PPID is not
 * RSA-encrypted, and the keys are derived with HKDF rather than the PCE/QE3 CMAC key ladders.
 */
import { createHash } from 'node:crypto';
import {
  type RawCollateral,
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  CERT_DATA_TYPE,
  INTEL_QE_VENDOR_ID,
  REPORT_BODY_SIZE,
  SGX_ATTRIBUTE_FLAGS,
  TEE_TYPE_SGX,
  QUOTE_HEADER_SIZE,
  decodeQuote,
  encodeQuoteHeader,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  pemChainToCertificationData,
  type QuoteHeader,
  type ReportBodyInit,
} from '../core/index.ts';
import { SimConfigError } from './errors.ts';
import type { SimEcKey } from './keys.ts';
import type { PckCaKind, SimCert, SimPki } from './pki.ts';
import type { SgxType } from './pki-sgx-extension.ts';

function sha256(text: string | Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(text).digest());
}

/**
 * MRSIGNER of the simulated quoting enclave: SHA-256 of the UTF-8 text
 * "ccnodes simulated quoting enclave signer (NOT FOR PRODUCTION)". Differs from Intel's QE3
 * MRSIGNER (8C4F5775…), so a QE Identity from Intel never matches a simulated QE report.
 */
export const SIM_QE_MRSIGNER: Uint8Array = sha256(
  'ccnodes simulated quoting enclave signer (NOT FOR PRODUCTION)',
);
/** MRENCLAVE of the simulated quoting enclave (SHA-256 of "ccnodes simulated quoting enclave"). */
export const SIM_QE_MRENCLAVE: Uint8Array = sha256('ccnodes simulated quoting enclave');
/** ISVPRODID of the simulated QE (Intel's QE3 uses 1 too). */
export const SIM_QE_ISVPRODID = 1;
/** QE ATTRIBUTES: INIT | MODE64BIT | PROVISIONKEY, XFRM x87|SSE (as Intel's QE3 runs). */
export const SIM_QE_ATTRIBUTES = {
  flags: SGX_ATTRIBUTE_FLAGS.INIT | SGX_ATTRIBUTE_FLAGS.MODE64BIT | SGX_ATTRIBUTE_FLAGS.PROVISIONKEY,
  xfrm: 0x3n,
} as const;
/** Identity of the synthetic enclave reports of `syntheticReportBody` (SHA-256 of fixed texts). */
const SYNTHETIC_MRENCLAVE = sha256('ccnodes sim synthetic enclave');
const SYNTHETIC_MRSIGNER = sha256('ccnodes sim synthetic signer');
/** QE authentication data: 32 bytes 0x00..0x1f, like Intel's QE3. */
export const SIM_QE_AUTH_DATA: Uint8Array = Uint8Array.from({ length: 32 }, (_, i) => i);

/** TCB and identity of a simulated platform. */
export interface SimPlatformConfig {
  /** Preset name, e.g. `up-to-date`; also the key-derivation label of the platform. */
  readonly name: string;
  readonly description: string;
  /** PCK CA that certifies this platform (`processor` = single package, `platform` = multi package). */
  readonly ca: PckCaKind;
  /** Raw CPUSVN = the 16 SGX TCB component SVNs, certified as is in the PCK certificate. */
  readonly cpuSvn: readonly number[];
  readonly pceSvn: number;
  /** FMSPC, 12 hex digits. */
  readonly fmspc: string;
  /** PCE-ID, 4 hex digits (Intel: 0000). */
  readonly pceId: string;
  /** ISVSVN of the simulated QE. */
  readonly qeSvn: number;
  readonly sgxType: SgxType;
  /** When true the PCK certificate's serial is listed on its CA's PCK CRL. */
  readonly pckRevoked: boolean;
}

/** Supplies collateral for a platform (set by the `SimDcap` that provisioned it). */
export type SimCollateralSource = (platform: SimPlatform, options: { now?: Date }) => RawCollateral;

/** Options of {@link SimPlatform.quote}. */
export interface SimQuoteOptions {
  /** Quote version: 3 (default; certification data type 5 inline) or 4 (type 6 wrapping type 5). */
  readonly version?: 3 | 4;
}

function hexBytes(field: string, hex: string, size: number): Uint8Array {
  if (!new RegExp(`^[0-9a-fA-F]{${size * 2}}$`).test(hex)) {
    throw new SimConfigError(
      'ERR_SIM_PLATFORM_CONFIG',
      `${field}: expected ${size * 2} hex digits, got "${hex}"`,
      {
        field,
      },
    );
  }
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function svn(field: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SimConfigError('ERR_SIM_PLATFORM_CONFIG', `${field}: ${value} is not an integer in 0..${max}`, {
      field,
    });
  }
  return value;
}

/** Checks a platform configuration and returns its binary fields. */
export function checkPlatformConfig(config: SimPlatformConfig): {
  cpuSvn: Uint8Array;
  fmspc: Uint8Array;
  pceId: Uint8Array;
} {
  if (config.cpuSvn.length !== 16) {
    throw new SimConfigError(
      'ERR_SIM_PLATFORM_CONFIG',
      `cpuSvn: expected 16 components, got ${config.cpuSvn.length}`,
      {
        field: 'cpuSvn',
      },
    );
  }
  const cpuSvn = Uint8Array.from(config.cpuSvn, (v, i) => svn(`cpuSvn[${i}]`, v, 0xff));
  svn('pceSvn', config.pceSvn, 0xffff);
  svn('qeSvn', config.qeSvn, 0xffff);
  return {
    cpuSvn,
    fmspc: hexBytes('fmspc', config.fmspc, 6),
    pceId: hexBytes('pceId', config.pceId, 2),
  };
}

/** A simulated PCE + quoting enclave for one platform configuration. */
export class SimPlatform {
  readonly config: SimPlatformConfig;
  /** The platform's PCK certificate (leaf of the quote's certification chain). */
  readonly pck: SimCert;
  /** The QE's attestation key (signs quotes). */
  readonly attestationKey: SimEcKey;
  /** QE ID written into the quote header's user data. */
  readonly qeId: Uint8Array;
  readonly ppid: Uint8Array;
  /** The 384-byte QE report body, signed by the PCK key. */
  readonly qeReport: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly #cpuSvn: Uint8Array;
  readonly #header: QuoteHeader;
  readonly #certification: { type: number; data: Uint8Array };
  readonly #collateralSource: SimCollateralSource | undefined;
  readonly #templates = new Map<number, { bytes: Uint8Array; signatureOffset: number }>();

  private constructor(
    config: SimPlatformConfig,
    parts: { pck: SimCert; attestationKey: SimEcKey; qeId: Uint8Array; ppid: Uint8Array; cpuSvn: Uint8Array },
    pki: SimPki,
    collateralSource: SimCollateralSource | undefined,
  ) {
    this.config = config;
    this.#collateralSource = collateralSource;
    this.pck = parts.pck;
    this.attestationKey = parts.attestationKey;
    this.qeId = parts.qeId;
    this.ppid = parts.ppid;
    this.#cpuSvn = parts.cpuSvn;
    const reportData = new Uint8Array(64);
    reportData.set(
      new Uint8Array(
        createHash('sha256').update(parts.attestationKey.publicRaw).update(SIM_QE_AUTH_DATA).digest(),
      ),
    );
    this.qeReport = encodeReportBody(
      emptyReportBody({
        cpuSvn: parts.cpuSvn,
        attributes: SIM_QE_ATTRIBUTES,
        mrEnclave: SIM_QE_MRENCLAVE,
        mrSigner: SIM_QE_MRSIGNER,
        isvProdId: SIM_QE_ISVPRODID,
        isvSvn: config.qeSvn,
        reportData,
      }),
    );
    this.qeReportSignature = parts.pck.key.signDeterministic(this.qeReport);
    const userData = new Uint8Array(20);
    userData.set(parts.qeId);
    this.#header = {
      version: 3,
      attestationKeyType: ATTESTATION_KEY_TYPE_ECDSA_P256,
      teeType: TEE_TYPE_SGX,
      qeSvn: config.qeSvn,
      pceSvn: config.pceSvn,
      qeVendorId: INTEL_QE_VENDOR_ID,
      userData,
    };
    this.#certification = {
      type: CERT_DATA_TYPE.PCK_CERT_CHAIN,
      data: pemChainToCertificationData([parts.pck.pem, pki.pckCa(config.ca).pem, pki.root.pem]),
    };
  }

  /** Provisions the platform: derives its keys from the PKI's key source and issues its PCK certificate. */
  static create(pki: SimPki, config: SimPlatformConfig, collateralSource?: SimCollateralSource): SimPlatform {
    const { cpuSvn, fmspc, pceId } = checkPlatformConfig(config);
    const label = `platform/${config.name}`;
    const pckKey = pki.keys.ecKey(`${label}/pck`);
    const ppid = pki.keys.derive(`${label}/ppid`, 16);
    const platform =
      config.ca === 'platform'
        ? {
            instanceId: pki.keys.derive(`${label}/platform-instance-id`, 16),
            dynamicPlatform: true,
            cachedKeys: true,
            smtEnabled: true,
          }
        : undefined;
    const pck = pki.issuePck(config.name, pckKey, config.ca, {
      ppid,
      cpuSvn,
      pceSvn: config.pceSvn,
      pceId,
      fmspc,
      sgxType: config.sgxType,
      ...(platform === undefined ? {} : { platform }),
    });
    return new SimPlatform(
      config,
      {
        pck,
        attestationKey: pki.keys.ecKey(`${label}/qe-attestation-key`),
        qeId: pki.keys.derive(`${label}/qe-id`, 16),
        ppid,
        cpuSvn,
      },
      pki,
      collateralSource,
    );
  }

  /**
   * Collateral for this platform's quotes, issued at `options.now` (default: now).
   * @throws TypeError when the platform was created without a collateral source (use `SimDcap`).
   */
  collateral(options: { now?: Date } = {}): RawCollateral {
    if (this.#collateralSource === undefined) {
      throw new TypeError(`platform ${this.name} has no collateral source; create it through SimDcap`);
    }
    return this.#collateralSource(this, options);
  }

  get name(): string {
    return this.config.name;
  }

  /** The platform's raw CPUSVN (what EREPORT writes into report bodies on this platform). */
  get cpuSvn(): Uint8Array {
    return this.#cpuSvn.slice();
  }

  /**
   * Quotes an application enclave's report body (384 bytes, or a decoded/initialised body).
   * @throws SimConfigError `ERR_SIM_REPORT_INPUT` when the bytes are not 384 long.
   */
  quote(reportBody: ReportBodyInit | Uint8Array, options: SimQuoteOptions = {}): Uint8Array {
    const version = options.version ?? 3;
    const header = { ...this.#header, version };
    let signedData: Uint8Array;
    if (reportBody instanceof Uint8Array) {
      if (reportBody.length !== REPORT_BODY_SIZE) {
        throw new SimConfigError(
          'ERR_SIM_REPORT_INPUT',
          `reportBody: expected ${REPORT_BODY_SIZE} bytes, got ${reportBody.length}`,
          { field: 'reportBody' },
        );
      }
      signedData = new Uint8Array(QUOTE_HEADER_SIZE + REPORT_BODY_SIZE);
      signedData.set(encodeQuoteHeader(header));
      signedData.set(reportBody, QUOTE_HEADER_SIZE);
    } else {
      signedData = encodeQuoteSignedData({ header, body: { kind: 'sgx', report: reportBody } });
    }
    const template = this.#template(version);
    const quote = template.bytes.slice();
    quote.set(signedData, 0);
    quote.set(this.attestationKey.sign(signedData), template.signatureOffset);
    return quote;
  }

  /**
   * The quote layout for `version`, written once by the core's `encodeQuote` with a zero body and
   * signature: everything after the ISV signature (attestation key, QE report, its PCK signature,
   * QE auth data, PCK chain) is the same for every quote of this platform, so `quote()` only
   * writes header ‖ body and the signature into a copy.
   */
  #template(version: 3 | 4): { bytes: Uint8Array; signatureOffset: number } {
    let template = this.#templates.get(version);
    if (template === undefined) {
      const bytes = encodeQuote({
        header: { ...this.#header, version },
        body: { kind: 'sgx', report: emptyReportBody() },
        signature: new Uint8Array(64),
        attestationKey: this.attestationKey.publicRaw,
        qeReport: this.qeReport,
        qeReportSignature: this.qeReportSignature,
        qeAuthData: SIM_QE_AUTH_DATA,
        certification: this.#certification,
      });
      const signatureOffset = decodeQuote(bytes).signature.byteOffset - bytes.byteOffset;
      template = { bytes, signatureOffset };
      this.#templates.set(version, template);
    }
    return template;
  }

  /**
   * A report body as an application enclave on this platform would produce it, for callers without
   * an enclave (CLI, benchmarks): the platform's CPUSVN, INIT|MODE64BIT (|DEBUG), the given
   * identity, and `reportData` zero-padded to 64 bytes.
   * @throws SimConfigError `ERR_SIM_REPORT_INPUT` when `reportData` exceeds 64 bytes.
   */
  syntheticReportBody(init: {
    reportData: Uint8Array;
    mrEnclave?: Uint8Array;
    mrSigner?: Uint8Array;
    isvProdId?: number;
    isvSvn?: number;
    debug?: boolean;
  }): ReportBodyInit {
    if (init.reportData.length > 64) {
      throw new SimConfigError(
        'ERR_SIM_REPORT_INPUT',
        `reportData: at most 64 bytes, got ${init.reportData.length}`,
        {
          field: 'reportData',
        },
      );
    }
    const reportData = new Uint8Array(64);
    reportData.set(init.reportData);
    const flags =
      SGX_ATTRIBUTE_FLAGS.INIT |
      SGX_ATTRIBUTE_FLAGS.MODE64BIT |
      (init.debug === true ? SGX_ATTRIBUTE_FLAGS.DEBUG : 0n);
    return emptyReportBody({
      cpuSvn: this.#cpuSvn.slice(),
      attributes: { flags, xfrm: 0x3n },
      mrEnclave: init.mrEnclave ?? SYNTHETIC_MRENCLAVE.slice(),
      mrSigner: init.mrSigner ?? SYNTHETIC_MRSIGNER.slice(),
      isvProdId: init.isvProdId ?? 0,
      isvSvn: init.isvSvn ?? 0,
      reportData,
    });
  }
}
