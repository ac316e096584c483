/**
 * One simulated DCAP deployment: the simulated PKI, a set of provisioned platforms, and the
 * collateral Intel's PCS would serve for them (TCB Info per FMSPC, QE Identity, PCK CRLs listing
 * the revoked platforms' PCK serials, Root CA CRL). Platforms and the PCS endpoint both draw from it.
 */
import type { RawCollateral } from '../core/index.ts';
import {
  DEFAULT_COLLATERAL_VALIDITY_DAYS,
  signedQeIdentity,
  signedTcbInfo,
  type SimQeIdentitySpec,
  type SimTcbInfoSpec,
} from './collateral.ts';
import { SimConfigError } from './errors.ts';
import { createSimPki, type PckCaKind, type SimPki, type SimPkiOptions } from './pki.ts';
import { SimPlatform, type SimPlatformConfig } from './platform.ts';
import { SIM_PLATFORM_PRESETS, SIM_QE_IDENTITY, SIM_TCB_INFOS } from './platforms.ts';
import { SIM_TD_QE_IDENTITY, SimTdxPlatform, tdxTcbInfoSpecOf } from './tdx.ts';
import { signedTdQeIdentity, signedTdxTcbInfo, type SimTdxTcbInfoSpec } from './tdx-collateral.ts';

/** Root CA CRL lifetime (Intel's is about one year). */
export const ROOT_CA_CRL_VALIDITY_DAYS = 365;

/** Options of {@link createSimDcap}. */
export interface SimDcapOptions extends SimPkiOptions {
  /** Platforms to provision (default: every preset of platforms.ts). */
  readonly platforms?: readonly SimPlatformConfig[];
  /** TCB Info per FMSPC (default: the simulated TCB policy). */
  readonly tcbInfos?: readonly SimTcbInfoSpec[];
  readonly qeIdentity?: SimQeIdentitySpec;
  /** TDX TCB Info per FMSPC (default: each SGX TCB Info with the simulated TDX components and module). */
  readonly tdxTcbInfos?: readonly SimTdxTcbInfoSpec[];
  /** The TD_QE identity (default: the simulated TD quoting enclave's). */
  readonly tdQeIdentity?: SimQeIdentitySpec;
  /** Lifetime of TCB Info, QE Identity and PCK CRLs in days (default 30). */
  readonly validityDays?: number;
}

/** Issue time of collateral. */
export interface SimCollateralOptions {
  /** Issue time (default: the current time). */
  readonly now?: Date;
}

/** The simulated PKI, platforms and collateral of one simulation. */
export class SimDcap {
  readonly pki: SimPki;
  readonly #platforms = new Map<string, SimPlatform>();
  readonly #tcbInfos: ReadonlyMap<string, SimTcbInfoSpec>;
  readonly #qeIdentity: SimQeIdentitySpec;
  readonly #validityDays: number;
  readonly #crlCache = new Map<string, Uint8Array>();
  readonly #tdxTcbInfos: ReadonlyMap<string, SimTdxTcbInfoSpec>;
  readonly #tdQeIdentity: SimQeIdentitySpec;
  readonly #tdx = new Map<string, SimTdxPlatform>();

