/**
 * `SimCpu`: the simulated SGX instructions of one platform — EINIT, EREPORT, EGETKEY — and REPORT
 * verification by its target. Stricter than the Intel SDK's simulation mode: EINIT recomputes
 * MRENCLAVE from the loaded pages and verifies the SIGSTRUCT signature, exponent, Q1/Q2, the
 * attribute/MISCSELECT masks and KSS rules, and grants PROVISIONKEY / EINITTOKEN_KEY only to
 * allow-listed signers. See docs/enclaves.md.
 *
 * This gives no protection: every secret is in this process's memory.
 */
import { createHmac, randomBytes } from 'node:crypto';
import {
  type KeyRequest,
  type Report,
  type SgxAttributes,
  type TargetInfo,
  decodeKeyRequest,
  decodeReport,
  decodeTargetInfo,
  encodeReport,
  KEY_NAME,
  KEY_POLICY,
  SGX_ATTRIBUTE_FLAGS,
} from '../core/index.ts';
import { aesCmac, equalBytes } from './cmac.ts';
import { EgetkeyError, EinitError, ReportVerificationError, SimCpuError } from './enclave-errors.ts';
import type { EnclaveImage } from './enclave-definition.ts';
import { deriveKey } from './key-derivation.ts';
import { type EnclaveLayout, layoutEnclave } from './layout.ts';
import { type MeasurementInput, measurePages } from './measure.ts';
import {
  type PlatformSecrets,
  loadOrCreatePlatformSecrets,
  platformSecretsFromSeed,
  randomPlatformSecrets,
} from './platform-secrets.ts';
import { verifySigstruct } from './sigstruct-sign.ts';

const F = SGX_ATTRIBUTE_FLAGS;
/** Attribute flag bits that are architecturally defined (others are reserved and must be 0). */
const KNOWN_FLAGS =
  F.INIT | F.DEBUG | F.MODE64BIT | F.PROVISIONKEY | F.EINITTOKENKEY | F.CET | F.KSS | F.AEXNOTIFY;
const KSS_POLICY_BITS =
  KEY_POLICY.NOISVPRODID | KEY_POLICY.CONFIGID | KEY_POLICY.ISVFAMILYID | KEY_POLICY.ISVEXTPRODID;
const ALL_POLICY_BITS = KEY_POLICY.MRENCLAVE | KEY_POLICY.MRSIGNER | KSS_POLICY_BITS;

/** Default simulated CPUSVN. */
export const DEFAULT_SIM_CPUSVN: Uint8Array = Uint8Array.of(2, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0);

/** What the loader hands EINIT: the pages it added (in order) and the SECS it created. */
export interface LaunchRequest {
  readonly measurement: MeasurementInput;
  /** SECS.ATTRIBUTES as created (without INIT). */
  readonly attributes: SgxAttributes;
  readonly miscSelect: number;
  readonly cetAttributes?: number;
  readonly configId?: Uint8Array;
  readonly configSvn?: number;
}

/**
 * The launch request of an enclave image, and its layout. The pages are laid out, not measured:
 * EINIT measures what it is handed ({@link SimCpu.einit}), once.
 */
export function launchRequestFromImage(image: EnclaveImage): {
  request: LaunchRequest;
  layout: EnclaveLayout;
} {
  const layout = layoutEnclave(image);
  const def = image.definition;
  return {
    layout,
    request: {
      measurement: {
        enclaveSize: layout.enclaveSize,
        ssaFrameSize: layout.ssaFrameSize,
        pages: layout.pages,
      },
      attributes: def.attributes,
      miscSelect: def.miscSelect,
      ...(def.kss ? { configId: def.kss.configId, configSvn: def.kss.configSvn } : {}),
    },
  };
}

