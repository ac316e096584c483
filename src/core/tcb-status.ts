/**
 * TCB statuses and the rules that combine them, as Intel's QVL applies them (spec/dcap.md §4):
 * first-match TCB level selection by component-wise comparison, the TDX module status merge, and
 * the convergence of the platform status with the QE identity status.
 */

/** Final and per-level TCB statuses. */
export type TcbStatus =
  | 'UpToDate'
  | 'SWHardeningNeeded'
  | 'ConfigurationNeeded'
  | 'ConfigurationAndSWHardeningNeeded'
  | 'OutOfDate'
  | 'OutOfDateConfigurationNeeded'
  | 'Revoked';

export const TCB_STATUSES: readonly TcbStatus[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
];

export function isTcbStatus(value: unknown): value is TcbStatus {
  return typeof value === 'string' && (TCB_STATUSES as readonly string[]).includes(value);
}

/** A level of TCB Info `tcbLevels` in normalised form (v2 and v3). */
export interface TcbLevel {
  readonly sgxComponents: readonly number[];
  readonly pceSvn: number;
  /** v3 TDX only: the 16 `tdxtcbcomponents` SVNs. */
  readonly tdxComponents: readonly number[] | undefined;
  readonly tcbDate: string;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIds: readonly string[];
}

/** A level of an enclave identity or TDX module identity: matched by ISVSVN. */
export interface IsvSvnLevel {
  readonly isvSvn: number;
  readonly tcbDate: string;
  readonly tcbStatus: TcbStatus;
  readonly advisoryIds: readonly string[];
}

/**
 * SGX platform level (§4): the first level where each of the 16 PCK components is ≥ the level's
 * and the PCK PCESVN ≥ the level's. `undefined` means "TCB not supported".
 */
export function selectSgxLevel(
  levels: readonly TcbLevel[],
  components: readonly number[],
  pceSvn: number,
): TcbLevel | undefined {
  return levels.find((level) => sgxMatches(level, components, pceSvn));
}

function sgxMatches(level: TcbLevel, components: readonly number[], pceSvn: number): boolean {
  if (pceSvn < level.pceSvn) return false;
  for (let i = 0; i < 16; i++) {
    if ((components[i] ?? 0) < (level.sgxComponents[i] ?? 0)) return false;
  }
  return true;
}

/**
 * TDX level (§4): among the levels passing the SGX test, the first whose `tdxtcbcomponents` are
 * ≤ TEE_TCB_SVN byte by byte; indexes 0 and 1 are skipped when TEE_TCB_SVN[1] > 0 (the TDX
 * module identity covers them).
 */
export function selectTdxLevel(
  levels: readonly TcbLevel[],
  components: readonly number[],
  pceSvn: number,
  teeTcbSvn: Uint8Array,
): TcbLevel | undefined {
  const start = (teeTcbSvn[1] ?? 0) > 0 ? 2 : 0;
  return levels.find((level) => {
    if (!sgxMatches(level, components, pceSvn)) return false;
    const tdx = level.tdxComponents;
    if (tdx === undefined) return false;
    for (let i = start; i < 16; i++) {
      if ((teeTcbSvn[i] ?? 0) < (tdx[i] ?? 0)) return false;
    }
    return true;
  });
}

/** First ISVSVN level with `isvSvn` ≤ the given SVN (levels ordered from newest). */
export function selectIsvSvnLevel(levels: readonly IsvSvnLevel[], isvSvn: number): IsvSvnLevel | undefined {
  return levels.find((level) => level.isvSvn <= isvSvn);
}

/** Merges the TDX module status into the TDX level status (§4, TDX module status). */
export function mergeTdxModuleStatus(platform: TcbStatus, module: TcbStatus): TcbStatus {
  if (module === 'Revoked') return 'Revoked';
  if (module === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') {
      return 'OutOfDateConfigurationNeeded';
    }
  }
  return platform;
}

/** Converges the platform status with the QE identity status (Intel's table, §4). */
export function mergeQeStatus(platform: TcbStatus, qe: TcbStatus): TcbStatus {
  if (qe === 'Revoked') return 'Revoked';
  if (qe === 'OutOfDate') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') {
      return 'OutOfDateConfigurationNeeded';
    }
  }
  return platform;
}
