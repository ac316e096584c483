/**
 * Trusted files: expanding the manifest's paths and globs to a sorted file list, hashing each file
 * with SHA-256, and comparing a tree against the list recorded at prepare time.
 *
 * Globs: `*` matches within one path segment, `?` one character of a segment, `**` any number of
 * whole segments. Patterns are relative to the manifest's directory. Symbolic links are followed in
 * what the manifest names: a named file, and the fixed directory part of a glob (before its first
 * segment with a wildcard). While walking below that, links to directories are not descended into,
 * and a link is listed (and hashed as the file it points to) only if it points to a regular file.
 */
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join } from 'node:path';
import { ContainerTrustedFileError } from './errors.ts';
import {
  defaultHashHelper,
  hashWithHelper,
  HELPER_MAX_FILES,
  helperBudget,
  isPlainRelative,
  openForHelper,
  type FileDigest,
  type HashHelperSetting,
  type Opened,
  type PrestartedHashes,
} from '../hash-helper/index.ts';

/** One trusted file as recorded in app.sig and measured into the identity. */
export interface TrustedFileHash {
  /** Path relative to the manifest's directory, `/`-separated. */
  readonly path: string;
  /** SHA-256, lower-case hex. */
  readonly sha256: string;
  readonly size: number;
}

const hasGlob = (p: string): boolean => /[*?]/.test(p);
/** `stat` (links followed), or undefined when the path cannot be stat'ed. */
function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** A glob as a regular expression over `/`-separated relative paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  const segs = glob.split('/');
  segs.forEach((seg, i) => {
    const last = i === segs.length - 1;
    if (seg === '**') {
      re += last ? '.*' : '(?:[^/]+/)*';
      return;
    }
    for (const ch of seg) {
      if (ch === '*') re += '[^/]*';
      else if (ch === '?') re += '[^/]';
      else re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
    if (!last) re += '/';
  });
  return new RegExp(`^${re}$`);
}

/**
 * Lists the regular files below `rel`: directories are descended into, every other entry is listed
 * when it is (or is a symbolic link to) a regular file; links to directories are not followed.
 * Synchronous, as the expansion is: local directory reads and stats take microseconds each, and
 * through the thread pool each would wait for the launcher's busy main thread (on the bench
 * machine the bench app's eleven files took 14–24 ms to list that way, while its hashes were ready).
 */
function walk(base: string, rel: string, out: string[]): void {
  const entries = readdirSync(join(base, rel), { withFileTypes: true });
  for (const e of entries) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) walk(base, p, out);
    else if (statOrUndefined(join(base, p))?.isFile() === true) out.push(p);
  }
}

/** The fixed directory part of a glob (before its first segment with a wildcard). */
function globRoot(glob: string): string {
  const segs = glob.split('/');
  const fixed: string[] = [];
  for (const s of segs) {
    if (hasGlob(s)) break;
    fixed.push(s);
  }
  return fixed.join('/');
}

/**
 * Expands the manifest's `trustedFiles` under `baseDir` to a sorted, de-duplicated list of relative
 * paths. With `requireMatches`, a pattern that matches nothing (or a named file that is missing) is
 * an error naming `trustedFiles[i]`; without it (at run time) missing files simply are not listed.
 */
export function expandTrustedFiles(
  baseDir: string,
  patterns: readonly string[],
  requireMatches: boolean,
): Promise<string[]> {
  // Listed on the spot (a rejection, not a throw, on failure): see walk().
  return new Promise((resolveList) => {
    resolveList(expandNow(baseDir, patterns, requireMatches));
  });
}

