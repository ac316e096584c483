/**
 * Seeded randomness for test inputs: the same bytes on every run unless asked otherwise.
 *
 * The seed comes from `CCNODES_TEST_SEED` (decimal or `0x…` hex) or a fixed default, so a failure
 * can always be reproduced. Each test file draws from its own stream (the seed mixed with the file's
 * name), so adding a test to one file does not change the inputs of another. When a test process
 * that drew from a stream fails, it prints the seed and the command that reruns the file on stderr
 * (the test runner shows it); wrap a test body in {@link withSeed} to have the failing assertion
 * itself say so too.
 *
 * Use this for data a test makes up (report data, nonces, random buffers, object UIDs); keys or
 * tokens the product generates itself stay random, as in production.
 */
import { basename, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './testdata.ts';

/** The seed used when `CCNODES_TEST_SEED` is not set. */
export const DEFAULT_TEST_SEED = 0x5eed_cc01;

function parseSeed(text: string): number {
  const n = /^0x[0-9a-f]{1,8}$/i.test(text) ? Number.parseInt(text.slice(2), 16) : Number(text);
  if (!/^(0x[0-9a-f]{1,8}|\d{1,10})$/i.test(text) || !Number.isSafeInteger(n) || n > 0xffff_ffff) {
    throw new Error(
      `CCNODES_TEST_SEED: expected a 32-bit integer (decimal or 0x hex), got ${JSON.stringify(text)}`,
    );
  }
  return n >>> 0;
}

/** `CCNODES_TEST_SEED` when set, else `fallback` (default {@link DEFAULT_TEST_SEED}). */
export function testSeed(fallback: number = DEFAULT_TEST_SEED): number {
  const env = process.env['CCNODES_TEST_SEED'];
  return env === undefined || env === '' ? fallback >>> 0 : parseSeed(env);
}

/**
 * The seeds a test file runs its seeded cases for: {@link testSeed} alone, or, with
 * `CCNODES_TEST_SEED_COUNT=n`, the n consecutive seeds starting there (many runs in one process).
 */
export function testSeeds(): number[] {
  const first = testSeed();
  const env = process.env['CCNODES_TEST_SEED_COUNT'];
  if (env === undefined || env === '') return [first];
  const count = Number(env);
  if (!/^\d{1,6}$/.test(env) || count < 1) {
    throw new Error(`CCNODES_TEST_SEED_COUNT: expected a count from 1 to 999999, got ${JSON.stringify(env)}`);
  }
  return Array.from({ length: count }, (_, i) => (first + i) >>> 0);
}

/** mulberry32: a small, fast, deterministic generator of floats in [0, 1). Not for cryptography. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a label, to derive one stream per file from the one seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

export interface SeededRandom {
  /** The seed in effect (what `CCNODES_TEST_SEED` must be set to for the same inputs). */
  readonly seed: number;
  /** One line: the seed and the command that reruns this file with it. */
  readonly rerun: string;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** `n` random bytes (a plain Uint8Array). */
  bytes(n: number): Uint8Array;
  /** The same as a Node Buffer (for `.toString('base64')` and the like). */
  buffer(n: number): Buffer;
  /** One element of `xs`. */
  pick<T>(xs: readonly T[]): T;
  /** A random (version 4 layout) UUID string. */
  uuid(): string;
}

const reruns = new Set<string>();

/** When the test process ends with a failure, name the seeds its random inputs came from. */
function noteSeedOnFailure(rerun: string): void {
  if (reruns.size === 0) {
    process.once('exit', (code) => {
      if (code === 0 && (process.exitCode ?? 0) === 0) return;
      for (const line of reruns) process.stderr.write(`${line}\n`);
    });
  }
  reruns.add(rerun);
}

/**
 * The random stream of one test file. `fileUrl` is the file's `import.meta.url` (it names the file
 * in the rerun command and separates its stream from other files'); `seed` defaults to
 * {@link testSeed}.
 */
export function seededRandom(fileUrl: string, seed: number = testSeed()): SeededRandom {
  const path = fileUrl.startsWith('file:') ? fileURLToPath(fileUrl) : fileUrl;
  const rel = relative(REPO_ROOT, path) || basename(path);
  const next = mulberry32((seed ^ fnv1a(rel)) >>> 0);
  const int = (n: number): number => Math.floor(next() * n);
  const bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = int(256);
    return out;
  };
  const hexSeed = `0x${seed.toString(16).padStart(8, '0')}`;
  // The rerun command names the test file being run (a shared fixture module is not one).
  const testFile = process.argv.find((a) => /\.test\.[cm]?[jt]s$/.test(a));
  const target = testFile === undefined ? rel : relative(REPO_ROOT, testFile) || testFile;
  const rerun = `random test inputs from seed ${hexSeed}; rerun with: CCNODES_TEST_SEED=${hexSeed} node --import tsx --test ${target}`;
  noteSeedOnFailure(rerun);
  return {
    seed,
    rerun,
    next,
    int,
    bytes,
    buffer: (n) => Buffer.from(bytes(n)),
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)] as T,
    uuid: () => {
      const b = bytes(16);
      b[6] = ((b[6] as number) & 0x0f) | 0x40;
      b[8] = ((b[8] as number) & 0x3f) | 0x80;
      const h = Buffer.from(b).toString('hex');
      return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    },
  };
}

/**
 * Wraps a test body so that, when it fails, the error also says which seed produced the inputs and
 * how to rerun with it (appended to the message and the stack, which is what the reporters print).
 */
export function withSeed<A extends unknown[]>(
  rng: SeededRandom,
  fn: (...args: A) => unknown,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof Error) {
        const note = `\n[${rng.rerun}]`;
        err.message += note;
        if (err.stack !== undefined) err.stack += note;
      }
      throw err;
    }
  };
}
