/**
 * Preset simulated platforms and the simulated TCB policy they are judged by, designed so that every
 * TCB status of spec/dcap.md §4 is reached end to end through the verifier.
 *
 * The TCB Info of the simulated FMSPCs lists one level per status, newest first, differing only in
 * SGX TCB component 1 (component 2..16 and PCESVN are the same). A platform whose component 1 is N
 * matches the first level with component 1 ≤ N:
 *
 *   comp1 20 UpToDate · 19 SWHardeningNeeded · 18 ConfigurationNeeded ·
 *   17 ConfigurationAndSWHardeningNeeded · 16 OutOfDate · 15 OutOfDateConfigurationNeeded ·
 *   14 Revoked · below 14: TCB not supported.
 *
 * Advisory IDs are `CCNODES-SIM-SA-…`, never Intel's. The QE Identity lists ISVSVN 8 UpToDate and
 * ISVSVN 6 OutOfDate.
 */
import { SimConfigError } from './errors.ts';
import type { SimQeIdentitySpec, SimTcbInfoSpec, SimTcbLevel, SimTcbStatus } from './collateral.ts';
import { SIM_QE_ISVPRODID, SIM_QE_MRSIGNER, type SimPlatformConfig } from './platform.ts';

/** FMSPC of the simulated single-package (Processor CA) platforms. */
export const SIM_FMSPC_PROCESSOR = '00CC51000000';
/** FMSPC of the simulated multi-package (Platform CA) platforms. */
export const SIM_FMSPC_PLATFORM = '00CC51010000';
export const SIM_PCE_ID = '0000';
/** PCESVN of every simulated platform and TCB level. */
export const SIM_PCESVN = 13;
/** tcbEvaluationDataNumber of the simulated collateral. */
export const SIM_TCB_EVALUATION_DATA_NUMBER = 1;

/** SGX TCB components 2..16 shared by every level and platform. */
const TAIL = [10, 2, 2, 4, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0] as const;

function components(comp1: number): number[] {
  return [comp1, ...TAIL];
}

const SA = (n: number): string => `CCNODES-SIM-SA-${String(n).padStart(5, '0')}`;

function level(comp1: number, tcbStatus: SimTcbStatus, tcbDate: string, advisoryIds: string[]): SimTcbLevel {
  return { sgxComponents: components(comp1), pceSvn: SIM_PCESVN, tcbDate, tcbStatus, advisoryIds };
}

/** The TCB levels of every simulated FMSPC, newest first. */
export const SIM_TCB_LEVELS: readonly SimTcbLevel[] = [
  level(20, 'UpToDate', '2026-02-11T00:00:00Z', []),
  level(19, 'SWHardeningNeeded', '2026-02-11T00:00:00Z', [SA(1)]),
  level(18, 'ConfigurationNeeded', '2025-11-12T00:00:00Z', [SA(2)]),
  level(17, 'ConfigurationAndSWHardeningNeeded', '2025-11-12T00:00:00Z', [SA(1), SA(2)]),
  level(16, 'OutOfDate', '2025-08-13T00:00:00Z', [SA(3)]),
  level(15, 'OutOfDateConfigurationNeeded', '2025-08-13T00:00:00Z', [SA(2), SA(3)]),
  level(14, 'Revoked', '2025-05-14T00:00:00Z', [SA(4)]),
];

/** TCB Info specs served by the simulated PCS, one per simulated FMSPC. */
export const SIM_TCB_INFOS: readonly SimTcbInfoSpec[] = [SIM_FMSPC_PROCESSOR, SIM_FMSPC_PLATFORM].map(
  (fmspc) => ({
    fmspc,
    pceId: SIM_PCE_ID,
    tcbEvaluationDataNumber: SIM_TCB_EVALUATION_DATA_NUMBER,
    levels: SIM_TCB_LEVELS,
  }),
);

/** QE ISVSVN of an up-to-date simulated QE. */
export const SIM_QE_SVN = 8;