/** An initialised enclave's identity (its SECS after EINIT). Only the CPU that made it accepts it. */
export class SimEnclave {
  /** @internal use {@link SimCpu.einit}. */
  constructor(
    readonly mrEnclave: Uint8Array,
    readonly mrSigner: Uint8Array,
    readonly attributes: SgxAttributes,
    readonly miscSelect: number,
    readonly cetAttributes: number,
    readonly isvProdId: number,
    readonly isvSvn: number,
    readonly configId: Uint8Array,
    readonly configSvn: number,
    readonly isvFamilyId: Uint8Array,
    readonly isvExtProdId: Uint8Array,
  ) {}

  /** True when the DEBUG attribute is set. */
  get debug(): boolean {
    return (this.attributes.flags & F.DEBUG) !== 0n;
  }

  /** This enclave's TARGETINFO, for reports meant for it. */
  targetInfo(): TargetInfo {
    return {
      mrEnclave: this.mrEnclave,
      attributes: this.attributes,
      cetAttributes: this.cetAttributes,
      configSvn: this.configSvn,
      miscSelect: this.miscSelect,
      configId: this.configId,
    };
  }
}

/** Options of a simulated CPU. */
export interface SimCpuOptions {
  /** CPUSVN (16 bytes); default {@link DEFAULT_SIM_CPUSVN}. */
  readonly cpuSvn?: Uint8Array;
  /** MRSIGNERs allowed to launch enclaves with PROVISIONKEY or EINITTOKEN_KEY. Default: none. */
  readonly privilegedSigners?: readonly Uint8Array[];
  /** Per-boot REPORT KEYID (32 bytes); default random (derived from the seed with `fromSeed`). */
  readonly reportKeyId?: Uint8Array;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const isZero = (b: Uint8Array): boolean => b.every((x) => x === 0);

/** A simulated SGX CPU (one platform). */
export class SimCpu {
  readonly cpuSvn: Uint8Array;
  /** CR_REPORT_KEYID: per boot, put in every REPORT's KEYID. */
  readonly reportKeyId: Uint8Array;
  private readonly secrets: PlatformSecrets;
  private readonly privilegedSigners: ReadonlySet<string>;
  private readonly enclaves = new WeakSet<SimEnclave>();

  constructor(secrets: PlatformSecrets, options: SimCpuOptions = {}) {
    this.secrets = secrets;
    this.cpuSvn = (options.cpuSvn ?? DEFAULT_SIM_CPUSVN).slice();
    if (this.cpuSvn.length !== 16)
      throw new SimCpuError('ERR_SIM_CPU_SECRETS', 'cpuSvn must be 16 bytes', { field: 'cpuSvn' });
    this.reportKeyId = (options.reportKeyId ?? new Uint8Array(randomBytes(32))).slice();
    this.privilegedSigners = new Set((options.privilegedSigners ?? []).map(hex));
  }

  /** A CPU with secrets derived from `seed`: same seed, same keys (tests). */
  static fromSeed(seed: string, options: SimCpuOptions = {}): SimCpu {
    const reportKeyId = new Uint8Array(
      createHmac('sha256', `ccnodes-sim-platform:${seed}`).update('report-keyid').digest(),
    );
    return new SimCpu(platformSecretsFromSeed(seed), { reportKeyId, ...options });
  }

  /** A CPU with random secrets that live only in memory. */
  static ephemeral(options: SimCpuOptions = {}): SimCpu {
    return new SimCpu(randomPlatformSecrets(), options);
  }

  /** A CPU whose secrets persist (mode 0600) in `dataDir`, created on first use. */
  static async open(dataDir: string, options: SimCpuOptions = {}): Promise<SimCpu> {
    return new SimCpu(await loadOrCreatePlatformSecrets(dataDir), options);
  }

