/**
 * `ccnodes node device-plugin`: the SGX device plugin daemon (DESIGN.md §3). Registers
 * `kubernetes.azure.com/sgx_epc_mem_in_MiB` (one device per MiB while it fits kubelet's 4 MiB message),
 * `sgx.intel.com/enclave` and `sgx.intel.com/provision` with kubelet, and patches `sgx.intel.com/epc`
 * (bytes) — plus the MiB resource in capacity mode — into the node's status capacity.
 *
 * Runs until the process is asked to stop (SIGTERM/SIGINT → `ctx.signal`), then ends the ListAndWatch
 * streams and removes its sockets. Logs are JSON lines (pino) on standard output. Exit status: 0 after
 * a clean stop, 1 when devices are missing, 2 for bad flags. The API server is never a reason to stop:
 * the node PATCH runs after registration with kubelet and is retried with backoff (state in /healthz,
 * metrics and logs).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { KUBELET_DEVICE_PLUGIN_DIR, KUBELET_POD_RESOURCES_SOCKET } from '../contract/index.ts';
import type {
  DoctorExport,
  MetricsEndpoint,
  NodeSettingsApplier,
  PodResourcesClient,
  SgxDevicePlugin,
} from '../node/device-plugin/index.ts';
import { untilAborted, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { areaCommand } from './index.ts';
import { readableKubeconfig } from './kubeconfig.ts';
import { childProcessNodeSettings, inProcessNodeSettings } from './node-patch-node.ts';

interface DevicePluginFlags {
  readonly devicePluginDir: string;
  readonly simulate?: string;
  readonly epcMode: string;
  readonly epcMib?: string;
  readonly nodeName?: string;
  readonly devRoot: string;
  readonly sysRoot: string;
  readonly kubeconfig?: string;
  readonly metricsListen?: string;
  readonly podResourcesSocket: string;
  readonly cdiSpecDir?: string;
  readonly enclaveLimit: string;
  readonly provisionLimit: string;
  readonly aesmdMount: boolean;
  readonly healthInterval: string;
  readonly doctorInterval: string;
  readonly doctorAesmdSocket?: string;
  readonly doctorPccsUrl?: string;
  readonly nodePatchRetryInitial: string;
  readonly nodePatchRetryMax: string;
  readonly logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function positiveInt(text: string, flag: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text))
    throw new UsageError(`${flag}: expected a positive integer, got "${text}"`);
  return Number(text);
}

type DevicePluginModule = typeof import('../node/device-plugin/index.ts');

/**
 * How the plugin patches its node at start. Run as the `ccnodes` executable (ctx.self), it starts
 * `ccnodes node patch-node` in a child process, so that @kubernetes/client-node (about 70 MiB
 * resident) is never loaded into the long-running daemon; inside another program (tests) it makes
 * the calls in-process. A `--kubeconfig` that cannot be read fails here, before anything starts.
 */
async function nodeSettingsFor(
  dp: DevicePluginModule,
  kubeconfig: string | undefined,
  ctx: CliContext,
): Promise<NodeSettingsApplier> {
  if (ctx.self === undefined) return inProcessNodeSettings(dp, kubeconfig, ctx);
  const file = await readableKubeconfig(kubeconfig, ctx);
  return childProcessNodeSettings(dp, {
    self: ctx.self,
    env: ctx.env,
    ...(file === undefined ? {} : { kubeconfig: file }),
  });
}

