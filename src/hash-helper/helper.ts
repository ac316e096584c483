/**
 * Hashing large trusted files on the machine's other core (for `container run`, src/container): `openssl dgst -sha256` run as a child
 * process over files the launcher has opened and checked itself.
 *
 * Why: a launch is one short-lived Node process whose main thread is busy from start to end, and
 * SHA-256 of the trusted files (~50 ms for 50 MiB) is its largest piece of work after Node's own
 * start-up. A worker thread takes 60-90 ms to come online here, longer than the hashing; a child
 * process running OpenSSL's SHA-256 starts in a few milliseconds and hashes at OpenSSL's own speed
 * while the main thread loads its code and talks to the platform and the attestation service.
 *
 * What the helper is trusted with, and how little: the launcher opens each file itself (non-blocking,
 * and only a regular file), hands the child the open descriptors (the child opens `/dev/fd/N`,
 * which is the same file, whatever happens to the path meanwhile), and takes a hash only when the
 * child exited 0, printed exactly one well-formed line per descriptor in order, and the file's size,
 * modification and change times are the same after the child as before it (so the size is the
 * number of bytes hashed). Anything else — no OpenSSL, a failed or killed child, output it cannot
 * read, a file changed meanwhile, a deadline passed — and the file is hashed in process instead
 * ({@link hashFile}), so the outcome of a launch never depends on the helper, only its speed. The
 * binary is looked up in fixed system directories, not in `$PATH`, and runs with an empty
 * environment. It is as trusted as the Node binary running the launcher: both come from the image.
 *
 * Only files worth a process go to the helper: at least {@link HELPER_MIN_BYTES} and with blocks on
 * disk (files of /proc and /sys report sizes that are not their content), at most
 * {@link HELPER_MAX_FILES} per launch (the rest are hashed in process, side by side).
 */
import { spawn } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  statSync,
  type BigIntStats,
} from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the helper is looked for, in order (fixed directories; `$PATH` is not consulted). */
export const HELPER_DIRS: readonly string[] = ['/usr/bin', '/bin'];
/** Smallest file handed to the helper (smaller ones are hashed in process). */
export const HELPER_MIN_BYTES = 64 * 1024;
/** Most files handed to the helper in one launch (one descriptor each in the child). */
export const HELPER_MAX_FILES = 256;
/**
 * The helper's share of a launch's trusted bytes: half of them, plus {@link HELPER_HEAD_START_BYTES}
 * (so all of a small app's). `openssl dgst` hashes slower than the launcher's own loop (it reads
 * 8 KiB at a time) but starts before the launcher's code is loaded; files past its share are hashed
 * by the launcher meanwhile, so that for a large app both finish at about the same time.
 * Measured on the bench machine, 400 MiB in 40 files: 422.6 ms p50 with this share, 538.9 ms with
 * every file to the helper, 493.2–529.9 ms with none (11 alternating rounds each).
 */
export const HELPER_SHARE = 0.5;
/** Bytes the helper takes on top of {@link HELPER_SHARE} (what it hashes while the launcher loads). */
export const HELPER_HEAD_START_BYTES = 24 * 1024 * 1024;

/** How many of `totalBytes` to hand the helper (files are handed in list order until this is reached). */
export function helperBudget(totalBytes: number): number {
  return totalBytes * HELPER_SHARE + HELPER_HEAD_START_BYTES;
}

/** The helper's deadline: this much, plus {@link HELPER_MS_PER_MIB} for every MiB it is given. */
export const HELPER_BASE_TIMEOUT_MS = 5_000;
/** Per MiB handed to the helper (OpenSSL's SHA-256 runs at 400-2,000 MiB/s on current CPUs). */
export const HELPER_MS_PER_MIB = 20;

/** A file's SHA-256 (lower-case hex) and size in bytes. */
export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

/** Which helper to use: a path to an `openssl` executable, or `false` for none. */
export type HashHelperSetting = string | false;

/** The environment variable that turns the helper off (`off`) or leaves it on (`auto`, the default). */
export const HASH_HELPER_ENV = 'CCNODES_HASH_HELPER';

/** Whether a launch uses the helper: `auto` (when openssl is there) or `off`. */
export type HashHelperMode = 'auto' | 'off';

/**
 * The mode a launch asks for: `flag` (`container run --hash-helper`) if given, else `env`'s
 * {@link HASH_HELPER_ENV}, else `auto`. An empty variable counts as unset. Any value other than
 * `auto` or `off` is refused, naming where it came from (`option`: the flag or the variable).
 */
