/** Implementation of `quote-verify.ts`'s commands, loaded only when one of them runs. */
import { resolve } from 'node:path';
import {
  CollateralCache,
  INTEL_PCS_BASE_URL,
  PcsClient,
  PcsError,
  collateralRequestOfQuote,
  loadCollateralPathWithReport,
  parseCollateralApiChoice,
  type PcsFetchEvent,
  type QuoteCollateralRequest,
} from '../collateral-source/index.ts';
import {
  CollateralFormatError,
  FormatError,
  VerificationError,
  decodeBinaryInput,
  isPlausibleQuote,
  prepareCollateral,
  toHex,
  verifyQuote,
  type PreparedCollateral,
  type RawCollateral,
  type VerificationResult,
  type VerifyOptions,
} from '../core/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { parseEncodingFlag } from './input-encoding.ts';
import { readInputFile } from './io.ts';
import { parseNow, readAnchor } from './verify-flags.ts';

export interface VerifyFlags {
  readonly collateral?: string;
  readonly pccsUrl?: string;
  readonly collateralApi?: string;
  readonly rootCaCrlUrl?: string;
  readonly encoding?: string;
  readonly now?: string;
  readonly trustSimulatedRoot?: string;
  readonly allowExpiredCollateral?: boolean;
  readonly allowDebug?: boolean;
  readonly json?: boolean;
}

/**
 * Reads `--collateral`. An absent or unreadable path is an I/O error (`ERR_IO`, thrown); content
 * that is not collateral — a malformed bundle, a directory missing artefacts — is returned as the
 * `CollateralFormatError` for the caller to report (exit 2 with `ERR_COLLATERAL_FORMAT`).
 */
async function loadCollateral(
  path: string,
  ctx: CliContext,
): Promise<
  | { ok: true; collateral: RawCollateral; directory: boolean; warnings: readonly string[] }
  | { ok: false; error: CollateralFormatError }
