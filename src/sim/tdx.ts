/**
 * A simulated Intel TDX platform as DCAP sees it: trust domains (TDs) produce TD reports (MRTD,
 * RTMR0-3, MRCONFIGID/MROWNER/MROWNERCONFIG, TD attributes, XFAM, REPORTDATA, TEE TCB SVN) and a
 * simulated TD quoting enclave turns them into TDX quotes — v4 with a TD report 1.0 body and v5
 * with a TD report 1.5 body (body type 3) — signed with an ECDSA P-256 attestation key that the
 * platform's PCK certifies the way Intel's TD QE is certified (spec/dcap.md §1, §3.4): the QE report's
 * REPORTDATA binds SHA-256(attestation key ‖ QE auth data), and the PCK key signs the QE report.
 * Certification data is type 6 wrapping type 5 (PCK ‖ PCK CA ‖ simulated root).
 *
 * A TDX platform is the SGX platform of the same preset (same PCK certificate, CPUSVN, FMSPC, QE
 * SVN), so every preset's TCB status is reached for TDX too: the TDX TCB Info of an FMSPC lists the
 * SGX levels of the simulated TCB policy, each with the same TDX components, which the simulated
 * TDX module meets.
 *
 * What is NOT simulated: there is no TDX module, SEAM, VMM or guest; the TD report is built from the
 * values given (nothing measures a TD image), and no MAC protects it on its way to the QE. Everything
 * chains to the simulated root, which verifiers refuse unless it is explicitly trusted.
 */
import { createHash } from 'node:crypto';
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  CERT_DATA_TYPE,
  INTEL_QE_VENDOR_ID,
  TD_ATTRIBUTE_FLAGS,
  TEE_TYPE_TDX,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  pemChainToCertificationData,
  type QuoteHeader,
  type RawCollateral,
  type TdReport,
} from '../core/index.ts';
import type { SimQeIdentitySpec, SimTcbInfoSpec } from './collateral.ts';
import { SimConfigError } from './errors.ts';
import type { SimEcKey } from './keys.ts';
import type { SimPki } from './pki.ts';
import { SIM_QE_ATTRIBUTES, SIM_QE_AUTH_DATA, type SimPlatform } from './platform.ts';
import { SIM_QE_IDENTITY, SIM_TCB_INFOS } from './platforms.ts';
import type { SimTdxModuleSpec, SimTdxTcbInfoSpec } from './tdx-collateral.ts';

const sha256 = (text: string): Uint8Array => new Uint8Array(createHash('sha256').update(text).digest());
const sha384 = (text: string): Uint8Array => new Uint8Array(createHash('sha384').update(text).digest());
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/**
 * MRSIGNER of the simulated TD quoting enclave: SHA-256 of "ccnodes simulated TD quoting enclave
 * signer (NOT FOR PRODUCTION)". Differs from Intel's TD QE (DC9E2A7C…), so Intel's TD_QE identity
 * never matches a simulated TD quote.
 */
export const SIM_TD_QE_MRSIGNER: Uint8Array = sha256(
  'ccnodes simulated TD quoting enclave signer (NOT FOR PRODUCTION)',
);
/** MRENCLAVE of the simulated TD QE. */
export const SIM_TD_QE_MRENCLAVE: Uint8Array = sha256('ccnodes simulated TD quoting enclave');
/** ISVPRODID of the simulated TD QE (Intel's TD QE uses 2 too). */
export const SIM_TD_QE_ISVPRODID = 2;

/** MRSIGNERSEAM of the simulated TDX module (SHA-384 of a fixed text; Intel's is all zeros). */
export const SIM_TDX_MODULE_MRSIGNER: Uint8Array = sha384(
  'ccnodes simulated TDX module signer (NOT FOR PRODUCTION)',
);
/** MRSEAM of the simulated TDX module. */
export const SIM_TDX_MODULE_MRSEAM: Uint8Array = sha384('ccnodes simulated TDX module');
/** TDX module major version (TEE_TCB_SVN[1]); selects the module identity `TDX_01`. */
export const SIM_TDX_MODULE_MAJOR = 1;
/** TDX module SVN (TEE_TCB_SVN[0]) of an up-to-date simulated module. */
export const SIM_TDX_MODULE_SVN = 5;
/** TDX late microcode SVN (TEE_TCB_SVN[2]) of the simulated platforms. */
export const SIM_TDX_MICROCODE_SVN = 3;

