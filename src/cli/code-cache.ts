/**
 * Loads a CommonJS file of the precompiled CLI through V8's code cache: what the build's standalone
 * modules (dist/container-run-fast.cjs, dist/quote-verify-fast.cjs) start from. scripts/build.ts
 * writes a two-line ES module `dist/<name>.js` that calls {@link loadWithCodeCache} and re-exports
 * what the file exports; the sources (bin/ccnodes.js in a checkout) never come here.
 *
 * Compiling half a megabyte of JavaScript, and then the functions a run calls, is a large part of a
 * short-lived command's start (issue 14: `container run`'s launch overhead). V8 can serialise the
 * code it has compiled for a script and take it back on the next compile: the cache. Node 20 has no
 * code cache for modules, so the file is compiled here with `vm.Script` and `cachedData`, wrapped as
 * Node wraps a CommonJS module (`exports, require, module, __filename, __dirname`), in strict mode.
 *
 * The cache file (`<file>.v8cache`, next to the code) is:
 *   line 1  `ccnodes-v8-cache 1`
 *   line 2  JSON {@link CacheHeader}: SHA-256 of the source file, Node and V8 versions, architecture,
 *           byte length and SHA-256 of the payload
 *   rest    the payload: V8's cached data, as `script.createCachedData()` gave it.
 * It is used only when every field matches this process and this source: V8 itself checks little
 * more than the source's length, and deserialises what it is given. Anything else (no file, another
 * Node, a changed source, a truncated or corrupted file, V8 refusing the data) means the file is
 * compiled from source, as without a cache; the command's outcome is the same either way.
 *
 * The cache is written by the process, at its exit, when the file was compiled without a usable
 * cache, the process exits with status 0 (a run that did its work, so that the cache holds the
 * functions a run calls) and the directory is writable: atomically (a temporary file renamed over
 * the cache). A read-only installation (an image's root-owned dist/) is never written to; it keeps
 * compiling from source unless its build step ran the command once. The cache is as trusted as the
 * code next to it: whoever can write the directory can replace the code itself.
 */
import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  fstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { isAscii } from 'node:buffer';

/** First line of a cache file (the format's version is its last word). */
export const CACHE_MAGIC = 'ccnodes-v8-cache 1';

/** Longest header line (the second line, without its newline) read. */
export const MAX_HEADER_BYTES = 4096;

/**
 * The payload of a cache file starts at a multiple of this many bytes (the header line is padded
 * with spaces before its newline): V8 takes cached data in place only when it starts at an 8-byte
 * boundary, and copies it otherwise (a 0.5 MB copy into fresh memory, ~125 page faults at every
 * `container run` on the bench machine). A buffer read whole has an aligned start.
 */
export const PAYLOAD_ALIGNMENT = 8;

/** The JSON header (second line) of a cache file. */
export interface CacheHeader {
  /** SHA-256 (hex) of the source file the payload was made from. */
  readonly source: string;
  /** `process.version` of the Node that made it. */
  readonly node: string;
  /** `process.versions.v8`. */
  readonly v8: string;
  /** `process.arch`. */
  readonly arch: string;
  /** Byte length of the payload. */
  readonly length: number;
  /** SHA-256 (hex) of the payload. */
  readonly sha256: string;
}

/**
 * What happened to the cache: `used` (V8 took it), `absent` (no cache file), `stale` (made for
 * another source, Node, V8 or architecture), `corrupt` (not a cache file, or its payload does not
 * match its header), `rejected` (V8 refused the data, e.g. other V8 flags), `off` (not asked for).
 */
export type CacheStatus = 'used' | 'absent' | 'stale' | 'corrupt' | 'rejected' | 'off';

/** Options of {@link loadWithCodeCache}. */
export interface LoadWithCodeCacheOptions {
  /** The cache file (default `<file>.v8cache`). */
  readonly cachePath?: string;
  /** Read the cache (default true). False compiles from source and never writes a cache. */
  readonly useCache?: boolean;
  /**
   * When a cache is written (default `on-success-exit`: at the process's exit with status 0, as the
   * module doc says); `never` leaves the cache file as it is.
   */
  readonly write?: 'on-success-exit' | 'never';
}

