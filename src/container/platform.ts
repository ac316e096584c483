/**
 * Where the launcher's identity runs and gets its quote: the simulated CPU (EINIT, EREPORT,
 * EGETKEY), and a quoting enclave reached either through an AESM socket (the node's quote helper)
 * or in process (the simulated DCAP deployment of the same installation).
 */
import { existsSync } from 'node:fs';
import { encodeTargetInfo, REPORT_BODY_SIZE } from '../core/index.ts';
import {
  createSimDcap,
  DEFAULT_SIM_PLATFORM,
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  SimCpu,
  type SimDcap,
  type SimDcapOptions,
} from '../sim/index.ts';
import {
  aesmGetQuote,
  aesmQuoteSize,
  aesmQuoteTarget,
  DEFAULT_AESM_SOCKET,
  type AesmQuoteTarget,
} from './aesm-client.ts';
import { ContainerLaunchError } from './errors.ts';

/** Simulated DCAP deployments already built in this process (building one takes about half a second). */
const dcaps = new Map<string, SimDcap>();

/** Options of {@link openPlatform}. */
export interface PlatformOptions {
  /** Simulated platform secrets from this seed (tests; same seed as the quote helper / sim PCS). */
  readonly simSeed?: string;
  /** Simulated platform secrets persisted in this directory (as `node quote-helper --data-dir`). */
  readonly dataDir?: string;
  /** AESM socket to quote through; `undefined`: `defaultAesmSocket` if it exists, else in process. */
  readonly aesmSocket?: string;
  /**
   * The socket used when it exists and no `aesmSocket` is named (default {@link DEFAULT_AESM_SOCKET},
   * where aesmd listens). Exists for tests, which cannot create the real one.
   */
  readonly defaultAesmSocket?: string;
  /** The in-process platform preset (default {@link DEFAULT_SIM_PLATFORM}). */
  readonly simPlatform?: string;
  /**
   * How the in-process simulated DCAP deployment is built (default `createSimDcap`; for tests, e.g.
   * to count builds). It is built once per seed or data directory in a process and kept: only the
   * first open of each calls it.
   */
  readonly loadSimDcap?: (source: SimDcapOptions) => SimDcap;
}

/** The platform the launcher uses. */
export interface LaunchPlatform {
  readonly cpu: SimCpu;
  /** `aesm:<socket>` or `in-process`. */
  readonly quoting: string;
  /** TARGETINFO of the quoting enclave (512 bytes). */
  quoteTarget(): Promise<Uint8Array>;
  /** A quote of `report` (a REPORT targeted at the quoting enclave). */
  quote(report: Uint8Array): Promise<Uint8Array>;
}

/**
 * Opens the simulated platform: the CPU from `simSeed` or `dataDir`, and the quoting path.
 * @throws ContainerLaunchError `ERR_CONTAINER_QUOTE` when no platform secrets are named or the
 *   named socket does not exist.
 */
export async function openPlatform(o: PlatformOptions): Promise<LaunchPlatform> {
  let cpu: SimCpu;
  if (o.simSeed !== undefined) cpu = SimCpu.fromSeed(o.simSeed);
  else if (o.dataDir !== undefined) cpu = await SimCpu.open(o.dataDir);
  else
    throw new ContainerLaunchError(
      'ERR_CONTAINER_QUOTE',
      'no simulated platform: give a data directory or a seed',
      {
        details: { field: 'dataDir' },
      },
    );
  const fallback = o.defaultAesmSocket ?? DEFAULT_AESM_SOCKET;
  const socket = o.aesmSocket ?? (existsSync(fallback) ? fallback : undefined);
  if (socket !== undefined) {
    if (!existsSync(socket))
      throw new ContainerLaunchError('ERR_CONTAINER_QUOTE', `AESM socket ${socket} does not exist`, {
        details: { socketPath: socket },
      });
    let target: AesmQuoteTarget | undefined;
    // The quote's size (GetQuoteSizeEx, after InitQuoteEx as in the SDK's sequence) is asked for as
    // soon as the target is known, while the enclave makes its report; its outcome, kept as a
    // value, is met in `quote`.
    let quoteSize: Promise<{ size: number | undefined } | Error> | undefined;
    return {
      cpu,
      quoting: `aesm:${socket}`,
      quoteTarget: async () => {
        const t = await aesmQuoteTarget(socket);
        target = t;
        quoteSize = aesmQuoteSize(socket, t).then(
          (size) => ({ size }),
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        );
        return t.targetInfo;
      },
      quote: async (report) => {
        target ??= await aesmQuoteTarget(socket);
        const known = await quoteSize;
        if (known instanceof Error) throw known;
        return aesmGetQuote(socket, target, report, undefined, known);
      },
    };
  }
  // In process: the simulated QE on this CPU, and the simulated DCAP deployment of the same
  // installation (its PCK chain is what the attestation service trusts with --trust-simulated-root).
  const qe = cpu.launchArchitectural({
    mrEnclave: SIM_QE_MRENCLAVE,
    mrSigner: SIM_QE_MRSIGNER,
    attributes: SIM_QE_ATTRIBUTES,
    isvProdId: SIM_QE_ISVPRODID,
  });
  const dcapKey = o.simSeed !== undefined ? `seed:${o.simSeed}` : `dir:${o.dataDir ?? ''}`;
  let dcap = dcaps.get(dcapKey);
  if (dcap === undefined) {
    dcap = (o.loadSimDcap ?? createSimDcap)(
      o.simSeed !== undefined ? { seed: o.simSeed } : { dataDir: o.dataDir ?? '' },
    );
    dcaps.set(dcapKey, dcap);
  }
  const platform = dcap.platform(o.simPlatform ?? DEFAULT_SIM_PLATFORM);
  return {
    cpu,
    quoting: 'in-process',
    quoteTarget: () => Promise.resolve(encodeTargetInfo(qe.targetInfo())),
    quote: (report) => {
      try {
        cpu.verifyReport(qe, report);
      } catch (cause) {
        return Promise.reject(
          new ContainerLaunchError(
            'ERR_CONTAINER_QUOTE',
            `the quoting enclave refused the report: ${(cause as Error).message}`,
            {
              cause,
            },
          ),
        );
      }
      return Promise.resolve(platform.quote(report.subarray(0, REPORT_BODY_SIZE)));
    },
  };
}
