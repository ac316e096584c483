/**
 * Implementation of `ccnodes ratls verify`, loaded only when it runs. Flags, output and exit
 * statuses follow `quote verify`: 0 verified, 1 a check failed (code printed), 2 usage or I/O.
 */
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
} from '../collateral-source/index.ts';
import {
  CollateralFormatError,
  VerificationError,
  prepareCollateral,
  type PreparedCollateral,
} from '../core/index.ts';
import {
  RATLS_FORMATS,
  RatlsFormatError,
  RatlsOptionsError,
  RatlsVerificationError,
  checkIdentity,
  parseRatlsCertificate,
  verifyRatlsCertificate,
  type ParsedRatlsCertificate,
  type RatlsExpectedIdentity,
  type RatlsFormat,
  type RatlsVerification,
} from '../ratls/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { readInputFile } from './io.ts';
import { parseNow, readAnchor } from './verify-flags.ts';

export interface RatlsVerifyFlags {
  readonly format?: string;
  readonly mrenclave?: string;
  readonly mrsigner?: string;
  readonly isvprodid?: string;
  readonly minIsvsvn?: string;
  readonly mrtd?: string;
  readonly collateral?: string;
  readonly pccsUrl?: string;
  readonly now?: string;
  readonly trustSimulatedRoot?: string;
  readonly allowExpiredCollateral?: boolean;
  readonly allowDebug?: boolean;
  readonly json?: boolean;
}

function u16(option: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,5}$/.test(value) || Number(value) > 0xffff)
    throw new UsageError(`${option}: expected an integer 0..65535`, { option });
  return Number(value);
}

function expectations(flags: RatlsVerifyFlags): RatlsExpectedIdentity {
  if (flags.mrenclave !== undefined && flags.mrsigner !== undefined)
    throw new UsageError('give --mrenclave or --mrsigner (with --isvprodid, --min-isvsvn), not both', {
      option: '--mrsigner',
    });
  const isvProdId = u16('--isvprodid', flags.isvprodid);
  const minIsvSvn = u16('--min-isvsvn', flags.minIsvsvn);
  if ((isvProdId !== undefined || minIsvSvn !== undefined) && flags.mrsigner === undefined)
    throw new UsageError('--isvprodid and --min-isvsvn go with --mrsigner', { option: '--mrsigner' });
  const e: RatlsExpectedIdentity = {
    ...(flags.mrenclave === undefined ? {} : { mrEnclave: flags.mrenclave }),
    ...(flags.mrsigner === undefined ? {} : { mrSigner: flags.mrsigner }),
    ...(isvProdId === undefined ? {} : { isvProdId }),
    ...(minIsvSvn === undefined ? {} : { minIsvSvn }),
    ...(flags.mrtd === undefined ? {} : { mrTd: flags.mrtd }),
  };
  try {
    checkIdentity(e);
  } catch (err) {
    if (err instanceof RatlsOptionsError) {
      const option = (typeof err.details['option'] === 'string' ? err.details['option'] : '')
        .replace(/^mrEnclave$/, '--mrenclave')
        .replace(/^mrSigner$/, '--mrsigner')
        .replace(/^mrTd$/, '--mrtd');
      throw new UsageError(`${option}: ${err.message}`, { option });
    }
    throw err;
  }
  return e;
}

type Failure = {
  code: string;
  message: string;
  details: Record<string, unknown>;
  step?: number;
  stepName?: string;
};

function report(
  ctx: CliContext,
  flags: RatlsVerifyFlags,
  failure: Failure,
  exit: number,
  extra: Record<string, unknown> = {},
): void {
  ctx.exitCode = exit;
  if (flags.json === true) {
    const doc =
      exit === EXIT.USAGE
        ? { ok: false, verified: false, error: failure, ...extra }
        : { verified: false, error: failure, ...extra };
    ctx.stdout(`${JSON.stringify(doc, null, 2)}\n`);
    return;
  }
  if (exit === EXIT.USAGE) {
    ctx.stderr(`ccnodes: ${failure.message} (${failure.code})\n`);
    return;
  }
  const where = failure.step === undefined ? '' : ` at step ${failure.step} (${failure.stepName ?? ''})`;
  ctx.stdout(`verification failed: ${failure.code}${where}\n  ${failure.message}\n`);
}

function resultJson(v: RatlsVerification): Record<string, unknown> {
  const q = v.quote;
  return {
    verified: true,
    format: v.format,
    oid: v.oid,
    formatsPresent: v.certificate.formatsPresent,
    subject: v.certificate.subject,
    keyBinding: v.keyBinding,
    keyHash: v.keyHash,
    ...v.identity,
    status: q.status,
    advisoryIds: q.advisoryIds,
    tcbDate: q.tcbDate,
    collateralExpiry: q.collateralExpiry.toISOString(),
    collateralExpired: q.collateralExpired,
    simulated: q.simulated,
    relaxations: q.relaxations,
    fmspc: q.fmspc,
  };
}

async function fetchCollateral(
  parsed: ParsedRatlsCertificate,
  flags: RatlsVerifyFlags,
  ctx: CliContext,
): Promise<PreparedCollateral> {
  const env = ctx.env['CCNODES_PCCS_URL'];
  const url = flags.pccsUrl ?? (env !== undefined && env !== '' ? env : INTEL_PCS_BASE_URL);
  const human = flags.json !== true;
  const onFetch = (e: PcsFetchEvent): void => {
    if (human)
      ctx.stderr(
        `  GET ${e.url} -> ${e.status === undefined ? (e.error ?? 'failed') : `HTTP ${e.status}`}\n`,
      );
  };
  const client = new PcsClient({ baseUrl: url, api: parseCollateralApiChoice('auto'), onFetch });
  const request = collateralRequestOfQuote(parsed.evidence.quoteBytes);
  if (human)
    ctx.stderr(
      `fetching collateral for FMSPC ${request.fmspc} (${request.tee.toUpperCase()}) from ${client.base.root}\n`,
    );
  return new CollateralCache({ client }).get(request.fmspc, request.ca, request.tee);
}

