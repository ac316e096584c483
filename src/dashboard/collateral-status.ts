/**
 * Collateral freshness per FMSPC, read from a PCS/PCCS v4-compatible endpoint (Intel's PCS, a PCCS,
 * the ccnodes collateral service or the simulated PCS): `GET …/tcb?fmspc=` for the TCB Info and
 * `GET …/qe/identity` for the QE Identity. The FMSPCs are the configured ones, else what
 * `GET …/fmspcs` lists (Intel's "Get FMSPCs" call) when the endpoint offers it.
 */
import { DashboardSourceError } from './errors.ts';
import { getJson, getText } from './http-get.ts';

/** What the Collateral page shows for one FMSPC. */
export interface FmspcCollateral {
  readonly fmspc: string;
  /** Status of the highest TCB level (the first listed), e.g. `UpToDate`. */
  readonly latestTcbStatus: string | undefined;
  readonly tcbLevels: number;
  readonly tcbEvaluationDataNumber: number | undefined;
  readonly issueDate: string | undefined;
  readonly nextUpdate: string | undefined;
  /** Error text when this FMSPC could not be read. */
  readonly error?: string;
}

export interface CollateralStatus {
  readonly source: string;
  readonly fmspcs: readonly FmspcCollateral[];
  readonly qeIdentity?: {
    readonly issueDate?: string;
    readonly nextUpdate?: string;
    readonly error?: string;
  };
}

/** Normalises a PCS base URL to the `…/sgx/certification/v4` prefix. */
export function sgxV4Base(url: string): string {
  const u = url.replace(/\/+$/, '');
  if (/\/sgx\/certification\/v4$/.test(u)) return u;
  if (/\/tdx\/certification\/v4$/.test(u)) return u.replace(/\/tdx\//, '/sgx/');
  return `${u}/sgx/certification/v4`;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

const FMSPC = /^[0-9a-fA-F]{12}$/;

/** Reads the collateral status of `fmspcs` (or the endpoint's own list) from `url`. */
export async function readCollateralStatus(
  url: string,
  fmspcs: readonly string[],
  timeoutMs = 10_000,
): Promise<CollateralStatus> {
  const base = sgxV4Base(url);
  let list = fmspcs.map((f) => f.toUpperCase());
  if (list.length === 0) {
    const a = await getText(`${base}/fmspcs`, { source: 'collateral', timeoutMs, maxBytes: 1024 * 1024 });
    if (a.status === 200) {
      try {
        const v = JSON.parse(a.text) as unknown;
        if (Array.isArray(v))
          list = v
            .map((x) => obj(x)?.['fmspc'])
            .filter((x): x is string => typeof x === 'string' && FMSPC.test(x))
            .map((x) => x.toUpperCase())
            .slice(0, 256);
      } catch {
        // no list: nothing to show but the QE identity
      }
    }
  }
  const rows: FmspcCollateral[] = [];
  for (const fmspc of list) {
    if (!FMSPC.test(fmspc)) {
      rows.push({
        fmspc,
        latestTcbStatus: undefined,
        tcbLevels: 0,
        tcbEvaluationDataNumber: undefined,
        issueDate: undefined,
        nextUpdate: undefined,
        error: 'not 12 hex digits',
      });
      continue;
    }
    try {
      const body = await getJson(`${base}/tcb?fmspc=${fmspc}`, { source: 'collateral', timeoutMs });
      const info = obj(body['tcbInfo']);
      if (info === undefined)
        throw new DashboardSourceError('collateral: the answer has no tcbInfo object', {
          source: 'collateral',
          field: 'tcbInfo',
        });
      const levels = Array.isArray(info['tcbLevels']) ? (info['tcbLevels'] as unknown[]) : [];
      const first = obj(levels[0]);
      const status = first?.['tcbStatus'];
      const edn = info['tcbEvaluationDataNumber'];
      rows.push({
        fmspc,
        latestTcbStatus: typeof status === 'string' ? status : undefined,
        tcbLevels: levels.length,
        tcbEvaluationDataNumber: typeof edn === 'number' ? edn : undefined,
        issueDate: typeof info['issueDate'] === 'string' ? info['issueDate'] : undefined,
        nextUpdate: typeof info['nextUpdate'] === 'string' ? info['nextUpdate'] : undefined,
      });
    } catch (err) {
      rows.push({
        fmspc,
        latestTcbStatus: undefined,
        tcbLevels: 0,
        tcbEvaluationDataNumber: undefined,
        issueDate: undefined,
        nextUpdate: undefined,
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
  let qeIdentity: CollateralStatus['qeIdentity'];
  try {
    const body = await getJson(`${base}/qe/identity`, { source: 'collateral', timeoutMs });
    const id = obj(body['enclaveIdentity']);
    qeIdentity = {
      ...(typeof id?.['issueDate'] === 'string' ? { issueDate: id['issueDate'] } : {}),
      ...(typeof id?.['nextUpdate'] === 'string' ? { nextUpdate: id['nextUpdate'] } : {}),
    };
  } catch (err) {
    qeIdentity = { error: err instanceof Error ? err.message : String(err) };
  }
  return { source: base, fmspcs: rows, qeIdentity };
}
