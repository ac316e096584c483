/**
 * The machine's load while a benchmark runs: the 1-minute load average at start and end (from
 * /proc/loadavg; undefined elsewhere) and the CPU count, printed beside every figure because the
 * development machine is shared.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** The 1-minute load average, or undefined when /proc/loadavg cannot be read. */
export function loadAverage(): number | undefined {
  try {
    const first = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
    const n = Number(first);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** Records the load at start; `summary()` gives {start, end, cpus} for the JSON line. */
export function loadRecorder(): { summary(): { start?: number; end?: number; cpus: number } } {
  const start = loadAverage();
  return {
    summary: () => {
      const end = loadAverage();
      return {
        ...(start === undefined ? {} : { start }),
        ...(end === undefined ? {} : { end }),
        cpus: availableParallelism(),
      };
    },
  };
}