  /**
   * EINIT: checks the SIGSTRUCT against the loaded pages and the SECS, and returns the initialised
   * enclave. Throws `EinitError` naming the failed check.
   */
  einit(request: LaunchRequest, sigstructBytes: Uint8Array): SimEnclave {
    let verified;
    try {
      verified = verifySigstruct(sigstructBytes);
    } catch (cause) {
      const code = (cause as { code?: string }).code ?? 'unknown';
      throw new EinitError(
        'ERR_EINIT_SIGSTRUCT',
        `EINIT: SIGSTRUCT rejected (${code}): ${(cause as Error).message}`,
        { check: code },
        cause,
      );
    }
    const ss = verified.sigstruct;
    const a = request.attributes;
    const reserved = a.flags & ~KNOWN_FLAGS;
    if ((a.flags & F.INIT) !== 0n || reserved !== 0n) {
      throw new EinitError(
        'ERR_EINIT_ATTRIBUTES',
        `EINIT: SECS.ATTRIBUTES.flags 0x${a.flags.toString(16)} sets INIT or reserved bits`,
        {
          field: 'attributes.flags',
        },
      );
    }
    if ((a.xfrm & 0x3n) !== 0x3n) {
      throw new EinitError(
        'ERR_EINIT_ATTRIBUTES',
        'EINIT: SECS.ATTRIBUTES.xfrm must include x87 and SSE (0x3)',
        { field: 'attributes.xfrm' },
      );
    }
    const { mrEnclave } = measurePages(request.measurement);
    if (!equalBytes(mrEnclave, ss.enclaveHash)) {
      throw new EinitError(
        'ERR_EINIT_MRENCLAVE',
        `EINIT: measured MRENCLAVE ${hex(mrEnclave)} differs from SIGSTRUCT.ENCLAVEHASH ${hex(ss.enclaveHash)}`,
        { field: 'SIGSTRUCT.ENCLAVEHASH', measured: hex(mrEnclave), signed: hex(ss.enclaveHash) },
      );
    }
    const mask = ss.attributeMask;
    const mismatch = (what: string, field: string): EinitError =>
      new EinitError('ERR_EINIT_ATTRIBUTES', `EINIT: ${what} differs from SIGSTRUCT under its mask`, {
        field,
      });
    if ((a.flags & mask.flags) !== (ss.attributes.flags & mask.flags))
      throw mismatch('ATTRIBUTES.flags', 'attributes.flags');
    if ((a.xfrm & mask.xfrm) !== (ss.attributes.xfrm & mask.xfrm))
      throw mismatch('ATTRIBUTES.xfrm', 'attributes.xfrm');
    if ((request.miscSelect & ss.miscMask) >>> 0 !== (ss.miscSelect & ss.miscMask) >>> 0)
      throw mismatch('MISCSELECT', 'miscSelect');
    const cet = request.cetAttributes ?? 0;
    if ((cet & ss.cetAttributesMask) !== (ss.cetAttributes & ss.cetAttributesMask))
      throw mismatch('CET_ATTRIBUTES', 'cetAttributes');
    const kss = (a.flags & F.KSS) !== 0n;
    const configId = request.configId ?? new Uint8Array(64);
    const configSvn = request.configSvn ?? 0;
    if (
      !kss &&
      (!isZero(ss.isvFamilyId) || !isZero(ss.isvExtProdId) || !isZero(configId) || configSvn !== 0)
    ) {
      throw new EinitError(
        'ERR_EINIT_KSS',
        'EINIT: ISVFAMILYID, ISVEXTPRODID, CONFIGID and CONFIGSVN must be zero without the KSS attribute',
        {
          field: 'kss',
        },
      );
    }
    const privileged = a.flags & (F.PROVISIONKEY | F.EINITTOKENKEY);
    if (privileged !== 0n && !this.privilegedSigners.has(hex(verified.mrSigner))) {
      throw new EinitError(
        'ERR_EINIT_PRIVILEGED_ATTRIBUTE',
        `EINIT: MRSIGNER ${hex(verified.mrSigner)} may not launch enclaves with ${privileged & F.PROVISIONKEY ? 'PROVISIONKEY' : 'EINITTOKEN_KEY'}`,
        { field: 'attributes.flags', mrSigner: hex(verified.mrSigner) },
      );
    }
    const enclave = new SimEnclave(
      mrEnclave,
      verified.mrSigner,
      { flags: a.flags | F.INIT, xfrm: a.xfrm },
      request.miscSelect,
      cet,
      ss.isvProdId,
      ss.isvSvn,
      configId.slice(),
      configSvn,
      ss.isvFamilyId.slice(),
      ss.isvExtProdId.slice(),
    );
    this.enclaves.add(enclave);
    return enclave;
  }