/** What {@link loadWithCodeCache} loaded. */
export interface LoadedWithCodeCache {
  /** The file's `module.exports`. */
  readonly exports: Record<string, unknown>;
  readonly cache: CacheStatus;
  /** Whether a cache will be written at exit (status 0, directory writable). */
  readonly willWrite: boolean;
}

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** This process's identity in a cache header (everything but the source and payload fields). */
function runtime(): Pick<CacheHeader, 'node' | 'v8' | 'arch'> {
  return { node: process.version, v8: process.versions.v8, arch: process.arch };
}

/** A cache file's bytes for `payload` made from the source whose SHA-256 is `sourceSha256`. */
export function encodeCache(sourceSha256: string, payload: Uint8Array): Buffer {
  const header: CacheHeader = {
    source: sourceSha256,
    ...runtime(),
    length: payload.length,
    sha256: sha256(payload),
  };
  const head = `${CACHE_MAGIC}\n${JSON.stringify(header)}`;
  const pad = (PAYLOAD_ALIGNMENT - ((Buffer.byteLength(head) + 1) % PAYLOAD_ALIGNMENT)) % PAYLOAD_ALIGNMENT;
  return Buffer.concat([Buffer.from(`${head}${' '.repeat(pad)}\n`), payload]);
}

/**
 * The payload of a cache file's bytes when it was made by this Node (and V8, architecture) from the
 * source whose SHA-256 is `sourceSha256`, and is whole; otherwise why not. Reads at most the header's
 * two lines before checking the payload's length and hash.
 */
export function decodeCache(
  bytes: Uint8Array,
  sourceSha256: string,
): { payload: Buffer } | { status: 'stale' | 'corrupt' } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicEnd = buf.indexOf(0x0a);
  if (magicEnd < 0 || buf.subarray(0, magicEnd).toString('latin1') !== CACHE_MAGIC)
    return { status: 'corrupt' };
  // The header is a few hundred bytes; a second line over 4 KiB is not one.
  const headerEnd = buf
    .subarray(0, Math.min(buf.length, magicEnd + 1 + MAX_HEADER_BYTES + 1))
    .indexOf(0x0a, magicEnd + 1);
  if (headerEnd < 0) return { status: 'corrupt' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(buf.subarray(magicEnd + 1, headerEnd).toString('utf8'));
  } catch {
    return { status: 'corrupt' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { status: 'corrupt' };
  const header = parsed as Partial<Record<keyof CacheHeader, unknown>>;
  const now = runtime();
  if (
    header.source !== sourceSha256 ||
    header.node !== now.node ||
    header.v8 !== now.v8 ||
    header.arch !== now.arch
  )
    return { status: 'stale' };
  const payload = buf.subarray(headerEnd + 1);
  if (header.length !== payload.length || header.sha256 !== sha256(payload)) return { status: 'corrupt' };
  return { payload };
}

/** Largest cache file read (64 MiB; a cache is about the size of its source). */
export const MAX_CACHE_BYTES = 64 * 1024 * 1024;

/**
 * The cache file's bytes; undefined when there is none (or it cannot be opened); `corrupt` when it
 * is not a regular file (a FIFO would block the read) or is over {@link MAX_CACHE_BYTES}. Opened
 * non-blocking, checked with fstat, then read whole.
 */
function readCacheFile(path: string): Buffer | 'corrupt' | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return undefined; // no cache (or unreadable): compile from source
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_CACHE_BYTES) return 'corrupt';
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * How Node wraps a CommonJS module, in strict mode (as the ES module sources it was built from).
 * The parameter names are joined from parts so that the build's checks of bundled code
 * (scripts/build.ts: no `__dirname`/`__filename`, and no `require` banner where none is used) see
 * names in a string here, not uses.
 */