export function hashHelperMode(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): { readonly mode: HashHelperMode } | { readonly error: string; readonly option: string } {
  const fromEnv = env[HASH_HELPER_ENV];
  const [value, option] =
    flag !== undefined ? [flag, '--hash-helper'] : [fromEnv === '' ? undefined : fromEnv, HASH_HELPER_ENV];
  if (value === undefined || value === 'auto') return { mode: 'auto' };
  if (value === 'off') return { mode: 'off' };
  return { error: `${option}: auto or off, got ${JSON.stringify(value)}`, option };
}

/**
 * The helper a launch uses by default: none when `env`'s {@link HASH_HELPER_ENV} is `off`, else
 * `openssl` in the first of {@link HELPER_DIRS} that has an executable one. (The CLI refuses other values of the
 * variable; here they count as `auto`.)
 */
export function defaultHashHelper(
  env: Readonly<Record<string, string | undefined>> = process.env,
): HashHelperSetting {
  if (env[HASH_HELPER_ENV] === 'off') return false;
  for (const dir of HELPER_DIRS) {
    const path = join(dir, 'openssl');
    try {
      if (!statSync(path).isFile()) continue;
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not there, or not executable: the next directory
    }
  }
  return false;
}

/** A file opened for the helper, with what it looked like then. */
export interface Opened {
  readonly path: string;
  readonly fd: number;
  readonly before: BigIntStats;
}

/**
 * Opens `path` for the helper if it qualifies (a regular file of at least {@link HELPER_MIN_BYTES}
 * with blocks on disk, and of `expectedSize` bytes when that is given); returns undefined, with
 * nothing left open, if it does not or cannot be opened (the caller hashes it in process, which
 * reports why).
 */
export function openForHelper(path: string, expectedSize?: number): Opened | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    if (
      before.isFile() &&
      before.size >= BigInt(HELPER_MIN_BYTES) &&
      before.blocks > 0n &&
      (expectedSize === undefined || before.size === BigInt(expectedSize))
    )
      return { path, fd, before };
  } catch {
    // fall through: hashed in process
  }
  closeSync(fd);
  return undefined;
}

/** Whether the file behind `fd` still looks as it did (`before`): same size, mtime and ctime. */
function unchanged(fd: number, before: BigIntStats): boolean {
  try {
    const after = fstatSync(fd, { bigint: true });
    return (
      after.size === before.size &&
      after.mtimeNs === before.mtimeNs &&
      after.ctimeNs === before.ctimeNs &&
      after.ino === before.ino
    );
  } catch {
    return false;
  }
}

/** One output line of `openssl dgst -sha256 -r /dev/fd/N`. */
const LINE = /^([0-9a-f]{64}) \*\/dev\/fd\/(\d+)$/;

/**
 * Hashes the `opened` files in one `helper` child (`openssl dgst -sha256 -r /dev/fd/3 …`). Resolves,
 * never rejects, with one entry per file in order: its digest, or undefined where the helper's
 * answer cannot be taken (the caller hashes that file in process). Every descriptor in `opened` is
 * closed before this resolves. An aborted `signal`, or the deadline passing (by default
 * {@link HELPER_BASE_TIMEOUT_MS} plus {@link HELPER_MS_PER_MIB} per MiB), kills the child: every
 * entry is then undefined.
 */
export function hashWithHelper(
  helper: string,
  opened: readonly Opened[],
  signal?: AbortSignal,
  options: { readonly timeoutMs?: number } = {},
): Promise<(FileDigest | undefined)[]> {
  const none = (): undefined[] => opened.map(() => undefined);
  const closeAll = (): void => {
    for (const o of opened) closeSync(o.fd);
  };
  if (opened.length === 0) return Promise.resolve([]);
  if (signal?.aborted === true) {
    closeAll();
    return Promise.resolve(none());
  }
  const mib = opened.reduce((n, o) => n + Number(o.before.size), 0) / (1024 * 1024);
  const timeoutMs = options.timeoutMs ?? HELPER_BASE_TIMEOUT_MS + Math.ceil(mib * HELPER_MS_PER_MIB);
  // The child's descriptor for each file, and the longest answer that can be right.
  const names = opened.map((_, i) => `/dev/fd/${3 + i}`);
  const maxOut = names.reduce((n, name) => n + 64 + 2 + name.length + 1, 0);
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(helper, ['dgst', '-sha256', '-r', ...names], {
      stdio: ['ignore', 'pipe', 'ignore', ...opened.map((o) => o.fd)],
      env: {},
    });
  } catch {
    closeAll();
    return Promise.resolve(none());
  }
  return new Promise((resolvePromise) => {
    let settled = false;
    const finish = (digests: (FileDigest | undefined)[]): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      closeAll();
      resolvePromise(digests);
    };
    const kill = (): void => {
      // Its output is closed too: a process the helper started would otherwise keep it open.
      child.stdout?.destroy();
      child.kill('SIGKILL');
      finish(none());
    };
    signal?.addEventListener('abort', kill, { once: true });
    const timer = setTimeout(kill, timeoutMs);
    const chunks: Buffer[] = [];
    let bytes = 0;
    child.stdout?.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxOut) kill();
      else chunks.push(chunk);
    });
    child.on('error', () => {
      finish(none());
    });
    child.on('close', (code) => {
      const lines = Buffer.concat(chunks).toString('latin1').split('\n');
      if (code !== 0 || lines.pop() !== '' || lines.length !== opened.length) {
        finish(none());
        return;
      }
      // Read before finish() closes the descriptors.
      const digests = opened.map((o, i): FileDigest | undefined => {
        const m = LINE.exec(lines[i] ?? '');
        if (m?.[1] === undefined || m[2] !== String(3 + i)) return undefined;
        return unchanged(o.fd, o.before) ? { sha256: m[1], size: Number(o.before.size) } : undefined;
      });
      finish(digests);
    });
  });
}