  /** EINIT of an enclave image (lays it out and measures it first). */
  einitImage(
    image: EnclaveImage,
    sigstructBytes: Uint8Array,
  ): { enclave: SimEnclave; layout: EnclaveLayout } {
    const { request, layout } = launchRequestFromImage(image);
    return { enclave: this.einit(request, sigstructBytes), layout };
  }

  /**
   * Launches an architectural enclave (the simulated QE or PCE) with a fixed identity: no pages, no
   * SIGSTRUCT — the simulator does not run their code, as it does not have it. Host-side only; the
   * identity is taken as given (INIT is set).
   */
  launchArchitectural(identity: {
    readonly mrEnclave: Uint8Array;
    readonly mrSigner: Uint8Array;
    readonly attributes: SgxAttributes;
    readonly isvProdId: number;
    readonly isvSvn?: number;
    readonly miscSelect?: number;
  }): SimEnclave {
    if (identity.mrEnclave.length !== 32 || identity.mrSigner.length !== 32) {
      throw new EinitError(
        'ERR_EINIT_ATTRIBUTES',
        'architectural enclave: MRENCLAVE and MRSIGNER must be 32 bytes',
        {
          field: 'mrEnclave',
        },
      );
    }
    const enclave = new SimEnclave(
      identity.mrEnclave.slice(),
      identity.mrSigner.slice(),
      { flags: identity.attributes.flags | F.INIT, xfrm: identity.attributes.xfrm },
      identity.miscSelect ?? 0,
      0,
      identity.isvProdId,
      identity.isvSvn ?? 0,
      new Uint8Array(64),
      0,
      new Uint8Array(16),
      new Uint8Array(16),
    );
    this.enclaves.add(enclave);
    return enclave;
  }

  private own(enclave: SimEnclave): void {
    if (!this.enclaves.has(enclave)) {
      throw new SimCpuError('ERR_ENCLAVE_UNKNOWN', 'this enclave was not initialised by this simulated CPU');
    }
  }

  private reportKey(t: TargetInfo, keyId: Uint8Array): Uint8Array {
    return deriveKey(this.secrets.rootSealKey, {
      keyName: KEY_NAME.REPORT,
      configSvn: t.configSvn,
      cetAttributes: t.cetAttributes,
      maskedMiscSelect: t.miscSelect,
      miscMask: 0xffffffff,
      cpuSvn: this.cpuSvn,
      maskedAttributes: t.attributes,
      attributeMask: { flags: 0xffffffffffffffffn, xfrm: 0xffffffffffffffffn },
      mrEnclave: t.mrEnclave,
      keyId,
      ownerEpoch: this.secrets.ownerEpoch,
      configId: t.configId,
    });
  }

