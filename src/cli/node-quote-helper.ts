/**
 * `ccnodes node quote-helper`: the out-of-process quote helper daemon. Serves Intel aesmd's AESM
 * protocol on a unix socket (apps set SGX_AESM_ADDR=1 and mount /var/run/aesmd) and a JSON API on a
 * second socket. Quotes come from the node's simulated platform (`--provider sim`) or from the
 * host's Intel aesmd (`--provider aesmd --aesmd-socket <path>`), relayed byte for byte.
 *
 * Runs until the process is asked to stop (SIGTERM/SIGINT → `ctx.signal`), then closes both sockets.
 * Logs are JSON lines (pino) on standard output. Exit status: 0 after a clean stop, 2 for bad flags
 * or sockets that cannot be bound.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { AESM_SOCKET_PATH, QUOTE_HELPER_JSON_SOCKET_PATH } from '../contract/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import type { QuoteProvider } from '../node/quote-helper/index.ts';
import type { SimCpu } from '../sim/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { areaCommand } from './index.ts';

interface QuoteHelperFlags {
  readonly socket: string;
  readonly jsonSocket: string;
  readonly json: boolean;
  readonly provider: string;
  readonly dataDir?: string;
  readonly aesmdSocket?: string;
  readonly simPlatform?: string;
  readonly maxRequestBytes?: string;
  readonly maxConnections?: string;
  readonly metricsListen?: string;
  readonly logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

function positiveInt(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new UsageError(`${flag}: expected a positive integer, got "${text}"`);
  return Number(text);
}

/** The daemon module, loaded only when this command runs (other commands never pay for it). */
type QuoteHelperModule = typeof import('../node/quote-helper/index.ts');
type SimModule = typeof import('../sim/index.ts');

/**
 * The simulated platform's CPU: its secrets come from the same data directory as the DCAP keys, so
 * enclaves launched on this platform (same data dir) produce reports whose MAC the simulated QE can
 * check. Without a data directory the CPU is ephemeral and no outside enclave can get a quote.
 */
async function simCpuFor(sim: SimModule, dataDir: string | undefined): Promise<SimCpu> {
  return dataDir === undefined ? sim.SimCpu.ephemeral() : sim.SimCpu.open(dataDir);
}

async function buildProvider(
  qh: QuoteHelperModule,
  flags: QuoteHelperFlags,
  ctx: CliContext,
): Promise<QuoteProvider> {
  switch (flags.provider) {
    case 'sim': {
      if (flags.aesmdSocket !== undefined)
        throw new UsageError('--aesmd-socket only applies to --provider aesmd');
      const dataDir = flags.dataDir === undefined ? undefined : resolve(ctx.cwd, flags.dataDir);
      const sim = await import('../sim/index.ts');
      const cpu = await simCpuFor(sim, dataDir);
      // The simulated QE runs on the platform's CPU: it checks each app report's MAC with its REPORT
      // key (refusing others: AESM status 47) and answers qe_report_info with its own REPORT.
      const qe = cpu.launchArchitectural({
        mrEnclave: sim.SIM_QE_MRENCLAVE,
        mrSigner: sim.SIM_QE_MRSIGNER,
        attributes: sim.SIM_QE_ATTRIBUTES,
        isvProdId: sim.SIM_QE_ISVPRODID,
      });
      return qh.createSimProvider({
        ...(dataDir === undefined ? {} : { dataDir }),
        ...(flags.simPlatform === undefined ? {} : { platform: flags.simPlatform }),
        verifyReport: (report) => {
          cpu.verifyReport(qe, report);
        },
        makeQeReport: (target, reportData) => cpu.ereport(qe, target, reportData),
      });
    }
    case 'aesmd': {
      if (flags.aesmdSocket === undefined || flags.aesmdSocket === '') {
        throw new UsageError('--provider aesmd needs --aesmd-socket <path> (the host aesmd socket)');
      }
      const aesmdSocket = resolve(ctx.cwd, flags.aesmdSocket);
      if (aesmdSocket === resolve(ctx.cwd, flags.socket)) {
        throw new UsageError('--aesmd-socket must differ from --socket (the helper would relay to itself)');
      }
      return qh.createAesmdProvider({ socketPath: aesmdSocket });
    }
    default:
      throw new UsageError(`--provider: expected sim or aesmd, got "${flags.provider}"`);
  }
}

