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
 *
 * {@link turnCoreDumpsOff} is what the launcher runs. When the launcher's soft limit is already 0
 * (the usual shell default, `ulimit -c 0`) it does not run prlimit on itself: prlimit's fork() of
 * the launcher costs it in proportion to the memory it has mapped, and each page it writes
 * afterwards faults once. The launcher writes no core (soft limit 0, coredump filter 0), and the
 * program is started as `prlimit --core=0:0 -- <program> <args…>` instead: prlimit sets 0/0 and
 * execs the program in the same process, so the program gets the limit it would have inherited and
 * cannot raise it. The launcher's own hard limit is then left as it was: a process of the same user
 * could raise the launcher's soft limit with prlimit(2), but such a process can read the
 * launcher's memory directly (ptrace) too, and the coredump filter still keeps memory out of a core.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants as fsConstants, readFileSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
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

/** What {@link turnCoreDumpsOff} did, and how the program must be started. */
export interface CoreDumpsOff {
  /** This process's RLIMIT_CORE afterwards, read from `/proc`: soft 0 always, hard 0 unless `programPrefix`. */
  readonly limit: CoreLimit;
  /**
   * The command line to start the program under (`<prlimit path> --core=0:0 --`, then the program's
   * argv), when this process's soft limit was 0 and its hard limit was not: the program gets 0/0 at
   * its exec. Undefined when this process is at 0/0 (the program inherits it).
   */
  readonly programPrefix?: readonly string[];
}

/**
 * `command` as execvp(3) would find it: a name with a slash as it is (relative to `cwd`), otherwise
 * the first executable regular file of that name in `path` (`:`-separated; an empty entry is the
 * current directory). When there is none, execvp's error: `EACCES` if a file of that name was found
 * but cannot be executed, else `ENOENT`.
 */
export function findExecutable(
  command: string,
  path: string,
  cwd = process.cwd(),
): { readonly path: string } | { readonly error: 'ENOENT' | 'EACCES' } {
  if (command === '') return { error: 'ENOENT' };
  const candidates = command.includes('/')
    ? [isAbsolute(command) ? command : join(cwd, command)]
    : path.split(delimiter).map((d) => join(d === '' ? cwd : isAbsolute(d) ? d : join(cwd, d), command));
  let denied = false;
  for (const c of candidates) {
    let file: boolean;
    try {
      file = statSync(c).isFile();
    } catch {
      continue; // not there: the next entry
    }
    if (!file) {
      denied = true; // a directory of that name: execve says EACCES
      continue;
    }
    try {
      accessSync(c, fsConstants.X_OK);
      return { path: c };
    } catch {
      denied = true;
    }
  }
  return { error: denied ? 'EACCES' : 'ENOENT' };
}

/**
 * Turns this process's core dumps off for the launcher (see the module doc): the coredump filter
 * cleared, then either nothing more (limit 0/0 already), a program prefix (soft limit 0 already:
 * prlimit is found but not run here), or prlimit run on this process ({@link disableCoreDumps}).
 * @throws ContainerLaunchError `ERR_CONTAINER_CORE_LIMIT` as {@link disableCoreDumps} does; with a
 *   soft limit of 0, when prlimit is not found in `PATH` (step `prlimit`).
 */
export async function turnCoreDumpsOff(o: DisableCoreDumpsOptions = {}): Promise<CoreDumpsOff> {
  const limitsPath = o.limitsPath ?? '/proc/self/limits';
  const before = readLimitsFile(limitsPath);
  if (before?.soft !== 0 || before.hard === 0) return { limit: await disableCoreDumps(o) };
  clearCoredumpFilter(o.coredumpFilterPath ?? '/proc/self/coredump_filter');
  const command = o.prlimit ?? 'prlimit';
  const found = findExecutable(command, process.env['PATH'] ?? '/usr/bin:/bin');
  if ('error' in found)
    throw limitError(
      `cannot turn core dumps off: ${command} ${found.error === 'ENOENT' ? 'not found (install util-linux)' : 'cannot be executed'}`,
      { step: 'prlimit', command },
    );
  return { limit: before, programPrefix: [found.path, '--core=0:0', '--'] };
}