  /**
   * EREPORT: a 432-byte REPORT of `enclave` with `reportData` (64 bytes, zero-padded if shorter),
   * MACed with the report key of the enclave named by `target` (TARGETINFO or its 512 bytes).
   */
  ereport(
    enclave: SimEnclave,
    target: TargetInfo | Uint8Array,
    reportData: Uint8Array = new Uint8Array(64),
  ): Uint8Array {
    this.own(enclave);
    const t = target instanceof Uint8Array ? decodeTargetInfo(target) : target;
    if (reportData.length > 64) {
      throw new SimCpuError('ERR_EREPORT_DATA', `REPORTDATA is at most 64 bytes, got ${reportData.length}`, {
        field: 'reportData',
      });
    }
    const data = new Uint8Array(64);
    data.set(reportData);
    const reserved1 = new Uint8Array(12);
    reserved1[0] = enclave.cetAttributes;
    const body = {
      cpuSvn: this.cpuSvn,
      miscSelect: enclave.miscSelect,
      reserved1,
      isvExtProdId: enclave.isvExtProdId,
      attributes: enclave.attributes,
      mrEnclave: enclave.mrEnclave,
      mrSigner: enclave.mrSigner,
      configId: enclave.configId,
      isvProdId: enclave.isvProdId,
      isvSvn: enclave.isvSvn,
      configSvn: enclave.configSvn,
      isvFamilyId: enclave.isvFamilyId,
      reportData: data,
    };
    const unsigned = encodeReport({ body, keyId: this.reportKeyId, mac: new Uint8Array(16) });
    const mac = aesCmac(this.reportKey(t, this.reportKeyId), unsigned.subarray(0, 384));
    unsigned.set(mac, 416);
    return unsigned;
  }

  /**
   * Checks a REPORT as its target enclave does (EGETKEY REPORT key with the report's KEYID, then
   * CMAC). Returns the decoded report; throws `ReportVerificationError` (`ERR_REPORT_MAC`) otherwise.
   */
  verifyReport(verifier: SimEnclave, reportBytes: Uint8Array): Report {
    this.own(verifier);
    const report = decodeReport(reportBytes);
    const mac = aesCmac(this.reportKey(verifier.targetInfo(), report.keyId), report.bodyRaw);
    if (!equalBytes(mac, report.mac)) {
      throw new ReportVerificationError(
        'ERR_REPORT_MAC',
        'REPORT MAC does not verify for this target enclave on this platform',
        {
          field: 'REPORT.MAC',
          offset: 416,
        },
      );
    }
    return report;
  }