const WRAPPER_PARAMS = ['exports', ['req', 'uire'], 'module', ['__file', 'name'], ['__dir', 'name']].map(
  (p) => (typeof p === 'string' ? p : p.join('')),
);
const WRAPPER_HEAD = `(function (${WRAPPER_PARAMS.join(', ')}) {'use strict';`;
const WRAPPER_TAIL = '\n})';
/** The first line of a file written already wrapped ({@link prewrapCommonJs}). */
const PREWRAPPED_HEAD = `${WRAPPER_HEAD}\n`;
/** The last line of a bundle that names its source map (kept last when the file is wrapped). */
const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=[^\n]*\n?$/;

/**
 * The text of CommonJS file `source` written already wrapped as {@link loadWithCodeCache} wraps it
 * (the wrapper's head on a line of its own, its tail before a closing source-map comment), for the
 * build to write. Loaded, it is compiled as it is: V8 is given the file's own string, not a second
 * one built by joining it to the wrapper, which costs a copy the size of the file, and in a short-lived
 * launcher (half a megabyte of code) a young-generation garbage collection (issue 14). Line numbers
 * are those of the unwrapped file.
 */
export function prewrapCommonJs(source: string): string {
  const map = SOURCE_MAP_COMMENT.exec(source);
  const body = map === null ? source : source.slice(0, map.index);
  return `${PREWRAPPED_HEAD}${body}${WRAPPER_TAIL}${map === null ? '' : map[0]}`;
}

function directoryWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Writes `bytes` to `path` through a temporary file in the same directory; false on any failure. */
function writeAtomically(path: string, bytes: Uint8Array): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, path);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * Loads the CommonJS file `file` (a path or `file:` URL) and returns its exports, compiled with the
 * code cache next to it when that cache is valid (see the module doc for the format and the checks).
 * Errors reading or running the file itself are thrown as `require` would throw them; a missing,
 * stale or broken cache never is.
 */
export function loadWithCodeCache(
  file: string | URL,
  options: LoadWithCodeCacheOptions = {},
): LoadedWithCodeCache {
  const path = file instanceof URL || file.startsWith('file:') ? fileURLToPath(file) : file;
  const cachePath = options.cachePath ?? `${path}.v8cache`;
  const bytes = readFileSync(path);
  // ASCII when esbuild could escape every other character (Latin-1 decoding is then a copy), UTF-8
  // otherwise (a String.raw template keeps its characters, as the enclave runtime's does).
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const sourceSha256 = sha256(bytes);
  let status: CacheStatus = options.useCache === false ? 'off' : 'absent';
  let cachedData: Buffer | undefined;
  if (status !== 'off') {
    const raw = readCacheFile(cachePath);
    if (raw === 'corrupt') status = 'corrupt';
    else if (raw !== undefined) {
      const decoded = decodeCache(raw, sourceSha256);
      if ('payload' in decoded) cachedData = decoded.payload;
      else status = decoded.status;
    }
  }
  const prewrapped = source.startsWith(PREWRAPPED_HEAD);
  const script = new Script(prewrapped ? source : `${WRAPPER_HEAD}${source}${WRAPPER_TAIL}`, {
    filename: path,
    ...(prewrapped ? { lineOffset: -1 } : { columnOffset: -WRAPPER_HEAD.length }),
    ...(cachedData === undefined ? {} : { cachedData }),
  });
  if (cachedData !== undefined) status = script.cachedDataRejected === true ? 'rejected' : 'used';
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: unknown,
    filename: string,
    dirname: string,
  ) => void;
  wrapper.call(module.exports, module.exports, createRequire(path), module, path, dirname(path));
  const willWrite =
    status !== 'used' &&
    status !== 'off' &&
    options.write !== 'never' &&
    directoryWritable(dirname(cachePath));
  if (willWrite) {
    process.once('exit', (code) => {
      if (code !== 0) return;
      try {
        writeAtomically(cachePath, encodeCache(sourceSha256, script.createCachedData()));
      } catch {
        // Best effort: the next run compiles from source again.
      }
    });
  }
  return { exports: module.exports, cache: status, willWrite };
}
