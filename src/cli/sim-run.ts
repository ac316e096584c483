/** Implementation of `sim.ts`'s commands, loaded only when one of them runs. */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import {
  FormatError,
  decodeBinaryInput,
  fromHex,
  serializeCollateralBundle,
  toHex,
  type ReportBodyInit,
} from '../core/index.ts';
import {
  DEFAULT_SIM_PLATFORM,
  SIM_PLATFORM_PRESETS,
  SIM_ROOT_CA_CN,
  SimConfigError,
  SimDcap,
  simPlatformPreset,
  startSimPcs,
  type SimPlatformConfig,
} from '../sim/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { parseEncodingFlag } from './input-encoding.ts';
import { readInputFile } from './io.ts';
import { defaultSimDataDir } from './sim-data-dir.ts';

interface KeyFlags {
  readonly seed?: string;
  readonly dataDir?: string;
}

export interface QuoteFlags extends KeyFlags {
  readonly reportData?: string;
  readonly reportBody?: string;
  readonly encoding?: string;
  readonly platform?: string;
  readonly output?: string;
  readonly collateralOut?: string;
  readonly mrenclave?: string;
  readonly mrsigner?: string;
  readonly debug?: boolean;
  readonly tdx?: boolean;
  readonly mrtd?: string;
  readonly quoteVersion?: string;
  readonly now?: string;
  readonly json?: boolean;
}

export interface RootFlags extends KeyFlags {
  readonly output?: string;
  readonly json?: boolean;
}

export interface PcsFlags extends KeyFlags {
  readonly port: string;
  readonly host: string;
  readonly json?: boolean;
}

export { defaultSimDataDir } from './sim-data-dir.ts';

function keyOptions(flags: KeyFlags, ctx: CliContext): { seed?: string; dataDir?: string } {
  if (flags.seed !== undefined) {
    if (flags.seed === '') throw new UsageError('--seed: must not be empty', { option: '--seed' });
    return { seed: flags.seed };
  }
  const dir = flags.dataDir ?? defaultSimDataDir(ctx.env);
  if (dir === undefined) {
    throw new UsageError('no --data-dir or --seed, and neither CCNODES_DATA_DIR nor HOME is set', {
      option: '--data-dir',
    });
  }
  return { dataDir: isAbsolute(dir) ? dir : resolve(ctx.cwd, dir) };
}

function outPath(ctx: CliContext, path: string): string {
  return isAbsolute(path) ? path : resolve(ctx.cwd, path);
}