async function runQuoteHelper(flags: QuoteHelperFlags, ctx: CliContext): Promise<void> {
  if (!(LOG_LEVELS as readonly string[]).includes(flags.logLevel)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  const maxRequestBytes =
    flags.maxRequestBytes === undefined
      ? undefined
      : positiveInt(flags.maxRequestBytes, '--max-request-bytes');
  const maxConnections =
    flags.maxConnections === undefined ? undefined : positiveInt(flags.maxConnections, '--max-connections');
  const qh = await import('../node/quote-helper/index.ts');
  const logger = qh.createLogger(ctx.stdout, flags.logLevel as LogLevel);
  let provider: QuoteProvider;
  try {
    provider = await buildProvider(qh, flags, ctx);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    if (isCcnodesError(err) && err.code.startsWith('ERR_SIM_'))
      throw new UsageError(err.message, { cause: err.code });
    throw err;
  }
  if (provider.name === 'sim' && flags.dataDir === undefined) {
    logger.warn(
      'no --data-dir: the simulated platform is ephemeral (keys change on every start) and no enclave outside this process can produce a report it accepts',
    );
  }
  let helper;
  try {
    helper = await qh.startQuoteHelper({
      socketPath: resolve(ctx.cwd, flags.socket),
      ...(flags.json ? { jsonSocketPath: resolve(ctx.cwd, flags.jsonSocket) } : {}),
      provider,
      logger,
      ...(maxRequestBytes === undefined ? {} : { maxRequestBytes }),
      ...(maxConnections === undefined ? {} : { maxConnections }),
    });
  } catch (err) {
    await provider.close();
    if (err instanceof qh.QuoteHelperConfigError) throw new UsageError(err.message, { ...err.details });
    const errno = (err as NodeJS.ErrnoException).code;
    if (typeof errno === 'string') {
      throw new IoError(`cannot listen: ${(err as Error).message}`, { cause: err, details: { errno } });
    }
    throw err;
  }
  let endpoint: { url: string; close(): Promise<void> } | undefined;
  if (flags.metricsListen !== undefined) {
    // Only /metrics and /healthz on the network: quotes stay on the node-local sockets.
    try {
      const dp = await import('../node/device-plugin/index.ts');
      endpoint = await dp.serveMetrics(flags.metricsListen, helper.metrics.registry);
    } catch (err) {
      await helper.close();
      const code = (err as { code?: unknown }).code;
      if (code === 'ERR_DEVICE_PLUGIN_OPTION')
        throw new UsageError((err as Error).message, { option: 'metrics-listen' });
      throw new IoError(`cannot listen for metrics: ${(err as Error).message}`, {
        cause: err,
        details: { option: 'metrics-listen' },
      });
    }
  }
  logger.info(
    {
      provider: provider.name,
      simulated: provider.simulated,
      socket: helper.socketPath,
      jsonSocket: helper.jsonSocketPath,
      ...(endpoint === undefined ? {} : { metrics: endpoint.url }),
    },
    'quote helper ready',
  );
  await untilAborted(ctx.signal);
  await endpoint?.close();
  logger.info({ reason: String(ctx.signal.reason) }, 'stopping');
  await helper.close();
}

/** Registers `ccnodes node quote-helper`. */
export function registerNodeQuoteHelper(program: Command, ctx: CliContext): void {
  const node = areaCommand(program, 'node', 'Node agents: SGX device plugin, quote helper, node doctor.');
  node
    .command('quote-helper')
    .description(
      "Run the out-of-process quote helper: Intel aesmd's AESM protocol on a unix socket (apps set SGX_AESM_ADDR=1 " +
        'and mount /var/run/aesmd) plus a JSON API (POST /v1/quote, GET /v1/target-info, /healthz, /metrics). ' +
        'Quotes come from the simulated platform (sim) or the host aesmd (aesmd). Stops on SIGTERM.',
    )
    .option('--socket <path>', 'AESM socket to serve', AESM_SOCKET_PATH)
    .option('--json-socket <path>', 'JSON API socket to serve', QUOTE_HELPER_JSON_SOCKET_PATH)
    .option('--no-json', 'serve the AESM socket only (no JSON API)')
    .option(
      '--provider <name>',
      'quote provider: sim (simulated platform) or aesmd (relay to the host aesmd)',
      'sim',
    )
    .option('--data-dir <dir>', "sim: directory holding the simulated platform's persistent secret")
    .option('--sim-platform <name>', 'sim: simulated platform preset (default up-to-date)')
    .option('--aesmd-socket <path>', "aesmd: the host aesmd's socket to relay to")
    .option('--max-request-bytes <n>', 'largest AESM request accepted (default 65536)')
    .option(
      '--max-connections <n>',
      'AESM connections open at once; further ones are closed as they are accepted (default 1024)',
    )
    .option(
      '--metrics-listen <host:port>',
      'also serve GET /metrics and /healthz over TCP (e.g. 0.0.0.0:9403) for Prometheus and the dashboard; quotes stay on the sockets',
    )
    .option('--log-level <level>', `log level (${LOG_LEVELS.join(', ')})`, 'info')
    .action(async (flags: QuoteHelperFlags) => {
      await runQuoteHelper(flags, ctx);
    });
}
