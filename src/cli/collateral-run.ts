/** The work of `ccnodes collateral …` (loaded on demand by collateral.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parseCollateralApiChoice, normalizePcsBaseUrl, PcsError } from '../collateral-source/index.ts';
import {
  CollateralService,
  CollateralServiceError,
  openMemoryStore,
  openStore,
  startCollateralService,
  type ArtefactSpec,
  type CollateralMode,
} from '../collateral-service/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { COLLATERAL_DEFAULT_LISTEN } from './collateral.ts';

export interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
  trustSimulatedRoot?: string;
  json?: boolean;
}

export interface ServeFlags extends StoreFlags {
  upstream?: string;
  mode: string;
  listen?: string;
  apiKeyFile?: string;
  upstreamApi: string;
  rootCaCrlUrl?: string;
  upstreamTimeoutMs: string;
  refreshBeforeSeconds: string;
  refreshIntervalSeconds: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  logLevel: string;
}

export interface FetchFlags {
  fmspc: string;
  upstream: string;
  output: string;
  tee: string;
  ca: string;
  upstreamApi: string;
  rootCaCrlUrl?: string;
  trustSimulatedRoot?: string;
  json?: boolean;
}

export type ExportFlags = StoreFlags & { output: string };
export type ImportFlags = StoreFlags;

export interface QcnlFlags {
  url: string;
  insecureCert?: boolean;
  retryTimes: string;
  retryDelay: string;
  output?: string;
}

/** The data directory: flag, `$CCNODES_COLLATERAL_DATA_DIR`, `$XDG_DATA_HOME/ccnodes/collateral`, `~/.local/share/ccnodes/collateral`. */
export function collateralDataDir(flag: string | undefined, env: CliContext['env']): string {
  if (flag !== undefined) return flag;
  const fromEnv = env['CCNODES_COLLATERAL_DATA_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const xdg = env['XDG_DATA_HOME'];
  if (xdg !== undefined && xdg !== '') return join(xdg, 'ccnodes', 'collateral');
  return join(env['HOME'] ?? homedir(), '.local', 'share', 'ccnodes', 'collateral');
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new IoError(`cannot read ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
  const port = Number(m?.[2]);
  if (m === null || port > 65535)
    throw new UsageError(`--listen: expected host:port (e.g. 127.0.0.1:8081), got "${text}"`, {
      option: '--listen',
    });
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port };
}

function seconds(text: string, option: string): number {
  if (!/^\d{1,9}$/.test(text))
    throw new UsageError(`${option}: not a whole number of seconds: ${text}`, { option });
  return Number(text);
}

/** Configuration errors of the service are usage errors of the command (exit 2). */
async function asUsage<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (
      err instanceof PcsError ||
      (err instanceof CollateralServiceError &&
        (err.code === 'ERR_COLLATERAL_SERVICE_CONFIG' || err.code === 'ERR_COLLATERAL_SERVICE_STORAGE'))
    )
      throw new UsageError(`${err.message} (${err.code})`, { code: err.code, ...err.details });
    throw err;
  }
}

function simulatedRoot(flags: { trustSimulatedRoot?: string }): { trustSimulatedRoot?: string } {
  return flags.trustSimulatedRoot === undefined
    ? {}
    : { trustSimulatedRoot: readText(flags.trustSimulatedRoot, 'simulated root') };
}

export async function runServe(flags: ServeFlags, ctx: CliContext): Promise<void> {
  if (!['lazy', 'req', 'offline'].includes(flags.mode))
    throw new UsageError(`--mode: expected lazy, req or offline, got "${flags.mode}"`, { option: '--mode' });
  const mode = flags.mode as CollateralMode;
  const upstreamUrl = flags.upstream ?? ctx.env['CCNODES_COLLATERAL_UPSTREAM'];
  if (mode !== 'offline' && upstreamUrl === undefined)
    throw new UsageError(`--mode ${mode} needs --upstream <PCS/PCCS URL>`, { option: '--upstream' });
  const { host, port } = parseListen(flags.listen ?? COLLATERAL_DEFAULT_LISTEN);
  const tls = flags.tlsCert !== undefined || flags.tlsKey !== undefined;
  if (tls && (flags.tlsCert === undefined || flags.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together', { option: '--tls-cert' });
  if (!tls && flags.insecureHttp !== true)
    throw new UsageError('serve needs --tls-cert/--tls-key, or --insecure-http for plain HTTP', {
      option: '--tls-cert',
    });
  const apiKey =
    flags.apiKeyFile === undefined ? undefined : readText(flags.apiKeyFile, 'API key file').trim();
  if (apiKey === '')
    throw new UsageError(`--api-key-file ${flags.apiKeyFile ?? ''} is empty`, { option: '--api-key-file' });
  if (apiKey !== undefined && !/^[\x21-\x7e]+$/.test(apiKey))
    throw new UsageError('--api-key-file: the key has characters that cannot go in an HTTP header', {
      option: '--api-key-file',
    });
  const timeoutMs = seconds(flags.upstreamTimeoutMs, '--upstream-timeout-ms');
  const databaseUrl = flags.databaseUrl ?? ctx.env['CCNODES_COLLATERAL_DATABASE_URL'];
  const logger = pino(
    { name: 'ccnodes-collateral', level: flags.logLevel },
    {
      write: (s: string) => {
        ctx.stderr(s);
      },
    },
  );
  const server = await asUsage(() =>
    startCollateralService({
      mode,
      ...(upstreamUrl === undefined
        ? {}
        : {
            upstream: {
              baseUrl: upstreamUrl,
              api: parseCollateralApiChoice(flags.upstreamApi),
              timeoutMs,
              ...(apiKey === undefined ? {} : { apiKey }),
              ...(flags.rootCaCrlUrl === undefined ? {} : { rootCaCrlUrl: flags.rootCaCrlUrl }),
            },
          }),
      dataDir: collateralDataDir(flags.dataDir, ctx.env),
      ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
      ...simulatedRoot(flags),
      refreshBeforeMs: seconds(flags.refreshBeforeSeconds, '--refresh-before-seconds') * 1000,
      refreshIntervalMs: seconds(flags.refreshIntervalSeconds, '--refresh-interval-seconds') * 1000,
      host,
      port,
      loggerInstance: logger,
      ...(tls
        ? {
            https: {
              cert: readText(flags.tlsCert ?? '', 'TLS certificate'),
              key: readText(flags.tlsKey ?? '', 'TLS key'),
            },
          }
        : {}),
    }),
  );
  const info = {
    url: server.url,
    api: `${server.url}/sgx/certification/v4/`,
    mode,
    ...(upstreamUrl === undefined ? {} : { upstream: normalizePcsBaseUrl(upstreamUrl).root }),
    trustedRoot: server.service.trust.kind,
    cached: server.service.list().length,
  };
  if (flags.json === true) ctx.stdout(`${JSON.stringify(info)}\n`);
  else
    ctx.stdout(
      `collateral service (${mode}) listening on ${server.url}\n` +
        `  PCCS API: ${info.api} and ${server.url}/tdx/certification/v4/\n` +
        `  ${info.cached} verified artefacts cached; trusted root: ${info.trustedRoot === 'intel' ? 'Intel SGX Root CA' : 'ccnodes SIMULATED root'}\n`,
    );
  await untilAborted(ctx.signal);
  await server.close();
}

function writeOut(path: string, text: string): void {
  try {
    writeFileSync(path, text, { mode: 0o644 });
  } catch (cause) {
    throw new IoError(`cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}

export async function runFetch(flags: FetchFlags, ctx: CliContext): Promise<void> {
  if (!/^[0-9a-fA-F]{12}$/.test(flags.fmspc))
    throw new UsageError(`--fmspc: expected 12 hex digits, got "${flags.fmspc}"`, { option: '--fmspc' });
  if (flags.tee !== 'sgx' && flags.tee !== 'tdx')
    throw new UsageError(`--tee: expected sgx or tdx, got "${flags.tee}"`, { option: '--tee' });
  const cas = flags.ca === 'both' ? (['processor', 'platform'] as const) : [flags.ca];
  if (!cas.every((c) => c === 'processor' || c === 'platform'))
    throw new UsageError(`--ca: expected processor, platform or both, got "${flags.ca}"`, { option: '--ca' });
  const service = await asUsage(() =>
    CollateralService.open({
      mode: 'lazy',
      upstream: {
        baseUrl: flags.upstream,
        api: parseCollateralApiChoice(flags.upstreamApi),
        ...(flags.rootCaCrlUrl === undefined ? {} : { rootCaCrlUrl: flags.rootCaCrlUrl }),
      },
      store: openMemoryStore(),
      refreshIntervalMs: 0,
      ...simulatedRoot(flags),
    }),
  );
  try {
    const tee = flags.tee === 'tdx' ? 'tdx' : 'sgx';
    const specs: ArtefactSpec[] = [
      { kind: 'rootcacrl', tee: 'sgx' },
      ...cas.map((ca): ArtefactSpec => ({
        kind: 'pckcrl',
        tee: 'sgx',
        ca: ca === 'platform' ? 'platform' : 'processor',
      })),
      { kind: 'tcb', tee, fmspc: flags.fmspc.toUpperCase() },
      { kind: 'qe', tee },
    ];
    for (const spec of specs) await service.get(spec);
    const bundle = service.exportBundle();
    writeOut(flags.output, `${JSON.stringify(bundle, null, 2)}\n`);
    const summary = { ok: true, output: flags.output, artefacts: bundle.artefacts.map((a) => a.key) };
    ctx.stdout(
      flags.json === true
        ? `${JSON.stringify(summary)}\n`
        : `wrote ${summary.artefacts.length} verified artefacts to ${flags.output}\n`,
    );
  } finally {
    await service.close();
  }
}

async function openForMaintenance(flags: StoreFlags, ctx: CliContext): Promise<CollateralService> {
  const databaseUrl = flags.databaseUrl ?? ctx.env['CCNODES_COLLATERAL_DATABASE_URL'];
  return asUsage(async () =>
    CollateralService.open({
      mode: 'offline',
      store: await openStore({
        dataDir: collateralDataDir(flags.dataDir, ctx.env),
        ...(databaseUrl === undefined || databaseUrl === '' ? {} : { databaseUrl }),
      }),
      ...simulatedRoot(flags),
    }),
  );
}

export async function runExport(flags: ExportFlags, ctx: CliContext): Promise<void> {
  const service = await openForMaintenance(flags, ctx);
  try {
    const bundle = service.exportBundle();
    writeOut(flags.output, `${JSON.stringify(bundle, null, 2)}\n`);
    const summary = { ok: true, output: flags.output, artefacts: bundle.artefacts.map((a) => a.key) };
    ctx.stdout(
      flags.json === true
        ? `${JSON.stringify(summary)}\n`
        : `exported ${summary.artefacts.length} artefacts to ${flags.output}\n`,
    );
  } finally {
    await service.close();
  }
}

export async function runImport(path: string, flags: ImportFlags, ctx: CliContext): Promise<void> {
  const text = readText(path, 'bundle');
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch (cause) {
    throw new UsageError(`${path} is not JSON: ${(cause as Error).message}`, { file: path });
  }
  const service = await openForMaintenance(flags, ctx);
  try {
    const { imported } = await service.importBundle(bundle);
    const summary = { ok: true, imported };
    ctx.stdout(
      flags.json === true
        ? `${JSON.stringify(summary)}\n`
        : `imported ${imported.length} verified artefacts\n`,
    );
  } finally {
    await service.close();
  }
}

/** The `sgx_default_qcnl.conf` (JSON; Intel's documented keys) pointing QCNL at `url`. */
export function qcnlConf(
  url: string,
  o: { secureCert: boolean; retryTimes: number; retryDelay: number },
): string {
  const base = normalizePcsBaseUrl(url);
  return `${JSON.stringify(
    {
      pccs_url: `${base.sgx}/`,
      use_secure_cert: o.secureCert,
      collateral_service: `${base.sgx}/`,
      retry_times: o.retryTimes,
      retry_delay: o.retryDelay,
      pck_cache_expire_hours: 168,
      verify_collateral_cache_expire_hours: 168,
    },
    null,
    2,
  )}\n`;
}

export async function runQcnlConf(flags: QcnlFlags, ctx: CliContext): Promise<void> {
  let text: string;
  try {
    text = qcnlConf(flags.url, {
      secureCert: flags.insecureCert !== true,
      retryTimes: seconds(flags.retryTimes, '--retry-times'),
      retryDelay: seconds(flags.retryDelay, '--retry-delay'),
    });
  } catch (err) {
    if (err instanceof PcsError) throw new UsageError(`--url: ${err.message}`, { option: '--url' });
    throw err;
  }
  if (flags.output === undefined) ctx.stdout(text);
  else writeOut(flags.output, text);
  return Promise.resolve();
}