  /** EGETKEY: derives the 128-bit key named by the KEYREQUEST for `enclave`, with the SDM checks. */
  egetkey(enclave: SimEnclave, request: KeyRequest | Uint8Array): Uint8Array {
    this.own(enclave);
    const k = request instanceof Uint8Array ? decodeKeyRequest(request) : request;
    const flags = enclave.attributes.flags;
    if ((k.keyPolicy & ~ALL_POLICY_BITS) !== 0) {
      throw new EgetkeyError(
        'ERR_EGETKEY_RESERVED',
        `EGETKEY: reserved KEYPOLICY bits in 0x${k.keyPolicy.toString(16)}`,
        { field: 'KEYPOLICY' },
      );
    }
    if ((k.keyPolicy & KSS_POLICY_BITS) !== 0 && (flags & F.KSS) === 0n) {
      throw new EgetkeyError('ERR_EGETKEY_ATTRIBUTE', 'EGETKEY: KEYPOLICY bits 2-5 need the KSS attribute', {
        field: 'KEYPOLICY',
      });
    }
    if (k.keyName === KEY_NAME.REPORT) return this.reportKey(enclave.targetInfo(), k.keyId);
    const needs = (bit: bigint, name: string): void => {
      if ((flags & bit) === 0n) {
        throw new EgetkeyError('ERR_EGETKEY_ATTRIBUTE', `EGETKEY: this key needs the ${name} attribute`, {
          field: 'KEYNAME',
        });
      }
    };
    if (k.keyName === KEY_NAME.PROVISION || k.keyName === KEY_NAME.PROVISION_SEAL)
      needs(F.PROVISIONKEY, 'PROVISIONKEY');
    else if (k.keyName === KEY_NAME.EINITTOKEN) needs(F.EINITTOKENKEY, 'EINITTOKEN_KEY');
    else if (k.keyName !== KEY_NAME.SEAL) {
      throw new EgetkeyError('ERR_EGETKEY_KEYNAME', `EGETKEY: unknown KEYNAME ${k.keyName}`, {
        field: 'KEYNAME',
      });
    }
    this.checkSvns(enclave, k);
    const mask = {
      flags: k.attributeMask.flags | F.INIT | F.DEBUG,
      xfrm: k.attributeMask.xfrm,
    };
    const common = {
      keyName: k.keyName,
      isvSvn: k.isvSvn,
      cpuSvn: k.cpuSvn,
      maskedAttributes: { flags: flags & mask.flags, xfrm: enclave.attributes.xfrm & mask.xfrm },
      attributeMask: mask,
      maskedMiscSelect: (enclave.miscSelect & k.miscMask) >>> 0,
      miscMask: k.miscMask,
    };
    const p = k.keyPolicy;
    const kssIds = {
      ...(p & KEY_POLICY.CONFIGID ? { configId: enclave.configId, configSvn: k.configSvn } : {}),
      ...(p & KEY_POLICY.ISVFAMILYID ? { isvFamilyId: enclave.isvFamilyId } : {}),
      ...(p & KEY_POLICY.ISVEXTPRODID ? { isvExtProdId: enclave.isvExtProdId } : {}),
    };
    const isvProdId = p & KEY_POLICY.NOISVPRODID ? 0 : enclave.isvProdId;
    switch (k.keyName) {
      case KEY_NAME.SEAL:
        return deriveKey(this.secrets.rootSealKey, {
          ...common,
          ...kssIds,
          keyPolicy: p,
          isvProdId,
          ...(p & KEY_POLICY.MRENCLAVE ? { mrEnclave: enclave.mrEnclave } : {}),
          ...(p & KEY_POLICY.MRSIGNER ? { mrSigner: enclave.mrSigner } : {}),
          keyId: k.keyId,
          ownerEpoch: this.secrets.ownerEpoch,
        });
      case KEY_NAME.PROVISION:
        return deriveKey(this.secrets.rootProvisioningKey, {
          ...common,
          isvProdId: enclave.isvProdId,
          mrSigner: enclave.mrSigner,
        });
      case KEY_NAME.PROVISION_SEAL:
        return deriveKey(this.secrets.rootSealKey, {
          ...common,
          ...kssIds,
          keyPolicy: p,
          isvProdId,
          mrSigner: enclave.mrSigner,
        });
      default:
        return deriveKey(this.secrets.rootSealKey, {
          ...common,
          isvProdId: enclave.isvProdId,
          mrSigner: enclave.mrSigner,
          keyId: k.keyId,
          ownerEpoch: this.secrets.ownerEpoch,
        });
    }
  }

  private checkSvns(enclave: SimEnclave, k: KeyRequest): void {
    if (k.isvSvn > enclave.isvSvn) {
      throw new EgetkeyError(
        'ERR_EGETKEY_ISVSVN',
        `EGETKEY: requested ISVSVN ${k.isvSvn} > enclave ISVSVN ${enclave.isvSvn}`,
        {
          field: 'ISVSVN',
          requested: k.isvSvn,
          current: enclave.isvSvn,
        },
      );
    }
    for (let i = 0; i < 16; i++) {
      if ((k.cpuSvn[i] ?? 0) > (this.cpuSvn[i] ?? 0)) {
        throw new EgetkeyError(
          'ERR_EGETKEY_CPUSVN',
          `EGETKEY: requested CPUSVN component ${i} exceeds the current CPUSVN`,
          {
            field: 'CPUSVN',
            component: i,
          },
        );
      }
    }
    if (k.configSvn > enclave.configSvn && (k.keyPolicy & KEY_POLICY.CONFIGID) !== 0) {
      throw new EgetkeyError(
        'ERR_EGETKEY_CONFIGSVN',
        `EGETKEY: requested CONFIGSVN ${k.configSvn} > enclave CONFIGSVN ${enclave.configSvn}`,
        {
          field: 'CONFIGSVN',
        },
      );
    }
  }
}
