/**
 * Trusted files: expanding the manifest's paths and globs to a sorted file list, hashing each file
 * with SHA-256, and comparing a tree against the list recorded at prepare time.
 *
 * Globs: `*` matches within one path segment, `?` one character of a segment, `**` any number of
 * whole segments. Patterns are relative to the manifest's directory; symbolic links are followed
 * for named files and not descended into while walking (a link inside a globbed tree is hashed as
 * the file it points to only if it points to a regular file).
 */
import { createHash } from 'node:crypto';
import { lstat, open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerTrustedFileError } from './errors.ts';

/** One trusted file as recorded in app.sig and measured into the identity. */
export interface TrustedFileHash {
  /** Path relative to the manifest's directory, `/`-separated. */
  readonly path: string;
  /** SHA-256, lower-case hex. */
  readonly sha256: string;
  readonly size: number;
}

const hasGlob = (p: string): boolean => /[*?]/.test(p);

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

async function walk(base: string, rel: string, out: string[]): Promise<void> {
  const entries = await readdir(join(base, rel), { withFileTypes: true });
  for (const e of entries) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) await walk(base, p, out);
    else if (e.isFile()) out.push(p);
    else if (e.isSymbolicLink()) {
      const s = await stat(join(base, p)).catch(() => undefined);
      if (s?.isFile() === true) out.push(p);
    }
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
export async function expandTrustedFiles(
  baseDir: string,
  patterns: readonly string[],
  requireMatches: boolean,
): Promise<string[]> {
  const found = new Set<string>();
  for (const [i, pattern] of patterns.entries()) {
    const before = found.size;
    let matched = 0;
    if (!hasGlob(pattern)) {
      const s = await stat(join(baseDir, pattern)).catch(() => undefined);
      if (s?.isFile() === true) {
        found.add(pattern);
        matched++;
      } else if (s !== undefined && requireMatches) {
        throw new ContainerTrustedFileError(
          'ERR_CONTAINER_TRUSTED_FILE',
          `trustedFiles[${i}]: ${pattern} is not a regular file`,
          {
            details: { field: `trustedFiles[${i}]`, path: pattern },
          },
        );
      }
    } else {
      const root = globRoot(pattern);
      const rootStat = await lstat(join(baseDir, root)).catch(() => undefined);
      if (rootStat?.isDirectory() === true) {
        const files: string[] = [];
        await walk(baseDir, root, files);
        const re = globToRegExp(pattern);
        for (const f of files) {
          if (re.test(f)) {
            found.add(f);
            matched++;
          }
        }
      }
    }
    if (requireMatches && matched === 0 && found.size === before) {
      throw new ContainerTrustedFileError(
        'ERR_CONTAINER_TRUSTED_FILE',
        `trustedFiles[${i}]: ${pattern} matches no file`,
        {
          details: { field: `trustedFiles[${i}]`, path: pattern },
        },
      );
    }
  }
  return [...found].sort();
}

/** Size of each read while hashing. */
export const HASH_CHUNK = 1024 * 1024;
/** Files hashed at the same time (their reads overlap; the hashing itself runs on this thread). */
const PARALLEL = 2;

/** Reads from `pos` until `buf` is full or the file ends; the number of bytes read. */
async function readFully(fh: FileHandle, buf: Buffer, pos: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await fh.read(buf, n, buf.length - n, pos + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}

/** Two read buffers of {@link HASH_CHUNK} bytes, reused from file to file. */
type BufferPair = [Buffer, Buffer];
const bufferPair = (chunk = HASH_CHUNK): BufferPair => [Buffer.allocUnsafe(chunk), Buffer.allocUnsafe(chunk)];

/**
 * SHA-256 and size of one file, read to its end in chunks: the next chunk is read (in the thread
 * pool) while the current one is hashed, into two buffers reused across files, so the cost stays
 * close to the hash function's own.
 */
export async function hashFile(
  path: string,
  buffers: BufferPair = bufferPair(),
): Promise<{ sha256: string; size: number }> {
  const fh = await open(path, 'r');
  const h = createHash('sha256');
  let [cur, next] = buffers;
  let size = 0;
  // Each read but the last fills its buffer: a short read is the end of the file.
  let reading: Promise<number> | undefined = readFully(fh, cur, 0);
  try {
    while (reading !== undefined) {
      const n = await reading;
      reading = undefined;
      size += n;
      const full = cur;
      [cur, next] = [next, cur];
      if (n === full.length) reading = readFully(fh, cur, size);
      h.update(full.subarray(0, n));
    }
  } finally {
    // Never close the handle (or reuse a buffer) while a read is in flight.
    await reading?.catch(() => 0);
    await fh.close();
  }
  return { sha256: h.digest('hex'), size };
}

/** Hashes every listed file (two at a time), in list order. */
export async function hashTrustedFiles(
  baseDir: string,
  paths: readonly string[],
): Promise<TrustedFileHash[]> {
  const out: TrustedFileHash[] = new Array<TrustedFileHash>(paths.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    const buffers = bufferPair();
    while (next < paths.length) {
      const i = next++;
      const path = paths[i] ?? '';
      try {
        out[i] = { path, ...(await hashFile(join(baseDir, path), buffers)) };
      } catch (cause) {
        throw new ContainerTrustedFileError(
          'ERR_CONTAINER_TRUSTED_FILE',
          `cannot read trusted file ${path}: ${(cause as Error).message}`,
          {
            details: { path },
            cause,
          },
        );
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, paths.length) }, worker));
  return out;
}

/**
 * Re-expands and re-hashes the trusted files and compares them with `recorded`.
 * @throws ContainerTrustedFileError `ERR_CONTAINER_TRUSTED_FILE_CHANGED` naming the first changed
 *   file (sorted order): `details.change` is `modified`, `missing` or `added`.
 */
export async function checkTrustedFiles(
  baseDir: string,
  patterns: readonly string[],
  recorded: readonly TrustedFileHash[],
): Promise<TrustedFileHash[]> {
  const changed = (path: string, change: 'modified' | 'missing' | 'added'): ContainerTrustedFileError =>
    new ContainerTrustedFileError(
      'ERR_CONTAINER_TRUSTED_FILE_CHANGED',
      `trusted file ${path} is ${change === 'modified' ? 'modified' : change === 'missing' ? 'missing' : 'new (matches a trusted pattern)'} since prepare`,
      {
        details: { path, change },
      },
    );
  const now = await expandTrustedFiles(baseDir, patterns, false);
  const want = new Map(recorded.map((r) => [r.path, r]));
  const all = [...new Set([...now, ...want.keys()])].sort();
  const present = new Set(now);
  for (const p of all) {
    if (!want.has(p)) throw changed(p, 'added');
    if (!present.has(p)) throw changed(p, 'missing');
  }
  let hashes: TrustedFileHash[];
  try {
    hashes = await hashTrustedFiles(baseDir, now);
  } catch (err) {
    const p = (err as ContainerTrustedFileError).details['path'];
    throw changed(typeof p === 'string' ? p : '?', 'missing');
  }
  for (const h of hashes) {
    const r = want.get(h.path);
    if (r === undefined || r.sha256 !== h.sha256 || r.size !== h.size) throw changed(h.path, 'modified');
  }
  return hashes;
}
