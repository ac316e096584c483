/**
 * The SGX device plugin daemon: plans the node ({@link planSgxNode}), patches capacity, labels and
 * taints through the API server, runs one {@link DevicePluginServer} per device resource, and rescans
 * the device nodes periodically so that a vanished node turns its devices Unhealthy (and back).
 */
import {
  AESM_SOCKET_DIR,
  ENV_SGX_AESM_ADDR,
  RESOURCE_EPC_MIB,
  RESOURCE_INTEL_ENCLAVE,
} from '../../contract/index.ts';
import type { EpcMode } from './epc-size.ts';
import { DevicePluginConfigError } from './errors.ts';
import { silentLogger, type PluginLogger } from './logger.ts';
import type { DevicePluginMetrics } from './metrics.ts';
import {
  nodeSettingsApplier,
  type JsonPatchOp,
  type NodeClient,
  type NodePatches,
  type NodeSettingsApplier,
} from './node-patch.ts';
import { DevicePluginServer } from './plugin-server.ts';
import {
  enclaveHandler,
  epcMibHandler,
  provisionHandler,
  type SgxHandler,
  type SgxNodeState,
} from './sgx-handlers.ts';
import { planSgxNode, type SgxPlan } from './sgx-plan.ts';
import { scanSgxDeviceNodes, type SgxDeviceNodes, type StatFn } from './sgx-scanner.ts';
import { CDI_KIND, writeCdiSpec } from './cdi.ts';

/** Configuration of {@link startSgxDevicePlugin}. */
export interface SgxDevicePluginConfig {
  /** Kubelet's device-plugin directory. */
  readonly pluginDir: string;
  readonly devRoot: string;
  readonly sysRoot: string;
  readonly epcMode: EpcMode;
  readonly epcMib?: number;
  readonly simulate?: string;
  readonly enclaveLimit?: number;
  readonly provisionLimit?: number;
  /** Node to patch; required in capacity mode and in simulation (the taint). */
  readonly nodeName?: string;
  /**
   * How the node is patched at start (whenever `nodeName` is set): `nodeSettings` when given (the CLI
   * runs the calls in a short-lived child process), else in this process through `nodeClient`.
   */
  readonly nodeSettings?: NodeSettingsApplier;
  /** API server access in this process; used when `nodeSettings` is not given. */
  readonly nodeClient?: NodeClient;
  /**
   * Write a CDI spec for the SGX device nodes into this directory (e.g. /var/run/cdi) and name CDI
   * devices in Allocate instead of device specs (cdi.ts). Ignored on simulated nodes.
   */
  readonly cdiSpecDir?: string;
  /** Also bind-mount the aesmd socket directory (and set SGX_AESM_ADDR=1) for EPC allocations. */
  readonly aesmdMount?: boolean;
  /** Rescan period of the device nodes in ms (default 5000). */
  readonly healthIntervalMs?: number;
  /** Socket check period of each plugin server in ms (default 1000). */
  readonly watchIntervalMs?: number;
  readonly logger?: PluginLogger;
  readonly metrics?: DevicePluginMetrics;
  readonly stat?: StatFn;
}

/** Socket file name of the plugin for `resource` (kept apart from Intel's `<domain>-<name>.sock`). */
export function pluginSocketName(resource: string): string {
  return `ccnodes-${resource.replace('/', '_')}.sock`;
}

/** A running daemon. */
export class SgxDevicePlugin {
  readonly plan: SgxPlan;
  readonly servers: readonly DevicePluginServer[];
  /** The node PATCH bodies sent at start (empty when no node name was given). */
  readonly nodePatches: { readonly statusPatch: JsonPatchOp[]; readonly nodePatch: JsonPatchOp[] };
  readonly #state: SgxNodeState;
  readonly #handlers: Map<string, SgxHandler>;
  readonly #config: SgxDevicePluginConfig;
  readonly #log: PluginLogger;
  #timer: NodeJS.Timeout | undefined;
  #rescanning = false;
  readonly #apply: NodeSettingsApplier | undefined;
  /** What the node's status capacity currently shows: the planned values, or zeros. */
  #capacityShown: 'planned' | 'zero' = 'planned';

  /** @internal use {@link startSgxDevicePlugin} */
  constructor(
    config: SgxDevicePluginConfig,
    plan: SgxPlan,
    state: SgxNodeState,
    handlers: Map<string, SgxHandler>,
    servers: DevicePluginServer[],
    nodePatches: { statusPatch: JsonPatchOp[]; nodePatch: JsonPatchOp[] },
    apply: NodeSettingsApplier | undefined,
  ) {
    this.#config = config;
    this.plan = plan;
    this.#state = state;
    this.#handlers = handlers;
    this.servers = servers;
    this.nodePatches = nodePatches;
    this.#log = config.logger ?? silentLogger;
    this.#apply = apply;
  }