> {
  try {
    return { ok: true, ...(await loadCollateralPathWithReport(resolve(ctx.cwd, path))) };
  } catch (cause) {
    if (cause instanceof CollateralFormatError) return { ok: false, error: cause };
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot read collateral ${path}: ${reason}`, { details: { path }, cause });
  }
}

/** Where `--pccs-url` collateral came from: the base URL, the API spoken, and every HTTP exchange. */
interface FetchedSource {
  readonly type: 'pccs-url';
  readonly url: string;
  readonly root?: string;
  readonly api?: string;
  readonly request?: QuoteCollateralRequest;
  readonly fetched: { url: string; status: number | null; requestId: string | null; error?: string }[];
}

/**
 * Fetches the quote's collateral through the PCS/PCCS client and its (in-memory) cache:
 * `--pccs-url`, else `CCNODES_PCCS_URL`, else Intel's PCS. Progress goes to stderr (human output);
 * typed PCS errors are returned for the caller to report.
 */
async function fetchCollateral(
  quote: Uint8Array,
  flags: VerifyFlags,
  ctx: CliContext,
): Promise<
  | { ok: true; collateral: PreparedCollateral; source: FetchedSource }
  | { ok: false; error: PcsError; source: FetchedSource }
> {
  const env = ctx.env['CCNODES_PCCS_URL'];
  const url = flags.pccsUrl ?? (env !== undefined && env !== '' ? env : INTEL_PCS_BASE_URL);
  const human = flags.json !== true;
  const fetched: FetchedSource['fetched'] = [];
  let source: FetchedSource = { type: 'pccs-url', url, fetched };
  const onFetch = (e: PcsFetchEvent): void => {
    fetched.push({
      url: e.url,
      status: e.status ?? null,
      requestId: e.requestId ?? null,
      ...(e.error === undefined ? {} : { error: e.error }),
    });
    if (human)
      ctx.stderr(
        `  GET ${e.url} -> ${e.status === undefined ? (e.error ?? 'failed') : `HTTP ${e.status}`}` +
          `${e.requestId === undefined ? '' : ` (Request-ID ${e.requestId})`}\n`,
      );
  };
  try {
    const client = new PcsClient({
      baseUrl: url,
      api: parseCollateralApiChoice(flags.collateralApi ?? 'auto'),
      ...(flags.rootCaCrlUrl === undefined ? {} : { rootCaCrlUrl: flags.rootCaCrlUrl }),
      onFetch,
    });
    source = { ...source, root: client.base.root, api: client.api };
    const request = collateralRequestOfQuote(quote);
    source = { ...source, request };
    if (human)
      ctx.stderr(
        `fetching collateral for FMSPC ${request.fmspc} (${request.tee.toUpperCase()}, ${request.ca} CA) from ` +
          `${client.base.root} (${client.api === 'pcs' ? 'Intel PCS API' : 'PCCS API'})\n`,
      );
    const collateral = await new CollateralCache({ client }).get(request.fmspc, request.ca, request.tee);
    return { ok: true, collateral, source };
  } catch (cause) {
    if (cause instanceof PcsError) return { ok: false, error: cause, source };
    throw cause;
  }
}

function resultJson(r: VerificationResult): Record<string, unknown> {
  const report = r.report;
  const identity =
    'mrEnclave' in report
      ? {
          mrEnclave: toHex(report.mrEnclave),
          mrSigner: toHex(report.mrSigner),
          isvProdId: report.isvProdId,
          isvSvn: report.isvSvn,
        }
      : { mrTd: toHex(report.mrTd), mrSignerSeam: toHex(report.mrSignerSeam) };
  return {
    verified: true,
    status: r.status,
    advisoryIds: r.advisoryIds,
    platformStatus: r.platformStatus,
    qeStatus: r.qeStatus,
    tcbDate: r.tcbDate,
    tcbEvaluationDataNumber: r.tcbEvaluationDataNumber,
    collateralExpiry: r.collateralExpiry.toISOString(),
    collateralExpired: r.collateralExpired,
    simulated: r.simulated,
    relaxations: r.relaxations,
    tee: r.tee,
    fmspc: r.fmspc,
    ...identity,
    reportData: toHex(report.reportData),
  };
}

function printHuman(ctx: CliContext, r: VerificationResult): void {
  const j = resultJson(r);
  const lines = [
    `verified: ${r.status}`,
    `advisories: ${r.advisoryIds.length === 0 ? '(none)' : r.advisoryIds.join(', ')}`,
  ];
  for (const [k, v] of Object.entries(j)) {
    if (k === 'verified' || k === 'status' || k === 'advisoryIds') continue;
    lines.push(`  ${k}: ${Array.isArray(v) ? (v.length === 0 ? '(none)' : v.join(', ')) : String(v)}`);
  }
  if (r.relaxations.length > 0)
    lines.push(`WARNING: dangerous relaxations in effect: ${r.relaxations.join(', ')}`);
  if (r.simulated) lines.push('WARNING: simulated SGX root: NOT a real Intel platform');
  ctx.stdout(`${lines.join('\n')}\n`);
}

export async function run(quotePath: string, flags: VerifyFlags, ctx: CliContext): Promise<void> {
  const now = parseNow(flags.now);
  const encoding = parseEncodingFlag(flags.encoding);
  const quoteFile = await readInputFile(resolve(ctx.cwd, quotePath));
  let quote: Uint8Array;
  try {
    quote = decodeBinaryInput(new Uint8Array(quoteFile), { encoding, expect: isPlausibleQuote });
  } catch (cause) {
    if (cause instanceof FormatError)
      throw new UsageError(`${quotePath}: ${cause.message} (${cause.code})`, {
        ...cause.details,
        path: quotePath,
        formatCode: cause.code,
      });
    throw cause;
  }
  if (flags.collateral !== undefined && flags.pccsUrl !== undefined)
    throw new UsageError('--collateral and --pccs-url exclude each other: give files or a PCS/PCCS URL', {
      option: '--pccs-url',
    });
  if (
    flags.collateral !== undefined &&
    (flags.rootCaCrlUrl !== undefined || (flags.collateralApi ?? 'auto') !== 'auto')
  )
    throw new UsageError(
      '--root-ca-crl-url and --collateral-api apply to fetched collateral (--pccs-url), not to --collateral',
      {
        option: flags.rootCaCrlUrl !== undefined ? '--root-ca-crl-url' : '--collateral-api',
      },
    );
  let collateral: PreparedCollateral;
  let extra: Record<string, unknown>;
  const collateralPath = flags.collateral;
  if (collateralPath === undefined) {
    const got = await fetchCollateral(quote, flags, ctx);
    if (!got.ok) {
      const err = got.error;
      // A quote that names no collateral is a verdict about the quote (1); the rest is I/O (2).
      const checkFailed = err.code === 'ERR_PCS_QUOTE';
      ctx.stderr(`ccnodes: collateral from ${got.source.url}: ${err.message} (${err.code})\n`);
      if (flags.json === true) {
        const error = { code: err.code, message: err.message, details: err.details };
        const doc = checkFailed
          ? { verified: false, error, collateralSource: got.source }
          : { ok: false, verified: false, error, collateralSource: got.source };
        ctx.stdout(`${JSON.stringify(doc, null, 2)}\n`);
      } else if (checkFailed) {
        ctx.stdout(`verification failed: ${err.code}\n  ${err.message}\n`);
      }
      ctx.exitCode = checkFailed ? EXIT.CHECK_FAILED : EXIT.USAGE;
      return;
    }
    collateral = got.collateral;
    extra = { collateralSource: got.source };
  } else {
    const loaded = await loadCollateral(collateralPath, ctx);
    if (!loaded.ok) {
      const err = loaded.error;
      ctx.stderr(`ccnodes: collateral ${collateralPath}: ${err.message} (${err.code})\n`);
      if (flags.json === true) {
        const error = {
          code: err.code,
          message: err.message,
          details: { ...err.details, collateral: collateralPath },
        };
        ctx.stdout(`${JSON.stringify({ ok: false, verified: false, error }, null, 2)}\n`);
      }
      ctx.exitCode = EXIT.USAGE;
      return;
    }
    // Files of a collateral directory that were skipped (and why): stderr, or in the JSON result.
    extra = loaded.directory ? { collateralWarnings: loaded.warnings } : {};
    if (flags.json !== true)
      for (const w of loaded.warnings) ctx.stderr(`warning: collateral ${collateralPath}: ${w}\n`);
    collateral = prepareCollateral(loaded.collateral);
  }
  const options: VerifyOptions = {
    // Without --now, the verdict is for the moment of verification, after any collateral fetch: a
    // CRL or TCB Info issued during the fetch (a PCCS that stamps on demand) is then already valid.
    now: flags.now === undefined ? new Date() : now,
    ...(flags.trustSimulatedRoot !== undefined
      ? { trustSimulatedRoot: await readAnchor(flags.trustSimulatedRoot, ctx) }
      : {}),
    dangerous: {
      allowExpiredCollateral: flags.allowExpiredCollateral === true,
      allowDebugEnclave: flags.allowDebug === true,
    },
  };
  try {
    const result = verifyQuote(quote, collateral, options);
    if (flags.json === true) ctx.stdout(`${JSON.stringify({ ...resultJson(result), ...extra }, null, 2)}\n`);
    else printHuman(ctx, result);
  } catch (err) {
    if (!(err instanceof VerificationError)) throw err;
    ctx.exitCode = EXIT.CHECK_FAILED;
    if (flags.json === true) {
      const error = {
        code: err.code,
        step: err.step,
        stepName: err.stepName,
        message: err.message,
        details: err.details,
      };
      ctx.stdout(`${JSON.stringify({ verified: false, error, ...extra }, null, 2)}\n`);
    } else {
      ctx.stdout(
        `verification failed: ${err.code} at step ${err.step} (${err.stepName})\n  ${err.message}\n`,
      );
    }
  }
}
