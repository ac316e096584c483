/**
 * Core dumps off for the launcher: before any key or secret exists in the launcher's process, its
 * RLIMIT_CORE is set to 0 (soft and hard), so that a crash cannot write them into a core file. The
 * program it starts inherits the limit (rlimits pass through fork and exec) and cannot raise it.
 *
 * Node has no setrlimit, so the launcher runs `prlimit --pid <own pid> --core=0:0` (util-linux),
 * then reads `/proc/self/limits` back: only a limit read as 0/0 counts, whatever prlimit said. A
 * limit that is already 0/0 (e.g. `ulimit -Hc 0` in the image) needs no prlimit at all.
 *
 * A `core_pattern` that pipes cores to a program (systemd-coredump, apport) is not bound by
 * RLIMIT_CORE in the kernel (the handler is told the limit and is trusted to honour it), so the
 * launcher also writes 0 to `/proc/self/coredump_filter`: no memory mapping of the process (or of
 * the program, which inherits the mask) goes into any core, whoever writes it.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { ContainerLaunchError } from './errors.ts';

/** RLIMIT_CORE in bytes; `Infinity` is unlimited. */
export interface CoreLimit {
  readonly soft: number;
  readonly hard: number;
}

const limitValue = (v: string): number => (v === 'unlimited' ? Infinity : Number(v));

/** The `Max core file size` line of a `/proc/<pid>/limits` text, or `undefined` when absent or unreadable. */
export function parseCoreLimit(limitsText: string): CoreLimit | undefined {
  const m = /^Max core file size\s+(\d+|unlimited)\s+(\d+|unlimited)\s/m.exec(limitsText);
  if (m === null) return undefined;
  return { soft: limitValue(m[1] ?? ''), hard: limitValue(m[2] ?? '') };
}

/** RLIMIT_CORE of a process (default this one) from `/proc`, or `undefined` when it cannot be read. */
export function readCoreLimit(pid: number | 'self' = 'self'): CoreLimit | undefined {
  return readLimitsFile(`/proc/${pid}/limits`);
}

function readLimitsFile(path: string): CoreLimit | undefined {
  try {
    return parseCoreLimit(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

const limitError = (
  message: string,
  details: Record<string, unknown>,
  cause?: unknown,
): ContainerLaunchError =>
  // An undefined cause is left out by CcnodesError.
  new ContainerLaunchError('ERR_CONTAINER_CORE_LIMIT', message, { details, cause });

/** Options of {@link disableCoreDumps}. */
export interface DisableCoreDumpsOptions {
  /** The prlimit(1) command (default `prlimit`, looked up in `PATH`). */
  readonly prlimit?: string;
  /**
   * Where this process's limits are read (default `/proc/self/limits`). Exists for tests, which
   * cannot make the real file unreadable; the limit that counts is still the one read here.
   */
  readonly limitsPath?: string;
  /** Where the coredump filter is cleared and read back (default `/proc/self/coredump_filter`; for tests). */
  readonly coredumpFilterPath?: string;
}

/** `/proc/self/coredump_filter` (or `path`) set to 0 (no mapping dumped) and read back. */
function clearCoredumpFilter(path: string): void {
  let now: string;
  try {
    writeFileSync(path, '0');
    now = readFileSync(path, 'utf8').trim();
  } catch (cause) {
    throw limitError(`cannot clear ${path}: ${(cause as Error).message}`, { step: 'filter' }, cause);
  }
  if (!/^0+$/.test(now)) throw limitError(`${path} is ${now} after writing 0`, { step: 'filter' });
}

/**
 * Clears this process's coredump_filter, sets its RLIMIT_CORE to 0/0, and checks both.
 * @throws ContainerLaunchError `ERR_CONTAINER_CORE_LIMIT` when the limit cannot be read, the filter
 *   cannot be cleared, prlimit cannot run, or the limit read back is not 0/0.
 */
export async function disableCoreDumps(o: DisableCoreDumpsOptions = {}): Promise<CoreLimit> {
  const limitsPath = o.limitsPath ?? '/proc/self/limits';
  const before = readLimitsFile(limitsPath);
  if (before === undefined)
    throw limitError(`cannot read RLIMIT_CORE from ${limitsPath} (Linux only)`, { step: 'read' });
  clearCoredumpFilter(o.coredumpFilterPath ?? '/proc/self/coredump_filter');
  if (before.soft === 0 && before.hard === 0) return before;
  const command = o.prlimit ?? 'prlimit';
  await new Promise<void>((resolve, reject) => {
    execFile(
      command,
      ['--pid', String(process.pid), '--core=0:0'],
      { timeout: 10_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LC_ALL: 'C' } },
      (err, _stdout, stderr) => {
        if (err === null) {
          resolve();
          return;
        }
        const e = err as NodeJS.ErrnoException;
        const reason =
          e.code === 'ENOENT'
            ? `${command} not found (install util-linux)`
            : `${command} failed: ${stderr.trim() === '' ? e.message : stderr.trim()}`;
        reject(limitError(`cannot turn core dumps off: ${reason}`, { step: 'prlimit', command }, err));
      },
    );
  });
  const after = readLimitsFile(limitsPath);
  if (after?.soft !== 0 || after.hard !== 0)
    throw limitError(
      `core dumps still allowed after ${command}: RLIMIT_CORE is ${after === undefined ? 'unreadable' : `${after.soft}/${after.hard}`}`,
      { step: 'check', command },
    );
  return after;
}