/** TEE_TCB_SVN of an up-to-date simulated TD: module SVN, module major, microcode, then zeros. */
export function simTeeTcbSvn(moduleSvn: number = SIM_TDX_MODULE_SVN): Uint8Array {
  const svn = new Uint8Array(16);
  svn[0] = moduleSvn;
  svn[1] = SIM_TDX_MODULE_MAJOR;
  svn[2] = SIM_TDX_MICROCODE_SVN;
  return svn;
}

/** TDX TCB components every simulated TDX TCB level requires (indexes 0-1 are skipped for major > 0). */
export const SIM_TDX_TCB_COMPONENTS: readonly number[] = [...simTeeTcbSvn()];

const SA = (n: number): string => `CCNODES-SIM-SA-${String(n).padStart(5, '0')}`;

/** The simulated TDX module identity: SVN 5 UpToDate, SVN 3 OutOfDate, below 3 not supported. */
export const SIM_TDX_MODULE: SimTdxModuleSpec = {
  id: `TDX_${SIM_TDX_MODULE_MAJOR.toString(16).toUpperCase().padStart(2, '0')}`,
  mrsigner: hex(SIM_TDX_MODULE_MRSIGNER),
  attributes: '0000000000000000',
  attributesMask: 'FFFFFFFFFFFFFFFF',
  levels: [
    { isvSvn: SIM_TDX_MODULE_SVN, tcbDate: '2026-02-11T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] },
    { isvSvn: 3, tcbDate: '2025-08-13T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: [SA(6)] },
  ],
};

/** The TDX TCB Info of a simulated FMSPC: the SGX spec's levels plus TDX components and module. */
export function tdxTcbInfoSpecOf(spec: SimTcbInfoSpec): SimTdxTcbInfoSpec {
  return { ...spec, tdxComponents: SIM_TDX_TCB_COMPONENTS, module: SIM_TDX_MODULE };
}

/** TDX TCB Info specs served by the simulated PCS, one per simulated FMSPC. */
export const SIM_TDX_TCB_INFOS: readonly SimTdxTcbInfoSpec[] = SIM_TCB_INFOS.map(tdxTcbInfoSpecOf);

/** The simulated TD_QE identity: the SGX QE identity's masks and levels, the TD QE's MRSIGNER/ISVPRODID. */
export const SIM_TD_QE_IDENTITY: SimQeIdentitySpec = {
  ...SIM_QE_IDENTITY,
  mrsigner: hex(SIM_TD_QE_MRSIGNER),
  isvprodid: SIM_TD_QE_ISVPRODID,
};

/** XFAM of the simulated TDs (x87, SSE, AVX, AVX-512, PKRU, ... as a typical TD enables). */
export const SIM_TD_XFAM = 0x618e7n;

/** What a simulated TD puts into its TD report; everything not given has a fixed default. */
export interface SimTdInit {
  /** REPORTDATA, at most 64 bytes (zero-padded). */
  readonly reportData?: Uint8Array;
  /** 48-byte measurements (default: SHA-384 of fixed labels for MRTD and RTMR0-2, zeros otherwise). */
  readonly mrTd?: Uint8Array;
  readonly mrConfigId?: Uint8Array;
  readonly mrOwner?: Uint8Array;
  readonly mrOwnerConfig?: Uint8Array;
  readonly rtmr?: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  /** TDATTRIBUTES (default SEPT_VE_DISABLE); `debug` adds the DEBUG bit. */
  readonly tdAttributes?: bigint;
  readonly debug?: boolean;
  readonly xfam?: bigint;
  /** TEE_TCB_SVN, 16 bytes (default {@link simTeeTcbSvn}). */
  readonly teeTcbSvn?: Uint8Array;
  /** MRSIGNERSEAM, 48 bytes (default {@link SIM_TDX_MODULE_MRSIGNER}). */
  readonly mrSignerSeam?: Uint8Array;
  readonly seamAttributes?: bigint;
  /** TD report 1.5 only: MRSERVICETD (default zeros). */
  readonly mrServiceTd?: Uint8Array;
}

/** Options of {@link SimTdxPlatform.quote}. */
export interface SimTdQuoteOptions {
  /** 4 (default; TD report 1.0 body) or 5 (body descriptor type 3, TD report 1.5 body). */
  readonly version?: 4 | 5;
}

/** Default MRTD of simulated TDs: SHA-384 of "ccnodes simulated TD image". */
export const SIM_TD_MRTD: Uint8Array = sha384('ccnodes simulated TD image');

function field(name: string, value: Uint8Array | undefined, size: number, fallback: Uint8Array): Uint8Array {
  if (value === undefined) return fallback.slice();
  if (!(value instanceof Uint8Array) || value.length !== size) {
    throw new SimConfigError(
      'ERR_SIM_REPORT_INPUT',
      `${name}: expected ${size} bytes, got ${value instanceof Uint8Array ? value.length : typeof value}`,
      { field: name },
    );
  }
  return new Uint8Array(value);
}

/** A simulated TD quoting enclave on one simulated platform. */
export class SimTdxPlatform {
  readonly platform: SimPlatform;
  /** The TD QE's attestation key (signs TDX quotes). */
  readonly attestationKey: SimEcKey;
  /** The 384-byte TD QE report, signed by the platform's PCK key. */
  readonly qeReport: Uint8Array;
  readonly qeReportSignature: Uint8Array;
  readonly #header: QuoteHeader;
  readonly #certification: { type: number; data: Uint8Array };
  readonly #collateral: ((options: { now?: Date }) => RawCollateral) | undefined;

  constructor(pki: SimPki, platform: SimPlatform, collateral?: (options: { now?: Date }) => RawCollateral) {
    this.platform = platform;
    this.#collateral = collateral;
    this.attestationKey = pki.keys.ecKey(`platform/${platform.name}/td-qe-attestation-key`);
    const reportData = new Uint8Array(64);
    reportData.set(
      new Uint8Array(
        createHash('sha256').update(this.attestationKey.publicRaw).update(SIM_QE_AUTH_DATA).digest(),
      ),
    );
    this.qeReport = encodeReportBody(
      emptyReportBody({
        cpuSvn: platform.cpuSvn,
        attributes: SIM_QE_ATTRIBUTES,
        mrEnclave: SIM_TD_QE_MRENCLAVE,
        mrSigner: SIM_TD_QE_MRSIGNER,
        isvProdId: SIM_TD_QE_ISVPRODID,
        isvSvn: platform.config.qeSvn,
        reportData,
      }),
    );
    this.qeReportSignature = platform.pck.key.signDeterministic(this.qeReport);
    const userData = new Uint8Array(20);
    userData.set(platform.qeId);
    // QE SVN and PCE SVN are reserved (zero) in v4/v5 headers, as in Intel's TDX quotes.
    this.#header = {
      version: 4,
      attestationKeyType: ATTESTATION_KEY_TYPE_ECDSA_P256,
      teeType: TEE_TYPE_TDX,
      qeSvn: 0,
      pceSvn: 0,
      qeVendorId: INTEL_QE_VENDOR_ID,
      userData,
    };
    this.#certification = {
      type: CERT_DATA_TYPE.PCK_CERT_CHAIN,
      data: pemChainToCertificationData([platform.pck.pem, pki.pckCa(platform.config.ca).pem, pki.root.pem]),
    };
  }

  get name(): string {
    return this.platform.name;
  }

  /**
   * The TD report a TD with `init` would get from TDG.MR.REPORT on this platform, as version
   * `version` ('1.0' for quote v4, '1.5' for v5).
   * @throws SimConfigError `ERR_SIM_REPORT_INPUT` when a field has the wrong size.
   */
  tdReport(init: SimTdInit = {}, version: TdReport['version'] = '1.0'): TdReport {
    if (init.reportData !== undefined && init.reportData.length > 64) {
      throw new SimConfigError(
        'ERR_SIM_REPORT_INPUT',
        `reportData: at most 64 bytes, got ${init.reportData.length}`,
        { field: 'reportData' },
      );
    }
    const reportData = new Uint8Array(64);
    if (init.reportData !== undefined) reportData.set(init.reportData);
    const zero48 = new Uint8Array(48);
    const rtmrDefault = [0, 1, 2, 3].map((i) => (i < 3 ? sha384(`ccnodes simulated TD RTMR${i}`) : zero48));
    const rtmrIn: readonly (Uint8Array | undefined)[] = init.rtmr ?? [
      undefined,
      undefined,
      undefined,
      undefined,
    ];
    if (rtmrIn.length !== 4) {
      throw new SimConfigError('ERR_SIM_REPORT_INPUT', `rtmr: expected 4 registers, got ${rtmrIn.length}`, {
        field: 'rtmr',
      });
    }
    const rtmr = rtmrIn.map((r, i) => field(`rtmr${i}`, r, 48, rtmrDefault[i] ?? zero48)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const tdAttributes =
      (init.tdAttributes ?? TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE) |
      (init.debug === true ? TD_ATTRIBUTE_FLAGS.DEBUG : 0n);
    const teeTcbSvn = field('teeTcbSvn', init.teeTcbSvn, 16, simTeeTcbSvn());
    const base = {
      teeTcbSvn,
      mrSeam: SIM_TDX_MODULE_MRSEAM.slice(),
      mrSignerSeam: field('mrSignerSeam', init.mrSignerSeam, 48, SIM_TDX_MODULE_MRSIGNER),
      seamAttributes: init.seamAttributes ?? 0n,
      tdAttributes,
      xfam: init.xfam ?? SIM_TD_XFAM,
      mrTd: field('mrTd', init.mrTd, 48, SIM_TD_MRTD),
      mrConfigId: field('mrConfigId', init.mrConfigId, 48, zero48),
      mrOwner: field('mrOwner', init.mrOwner, 48, zero48),
      mrOwnerConfig: field('mrOwnerConfig', init.mrOwnerConfig, 48, zero48),
      rtmr,
      reportData,
    };
    if (version === '1.0') return { version, ...base };
    return {
      version,
      ...base,
      teeTcbSvn2: teeTcbSvn.slice(),
      mrServiceTd: field('mrServiceTd', init.mrServiceTd, 48, zero48),
    };
  }

  /**
   * A TDX quote of a TD report (or of the TD report `init` describes): v4 with a TD report 1.0 body,
   * v5 with a TD report 1.5 body. A given `TdReport` must match the version (1.0 for v4).
   * @throws SimConfigError `ERR_SIM_REPORT_INPUT` on a wrong-sized field or a report/version mismatch.
   */
  quote(td: SimTdInit | TdReport = {}, options: SimTdQuoteOptions = {}): Uint8Array {
    // Checked at run time too: CLI and JSON callers pass numbers.
    const version: number = options.version ?? 4;
    if (version !== 4 && version !== 5) {
      throw new SimConfigError(
        'ERR_SIM_REPORT_INPUT',
        `version: TDX quotes are version 4 or 5, not ${version}`,
        {
          field: 'version',
        },
      );
    }
    const wanted: TdReport['version'] = version === 4 ? '1.0' : '1.5';
    const report = 'version' in td ? td : this.tdReport(td, wanted);
    if (report.version !== wanted) {
      throw new SimConfigError(
        'ERR_SIM_REPORT_INPUT',
        `tdReport: a v${version} quote carries a TD report ${wanted}, got ${report.version}`,
        { field: 'tdReport' },
      );
    }
    const header = { ...this.#header, version };
    const body = { kind: version === 4 ? ('td10' as const) : ('td15' as const), report };
    const signedData = encodeQuoteSignedData({ header, body });
    return encodeQuote({
      header,
      body,
      signature: this.attestationKey.sign(signedData),
      attestationKey: this.attestationKey.publicRaw,
      qeReport: this.qeReport,
      qeReportSignature: this.qeReportSignature,
      qeAuthData: SIM_QE_AUTH_DATA,
      certification: this.#certification,
    });
  }

  /**
   * TDX collateral for this platform's quotes (TDX TCB Info, TD_QE identity, the PCK CRL of its CA,
   * Root CA CRL), issued at `options.now` (default now).
   * @throws TypeError when created without a collateral source (use `SimDcap.tdx`).
   */
  collateral(options: { now?: Date } = {}): RawCollateral {
    if (this.#collateral === undefined) {
      throw new TypeError(`TDX platform ${this.name} has no collateral source; create it through SimDcap`);
    }
    return this.#collateral(options);
  }
}
