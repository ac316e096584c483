/**
 * The node doctor inside the device plugin: runs {@link runNodeDoctor} on the plugin's own view of the
 * host (its /dev and /sys mounts, its simulated SKU) at start and then periodically, and publishes the
 * checks as `ccnodes_device_plugin_doctor_check{check,status}` — so whoever scrapes the plugin (the
 * operator dashboard, Prometheus) sees the doctor's verdict per node without running anything there.
 */
import { runNodeDoctor, type DoctorOptions, type DoctorReport } from './doctor.ts';
import type { PluginLogger } from './logger.ts';
import type { DevicePluginMetrics } from './metrics.ts';

/** A running export; {@link DoctorExport.stop} ends the period. */
export interface DoctorExport {
  /** The first run (resolves once its checks are published). */
  readonly first: Promise<DoctorReport | undefined>;
  stop(): void;
}

/** Runs the doctor now and every `intervalMs` (0: only now), publishing each report into `metrics`. */
export function exportNodeDoctor(
  metrics: DevicePluginMetrics,
  options: DoctorOptions & {
    readonly intervalMs: number;
    readonly logger?: PluginLogger;
    readonly now?: () => Date;
  },
): DoctorExport {
  const { intervalMs, logger, now, ...doctor } = options;
  let running: Promise<DoctorReport | undefined> | undefined;
  const run = (): Promise<DoctorReport | undefined> => {
    running ??= runNodeDoctor(doctor)
      .then((report) => {
        metrics.recordDoctor(report.checks, now?.() ?? new Date());
        const failed = report.checks.filter((c) => c.status === 'fail').map((c) => c.id);
        if (failed.length > 0) logger?.warn({ failed }, 'node doctor: checks failed');
        return report;
      })
      .catch((err: unknown) => {
        // runNodeDoctor reports what it finds as checks; anything thrown is a bug, logged not fatal.
        logger?.error({ err: err instanceof Error ? err.message : String(err) }, 'node doctor failed');
        return undefined;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const first = run();
  const timer =
    intervalMs > 0
      ? setInterval(() => {
          void run();
        }, intervalMs)
      : undefined;
  timer?.unref();
  return {
    first,
    stop() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
