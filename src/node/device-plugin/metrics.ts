/**
 * Prometheus metrics of the device plugin (prom-client, one registry per daemon so that several
 * daemons in one process — tests, `ccnodes demo` — do not collide).
 *
 * Kubelet never tells a device plugin when a container releases its devices, so "allocated" is the
 * cumulative count handed out by Allocate. What is in use now comes from kubelet's pod resources API
 * at each scrape ({@link DevicePluginMetrics.observeDevicesInUse}).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The states of `ccnodes_device_plugin_doctor_check`. */
export const DOCTOR_STATUSES = ['pass', 'warn', 'fail'] as const;

export class DevicePluginMetrics {
  readonly registry: Registry;
  /** EPC of the node in bytes. */
  readonly epcCapacityBytes: Gauge;
  /** EPC MiB handed out by Allocate since start (cumulative; kubelet does not report releases). */
  readonly epcAllocatedMib: Counter;
  /** Allocate calls answered successfully, per resource. */
  readonly allocations: Counter<'resource'>;
  /** Allocate calls refused, per resource. */
  readonly allocationFailures: Counter<'resource'>;
  /** 1 while the resource's device node is present (or the node is simulated), else 0. */
  readonly healthy: Gauge<'resource'>;
  /** Devices advertised per resource. */
  readonly devices: Gauge<'resource'>;
  /** Successful registrations with kubelet, per resource. */
  readonly registrations: Counter<'resource'>;
  /** Devices held by running containers now, per resource (from kubelet's pod resources API). */
  readonly devicesInUse: Gauge<'resource'>;
  /** 1 when the last pod resources query answered, 0 when it failed; absent when not configured. */
  readonly podResourcesUp: Gauge;
  /** The start-up node PATCH: 1 for the current state (pending, applied, failing), 0 for the others. */
  readonly nodePatchState: Gauge<'state'>;
  /** Node PATCH attempts by result (ok, error). */
  readonly nodePatchAttempts: Counter<'result'>;
  /** The node doctor's checks: 1 for each check's current status (pass, warn, fail), 0 for the others. */
  readonly doctorCheck: Gauge<'check' | 'status'>;
  /** When the node doctor last ran (seconds since the epoch). */
  readonly doctorLastRun: Gauge;
  #inUse: (() => Promise<Record<string, number>>) | undefined;
  #pending: Promise<Record<string, number> | undefined> | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    if (options.defaultMetrics === true) collectDefaultMetrics({ register: registry });
    const registers = [registry];
    this.epcCapacityBytes = new Gauge({
      name: 'ccnodes_device_plugin_epc_capacity_bytes',
      help: 'EPC of this node in bytes (sysfs, --epc-mib or the simulated SKU).',
      registers,
    });
    this.epcAllocatedMib = new Counter({
      name: 'ccnodes_device_plugin_epc_allocated_mib_total',
      help: 'EPC MiB handed to containers by Allocate since start (kubelet does not report releases).',
      registers,
    });
    this.allocations = new Counter({
      name: 'ccnodes_device_plugin_allocations_total',
      help: 'Allocate calls answered, per resource.',
      labelNames: ['resource'],
      registers,
    });
    this.allocationFailures = new Counter({
      name: 'ccnodes_device_plugin_allocation_failures_total',
      help: 'Allocate calls refused, per resource.',
      labelNames: ['resource'],
      registers,
    });
    this.healthy = new Gauge({
      name: 'ccnodes_device_plugin_healthy',
      help: '1 while the device node behind the resource is present (always on simulated nodes).',
      labelNames: ['resource'],
      registers,
    });
    this.devices = new Gauge({
      name: 'ccnodes_device_plugin_devices',
      help: 'Devices advertised through ListAndWatch, per resource.',
      labelNames: ['resource'],
      registers,
    });
    this.registrations = new Counter({
      name: 'ccnodes_device_plugin_registrations_total',
      help: 'Successful registrations with kubelet, per resource.',
      labelNames: ['resource'],
      registers,
    });
    this.nodePatchState = new Gauge({
      name: 'ccnodes_device_plugin_node_patch_state',
      help: 'Node capacity/labels/taints PATCH: 1 for the current state (pending, applied, failing), else 0.',
      labelNames: ['state'],
      registers,
    });
    this.nodePatchAttempts = new Counter({
      name: 'ccnodes_device_plugin_node_patch_attempts_total',
      help: 'Node capacity/labels/taints PATCH attempts, by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
    this.doctorCheck = new Gauge({
      name: 'ccnodes_device_plugin_doctor_check',
      help: 'Node doctor checks (ccnodes node doctor): 1 for the current status of each check (pass, warn, fail), else 0.',
      labelNames: ['check', 'status'],
      registers,
    });
    this.doctorLastRun = new Gauge({
      name: 'ccnodes_device_plugin_doctor_last_run_timestamp_seconds',
      help: 'When the node doctor last ran, in seconds since the epoch.',
      registers,
    });
    // Both gauges are read at each scrape (prom-client collects metrics concurrently); they share
    // one pod resources query per scrape.
    const probe = (): Promise<Record<string, number> | undefined> | undefined => this.#probe();
    this.devicesInUse = new Gauge({
      name: 'ccnodes_device_plugin_devices_in_use',
      help: "Devices held by running containers now, per resource (kubelet's pod resources API).",
      labelNames: ['resource'],
      registers,
      async collect() {
        const pending = probe();
        if (pending === undefined) return;
        const counts = await pending;
        // No samples rather than stale ones when the query failed; the up gauge says why.
        this.reset();
        for (const [resource, n] of Object.entries(counts ?? {})) this.set({ resource }, n);
      },
    });
    this.podResourcesUp = new Gauge({
      name: 'ccnodes_device_plugin_pod_resources_up',
      help: "1 when kubelet's pod resources API answered at the last scrape, else 0.",
      registers,
      async collect() {
        const pending = probe();
        if (pending === undefined) return;
        this.set((await pending) === undefined ? 0 : 1);
      },
    });
  }

  /** The in-flight query (shared by concurrent collects), resolving to undefined when it failed. */
  #probe(): Promise<Record<string, number> | undefined> | undefined {
    const source = this.#inUse;
    if (source === undefined) return undefined;
    if (this.#pending !== undefined) return this.#pending;
    const pending = source().then(
      (counts) => counts,
      () => undefined,
    );
    this.#pending = pending;
    void pending.finally(() => {
      if (this.#pending === pending) this.#pending = undefined;
    });
    return pending;
  }

  /** Publishes a node doctor report: each check's status as a state set (replaces the previous report). */
  recordDoctor(checks: readonly { readonly id: string; readonly status: string }[], at: Date): void {
    this.doctorCheck.reset();
    for (const c of checks)
      for (const status of DOCTOR_STATUSES)
        this.doctorCheck.set({ check: c.id, status }, c.status === status ? 1 : 0);
    this.doctorLastRun.set(Math.floor(at.getTime() / 1000));
  }

  /** Asks `source` for the devices in use at every scrape (kubelet's pod resources API). */
  observeDevicesInUse(source: () => Promise<Record<string, number>>): void {
    this.#inUse = source;
  }
}