/** Largest app.sig {@link prestartHashes} reads (a bigger one is left to the launcher). */
export const PRESTART_MAX_SIG_BYTES = 4 * 1024 * 1024;

/**
 * Large trusted files already being hashed by the helper, started by {@link prestartHashes} before
 * the launcher's code is loaded. The launcher takes them for the files app.sig lists when it finds
 * the same app.sig and manifest directory (`startTrustedFileHashes`'s `prestarted`), else aborts them.
 */
export interface PrestartedHashes {
  /** The manifest's directory, absolute: the paths are relative to it. */
  readonly baseDir: string;
  /** The app.sig read, absolute. */
  readonly sigPath: string;
  /** Digest (or undefined: hash it in process) of each file handed to the helper. */
  readonly hashes: ReadonlyMap<string, Promise<FileDigest | undefined>>;
  /** Kills the helper (its entries become undefined). */
  readonly abort: () => void;
}

/**
 * Starts the helper on the large files `sigPath` lists, as early as a launch can: the CLI's
 * CommonJS start calls this before it loads `container run`'s code, so that the hashing runs on the
 * other core meanwhile. Nothing here is trusted or reported: app.sig is read as plain JSON (at most
 * {@link PRESTART_MAX_SIG_BYTES}, only the plain relative paths of `trustedFiles[].path`) and
 * anything unexpected — no helper, no app.sig, bad JSON, no file worth the helper — returns
 * undefined, leaving everything to the launcher, which reads and checks app.sig itself.
 * `manifestPath` and `sigPath` must be absolute.
 */
export function prestartHashes(
  manifestPath: string,
  sigPath: string,
  helper: HashHelperSetting = defaultHashHelper(),
): PrestartedHashes | undefined {
  if (helper === false) return undefined;
  // Each plain relative path with the size app.sig records for it: a file of another size has
  // changed, and is left to the launcher, which stops reading it one byte past that size.
  let listed: Map<string, number>;
  try {
    const fd = openSync(sigPath, constants.O_RDONLY | constants.O_NONBLOCK);
    let text: string;
    try {
      const st = fstatSync(fd);
      if (!st.isFile() || st.size > PRESTART_MAX_SIG_BYTES) return undefined;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const files = (JSON.parse(text) as { trustedFiles?: unknown }).trustedFiles;
    if (!Array.isArray(files)) return undefined;
    listed = new Map();
    for (const f of files as unknown[]) {
      const { path, size } = (f ?? {}) as { path?: unknown; size?: unknown };
      if (
        typeof path === 'string' &&
        isPlainRelative(path) &&
        typeof size === 'number' &&
        Number.isSafeInteger(size) &&
        !listed.has(path)
      )
        listed.set(path, size);
    }
  } catch {
    return undefined;
  }
  const baseDir = dirname(manifestPath);
  const opened: Opened[] = [];
  let total = 0;
  for (const size of listed.values()) total += size;
  const budget = helperBudget(total);
  let given = 0;
  for (const [path, size] of listed) {
    if (opened.length >= HELPER_MAX_FILES || given >= budget) break;
    const o = openForHelper(join(baseDir, path), size);
    if (o === undefined) continue;
    opened.push({ ...o, path });
    given += size;
  }
  if (opened.length === 0) return undefined;
  const controller = new AbortController();
  const digests = hashWithHelper(helper, opened, controller.signal);
  return {
    baseDir,
    sigPath,
    hashes: new Map(opened.map((o, i) => [o.path, digests.then((d) => d[i])] as const)),
    abort: () => {
      controller.abort();
    },
  };
}

/** A relative path with no `..`, `.` or empty segment (an absolute path has an empty first one). */
export function isPlainRelative(path: string): boolean {
  return !path.split('/').some((s) => s === '' || s === '.' || s === '..');
}
