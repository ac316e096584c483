/**
 * Prometheus metrics of the device plugin (prom-client, one registry per daemon so that several
 * daemons in one process — tests, `ccnodes demo` — do not collide).
 *
 * Kubelet never tells a device plugin when a container releases its devices, so "allocated" is the
 * cumulative count handed out by Allocate, not what is in use now.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

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
  }
}