async function runDevicePlugin(flags: DevicePluginFlags, ctx: CliContext): Promise<void> {
  if (!LOG_LEVELS.includes(flags.logLevel)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}`);
  }
  // Loaded here, not at module load: `ccnodes <other command>` should not pay for gRPC and friends.
  const dp = await import('../node/device-plugin/index.ts');
  const { pino } = await import('pino');
  const logger = pino(
    { name: 'ccnodes-device-plugin', level: flags.logLevel },
    {
      write: (line: string) => {
        ctx.stdout(line);
      },
    },
  );
  const nodeName = flags.nodeName ?? ctx.env['NODE_NAME'];
  let nodeSettings: NodeSettingsApplier | undefined;
  if (nodeName !== undefined && nodeName !== '') {
    nodeSettings = await nodeSettingsFor(dp, flags.kubeconfig, ctx);
  }
  const doctorEvery =
    flags.doctorInterval === '0' ? 0 : positiveInt(flags.doctorInterval, '--doctor-interval');
  const metrics =
    flags.metricsListen === undefined ? undefined : new dp.DevicePluginMetrics({ defaultMetrics: true });
  let daemon: SgxDevicePlugin;
  try {
    daemon = await dp.startSgxDevicePlugin({
      pluginDir: resolve(ctx.cwd, flags.devicePluginDir),
      devRoot: resolve(ctx.cwd, flags.devRoot),
      sysRoot: resolve(ctx.cwd, flags.sysRoot),
      epcMode: dp.parseEpcMode(flags.epcMode),
      ...(flags.epcMib === undefined ? {} : { epcMib: positiveInt(flags.epcMib, '--epc-mib') }),
      ...(flags.simulate === undefined ? {} : { simulate: flags.simulate }),
      enclaveLimit: positiveInt(flags.enclaveLimit, '--enclave-limit'),
      provisionLimit: positiveInt(flags.provisionLimit, '--provision-limit'),
      ...(nodeName === undefined || nodeName === '' || nodeSettings === undefined
        ? {}
        : { nodeName, nodeSettings }),
      aesmdMount: flags.aesmdMount,
      ...(flags.cdiSpecDir === undefined || flags.cdiSpecDir === ''
        ? {}
        : { cdiSpecDir: resolve(ctx.cwd, flags.cdiSpecDir) }),
      healthIntervalMs: positiveInt(flags.healthInterval, '--health-interval'),
      // Doubling from the initial delay to the cap; jitter spreads the retries of many nodes after one
      // API outage.
      nodePatchBackoff: {
        initialMs: positiveInt(flags.nodePatchRetryInitial, '--node-patch-retry-initial'),
        maxMs: Math.max(
          positiveInt(flags.nodePatchRetryMax, '--node-patch-retry-max'),
          positiveInt(flags.nodePatchRetryInitial, '--node-patch-retry-initial'),
        ),
        random: Math.random,
      },
      logger: logger,
      ...(metrics === undefined ? {} : { metrics }),
    });
  } catch (err) {
    if (err instanceof dp.DevicePluginConfigError) {
      throw new UsageError(`${err.message} (${err.code})`, { ...err.details, cause: err.code });
    }
    throw err;
  }
  let endpoint: MetricsEndpoint | undefined;
  let podResources: PodResourcesClient | undefined;
  let doctor: DoctorExport | undefined;
  try {
    if (metrics !== undefined) {
      // The node doctor's checks as a metric, so that the dashboard shows them per node.
      doctor = dp.exportNodeDoctor(metrics, {
        devRoot: resolve(ctx.cwd, flags.devRoot),
        sysRoot: resolve(ctx.cwd, flags.sysRoot),
        ...(flags.simulate === undefined ? {} : { simulate: flags.simulate }),
        ...(flags.epcMib === undefined ? {} : { epcMib: positiveInt(flags.epcMib, '--epc-mib') }),
        ...(flags.doctorAesmdSocket === undefined
          ? {}
          : { aesmdSocket: resolve(ctx.cwd, flags.doctorAesmdSocket) }),
        ...(flags.doctorPccsUrl === undefined ? {} : { pccsUrl: flags.doctorPccsUrl }),
        intervalMs: doctorEvery * 1000,
        logger,
      });
    }
    if (metrics !== undefined && flags.podResourcesSocket !== '') {
      const client = new dp.PodResourcesClient(resolve(ctx.cwd, flags.podResourcesSocket));
      podResources = client;
      const resources = Object.keys(daemon.plan.deviceResources);
      metrics.observeDevicesInUse(async () => dp.devicesInUse(await client.list(), resources));
    }
    if (metrics !== undefined && flags.metricsListen !== undefined) {
      endpoint = await dp.serveMetrics(
        flags.metricsListen,
        metrics.registry,
        () => daemon.healthy(),
        () => daemon.healthDetails(),
      );
      logger.info({ url: endpoint.url }, 'metrics listening');
    }
    logger.info(
      {
        resources: daemon.plan.deviceResources,
        capacity: daemon.plan.capacity,
        epcMode: daemon.plan.epcMode,
        simulatedSku: daemon.plan.simulatedSku,
      },
      'device plugin ready',
    );
    await untilAborted(ctx.signal);
    logger.info({ reason: String(ctx.signal.reason) }, 'stopping');
  } catch (err) {
    if (err instanceof dp.DevicePluginConfigError) {
      throw new UsageError(`${err.message} (${err.code})`, { ...err.details, cause: err.code });
    }
    const errno = (err as NodeJS.ErrnoException).code;
    if (typeof errno === 'string' && !errno.startsWith('ERR_')) {
      throw new IoError(`cannot listen for metrics: ${(err as Error).message}`, {
        cause: err,
        details: { errno },
      });
    }
    throw err;
  } finally {
    doctor?.stop();
    await endpoint?.close();
    podResources?.close();
    await daemon.stop();
  }
}

/** Registers `ccnodes node device-plugin`. */
export function registerNodeDevicePlugin(program: Command, ctx: CliContext): void {
  areaCommand(program, 'node', 'Node agents: SGX device plugin, quote helper, node doctor.')
    .command('device-plugin')
    .description(
      'Run the SGX kubelet device plugin: EPC as kubernetes.azure.com/sgx_epc_mem_in_MiB (one device per MiB, ' +
        'or node capacity when too large) and sgx.intel.com/epc (bytes, node capacity), plus ' +
        'sgx.intel.com/enclave and sgx.intel.com/provision. Stops cleanly on SIGTERM/SIGINT.',
    )
    .option('--device-plugin-dir <dir>', "kubelet's device-plugin directory", KUBELET_DEVICE_PLUGIN_DIR)
    .option(
      '--simulate <SKU>',
      'simulate an Azure SGX VM size (e.g. Standard_DC4s_v2); labels and taints the node given by --node-name ' +
        '(without one: local development against a kubelet, node left unmarked, with a warning)',
    )
    .option('--epc-mode <mode>', 'auto | devices | capacity: how sgx_epc_mem_in_MiB is advertised', 'auto')
    .option('--epc-mib <MiB>', 'EPC size in MiB (overrides sysfs / the simulated SKU)')
    .option('--node-name <name>', 'node to patch (default: $NODE_NAME from the downward API)')
    .option('--dev-root <dir>', 'where the host /dev is mounted', '/dev')
    .option('--sys-root <dir>', 'where the host /sys is mounted', '/sys')
    .option('--kubeconfig <path>', 'kubeconfig for the API server (default: in-cluster service account)')
    .option('--metrics-listen <host:port>', 'serve Prometheus /metrics and /healthz here')
    .option(
      '--pod-resources-socket <path>',
      "kubelet's pod resources API, for the devices-in-use metric ('' to skip)",
      KUBELET_POD_RESOURCES_SOCKET,
    )
    .option('--enclave-limit <n>', 'slots of sgx.intel.com/enclave', '110')
    .option('--provision-limit <n>', 'slots of sgx.intel.com/provision', '110')
    .option('--aesmd-mount', 'with EPC allocations, mount /var/run/aesmd and set SGX_AESM_ADDR=1', false)
    .option(
      '--cdi-spec-dir <dir>',
      'write a CDI spec for the SGX device nodes here (e.g. /var/run/cdi) and allocate CDI devices instead of device specs',
    )
    .option('--health-interval <ms>', 'rescan period of the SGX device nodes', '5000')
    .option(
      '--doctor-interval <s>',
      'with --metrics-listen: run the node doctor at start and every s seconds, exported as ccnodes_device_plugin_doctor_check (0 = at start only)',
      '300',
    )
    .option(
      '--doctor-aesmd-socket <path>',
      "the node doctor's aesmd check looks here (default /var/run/aesmd/aesm.socket; in a pod, where the host's socket directory is mounted)",
    )
    .option('--doctor-pccs-url <url>', 'the node doctor also checks that this PCCS answers (rootcacrl)')
    .option(
      '--node-patch-retry-initial <ms>',
      'first retry delay of the node PATCH after a failure (doubles per failure, with jitter)',
      '1000',
    )
    .option('--node-patch-retry-max <ms>', 'upper bound of the node PATCH retry delay', '60000')
    .option('--log-level <level>', `log level: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (flags: DevicePluginFlags) => {
      await runDevicePlugin(flags, ctx);
    });
}