  /** Whether the node's status capacity shows the planned EPC (`planned`) or zeros (`zero`). */
  get capacityShown(): 'planned' | 'zero' {
    return this.#capacityShown;
  }

  /** Rewrites the CDI spec when the device nodes (paths, drivers, presence) changed. */
  async #syncCdiSpec(previous: SgxDeviceNodes): Promise<void> {
    const dir = this.#config.cdiSpecDir;
    if (this.#state.cdi !== true || dir === undefined) return;
    const key = (n: SgxDeviceNodes): string =>
      JSON.stringify([n.enclave?.path, n.enclave?.driver, n.provision?.path, n.provision?.driver]);
    if (key(previous) === key(this.#state.nodes)) return;
    const path = await writeCdiSpec(dir, this.#state.nodes);
    this.#log.info({ path }, 'device nodes changed; CDI spec rewritten');
  }

  /**
   * Keeps the node-capacity resources in step with the enclave device node: zeros while it is gone
   * (so the scheduler stops placing EPC pods on a node that cannot run them), the planned values
   * when it is back. Device resources need no patch: their devices turn Unhealthy instead. A failed
   * PATCH is logged and retried at the next rescan.
   */
  async #syncCapacity(): Promise<void> {
    const nodeName = this.#config.nodeName;
    const names = Object.keys(this.plan.capacity);
    if (this.#apply === undefined || nodeName === undefined || names.length === 0) return;
    const want = this.#state.nodes.enclave === undefined ? 'zero' : 'planned';
    if (want === this.#capacityShown) return;
    const capacity =
      want === 'planned' ? this.plan.capacity : Object.fromEntries(names.map((name) => [name, '0']));
    try {
      await this.#apply(nodeName, { capacity, marking: this.plan.marking });
      this.#capacityShown = want;
      this.#config.metrics?.epcCapacityBytes.set(want === 'planned' ? this.plan.epcBytes : 0);
      this.#log[want === 'planned' ? 'info' : 'warn'](
        { node: nodeName, capacity },
        want === 'planned'
          ? 'SGX device node back; node capacity restored'
          : 'SGX device node gone; node capacity set to 0',
      );
    } catch (err) {
      this.#log.error(
        { node: nodeName, error: err instanceof Error ? err.message : String(err) },
        'node capacity update failed; retrying at the next rescan',
      );
    }
  }

  /** The server of one resource. */
  server(resource: string): DevicePluginServer | undefined {
    return this.servers.find((s) => s.resourceName === resource);
  }

  /** True while every resource is healthy. */
  healthy(): boolean {
    return [...this.#handlers.values()].every((h) => h.healthy());
  }

  /**
   * Rescans the device nodes now, pushes ListAndWatch updates for resources whose health changed,
   * and zeroes (or restores) the node-capacity resources when the enclave node went (or came back).
   */
  async rescan(): Promise<void> {
    if (this.plan.simulatedSku !== undefined || this.#rescanning) return;
    this.#rescanning = true;
    try {
      const before = new Map([...this.#handlers].map(([r, h]) => [r, h.healthy()]));
      const previous = this.#state.nodes;
      this.#state.nodes = await scanSgxDeviceNodes(this.#config.devRoot, this.#config.stat);
      await this.#syncCdiSpec(previous);
      for (const server of this.servers) {
        const handler = this.#handlers.get(server.resourceName);
        if (handler === undefined) continue;
        const now = handler.healthy();
        this.#config.metrics?.healthy.set({ resource: server.resourceName }, now ? 1 : 0);
        if (before.get(server.resourceName) !== now) {
          this.#log[now ? 'info' : 'warn'](
            { resource: server.resourceName, healthy: now },
            now ? 'SGX device node back; devices Healthy' : 'SGX device node gone; devices Unhealthy',
          );
          server.update();
        }
      }
      await this.#syncCapacity();
    } catch (err) {
      this.#log.error({ error: err instanceof Error ? err.message : String(err) }, 'device rescan failed');
    } finally {
      this.#rescanning = false;
    }
  }

  /** @internal */
  startHealthLoop(): void {
    if (this.plan.simulatedSku !== undefined) return;
    this.#timer = setInterval(() => {
      void this.rescan();
    }, this.#config.healthIntervalMs ?? 5000);
    this.#timer.unref();
  }

  /** Stops every server (ends ListAndWatch streams, removes sockets). Node capacity is left as is. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await Promise.all(this.servers.map((s) => s.stop()));
    this.#log.info({}, 'device plugin stopped');
  }
}

/**
 * Plans, patches the node, serves and registers every resource. Rejects with a typed error on bad
 * configuration, missing devices, API server failure or an unusable socket.
 */
export async function startSgxDevicePlugin(config: SgxDevicePluginConfig): Promise<SgxDevicePlugin> {
  const log = config.logger ?? silentLogger;
  const plan = await planSgxNode(config);
  const needsNode = plan.epcMode === 'capacity' || plan.simulatedSku !== undefined;
  if (config.nodeName === undefined && needsNode) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_NODE_NAME',
      plan.simulatedSku !== undefined
        ? 'a simulated node must be labelled and tainted through the API server: pass --node-name or set NODE_NAME (downward API spec.nodeName)'
        : `EPC of ${plan.epcMib} MiB is advertised as node capacity: pass --node-name or set NODE_NAME (downward API spec.nodeName)`,
      { option: 'node-name' },
    );
  }
  if (config.nodeName !== undefined && config.nodeClient === undefined && config.nodeSettings === undefined) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_OPTION',
      'a node name was given without API server access',
      {
        option: 'kubeconfig',
      },
    );
  }
  log.info(
    {
      epcMib: plan.epcMib,
      epcBytes: plan.epcBytes,
      epcSource: plan.epcSource,
      epcMode: plan.epcMode,
      simulatedSku: plan.simulatedSku,
      enclave: plan.nodes.enclave?.path,
      provision: plan.nodes.provision?.path,
      deviceResources: plan.deviceResources,
      capacity: plan.capacity,
    },
    'SGX node planned',
  );
  let nodePatches: NodePatches = { statusPatch: [], nodePatch: [] };
  const apply: NodeSettingsApplier | undefined =
    config.nodeSettings ??
    (config.nodeClient === undefined ? undefined : nodeSettingsApplier(config.nodeClient));
  if (config.nodeName !== undefined && apply !== undefined) {
    nodePatches = await apply(config.nodeName, { capacity: plan.capacity, marking: plan.marking });
    log.info({ node: config.nodeName, capacity: plan.capacity, labels: plan.marking.labels }, 'node patched');
  } else {
    log.warn({}, `no node name: ${Object.keys(plan.capacity).join(', ')} not advertised as node capacity`);
  }

  const useCdi = config.cdiSpecDir !== undefined && plan.simulatedSku === undefined;
  const state: SgxNodeState = {
    nodes: plan.nodes,
    ...(plan.simulatedSku === undefined ? {} : { simulatedSku: plan.simulatedSku }),
    epcMounts:
      config.aesmdMount === true
        ? [{ container_path: AESM_SOCKET_DIR, host_path: AESM_SOCKET_DIR, read_only: true }]
        : [],
    epcEnvs: config.aesmdMount === true ? { [ENV_SGX_AESM_ADDR]: '1' } : {},
    ...(useCdi ? { cdi: true } : {}),
  };
  if (useCdi) {
    const path = await writeCdiSpec(config.cdiSpecDir, plan.nodes);
    log.info({ path, kind: CDI_KIND }, 'CDI spec written');
  }
  const handlers = new Map<string, SgxHandler>();
  for (const [resource, count] of Object.entries(plan.deviceResources)) {
    const handler =
      resource === RESOURCE_EPC_MIB
        ? epcMibHandler(count, state)
        : resource === RESOURCE_INTEL_ENCLAVE
          ? enclaveHandler(count, state)
          : provisionHandler(count, state);
    handlers.set(resource, handler);
  }

  const metrics = config.metrics;
  metrics?.epcCapacityBytes.set(plan.epcBytes);
  const servers: DevicePluginServer[] = [];
  try {
    for (const [resource, handler] of handlers) {
      const server = new DevicePluginServer({
        pluginDir: config.pluginDir,
        socketName: pluginSocketName(resource),
        handler,
        logger: log,
        ...(config.watchIntervalMs === undefined ? {} : { watchIntervalMs: config.watchIntervalMs }),
      });
      if (metrics !== undefined) {
        metrics.devices.set({ resource }, plan.deviceResources[resource] ?? 0);
        metrics.healthy.set({ resource }, handler.healthy() ? 1 : 0);
        server.on('registered', () => {
          metrics.registrations.inc({ resource });
        });
        server.on('allocate', (ids) => {
          metrics.allocations.inc({ resource });
          if (resource === RESOURCE_EPC_MIB) metrics.epcAllocatedMib.inc(new Set(ids).size);
        });
        server.on('allocateFailed', () => {
          metrics.allocationFailures.inc({ resource });
        });
      }
      servers.push(server);
      await server.start();
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    throw err;
  }
  const daemon = new SgxDevicePlugin(config, plan, state, handlers, servers, nodePatches, apply);
  daemon.startHealthLoop();
  return daemon;
}