export async function run(certPath: string, flags: RatlsVerifyFlags, ctx: CliContext): Promise<void> {
  const now = parseNow(flags.now);
  if (flags.format !== undefined && !(RATLS_FORMATS as readonly string[]).includes(flags.format))
    throw new UsageError(`--format: "${flags.format}" is not one of ${RATLS_FORMATS.join(', ')}`, {
      option: '--format',
    });
  const format = flags.format as RatlsFormat | undefined;
  const expected = expectations(flags);
  if (flags.collateral !== undefined && flags.pccsUrl !== undefined)
    throw new UsageError('--collateral and --pccs-url exclude each other: give files or a PCS/PCCS URL', {
      option: '--pccs-url',
    });
  const anchor =
    flags.trustSimulatedRoot === undefined ? undefined : await readAnchor(flags.trustSimulatedRoot, ctx);
  const file = await readInputFile(resolve(ctx.cwd, certPath));

  let parsed: ParsedRatlsCertificate;
  try {
    parsed = parseRatlsCertificate(new Uint8Array(file), format === undefined ? {} : { format });
  } catch (err) {
    if (!(err instanceof RatlsFormatError)) throw err;
    // Not a certificate at all is a usage error; a certificate without (valid) evidence is a verdict.
    const exit = err.code === 'ERR_RATLS_CERT_FORMAT' ? EXIT.USAGE : EXIT.CHECK_FAILED;
    report(
      ctx,
      flags,
      { code: err.code, message: `${certPath}: ${err.message}`, details: { ...err.details, path: certPath } },
      exit,
    );
    return;
  }

  let collateral: PreparedCollateral;
  const extra: Record<string, unknown> = {};
  if (flags.collateral === undefined) {
    try {
      collateral = await fetchCollateral(parsed, flags, ctx);
      extra['collateralSource'] = {
        type: 'pccs-url',
        url: flags.pccsUrl ?? ctx.env['CCNODES_PCCS_URL'] ?? INTEL_PCS_BASE_URL,
      };
    } catch (err) {
      if (!(err instanceof PcsError)) throw err;
      // A quote that names no collateral is a verdict about the quote (1); the rest is I/O (2).
      report(
        ctx,
        flags,
        { code: err.code, message: err.message, details: { ...err.details } },
        err.code === 'ERR_PCS_QUOTE' ? EXIT.CHECK_FAILED : EXIT.USAGE,
      );
      return;
    }
  } else {
    try {
      collateral = prepareCollateral(
        (await loadCollateralPathWithReport(resolve(ctx.cwd, flags.collateral))).collateral,
      );
    } catch (cause) {
      if (cause instanceof CollateralFormatError) {
        report(
          ctx,
          flags,
          {
            code: cause.code,
            message: `collateral ${flags.collateral}: ${cause.message}`,
            details: { ...cause.details },
          },
          EXIT.USAGE,
        );
        return;
      }
      const reason = cause instanceof Error ? cause.message : String(cause);
      throw new IoError(`cannot read collateral ${flags.collateral}: ${reason}`, {
        details: { path: flags.collateral },
        cause,
      });
    }
  }

  try {
    const result = verifyRatlsCertificate(parsed, {
      collateral,
      // Without --now: the moment of verification, after any collateral fetch (as quote verify).
      now: flags.now === undefined ? new Date() : now,
      expected,
      ...(anchor === undefined ? {} : { trustSimulatedRoot: anchor }),
      allowDebug: flags.allowDebug === true,
      allowExpiredCollateral: flags.allowExpiredCollateral === true,
    });
    const j = { ...resultJson(result), ...extra };
    if (flags.json === true) {
      ctx.stdout(`${JSON.stringify(j, null, 2)}\n`);
      return;
    }
    const lines = [`verified: ${result.format} RA-TLS certificate, quote ${result.quote.status}`];
    for (const [k, v] of Object.entries(j)) {
      if (k === 'verified') continue;
      const shown = Array.isArray(v)
        ? v.length === 0
          ? '(none)'
          : v.join(', ')
        : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'
          ? String(v)
          : JSON.stringify(v);
      lines.push(`  ${k}: ${shown}`);
    }
    if (result.quote.relaxations.length > 0)
      lines.push(`WARNING: dangerous relaxations in effect: ${result.quote.relaxations.join(', ')}`);
    if (result.quote.simulated) lines.push('WARNING: simulated SGX root: NOT a real Intel platform');
    if (expected.mrEnclave === undefined && expected.mrSigner === undefined && expected.mrTd === undefined)
      lines.push(
        'WARNING: no --mrenclave/--mrsigner/--mrtd given: any enclave with a valid quote is accepted',
      );
    ctx.stdout(`${lines.join('\n')}\n`);
  } catch (err) {
    if (err instanceof VerificationError) {
      report(
        ctx,
        flags,
        {
          code: err.code,
          step: err.step,
          stepName: err.stepName,
          message: err.message,
          details: { ...err.details },
        },
        EXIT.CHECK_FAILED,
        extra,
      );
      return;
    }
    if (err instanceof RatlsVerificationError || err instanceof RatlsFormatError) {
      report(
        ctx,
        flags,
        { code: err.code, message: err.message, details: { ...err.details } },
        EXIT.CHECK_FAILED,
        extra,
      );
      return;
    }
    throw err;
  }
}