/** The simulated QE Identity: Intel's masks and attributes, the simulated QE's MRSIGNER. */
export const SIM_QE_IDENTITY: SimQeIdentitySpec = {
  tcbEvaluationDataNumber: SIM_TCB_EVALUATION_DATA_NUMBER,
  miscselect: '00000000',
  miscselectMask: 'FFFFFFFF',
  attributes: '11000000000000000000000000000000',
  attributesMask: 'FBFFFFFFFFFFFFFF0000000000000000',
  mrsigner: Buffer.from(SIM_QE_MRSIGNER).toString('hex'),
  isvprodid: SIM_QE_ISVPRODID,
  levels: [
    { isvSvn: SIM_QE_SVN, tcbDate: '2026-02-11T00:00:00Z', tcbStatus: 'UpToDate', advisoryIds: [] },
    { isvSvn: 6, tcbDate: '2025-08-13T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIds: [SA(5)] },
  ],
};

/** What verifying a quote from a preset yields: a TCB status, or the verifier's error code. */
export type SimExpectedOutcome =
  { readonly status: SimTcbStatus; readonly advisoryIds: readonly string[] } | { readonly errorCode: string };

/** A preset platform and the outcome its quotes are designed to produce. */
export interface SimPlatformPreset {
  readonly config: SimPlatformConfig;
  readonly expected: SimExpectedOutcome;
}

function preset(
  name: string,
  description: string,
  comp1: number,
  expected: SimExpectedOutcome,
  overrides: Partial<SimPlatformConfig> = {},
): SimPlatformPreset {
  return {
    config: {
      name,
      description,
      ca: 'processor',
      cpuSvn: components(comp1),
      pceSvn: SIM_PCESVN,
      fmspc: SIM_FMSPC_PROCESSOR,
      pceId: SIM_PCE_ID,
      qeSvn: SIM_QE_SVN,
      sgxType: 'standard',
      pckRevoked: false,
      ...overrides,
    },
    expected,
  };
}

const status = (s: SimTcbStatus, advisoryIds: string[] = []): SimExpectedOutcome => ({
  status: s,
  advisoryIds,
});

/** The preset platforms, by name. The first is the default. */
export const SIM_PLATFORM_PRESETS: readonly SimPlatformPreset[] = [
  preset('up-to-date', 'Current TCB: UpToDate', 20, status('UpToDate')),
  preset(
    'sw-hardening-needed',
    'TCB needing software hardening: SWHardeningNeeded',
    19,
    status('SWHardeningNeeded', [SA(1)]),
  ),
  preset(
    'configuration-needed',
    'TCB needing a configuration change: ConfigurationNeeded',
    18,
    status('ConfigurationNeeded', [SA(2)]),
  ),
  preset(
    'configuration-and-sw-hardening-needed',
    'Both: ConfigurationAndSWHardeningNeeded',
    17,
    status('ConfigurationAndSWHardeningNeeded', [SA(1), SA(2)]),
  ),
  preset('out-of-date', 'Outdated microcode: OutOfDate', 16, status('OutOfDate', [SA(3)])),
  preset(
    'out-of-date-configuration-needed',
    'Outdated and misconfigured: OutOfDateConfigurationNeeded',
    15,
    status('OutOfDateConfigurationNeeded', [SA(2), SA(3)]),
  ),
  preset('revoked', 'TCB level marked Revoked in the TCB Info', 14, status('Revoked', [SA(4)])),
  preset(
    'qe-out-of-date',
    'Up-to-date platform, outdated quoting enclave (QE ISVSVN 6): OutOfDate',
    20,
    status('OutOfDate', [SA(5)]),
    {
      qeSvn: 6,
    },
  ),
  preset('tcb-not-supported', 'TCB older than every level of the TCB Info', 10, {
    errorCode: 'ERR_VERIFY_TCB_NOT_SUPPORTED',
  }),
  preset(
    'revoked-pck',
    'Up-to-date TCB, but the PCK certificate serial is on the PCK CRL',
    20,
    {
      errorCode: 'ERR_VERIFY_PCK_REVOKED',
    },
    { pckRevoked: true },
  ),
  preset(
    'multi-package',
    'Multi-package platform certified by the PCK Platform CA: UpToDate',
    20,
    status('UpToDate'),
    {
      ca: 'platform',
      fmspc: SIM_FMSPC_PLATFORM,
      sgxType: 'scalable',
    },
  ),
];

/** Name of the default preset. */
export const DEFAULT_SIM_PLATFORM = 'up-to-date';

/**
 * The preset named `name`.
 * @throws SimConfigError `ERR_SIM_UNKNOWN_PLATFORM` listing the known names.
 */
export function simPlatformPreset(name: string): SimPlatformPreset {
  const found = SIM_PLATFORM_PRESETS.find((p) => p.config.name === name);
  if (found === undefined) {
    const known = SIM_PLATFORM_PRESETS.map((p) => p.config.name).join(', ');
    throw new SimConfigError(
      'ERR_SIM_UNKNOWN_PLATFORM',
      `unknown simulated platform "${name}" (known: ${known})`,
      {
        field: 'platform',
        name,
      },
    );
  }
  return found;
}