  private constructor(pki: SimPki, options: SimDcapOptions) {
    this.pki = pki;
    this.#tcbInfos = new Map((options.tcbInfos ?? SIM_TCB_INFOS).map((t) => [t.fmspc.toUpperCase(), t]));
    const tdxInfos = options.tdxTcbInfos ?? [...this.#tcbInfos.values()].map(tdxTcbInfoSpecOf);
    this.#tdxTcbInfos = new Map(tdxInfos.map((t) => [t.fmspc.toUpperCase(), t]));
    this.#tdQeIdentity = options.tdQeIdentity ?? SIM_TD_QE_IDENTITY;
    this.#qeIdentity = options.qeIdentity ?? SIM_QE_IDENTITY;
    this.#validityDays = options.validityDays ?? DEFAULT_COLLATERAL_VALIDITY_DAYS;
  }

  /** Builds the PKI and provisions every platform. */
  static create(options: SimDcapOptions = {}): SimDcap {
    const pki = createSimPki(options);
    const configs = options.platforms ?? SIM_PLATFORM_PRESETS.map((p) => p.config);
    const dcap = new SimDcap(pki, options);
    for (const config of configs) {
      if (dcap.#platforms.has(config.name)) {
        throw new SimConfigError(
          'ERR_SIM_PLATFORM_CONFIG',
          `name: two platforms are named "${config.name}"`,
          {
            field: 'name',
          },
        );
      }
      const platform = SimPlatform.create(pki, config, (p, o) => dcap.collateral(p, o));
      dcap.#platforms.set(platform.name, platform);
    }
    return dcap;
  }

  /** PEM of the simulated root certificate. */
  get rootPem(): string {
    return this.pki.rootPem;
  }

  /** Every provisioned platform, in configuration order. */
  get platforms(): readonly SimPlatform[] {
    return [...this.#platforms.values()];
  }

  /**
   * The provisioned platform `name`.
   * @throws SimConfigError `ERR_SIM_UNKNOWN_PLATFORM`.
   */
  platform(name: string): SimPlatform {
    const found = this.#platforms.get(name);
    if (found === undefined) {
      throw new SimConfigError(
        'ERR_SIM_UNKNOWN_PLATFORM',
        `unknown simulated platform "${name}" (known: ${[...this.#platforms.keys()].join(', ')})`,
        { field: 'platform', name },
      );
    }
    return found;
  }

  /** FMSPCs (upper-case hex) with a TCB Info. */
  get fmspcs(): readonly string[] {
    return [...this.#tcbInfos.keys()];
  }

  /** The signed TCB Info body for `fmspc` (any case), or undefined when the FMSPC is unknown. */
  tcbInfo(fmspc: string, options: SimCollateralOptions = {}): string | undefined {
    const spec = this.#tcbInfos.get(fmspc.toUpperCase());
    if (spec === undefined) return undefined;
    return signedTcbInfo(this.pki, spec, {
      now: options.now ?? new Date(),
      validityDays: this.#validityDays,
    });
  }

  /** The signed QE Identity body. */
  qeIdentity(options: SimCollateralOptions = {}): string {
    return signedQeIdentity(this.pki, this.#qeIdentity, {
      now: options.now ?? new Date(),
      validityDays: this.#validityDays,
    });
  }

  /** The signed TDX TCB Info body for `fmspc` (any case), or undefined when the FMSPC is unknown. */
  tdxTcbInfo(fmspc: string, options: SimCollateralOptions = {}): string | undefined {
    const spec = this.#tdxTcbInfos.get(fmspc.toUpperCase());
    if (spec === undefined) return undefined;
    return signedTdxTcbInfo(this.pki, spec, {
      now: options.now ?? new Date(),
      validityDays: this.#validityDays,
    });
  }

  /** The signed TD_QE Identity body. */
  tdQeIdentity(options: SimCollateralOptions = {}): string {
    return signedTdQeIdentity(this.pki, this.#tdQeIdentity, {
      now: options.now ?? new Date(),
      validityDays: this.#validityDays,
    });
  }

  /**
   * The TD quoting enclave of platform `name` (the platform preset's PCK certifies it); see tdx.ts.
   * @throws SimConfigError `ERR_SIM_UNKNOWN_PLATFORM`.
   */
  tdx(name: string): SimTdxPlatform {
    let found = this.#tdx.get(name);
    if (found === undefined) {
      const platform = this.platform(name);
      found = new SimTdxPlatform(this.pki, platform, (o) => this.tdxCollateral(platform, o));
      this.#tdx.set(name, found);
    }
    return found;
  }

  /**
   * Everything a verifier needs for TDX quotes of `platform`: TDX TCB Info, TD_QE identity, PCK CRL,
   * Root CA CRL.
   * @throws SimConfigError `ERR_SIM_PLATFORM_CONFIG` when no TDX TCB Info covers the platform's FMSPC.
   */
  tdxCollateral(platform: SimPlatform | string, options: SimCollateralOptions = {}): RawCollateral {
    const p = typeof platform === 'string' ? this.platform(platform) : platform;
    const now = options.now ?? new Date();
    const tcbInfo = this.tdxTcbInfo(p.config.fmspc, { now });
    if (tcbInfo === undefined) {
      throw new SimConfigError(
        'ERR_SIM_PLATFORM_CONFIG',
        `fmspc: no simulated TDX TCB Info for ${p.config.fmspc}`,
        { field: 'fmspc' },
      );
    }
    return {
      tcbInfo,
      tcbInfoIssuerChain: this.pki.tcbIssuerChainPem(),
      qeIdentity: this.tdQeIdentity({ now }),
      qeIdentityIssuerChain: this.pki.tcbIssuerChainPem(),
      pckCrl: this.pckCrl(p.config.ca, { now }),
      pckCrlIssuerChain: this.pki.pckIssuerChainPem(p.config.ca),
      rootCaCrl: this.rootCaCrl({ now }),
    };
  }

  /** Serials (hex) of the PCK certificates under `kind` that are configured as revoked. */
  revokedPckSerials(kind: PckCaKind): string[] {
    return this.platforms
      .filter((p) => p.config.ca === kind && p.config.pckRevoked)
      .map((p) => p.pck.serialHex);
  }

  /** The PCK CRL (DER) of the PCK CA `kind`. */
  pckCrl(kind: PckCaKind, options: SimCollateralOptions = {}): Uint8Array {
    const now = options.now ?? new Date();
    return this.#cachedCrl(`pck/${kind}`, now, () =>
      this.pki.pckCrl(kind, {
        now,
        validityDays: this.#validityDays,
        revokedSerials: this.revokedPckSerials(kind),
      }),
    );
  }

