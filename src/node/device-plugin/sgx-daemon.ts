/**
 * The SGX device plugin daemon: plans the node ({@link planSgxNode}), runs and registers one
 * {@link DevicePluginServer} per device resource, then patches capacity, labels and taints through
 * the API server in the background ({@link NodePatchLoop}: kubelet is served even while the API
 * server is unreachable), and rescans the device nodes periodically so that a vanished node turns
 * its devices Unhealthy (and back).
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
import { NodePatchLoop, type NodePatchBackoff, type NodePatchStatus } from './node-patch-loop.ts';
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
  /**
   * Node to patch; required in capacity mode on real hardware. A simulated node without one runs
   * (for local development against a kubelet peer) but is neither labelled nor tainted.
   */
  readonly nodeName?: string;
  /**
   * How the node is patched after registration (whenever `nodeName` is set): `nodeSettings` when
   * given (the CLI runs the calls in a short-lived child process), else in this process through
   * `nodeClient`. Failures are retried in the background ({@link nodePatchBackoff}).
   */
  readonly nodeSettings?: NodeSettingsApplier;
  /** Retry timing of the node PATCH (default 1 s doubling to 60 s, no jitter). */
  readonly nodePatchBackoff?: NodePatchBackoff;
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
  /** The background node PATCH (undefined when no node name was given). */
  readonly nodePatch: NodePatchLoop | undefined;
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
    apply: NodeSettingsApplier | undefined,
  ) {
    this.#config = config;
    this.plan = plan;
    this.#state = state;
    this.#handlers = handlers;
    this.servers = servers;
    this.#log = config.logger ?? silentLogger;
    this.#apply = apply;
    const nodeName = config.nodeName;
    this.nodePatch =
      nodeName === undefined || apply === undefined
        ? undefined
        : new NodePatchLoop({
            nodeName,
            apply: () => this.#startupPatch(nodeName, apply),
            logger: this.#log,
            ...(config.nodePatchBackoff === undefined ? {} : { backoff: config.nodePatchBackoff }),
            ...(config.metrics === undefined ? {} : { metrics: config.metrics }),
          });
  }

  /**
   * One attempt of the start-up patch: the marking, and the capacity the device nodes call for now
   * (zeros if the enclave node vanished while the API server was away).
   */
  async #startupPatch(nodeName: string, apply: NodeSettingsApplier): Promise<NodePatches> {
    const names = Object.keys(this.plan.capacity);
    const want =
      names.length > 0 && this.plan.simulatedSku === undefined && this.#state.nodes.enclave === undefined
        ? 'zero'
        : 'planned';
    const capacity =
      want === 'planned' ? this.plan.capacity : Object.fromEntries(names.map((name) => [name, '0']));
    const patches = await apply(nodeName, { capacity, marking: this.plan.marking });
    this.#capacityShown = want;
    this.#config.metrics?.epcCapacityBytes.set(want === 'planned' ? this.plan.epcBytes : 0);
    return patches;
  }

  /** The node PATCH bodies of the start-up patch once applied (empty before, and without a node name). */
  get nodePatches(): { readonly statusPatch: JsonPatchOp[]; readonly nodePatch: JsonPatchOp[] } {
    return this.nodePatch?.patches ?? { statusPatch: [], nodePatch: [] };
  }

  /** What `/healthz` reports besides the status: the node PATCH state (or `disabled`). */
  healthDetails(): { nodePatch: NodePatchStatus | { state: 'disabled'; reason: string } } {
    return {
      nodePatch:
        this.nodePatch?.status() ??
        ({ state: 'disabled', reason: 'no node name: capacity, labels and taints are not applied' } as const),
    };
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
    // Until the start-up patch has gone through, it owns the node (and will be followed by a sync).
    if (this.nodePatch !== undefined && this.nodePatch.state !== 'applied') return;
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
    this.nodePatch?.stop();
    await Promise.all(this.servers.map((s) => s.stop()));
    this.#log.info({}, 'device plugin stopped');
  }
}

/**
 * Plans, serves and registers every resource, then starts patching the node in the background.
 * Rejects with a typed error on bad configuration, missing devices or an unusable socket — never
 * because of the API server (see {@link SgxDevicePlugin.nodePatch}).
 */
export async function startSgxDevicePlugin(config: SgxDevicePluginConfig): Promise<SgxDevicePlugin> {
  const log = config.logger ?? silentLogger;
  const plan = await planSgxNode(config);
  // Real EPC advertised only as node capacity needs the node; a simulated node runs without one
  // (local development against a kubelet peer), with a loud warning below.
  if (config.nodeName === undefined && plan.epcMode === 'capacity' && plan.simulatedSku === undefined) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_NODE_NAME',
      `EPC of ${plan.epcMib} MiB is advertised as node capacity: pass --node-name or set NODE_NAME (downward API spec.nodeName)`,
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
  const apply: NodeSettingsApplier | undefined =
    config.nodeSettings ??
    (config.nodeClient === undefined ? undefined : nodeSettingsApplier(config.nodeClient));
  if (config.nodeName === undefined) {
    if (plan.simulatedSku !== undefined) {
      log.warn(
        { simulatedSku: plan.simulatedSku, labels: plan.marking.labels, taints: plan.marking.taints },
        'simulated node without a node name: labels and taints NOT applied (the node is not marked simulated ' +
          'nor tainted); for local development against a kubelet only, never on a cluster',
      );
    }
    if (Object.keys(plan.capacity).length > 0)
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
  // Registered with kubelet; only now the API server, in the background and retried.
  const daemon = new SgxDevicePlugin(config, plan, state, handlers, servers, apply);
  if (daemon.nodePatch !== undefined) {
    log.info(
      { node: config.nodeName, capacity: plan.capacity, labels: plan.marking.labels },
      'registered with kubelet; patching the node',
    );
    daemon.nodePatch.start();
  }
  daemon.startHealthLoop();
  return daemon;
}
