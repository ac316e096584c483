/**
 * The `sim` provider: the node's simulated platform (src/sim) plays Intel's QE3. Its target info
 * names the simulated QE (MRENCLAVE/ATTRIBUTES of `SIM_QE_*`), its attestation key ID is an
 * ECDSA-P256 `sgx_att_key_id_ext_t` with the simulated QE's MRSIGNER, and quotes are v3 with the
 * PCK chain of the simulated PKI. Quotes chain to "ccnodes Simulated SGX Root CA (NOT FOR
 * PRODUCTION)", which verifiers refuse unless told to trust it.
 *
 * Report MAC: the real QE3 checks the app report's MAC with its REPORT key. The simulated CPU keeps
 * its report keys private, so the check is a hook (`verifyReport`); without one the provider
 * quotes any 432-byte report and says so in `health()`. QE reports (qe_report_info) need the
 * `makeQeReport` hook likewise; without it GetQuoteEx with qe_report_info answers
 * AESM_UNABLE_TO_GENERATE_QE_REPORT.
 */
import { createHash } from 'node:crypto';
import { AESM_STATUS } from '../../../contract/index.ts';
import { REPORT_BODY_SIZE, encodeTargetInfo } from '../../../core/index.ts';
import type { SimDcap, SimPlatform } from '../../../sim/index.ts';
import { ATT_KEY_ALGORITHM, encodeAttKeyId } from '../att-key-id.ts';
import { AesmStatusError, QuoteHelperInputError } from '../errors.ts';
import type {
  ProviderHealth,
  QeReportRequest,
  QuoteProvider,
  QuoteResult,
  QuoteTarget,
} from '../provider.ts';
import { qeReportData } from '../qe-report-info.ts';

export interface SimProviderOptions {
  /** Data directory holding the simulated platform's persistent secret (`--data-dir`). */
  readonly dataDir?: string;
  /** Test seed (takes precedence over `dataDir`). */
  readonly seed?: string;
  /** Simulated platform preset (default `up-to-date`). */
  readonly platform?: string;
  /** Checks a 432-byte report's MAC under the QE's report key; throws to refuse it. */
  readonly verifyReport?: (report: Uint8Array) => void;
  /** Makes the QE's 432-byte REPORT for an app enclave target with the given REPORTDATA. */
  readonly makeQeReport?: (appTargetInfo: Uint8Array, reportData: Uint8Array) => Uint8Array;
}

/** The sim provider, with the simulation objects exposed for tests and the demo. */
export interface SimQuoteProvider extends QuoteProvider {
  readonly dcap: SimDcap;
  readonly platform: SimPlatform;
  /** PEM of the simulated root CA the quotes chain to. */
  readonly rootPem: string;
  /** The QE target info apps must target their reports at. */
  readonly targetInfo: Uint8Array;
  readonly attKeyId: Uint8Array;
}

type SimModule = typeof import('../../../sim/index.ts');

/** The simulated QE's TARGETINFO (512 bytes). */
function simQeTargetInfo(sim: SimModule): Uint8Array {
  return encodeTargetInfo({
    mrEnclave: sim.SIM_QE_MRENCLAVE,
    attributes: sim.SIM_QE_ATTRIBUTES,
    cetAttributes: 0,
    configSvn: 0,
    miscSelect: 0,
    configId: new Uint8Array(64),
  });
}

/** The simulated QE's ECDSA-P256 attestation key ID (256 bytes). */
function simAttKeyId(sim: SimModule): Uint8Array {
  return encodeAttKeyId({
    id: 0,
    version: 0,
    mrSigner: sim.SIM_QE_MRSIGNER,
    prodId: sim.SIM_QE_ISVPRODID,
    extendedProdId: new Uint8Array(16),
    configId: new Uint8Array(64),
    familyId: new Uint8Array(16),
    algorithmId: ATT_KEY_ALGORITHM.ECDSA_P256,
    spid: new Uint8Array(16),
    attKeyType: 0,
  });
}

/**
 * Provisions the simulated platform and returns the provider. The simulator (and its X.509 stack)
 * is loaded here, on first use, so an `aesmd` deployment never pays for it. Rejects with the sim's
 * typed error for an unknown preset or an unusable data directory.
 */
export async function createSimProvider(options: SimProviderOptions = {}): Promise<SimQuoteProvider> {
  const sim = await import('../../../sim/index.ts');
  return buildSimProvider(sim, options);
}

function buildSimProvider(sim: SimModule, options: SimProviderOptions): SimQuoteProvider {
  const name = options.platform ?? sim.DEFAULT_SIM_PLATFORM;
  const preset = sim.simPlatformPreset(name);
  const dcap = sim.SimDcap.create({
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
    platforms: [preset.config],
  });
  const platform = dcap.platform(name);
  const targetInfo = simQeTargetInfo(sim);
  const attKeyId = simAttKeyId(sim);
  const pubKeyId = new Uint8Array(createHash('sha256').update(platform.attestationKey.publicRaw).digest());
  const quoteSize = platform.quote(new Uint8Array(REPORT_BODY_SIZE)).length;
  const { verifyReport, makeQeReport } = options;

  const provider: SimQuoteProvider = {
    name: 'sim',
    simulated: true,
    dcap,
    platform,
    rootPem: dcap.rootPem,
    targetInfo,
    attKeyId,

    supportedAttKeyIds: () => Promise.resolve([attKeyId]),

    initQuote: (): Promise<QuoteTarget> => Promise.resolve({ targetInfo, pubKeyId }),

    quoteSize: () => Promise.resolve(quoteSize),

    quote(report: Uint8Array, _attKeyId, qeReport?: QeReportRequest): Promise<QuoteResult> {
      if (report.length !== 432) {
        return Promise.reject(
          new QuoteHelperInputError(
            'ERR_QUOTE_HELPER_INPUT',
            `report: expected 432 bytes, got ${report.length}`,
            {
              field: 'report',
            },
          ),
        );
      }
      if (verifyReport !== undefined) {
        try {
          verifyReport(report);
        } catch (cause) {
          return Promise.reject(
            new QuoteHelperInputError(
              'ERR_QUOTE_HELPER_REPORT_MAC',
              `report MAC does not verify under the simulated QE's report key: ${cause instanceof Error ? cause.message : String(cause)}`,
              { field: 'report.mac', offset: 416 },
            ),
          );
        }
      }
      const quote = platform.quote(report.subarray(0, REPORT_BODY_SIZE));
      if (qeReport === undefined) return Promise.resolve({ quote });
      if (makeQeReport === undefined) {
        return Promise.reject(
          new AesmStatusError(
            AESM_STATUS.UNABLE_TO_GENERATE_QE_REPORT,
            'the simulated QE has no report hook; QE reports are not available',
          ),
        );
      }
      const qe = makeQeReport(qeReport.appEnclaveTargetInfo, qeReportData(qeReport.nonce, quote));
      return Promise.resolve({ quote, qeReport: qe });
    },

    health(): Promise<ProviderHealth> {
      const mac = verifyReport === undefined ? 'report MACs NOT checked' : 'report MACs checked';
      return Promise.resolve({
        ok: true,
        detail: `simulated platform "${name}" (${mac}); quotes chain to the simulated root`,
      });
    },

    close: () => Promise.resolve(),
  };
  return provider;
}