  /** The Root CA CRL (DER); lists no certificate. */
  rootCaCrl(options: SimCollateralOptions = {}): Uint8Array {
    const now = options.now ?? new Date();
    return this.#cachedCrl('root', now, () =>
      this.pki.rootCaCrl({ now, validityDays: ROOT_CA_CRL_VALIDITY_DAYS }),
    );
  }

  /**
   * Everything a verifier needs for quotes of `platform`, in the core's `RawCollateral` shape.
   * @throws SimConfigError `ERR_SIM_PLATFORM_CONFIG` when no TCB Info covers the platform's FMSPC.
   */
  collateral(platform: SimPlatform | string, options: SimCollateralOptions = {}): RawCollateral {
    const p = typeof platform === 'string' ? this.platform(platform) : platform;
    const now = options.now ?? new Date();
    const tcbInfo = this.tcbInfo(p.config.fmspc, { now });
    if (tcbInfo === undefined) {
      throw new SimConfigError(
        'ERR_SIM_PLATFORM_CONFIG',
        `fmspc: no simulated TCB Info for ${p.config.fmspc}`,
        {
          field: 'fmspc',
        },
      );
    }
    return {
      tcbInfo,
      tcbInfoIssuerChain: this.pki.tcbIssuerChainPem(),
      qeIdentity: this.qeIdentity({ now }),
      qeIdentityIssuerChain: this.pki.tcbIssuerChainPem(),
      pckCrl: this.pckCrl(p.config.ca, { now }),
      pckCrlIssuerChain: this.pki.pckIssuerChainPem(p.config.ca),
      rootCaCrl: this.rootCaCrl({ now }),
    };
  }

  #cachedCrl(kind: string, now: Date, make: () => Uint8Array): Uint8Array {
    const key = `${kind}@${Math.floor(now.getTime() / 1000)}`;
    let crl = this.#crlCache.get(key);
    if (crl === undefined) {
      if (this.#crlCache.size >= 64) this.#crlCache.clear();
      crl = make();
      this.#crlCache.set(key, crl);
    }
    return crl;
  }
}

/** Creates a simulated DCAP deployment (PKI + platforms + collateral); see {@link SimDcap}. */
export function createSimDcap(options: SimDcapOptions = {}): SimDcap {
  return SimDcap.create(options);
}
