/** Implementation of `quote-verify.ts`'s commands, loaded only when one of them runs. */
import { resolve } from 'node:path';
import { loadCollateralPathWithReport } from '../collateral-source/index.ts';
import {
  CollateralFormatError,
  FormatError,
  VerificationError,
  decodeBinaryInput,
  isPlausibleQuote,
  parseCertificate,
  pemCertificates,
  prepareCollateral,
  toHex,
  verifyQuote,
  type RawCollateral,
  type VerificationResult,
  type VerifyOptions,
} from '../core/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { parseEncodingFlag } from './input-encoding.ts';
import { readInputFile } from './io.ts';

export interface VerifyFlags {
  readonly collateral: string;
  readonly encoding?: string;
  readonly now?: string;
  readonly trustSimulatedRoot?: string;
  readonly allowExpiredCollateral?: boolean;
  readonly allowDebug?: boolean;
  readonly json?: boolean;
}

function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError(`--now: not an ISO 8601 date-time: ${text}`, { option: '--now' });
  }
  return d;
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

/** Reads a self-signed root certificate file (PEM or DER, exactly one) for `--trust-simulated-root`. */
async function readAnchor(path: string, ctx: CliContext): Promise<Uint8Array> {
  const bytes = await readInputFile(resolve(ctx.cwd, path));
  const text = bytes.toString('latin1');
  const ders = text.includes('-----BEGIN CERTIFICATE-----') ? pemCertificates(text) : [new Uint8Array(bytes)];
  const bad = (why: string): UsageError => new UsageError(`--trust-simulated-root: ${path} ${why}`, { path });
  if (ders.length !== 1 || ders[0] === undefined)
    throw bad(`holds ${ders.length} certificates, expected one`);
  let selfIssued: boolean;
  try {
    selfIssued = parseCertificate(ders[0]).selfIssued;
  } catch {
    throw bad('is not a PEM or DER certificate');
  }
  if (!selfIssued) throw bad('is not a self-signed root certificate');
  return ders[0];
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
  const loaded = await loadCollateral(flags.collateral, ctx);
  if (!loaded.ok) {
    const err = loaded.error;
    ctx.stderr(`ccnodes: collateral ${flags.collateral}: ${err.message} (${err.code})\n`);
    if (flags.json === true) {
      const error = {
        code: err.code,
        message: err.message,
        details: { ...err.details, collateral: flags.collateral },
      };
      ctx.stdout(`${JSON.stringify({ ok: false, verified: false, error }, null, 2)}\n`);
    }
    ctx.exitCode = EXIT.USAGE;
    return;
  }
  // Files of a collateral directory that were skipped (and why): stderr, or in the JSON result.
  const extra = loaded.directory ? { collateralWarnings: loaded.warnings } : {};
  if (flags.json !== true)
    for (const w of loaded.warnings) ctx.stderr(`warning: collateral ${flags.collateral}: ${w}\n`);
  const collateral = prepareCollateral(loaded.collateral);
  const options: VerifyOptions = {
    now,
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