async function writeOutput(ctx: CliContext, path: string, data: string | Uint8Array): Promise<string> {
  const full = outPath(ctx, path);
  try {
    await writeFile(full, data);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot write ${path}: ${reason}`, { details: { path }, cause });
  }
  return full;
}

function hexOption(option: string, text: string, maxBytes: number, exact = false): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(text.trim(), option);
  } catch (cause) {
    if (cause instanceof FormatError) throw new UsageError(`${option}: ${cause.message}`, { option });
    throw cause;
  }
  if (exact ? bytes.length !== maxBytes : bytes.length > maxBytes) {
    throw new UsageError(
      `${option}: ${exact ? 'expected' : 'at most'} ${maxBytes} bytes, got ${bytes.length}`,
      {
        option,
      },
    );
  }
  return bytes;
}

function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const d = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(d.getTime())) {
    throw new UsageError(`--now: not an ISO 8601 date-time: ${text}`, { option: '--now' });
  }
  return d;
}

/** Opens the simulation with just the preset `name` provisioned (fast, same keys as the full set). */
function openDcap(flags: KeyFlags, ctx: CliContext, platforms?: readonly SimPlatformConfig[]): SimDcap {
  try {
    return SimDcap.create({ ...keyOptions(flags, ctx), ...(platforms === undefined ? {} : { platforms }) });
  } catch (err) {
    if (err instanceof SimConfigError && err.code === 'ERR_SIM_SEED')
      throw new UsageError(`--seed: ${err.message}`);
    throw err;
  }
}

function presetOrUsage(name: string): SimPlatformConfig {
  try {
    return simPlatformPreset(name).config;
  } catch (err) {
    if (err instanceof SimConfigError)
      throw new UsageError(`--platform: ${err.message}`, { option: '--platform' });
    throw err;
  }
}

async function reportBodyFrom(flags: QuoteFlags, ctx: CliContext): Promise<Uint8Array> {
  if (flags.reportBody === undefined) throw new UsageError('--report-body: missing');
  const encoding = parseEncodingFlag(flags.encoding);
  const file = await readInputFile(outPath(ctx, flags.reportBody));
  let bytes: Uint8Array;
  try {
    // Text valid as both hex and base64 is read the way that gives a report's length.
    const expect = (b: Uint8Array): boolean => b.length === 384 || b.length === 432;
    bytes = decodeBinaryInput(new Uint8Array(file), { encoding, expect });
  } catch (cause) {
    if (cause instanceof FormatError) {
      throw new UsageError(`--report-body: ${cause.message} (${cause.code})`, {
        ...cause.details,
        option: '--report-body',
        formatCode: cause.code,
      });
    }
    throw cause;
  }
  // A 432-byte REPORT (body ‖ key ID ‖ MAC) from EREPORT: quote its body.
  if (bytes.length === 432) return bytes.subarray(0, 384);
  if (bytes.length !== 384) {
    throw new UsageError(
      `--report-body: expected a 384-byte report body or 432-byte report, got ${bytes.length} bytes`,
    );
  }
  return bytes;
}

export async function runQuote(flags: QuoteFlags, ctx: CliContext): Promise<void> {
  parseEncodingFlag(flags.encoding); // a bad value is refused even without --report-body
  if (flags.output === undefined)
    throw new UsageError('-o/--output <quote> is required', { option: '--output' });
  if (flags.collateralOut === undefined) {
    throw new UsageError('--collateral-out <bundle.json> is required', { option: '--collateral-out' });
  }
  if (flags.tdx === true) {
    await runTdxQuote(flags, ctx);
    return;
  }
  if (flags.mrtd !== undefined) throw new UsageError('--mrtd applies to --tdx quotes', { option: '--mrtd' });
  if ((flags.reportData === undefined) === (flags.reportBody === undefined)) {
    throw new UsageError('give exactly one of --report-data <hex> and --report-body <file>');
  }
  const versionText = flags.quoteVersion ?? '3';
  const version = versionText === '3' ? 3 : versionText === '4' ? 4 : undefined;
  if (version === undefined) throw new UsageError('--quote-version: 3 or 4', { option: '--quote-version' });
  const now = parseNow(flags.now);
  const preset = presetOrUsage(flags.platform ?? DEFAULT_SIM_PLATFORM);
  const dcap = openDcap(flags, ctx, [preset]);
  const platform = dcap.platform(preset.name);
  let body: ReportBodyInit | Uint8Array;
  if (flags.reportData !== undefined) {
    body = platform.syntheticReportBody({
      reportData: hexOption('--report-data', flags.reportData, 64),
      ...(flags.mrenclave === undefined
        ? {}
        : { mrEnclave: hexOption('--mrenclave', flags.mrenclave, 32, true) }),
      ...(flags.mrsigner === undefined
        ? {}
        : { mrSigner: hexOption('--mrsigner', flags.mrsigner, 32, true) }),
      debug: flags.debug === true,
    });
  } else {
    body = await reportBodyFrom(flags, ctx);
  }
  const quote = platform.quote(body, { version });
  const collateral = dcap.collateral(platform, { now });
  const quotePath = await writeOutput(ctx, flags.output, quote);
  const bundlePath = await writeOutput(
    ctx,
    flags.collateralOut,
    `${serializeCollateralBundle(collateral)}\n`,
  );
  const expected = simPlatformPreset(preset.name).expected;
  const summary = {
    simulated: true,
    platform: preset.name,
    quote: quotePath,
    quoteBytes: quote.length,
    quoteVersion: version,
    collateral: bundlePath,
    issuedAt: now.toISOString(),
    root: { subject: SIM_ROOT_CA_CN, sha256: sha256Hex(dcap.pki.root.der) },
    expected,
  };
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  ctx.stdout(
    [
      `SIMULATED quote (NOT FOR PRODUCTION) from platform "${preset.name}": ${quote.length} bytes, version ${version}`,
      `  quote:      ${quotePath}`,
      `  collateral: ${bundlePath} (issued ${now.toISOString()}, valid 30 days)`,
      `  root:       ${SIM_ROOT_CA_CN}, certificate SHA-256 ${summary.root.sha256}`,
      `  expected:   ${'status' in expected ? expected.status : expected.errorCode}`,
      `verify with: ccnodes quote verify ${flags.output} --collateral ${flags.collateralOut} --trust-simulated-root <root.pem from "ccnodes sim root">`,
      '',
    ].join('\n'),
  );
}

/** `sim quote --tdx`: a TD report quoted by the simulated TD QE, with the TDX collateral bundle. */
async function runTdxQuote(flags: QuoteFlags, ctx: CliContext): Promise<void> {
  for (const [value, option] of [
    [flags.reportBody, '--report-body'],
    [flags.mrenclave, '--mrenclave'],
    [flags.mrsigner, '--mrsigner'],
  ] as const) {
    if (value !== undefined)
      throw new UsageError(`${option} describes an SGX enclave and does not apply to --tdx`, { option });
  }
  const versionText = flags.quoteVersion ?? '4';
  const version = versionText === '4' ? 4 : versionText === '5' ? 5 : undefined;
  if (version === undefined)
    throw new UsageError('--quote-version: 4 or 5 for a TDX quote', { option: '--quote-version' });
  const now = parseNow(flags.now);
  const preset = presetOrUsage(flags.platform ?? DEFAULT_SIM_PLATFORM);
  const dcap = openDcap(flags, ctx, [preset]);
  const tdx = dcap.tdx(preset.name);
  const quote = tdx.quote(
    {
      ...(flags.reportData === undefined
        ? {}
        : { reportData: hexOption('--report-data', flags.reportData, 64) }),
      ...(flags.mrtd === undefined ? {} : { mrTd: hexOption('--mrtd', flags.mrtd, 48, true) }),
      debug: flags.debug === true,
    },
    { version },
  );
  const collateral = tdx.collateral({ now });
  const quotePath = await writeOutput(ctx, flags.output ?? '', quote);
  const bundlePath = await writeOutput(
    ctx,
    flags.collateralOut ?? '',
    `${serializeCollateralBundle(collateral)}\n`,
  );
  const expected = simPlatformPreset(preset.name).expected;
  const summary = {
    simulated: true,
    tee: 'TDX',
    platform: preset.name,
    quote: quotePath,
    quoteBytes: quote.length,
    quoteVersion: version,
    tdReportVersion: version === 4 ? '1.0' : '1.5',
    collateral: bundlePath,
    issuedAt: now.toISOString(),
    root: { subject: SIM_ROOT_CA_CN, sha256: sha256Hex(dcap.pki.root.der) },
    expected: flags.debug === true ? { errorCode: 'ERR_VERIFY_DEBUG_ENCLAVE' } : expected,
  };
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const exp = summary.expected;
  ctx.stdout(
    [
      `SIMULATED TDX quote (NOT FOR PRODUCTION) from platform "${preset.name}": ${quote.length} bytes, version ${version} (TD report ${summary.tdReportVersion})`,
      `  quote:      ${quotePath}`,
      `  collateral: ${bundlePath} (TDX TCB Info and TD_QE identity, issued ${now.toISOString()}, valid 30 days)`,
      `  root:       ${SIM_ROOT_CA_CN}, certificate SHA-256 ${summary.root.sha256}`,
      `  expected:   ${'status' in exp ? exp.status : exp.errorCode}`,
      `verify with: ccnodes quote verify ${flags.output ?? ''} --collateral ${flags.collateralOut ?? ''} --trust-simulated-root <root.pem from "ccnodes sim root">`,
      '',
    ].join('\n'),
  );
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function runRoot(flags: RootFlags, ctx: CliContext): Promise<void> {
  const dcap = openDcap(flags, ctx, []);
  const pem = dcap.rootPem;
  const sha256 = sha256Hex(dcap.pki.root.der);
  if (flags.output !== undefined) {
    const path = await writeOutput(ctx, flags.output, pem);
    if (flags.json === true)
      ctx.stdout(`${JSON.stringify({ path, subject: SIM_ROOT_CA_CN, sha256 }, null, 2)}\n`);
    else ctx.stdout(`wrote the simulated root "${SIM_ROOT_CA_CN}" (SHA-256 ${sha256}) to ${path}\n`);
    return;
  }
  if (flags.json === true)
    ctx.stdout(`${JSON.stringify({ subject: SIM_ROOT_CA_CN, sha256, pem }, null, 2)}\n`);
  else ctx.stdout(pem);
}

export async function runPcs(flags: PcsFlags, ctx: CliContext): Promise<void> {
  if (!/^\d{1,5}$/.test(flags.port) || Number(flags.port) > 65535) {
    throw new UsageError(`--port: not a TCP port: ${flags.port}`, { option: '--port' });
  }
  const dcap = openDcap(flags, ctx);
  let server;
  try {
    server = await startSimPcs(dcap, { host: flags.host, port: Number(flags.port) });
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new IoError(`cannot listen on ${flags.host}:${flags.port}: ${reason}`, { cause });
  }
  const info = {
    url: server.url,
    api: `${server.url}/sgx/certification/v4/`,
    tdxApi: `${server.url}/tdx/certification/v4/`,
    simulated: true,
    root: { subject: SIM_ROOT_CA_CN, sha256: sha256Hex(dcap.pki.root.der) },
    fmspcs: dcap.fmspcs,
    platforms: dcap.platforms.map((p) => ({
      name: p.name,
      ppid: toHex(p.ppid),
      qeId: toHex(p.qeId),
      fmspc: p.config.fmspc,
      ca: p.config.ca,
    })),
  };
  if (flags.json === true) ctx.stdout(`${JSON.stringify(info)}\n`);
  else {
    ctx.stdout(
      `simulated PCS (NOT FOR PRODUCTION) listening on ${server.url}\n` +
        `  collateral API: ${info.api}  (tcb?fmspc=${dcap.fmspcs.join('|')}, qe/identity, pckcrl?ca=processor|platform, rootcacrl, pckcert)\n` +
        `  TDX collateral: ${info.tdxApi}  (tcb?fmspc=…, qe/identity)\n` +
        `  signed under "${SIM_ROOT_CA_CN}" (SHA-256 ${info.root.sha256})\n` +
        '  stop with Ctrl-C or SIGTERM\n',
    );
  }
  await untilAborted(ctx.signal);
  await server.close();
  if (flags.json !== true) ctx.stdout('simulated PCS stopped\n');
}

export function runPlatforms(flags: { json?: boolean }, ctx: CliContext): void {
  const rows = SIM_PLATFORM_PRESETS.map((p) => ({
    name: p.config.name,
    description: p.config.description,
    ca: p.config.ca,
    fmspc: p.config.fmspc,
    cpuSvn: p.config.cpuSvn,
    pceSvn: p.config.pceSvn,
    qeSvn: p.config.qeSvn,
    pckRevoked: p.config.pckRevoked,
    expected: p.expected,
  }));
  if (flags.json === true) {
    ctx.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  const lines = rows.map((r) => {
    const outcome = 'status' in r.expected ? r.expected.status : r.expected.errorCode;
    const def = r.name === DEFAULT_SIM_PLATFORM ? ' (default)' : '';
    return `${r.name.padEnd(width)}  ${outcome.padEnd(34)}  ${r.description}${def}`;
  });
  ctx.stdout(`simulated platforms (NOT FOR PRODUCTION):\n${lines.join('\n')}\n`);
}