function expandNow(baseDir: string, patterns: readonly string[], requireMatches: boolean): string[] {
  const found = new Set<string>();
  for (const [i, pattern] of patterns.entries()) {
    const refuse = (why: string): ContainerTrustedFileError =>
      new ContainerTrustedFileError('ERR_CONTAINER_TRUSTED_FILE', `trustedFiles[${i}]: ${pattern} ${why}`, {
        details: { field: `trustedFiles[${i}]`, path: pattern },
      });
    let matched = 0;
    if (!hasGlob(pattern)) {
      const s = statOrUndefined(join(baseDir, pattern));
      if (s?.isFile() === true) {
        found.add(pattern);
        matched++;
      } else if (s !== undefined && requireMatches) throw refuse('is not a regular file');
    } else {
      // The fixed part is named by the manifest, so links in it are followed, as for a named file.
      const root = globRoot(pattern);
      if (statOrUndefined(join(baseDir, root))?.isDirectory() === true) {
        const files: string[] = [];
        walk(baseDir, root, files);
        const re = globToRegExp(pattern);
        for (const f of files) {
          if (re.test(f)) {
            found.add(f);
            matched++;
          }
        }
      }
    }
    if (requireMatches && matched === 0) throw refuse('matches no file');
  }
  return [...found].sort();
}

/**
 * Size of each read while hashing. 256 KiB rather than 1 MiB: the buffer's pages are faulted in
 * once per process (64 faults instead of 256, ~13 µs each in this VM), the chunk being hashed is
 * still in the CPU's cache after the copy from the page cache, and the main thread yields to the
 * event loop every ~0.2 ms of hashing. 50 MiB in a fresh process: 43.0 vs 46.8 ms p50 (9 runs of a
 * `/tmp` script; 512 KiB 42.8, 128 KiB 44.8, 64 KiB 48.1).
 */
export const HASH_CHUNK = 256 * 1024;

/**
 * Files being hashed at once in this process (so at most this many descriptors are open for
 * hashing, however many files a call lists). More calls wait their turn.
 */
export const HASH_CONCURRENCY = 4;

/** A counting semaphore: the process-wide bound on files being hashed. */
let hashing = 0;
const waiting: (() => void)[] = [];
async function acquireHashSlot(): Promise<void> {
  if (hashing < HASH_CONCURRENCY) {
    hashing++;
    return;
  }
  await new Promise<void>((resolve) => waiting.push(resolve));
}
function releaseHashSlot(): void {
  const next = waiting.shift();
  if (next !== undefined) next();
  else hashing--;
}

/**
 * The one read buffer of this process, allocated at first use and kept. A launch is a short-lived
 * process, so every page of memory it touches is a fresh page fault, costly in a virtual machine:
 * reading each file whole into its own buffer (and hashing it in the thread pool, which copies it
 * again) cost the bench's 50 MiB several times the CPU of this one reused buffer. Hashes running at
 * once can share it because each chunk is read and hashed synchronously, with no await between.
 */
let readBuffer: Buffer | undefined;

/**
 * SHA-256 and size of one file, read to its end (whatever its stat size says) in {@link HASH_CHUNK}
 * pieces. The reads are synchronous and the function yields to the event loop after each one, so
 * nothing else waits for more than one chunk: a read from the page cache costs a few percent of
 * hashing the same bytes, less than handing it to the thread pool and back (see `npm run bench --
 * trusted-files-hash`). The file is opened non-blocking and must be a regular file (a FIFO put in
 * its place is refused instead of blocking the process); the descriptor is closed before this
 * returns or throws. At most {@link HASH_CONCURRENCY} files are hashed at once in the process.
 * An aborted `signal` stops the hashing before its next read (the promise rejects). With
 * `expectedSize` (the size app.sig records), reading stops one byte past it: a file that grew is
 * reported with that many bytes, which cannot match, instead of being read to its end.
 */
export async function hashFile(
  path: string,
  signal?: AbortSignal,
  expectedSize?: number,
): Promise<{ sha256: string; size: number }> {
  await acquireHashSlot();
  try {
    signal?.throwIfAborted();
    const buffer = (readBuffer ??= Buffer.allocUnsafe(HASH_CHUNK));
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file`);
      const h = createHash('sha256');
      let size = 0;
      // Bytes still wanted: to the end, or one past the expected size.
      const limit = expectedSize === undefined ? Infinity : expectedSize + 1;
      const want = (): number => Math.min(HASH_CHUNK, limit - size);
      for (
        let n = readSync(fd, buffer, 0, want(), 0);
        n > 0;
        n = size < limit ? readSync(fd, buffer, 0, want(), size) : 0
      ) {
        h.update(buffer.subarray(0, n));
        size += n;
        await new Promise(setImmediate);
        signal?.throwIfAborted();
      }
      return { sha256: h.digest('hex'), size };
    } finally {
      closeSync(fd);
    }
  } finally {
    releaseHashSlot();
  }
}

/**
 * Hashes every listed file (up to {@link HASH_CONCURRENCY} at once); the result is in list order.
 * @throws ContainerTrustedFileError `ERR_CONTAINER_TRUSTED_FILE` naming the first file (in list
 *   order) that cannot be read.
 */
export async function hashTrustedFiles(
  baseDir: string,
  paths: readonly string[],
): Promise<TrustedFileHash[]> {
  const settled = await Promise.all(
    paths.map((path) =>
      hashFile(join(baseDir, path)).then(
        (h): TrustedFileHash => ({ path, ...h }),
        (cause: unknown) => new CannotRead(path, cause),
      ),
    ),
  );
  const failed = settled.find((r) => r instanceof CannotRead);
  if (failed !== undefined)
    throw new ContainerTrustedFileError(
      'ERR_CONTAINER_TRUSTED_FILE',
      `cannot read trusted file ${failed.path}: ${(failed.cause as Error).message}`,
      { details: { path: failed.path }, cause: failed.cause },
    );
  return settled as TrustedFileHash[];
}

/** A file that could not be hashed (kept as a value until the results are read in order). */
class CannotRead {
  constructor(
    readonly path: string,
    readonly cause: unknown,
  ) {}
}

/**
 * Starts hashing `paths` (relative to `baseDir`) now, for a later {@link checkTrustedFiles}
 * (`options.started`): e.g. the files app.sig lists, while the manifest is still being read (the
 * hashing then fills the launcher's waits for I/O). Only
 * plain relative paths (no `..`, `.` or empty segment, not absolute) are started; a file that
 * cannot be hashed gives `undefined` (the check reports it as missing), never a rejection. The
 * list comes from a file nothing vouches for yet, so whoever starts them aborts `signal` when they
 * are no longer wanted (e.g. the check failed first): the hashing then stops within one chunk.
 */
export function startTrustedFileHashes(
  baseDir: string,
  paths: readonly string[],
  signal?: AbortSignal,
  options: {
    /**
     * The hash helper for large files (src/hash-helper): a path to `openssl`, or
     * `false` to hash every file in process. Default: `openssl` in the system directories, if any.
     */
    readonly helper?: HashHelperSetting;
    /**
     * The helper's work started before the launcher's code was loaded ({@link prestartHashes}):
     * taken for the files it covers when its `baseDir` is this one (the helper is then not started
     * again), aborted otherwise. Aborting `signal` aborts it too.
     */
    readonly prestarted?: PrestartedHashes;
    /**
     * The size app.sig records for each path: a file of another size is not given to the helper,
     * and is read only to one byte past that size (it cannot match).
     */
    readonly sizes?: ReadonlyMap<string, number>;
  } = {},
): ReadonlyMap<string, Promise<FileDigest | undefined>> {
  const started = new Map<string, Promise<FileDigest | undefined>>();
  const inProcess = (path: string): Promise<FileDigest | undefined> =>
    hashFile(join(baseDir, path), signal, options.sizes?.get(path)).catch(() => undefined);
  // A file the helper's answer does not settle is hashed in process, as the others are.
  const orInProcess = (
    path: string,
    digest: Promise<FileDigest | undefined>,
  ): Promise<FileDigest | undefined> =>
    digest.then((d) => d ?? (signal?.aborted === true ? undefined : inProcess(path)));
  const prestarted = options.prestarted;
  if (prestarted !== undefined) {
    if (signal?.aborted === true) prestarted.abort();
    else
      signal?.addEventListener(
        'abort',
        () => {
          prestarted.abort();
        },
        { once: true },
      );
  }
  const taken = prestarted?.baseDir === baseDir ? prestarted.hashes : undefined;
  if (prestarted !== undefined && taken === undefined) prestarted.abort();
  const helper = taken === undefined ? (options.helper ?? defaultHashHelper()) : false;
  const forHelper: Opened[] = [];
  // The helper's share of the bytes, when their sizes are known (app.sig's); the rest in process.
  let budget = Infinity;
  if (options.sizes !== undefined) {
    let total = 0;
    for (const path of new Set(paths)) total += options.sizes.get(path) ?? 0;
    budget = helperBudget(total);
  }
  let given = 0;
  for (const path of new Set(paths)) {
    if (!isPlainRelative(path)) continue;
    const early = taken?.get(path);
    if (early !== undefined) {
      started.set(path, orInProcess(path, early));
      continue;
    }
    // A file not of the size app.sig records is left to the in-process hash, which stops reading
    // one byte past that size.
    const opened =
      helper !== false && forHelper.length < HELPER_MAX_FILES && given < budget
        ? openForHelper(join(baseDir, path), options.sizes?.get(path))
        : undefined;
    if (opened === undefined) started.set(path, inProcess(path));
    else {
      forHelper.push({ ...opened, path });
      given += Number(opened.before.size);
    }
  }
  if (helper !== false && forHelper.length > 0) {
    const digests = hashWithHelper(helper, forHelper, signal);
    forHelper.forEach((o, i) =>
      started.set(
        o.path,
        orInProcess(
          o.path,
          digests.then((d) => d[i]),
        ),
      ),
    );
  }
  return started;
}

const CHANGE_WORDING = {
  modified: 'modified',
  missing: 'missing',
  added: 'new (matches a trusted pattern)',
} as const;

/**
 * Re-expands and re-hashes the trusted files and compares them with `recorded`.
 * @throws ContainerTrustedFileError `ERR_CONTAINER_TRUSTED_FILE_CHANGED` naming the first changed
 *   file (sorted order): `details.change` is `modified`, `missing` or `added`.
 */
export async function checkTrustedFiles(
  baseDir: string,
  patterns: readonly string[],
  recorded: readonly TrustedFileHash[],
  options: {
    /** Hashes already started ({@link startTrustedFileHashes}); other files are hashed here. */
    readonly started?: ReadonlyMap<string, Promise<{ sha256: string; size: number } | undefined>>;
  } = {},
): Promise<TrustedFileHash[]> {
  const changed = (path: string, change: keyof typeof CHANGE_WORDING): ContainerTrustedFileError =>
    new ContainerTrustedFileError(
      'ERR_CONTAINER_TRUSTED_FILE_CHANGED',
      `trusted file ${path} is ${CHANGE_WORDING[change]} since prepare`,
      {
        details: { path, change },
      },
    );
  const now = await expandTrustedFiles(baseDir, patterns, false);
  const want = new Map(recorded.map((r) => [r.path, r]));
  const present = new Set(now);
  for (const p of [...new Set([...now, ...want.keys()])].sort()) {
    if (!want.has(p)) throw changed(p, 'added');
    if (!present.has(p)) throw changed(p, 'missing');
  }
  // Every listed file is recorded now; one that cannot be read any more (removed since the
  // expansion, or unreadable) is missing. The first change in sorted order is reported.
  const hashed = await Promise.all(
    now.map(
      (path) =>
        options.started?.get(path) ??
        hashFile(join(baseDir, path), undefined, want.get(path)?.size).catch(() => undefined),
    ),
  );
  const hashes: TrustedFileHash[] = [];
  for (const [i, path] of now.entries()) {
    const h = hashed[i];
    if (h === undefined) throw changed(path, 'missing');
    const r = want.get(path);
    if (r?.sha256 !== h.sha256 || r.size !== h.size) throw changed(path, 'modified');
    hashes.push({ path, ...h });
  }
  return hashes;
}
