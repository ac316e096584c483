/**
 * src/cli/code-cache.ts: a CommonJS file loaded through V8's code cache (what dist/<name>.js of the
 * standalone modules does). The cache file is used only when it was made from this very source (its
 * SHA-256, not only its length, which is all V8 checks) by this Node, V8 and architecture, and its
 * payload is whole; anything else compiles from source with the same result. The cache is written at
 * a successful exit (status 0) into a writable directory, atomically, and never otherwise.
 *
 * The cache is written by a `process.on('exit')` handler, so everything about writing runs in child
 * processes (Node with tsx, importing the module from src/).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Script } from 'node:vm';
import {
  CACHE_MAGIC,
  MAX_CACHE_BYTES,
  MAX_HEADER_BYTES,
  decodeCache,
  encodeCache,
  PAYLOAD_ALIGNMENT,
  loadWithCodeCache,
  prewrapCommonJs,
  type CacheHeader,
  type CacheStatus,
  type LoadWithCodeCacheOptions,
} from '../../src/cli/code-cache.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const CODE_CACHE_URL = pathToFileURL(join(REPO_ROOT, 'src', 'cli', 'code-cache.ts')).href;

const sha256 = (data: Uint8Array | string): string => createHash('sha256').update(data).digest('hex');

/** The fixture module; `fixture(42)` and `fixture(43)` have the same length. */
const fixture = (answer: number): string =>
  [
    `exports.answer = () => ${answer};`,
    'exports.strict = (function () { return this === undefined; })();',
    'exports.file = __filename;',
    'exports.dir = __dirname;',
    "exports.req = typeof require('node:path').join;",
    '',
  ].join('\n');

const dirs: string[] = [];
after(() => {
  for (const d of dirs) {
    chmodSync(d, 0o755);
    rmSync(d, { recursive: true, force: true });
  }
});

/** A fresh directory holding `fx.cjs` (the fixture answering `answer`). */
function fixtureDir(answer = 42): { dir: string; file: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-code-cache-'));
  dirs.push(dir);
  const file = join(dir, 'fx.cjs');
  writeFileSync(file, fixture(answer));
  return { dir, file, cache: `${file}.v8cache` };
}

/** A cache file of bytes crafted by hand: magic line, header line (an object is JSON-encoded), payload. */
function craft(header: object | string, payload: Uint8Array, magic = CACHE_MAGIC): Buffer {
  const line = typeof header === 'string' ? header : JSON.stringify(header);
  return Buffer.concat([Buffer.from(`${magic}\n${line}\n`), payload]);
}

/** The header this process would write for `payload` made from the source whose SHA-256 is `source`. */
function goodHeader(source: string, payload: Uint8Array): CacheHeader {
  return {
    source,
    node: process.version,
    v8: process.versions.v8,
    arch: process.arch,
    length: payload.length,
    sha256: sha256(payload),
  };
}

/** Deterministic pseudo-random bytes (xorshift32 from `seed`). */
function pseudoRandom(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** What a child printed: the load's status and the fixture's exports. */
interface ChildOut {
  cache: CacheStatus;
  willWrite: boolean;
  answer: number;
  strict: boolean;
  file: string;
  dir: string;
  req: string;
}

interface ChildResult {
  readonly code: number | null;
  readonly stderr: string;
  readonly out?: ChildOut;
}

/**
 * Loads `file` with {@link loadWithCodeCache} in a child Node process (tsx, the module from src/),
 * prints the outcome and ends as `end` says: `natural` (status 0), `exit0` (`process.exit(0)`, as
 * `container run` ends), `exit1` (`process.exit(1)`) or `exitCode1` (`process.exitCode = 1`).
 */
function runChild(
  file: string,
  {
    options = {},
    end = 'natural',
    nodeArgs = [],
    asUrl = false,
    uid,
  }: {
    options?: LoadWithCodeCacheOptions;
    end?: 'natural' | 'exit0' | 'exit1' | 'exitCode1';
    nodeArgs?: readonly string[];
    asUrl?: boolean;
    uid?: number;
  } = {},
): ChildResult {
  const target = asUrl ? `new URL(${JSON.stringify(pathToFileURL(file).href)})` : JSON.stringify(file);
  const endings = {
    natural: '',
    exit0: 'process.exit(0);',
    exit1: 'process.exit(1);',
    exitCode1: 'process.exitCode = 1;',
  };
  const script = [
    `import { loadWithCodeCache } from ${JSON.stringify(CODE_CACHE_URL)};`,
    `const r = loadWithCodeCache(${target}, ${JSON.stringify(options)});`,
    'const e = r.exports;',
    'process.stdout.write(JSON.stringify({ cache: r.cache, willWrite: r.willWrite, answer: e.answer(),',
    '  strict: e.strict, file: e.file, dir: e.dir, req: e.req }));',
    endings[end],
  ].join('\n');
  const r = spawnSync(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', script],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      ...(uid === undefined ? {} : { uid, gid: uid }),
    },
  );
  return {
    code: r.status,
    stderr: r.stderr,
    ...(r.stdout === '' ? {} : { out: JSON.parse(r.stdout) as ChildOut }),
  };
}

/** Asserts that the child exited as expected and loaded the fixture (answering `answer`) correctly. */
function assertLoaded(r: ChildResult, file: string, answer = 42, code = 0): ChildOut {
  assert.equal(r.code, code, r.stderr);
  assert.ok(r.out !== undefined, r.stderr);
  assert.equal(r.out.answer, answer);
  assert.equal(r.out.strict, true, 'the file runs in strict mode, as the ES module sources did');
  assert.equal(r.out.file, file);
  assert.equal(r.out.dir, dirname(file));
  assert.equal(r.out.req, 'function', 'require resolves as it would next to the file');
  return r.out;
}

/** The directory holds no temporary file of an atomic write. */
function assertNoTmp(dir: string): void {
  assert.deepEqual(
    readdirSync(dir).filter((f) => f.endsWith('.tmp')),
    [],
  );
}

describe('cache file format (encodeCache / decodeCache)', () => {
  const source = sha256('the source');
  const payload = pseudoRandom(1000, 1);

  test('a cache file is the magic line, a JSON header line, then the payload, and decodes back', () => {
    const bytes = encodeCache(source, payload);
    const text = bytes.toString('latin1');
    const [magic, header] = text.split('\n');
    assert.equal(magic, 'ccnodes-v8-cache 1');
    assert.deepEqual(JSON.parse(header ?? ''), goodHeader(source, payload));
    assert.deepEqual(bytes.subarray(bytes.length - payload.length), payload);
    const decoded = decodeCache(bytes, source);
    assert.ok('payload' in decoded, JSON.stringify(decoded));
    assert.deepEqual(decoded.payload, payload);
    // An empty payload is whole too.
    const empty = decodeCache(encodeCache(source, new Uint8Array(0)), source);
    assert.ok('payload' in empty && empty.payload.length === 0);
  });

  test('the payload starts at a multiple of 8 bytes, whatever the header length (V8 copies unaligned data)', () => {
    assert.equal(PAYLOAD_ALIGNMENT, 8);
    const unpadded = new Set<number>();
    for (const n of [0, 7, 42, 999, 1000, 12_345, 100_000, 654_321]) {
      const p = pseudoRandom(n, n + 1);
      const bytes = encodeCache(source, p);
      const headerLength = bytes.length - p.length;
      assert.equal(headerLength % 8, 0, `payload of ${n} bytes starts at ${headerLength}`);
      const [magic = '', header = ''] = bytes.subarray(0, headerLength).toString('latin1').split('\n');
      assert.match(header, /^\{.*\} *$/);
      unpadded.add((magic.length + header.trimEnd().length + 2) % 8);
      // Read as the loader reads it (a buffer of the file's size): the payload view is aligned.
      const read = Buffer.allocUnsafe(bytes.length);
      bytes.copy(read);
      const decoded = decodeCache(read, source);
      assert.ok('payload' in decoded, JSON.stringify(decoded));
      assert.equal(decoded.payload.byteOffset % 8, 0);
      assert.deepEqual(decoded.payload, p);
    }
    // Without the padding these payloads would have started at several offsets modulo 8.
    assert.ok(unpadded.size > 1, [...unpadded].join(','));
  });

  test('decodes from a view into a larger buffer (byteOffset honoured)', () => {
    const file = encodeCache(source, payload);
    const big = Buffer.concat([Buffer.from('junk before'), file, Buffer.from('junk after')]);
    const view = new Uint8Array(big.buffer, big.byteOffset + 11, file.length);
    const decoded = decodeCache(view, source);
    assert.ok('payload' in decoded, JSON.stringify(decoded));
    assert.deepEqual(decoded.payload, payload);
  });

  test('is stale when made from another source, or by another Node, V8 or architecture', () => {
    const good = goodHeader(source, payload);
    assert.ok('payload' in decodeCache(craft(good, payload), source), 'the hand-made header is right');
    const others: Record<string, Partial<CacheHeader>> = {
      source: { source: sha256('another source') },
      node: { node: 'v20.0.0-other' },
      v8: { v8: '1.2.3.4-other' },
      arch: { arch: process.arch === 'x64' ? 'arm64' : 'x64' },
    };
    for (const [field, change] of Object.entries(others)) {
      assert.deepEqual(
        decodeCache(craft({ ...good, ...change }, payload), source),
        { status: 'stale' },
        field,
      );
    }
    // The same file, asked about by another source.
    assert.deepEqual(decodeCache(encodeCache(source, payload), sha256('other')), { status: 'stale' });
  });

  test('is corrupt when it is not a cache file or its payload does not match its header', () => {
    const good = goodHeader(source, payload);
    const flipped = Buffer.from(payload);
    flipped[500] = (flipped[500] ?? 0) ^ 0x01;
    const whole = encodeCache(source, payload);
    const cases: Record<string, Buffer> = {
      'empty file': Buffer.alloc(0),
      'wrong magic': craft(good, payload, 'ccnodes-v8-cache 2'),
      'magic with CRLF': Buffer.from(whole.toString('latin1').replace('\n', '\r\n'), 'latin1'),
      'no newline at all': Buffer.from(CACHE_MAGIC),
      'magic line only': Buffer.from(`${CACHE_MAGIC}\n`),
      'header line without its newline': Buffer.from(`${CACHE_MAGIC}\n${JSON.stringify(good)}`),
      'header line longer than 4096 bytes': craft({ ...good, padding: 'x'.repeat(4096) }, payload),
      'header JSON array': craft('[]', payload),
      'header not JSON': craft('{"source": ', payload),
      'header JSON null': craft('null', payload),
      'header JSON number': craft('3', payload),
      'header JSON string': craft('"a string"', payload),
      'payload longer than its header says': craft({ ...good, length: payload.length - 1 }, payload),
      'payload length as a string': craft({ ...good, length: String(payload.length) }, payload),
      'payload hash mismatch (one flipped bit)': craft(good, flipped),
      'truncated payload': whole.subarray(0, whole.length - 1),
      'truncated in the header': whole.subarray(0, CACHE_MAGIC.length + 20),
      'bytes appended': Buffer.concat([whole, Buffer.from([0])]),
    };
    for (const [name, bytes] of Object.entries(cases)) {
      assert.deepEqual(decodeCache(bytes, source), { status: 'corrupt' }, name);
    }
    // A header line of exactly MAX_HEADER_BYTES (plus its newline) is still read; one byte more is not.
    const base = JSON.stringify({ ...good, padding: '' });
    const padded = craft({ ...good, padding: 'x'.repeat(MAX_HEADER_BYTES - base.length) }, payload);
    assert.equal(padded.indexOf(0x0a, CACHE_MAGIC.length + 1) - CACHE_MAGIC.length - 1, MAX_HEADER_BYTES);
    assert.ok('payload' in decodeCache(padded, source));
    const over = craft({ ...good, padding: 'x'.repeat(MAX_HEADER_BYTES + 1 - base.length) }, payload);
    assert.deepEqual(decodeCache(over, source), { status: 'corrupt' });
  });

  test('hostile input: 5 MB of (seeded) random bytes is corrupt, quickly, in every shape', () => {
    const noise = pseudoRandom(5 * 1024 * 1024, 0x5eed);
    const started = process.hrtime.bigint();
    const shapes: Record<string, Buffer> = {
      'random bytes': noise,
      'magic, then random bytes': Buffer.concat([Buffer.from(`${CACHE_MAGIC}\n`), noise]),
      'one 5 MB line': Buffer.alloc(5 * 1024 * 1024, 'a'),
      'magic, then a 5 MB line': Buffer.concat([Buffer.from(`${CACHE_MAGIC}\n`), Buffer.alloc(5 << 20, '{')]),
      'a right header over 5 MB of random payload, one byte off': (() => {
        const bad = Buffer.from(noise);
        bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 0xff;
        return craft(goodHeader(source, noise), bad);
      })(),
    };
    for (const [name, bytes] of Object.entries(shapes)) {
      assert.deepEqual(decodeCache(bytes, source), { status: 'corrupt' }, name);
    }
    // Generous (a loaded 2-core machine): hashing 10 MB takes tens of milliseconds.
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(ms < 10_000, `${ms} ms`);
  });
});

describe('loadWithCodeCache', () => {
  test('premise: V8 alone takes a cache made for another source of the same length (and runs the old code)', () => {
    const head = "(function (exports) {'use strict';";
    const old = new Script(`${head}exports.answer = () => 42;\n})`, { filename: '/premise.cjs' });
    const oldExports: { answer?: () => number } = {};
    (old.runInThisContext() as (e: object) => void)(oldExports);
    assert.equal(oldExports.answer?.(), 42);
    const changed = new Script(`${head}exports.answer = () => 43;\n})`, {
      filename: '/premise.cjs',
      cachedData: old.createCachedData(),
    });
    const changedExports: { answer?: () => number } = {};
    (changed.runInThisContext() as (e: object) => void)(changedExports);
    // Were this ever false (V8 checking more), the source SHA-256 in the header would be belt and braces.
    assert.equal(changed.cachedDataRejected, false);
    assert.equal(changedExports.answer?.(), 42, 'V8 ran the code of the cache, not of the source');
  });

  test('in this process: exports in strict mode with __filename, __dirname and require; errors thrown as require throws them', () => {
    const { file } = fixtureDir();
    const r = loadWithCodeCache(file, { write: 'never' });
    assert.equal(r.cache, 'absent');
    assert.equal(r.willWrite, false);
    assert.equal((r.exports['answer'] as () => number)(), 42);
    assert.equal(r.exports['strict'], true);
    assert.equal(r.exports['file'], file);
    assert.equal(r.exports['dir'], dirname(file));
    assert.equal(r.exports['req'], 'function');
    // A file URL (what the build's shim passes) is the same file.
    const viaUrl = loadWithCodeCache(pathToFileURL(file), { write: 'never' });
    assert.equal(viaUrl.exports['file'], file);
    assert.equal(loadWithCodeCache(pathToFileURL(file).href, { write: 'never' }).exports['file'], file);

    assert.throws(() => loadWithCodeCache(join(dirname(file), 'missing.cjs'), { write: 'never' }), {
      code: 'ENOENT',
    });
    const thrower = join(dirname(file), 'throws.cjs');
    writeFileSync(thrower, "exports.a = 1; throw new Error('boom');\n");
    assert.throws(
      () => loadWithCodeCache(thrower, { write: 'never' }),
      (err: unknown) =>
        err instanceof Error &&
        err.message === 'boom' &&
        // The wrapper's head is not counted: line 1, column 22, as require reports it.
        (err.stack ?? '').includes(`${thrower}:1:22`),
    );
    assert.equal(existsSync(`${thrower}.v8cache`), false);
  });

  test('a first run compiles from source and writes the cache at its successful exit; the next run uses it', () => {
    const { dir, file, cache } = fixtureDir();
    const first = assertLoaded(runChild(file), file);
    assert.equal(first.cache, 'absent');
    assert.equal(first.willWrite, true);
    assert.ok(existsSync(cache), 'the cache was written at exit');
    const decoded = decodeCache(readFileSync(cache), sha256(readFileSync(file)));
    assert.ok('payload' in decoded && decoded.payload.length > 0, 'a cache of this source, by this Node');
    assertNoTmp(dir);

    const second = assertLoaded(runChild(file, { asUrl: true }), file);
    assert.equal(second.cache, 'used');
    assert.equal(second.willWrite, false, 'a used cache is not written again');
    // Ending with process.exit(0), as container run does, uses it too.
    assert.equal(assertLoaded(runChild(file, { end: 'exit0' }), file).cache, 'used');
    assertNoTmp(dir);
  });

  test('process.exit(0) writes the cache as a natural exit does', () => {
    const { file, cache } = fixtureDir();
    assert.equal(assertLoaded(runChild(file, { end: 'exit0' }), file).willWrite, true);
    assert.ok(existsSync(cache));
  });

  test('a run that fails (exit status 1) writes no cache', () => {
    const { dir, file, cache } = fixtureDir();
    for (const end of ['exit1', 'exitCode1'] as const) {
      const r = assertLoaded(runChild(file, { end }), file, 42, 1);
      assert.equal(r.cache, 'absent', end);
      assert.equal(r.willWrite, true, 'it would have, had the run succeeded');
      assert.equal(existsSync(cache), false, end);
    }
    assertNoTmp(dir);
  });

  test("write: 'never' leaves the cache file as it is (none written, a stale one kept)", () => {
    const { file, cache } = fixtureDir();
    const r = assertLoaded(runChild(file, { options: { write: 'never' } }), file);
    assert.equal(r.cache, 'absent');
    assert.equal(r.willWrite, false);
    assert.equal(existsSync(cache), false);
    const stale = craft(goodHeader(sha256('another source'), Buffer.from('x')), Buffer.from('x'));
    writeFileSync(cache, stale);
    assert.equal(assertLoaded(runChild(file, { options: { write: 'never' } }), file).cache, 'stale');
    assert.deepEqual(readFileSync(cache), stale);
  });

  test('useCache: false neither reads nor writes a cache', () => {
    const { file, cache } = fixtureDir();
    const r = assertLoaded(runChild(file, { options: { useCache: false } }), file);
    assert.equal(r.cache, 'off');
    assert.equal(r.willWrite, false);
    assert.equal(existsSync(cache), false);
    // A valid cache is there: still not read.
    assertLoaded(runChild(file), file);
    const valid = readFileSync(cache);
    assert.equal(assertLoaded(runChild(file, { options: { useCache: false } }), file).cache, 'off');
    assert.deepEqual(readFileSync(cache), valid);
  });

  test('a read-only directory is never written to', (t) => {
    const { dir, file, cache } = fixtureDir();
    chmodSync(dir, 0o555);
    let uid: number | undefined;
    if (writable(dir)) {
      // root ignores the mode: run the child as nobody, when that user can run tsx from the checkout.
      if (process.getuid?.() !== 0 || !canRunAs(65534)) {
        t.skip(
          'the directory stays writable for this user (root) and no unprivileged user can run the child',
        );
        return;
      }
      uid = 65534;
    }
    const r = assertLoaded(runChild(file, uid === undefined ? {} : { uid }), file);
    assert.equal(r.cache, 'absent');
    assert.equal(r.willWrite, false);
    assert.equal(existsSync(cache), false);
    assertNoTmp(dir);
  });

  test('a changed source of the same length makes the old cache stale: the new code runs, and its cache replaces the old one', () => {
    const { dir, file, cache } = fixtureDir(42);
    assertLoaded(runChild(file), file, 42);
    const old = readFileSync(cache);
    const before = readFileSync(file).length;
    writeFileSync(file, fixture(43));
    assert.equal(readFileSync(file).length, before, 'same length: all V8 itself checks');
    const r = assertLoaded(runChild(file), file, 43);
    assert.equal(r.cache, 'stale');
    assert.equal(r.willWrite, true);
    assert.notDeepEqual(readFileSync(cache), old, 'rewritten at the successful exit');
    assert.equal(assertLoaded(runChild(file), file, 43).cache, 'used');
    assertNoTmp(dir);
  });

  test('a corrupted cache (one payload byte flipped, truncated) is corrupt: the file loads from source and the cache is rewritten', () => {
    const { dir, file, cache } = fixtureDir();
    assertLoaded(runChild(file), file);
    const valid = readFileSync(cache);
    const flipped = Buffer.from(valid);
    flipped[flipped.length - 10] = (flipped[flipped.length - 10] ?? 0) ^ 0x01;
    const damaged: Record<string, Buffer> = {
      'one payload byte flipped': flipped,
      'truncated payload': valid.subarray(0, valid.length - 100),
      'truncated header': valid.subarray(0, 40),
    };
    for (const [name, bytes] of Object.entries(damaged)) {
      writeFileSync(cache, bytes);
      const r = assertLoaded(runChild(file), file);
      assert.equal(r.cache, 'corrupt', name);
      assert.equal(r.willWrite, true, name);
      assert.ok(
        'payload' in decodeCache(readFileSync(cache), sha256(readFileSync(file))),
        `${name}: rewritten`,
      );
    }
    assert.equal(assertLoaded(runChild(file), file).cache, 'used');
    assertNoTmp(dir);
  });

  test('a 5 MB cache file of random bytes is corrupt, and the file loads', () => {
    const { dir, file, cache } = fixtureDir();
    writeFileSync(cache, pseudoRandom(5 * 1024 * 1024, 7));
    const r = assertLoaded(runChild(file, { options: { write: 'never' } }), file);
    assert.equal(r.cache, 'corrupt');
    // With the magic and a right-looking header over 5 MB of payload that V8 never sees.
    const noise = pseudoRandom(5 * 1024 * 1024, 8);
    writeFileSync(
      cache,
      craft({ ...goodHeader(sha256(readFileSync(file)), noise), length: noise.length + 1 }, noise),
    );
    assert.equal(assertLoaded(runChild(file, { options: { write: 'never' } }), file).cache, 'corrupt');
    assertNoTmp(dir);
  });

  test('a cache that is a FIFO, a directory or over MAX_CACHE_BYTES is corrupt without being read: no hang, the file loads', () => {
    const { file, cache } = fixtureDir();
    // A FIFO with no writer: a blocking read would never return (the child would time out).
    const fifo = spawnSync('mkfifo', [cache]);
    assert.equal(fifo.status, 0, String(fifo.stderr));
    const t = performance.now();
    assert.equal(assertLoaded(runChild(file, { options: { write: 'never' } }), file).cache, 'corrupt');
    assert.ok(performance.now() - t < 30_000);
    rmSync(cache);
    mkdirSync(cache);
    assert.equal(assertLoaded(runChild(file, { options: { write: 'never' } }), file).cache, 'corrupt');
    rmSync(cache, { recursive: true });
    // One byte over the bound, sparse (no 64 MiB written): refused from its size alone.
    writeFileSync(cache, '');
    truncateSync(cache, MAX_CACHE_BYTES + 1);
    assert.equal(assertLoaded(runChild(file, { options: { write: 'never' } }), file).cache, 'corrupt');
  });

  test('a cache V8 refuses (made under other V8 flags, which the header does not record) is rejected and rewritten', () => {
    const { dir, file, cache } = fixtureDir();
    const flag = '--no-lazy-feedback-allocation';
    assert.equal(assertLoaded(runChild(file, { nodeArgs: [flag] }), file).cache, 'absent');
    assert.ok(existsSync(cache));
    // Header and payload are whole; V8's own check of its flags refuses the data.
    const r = assertLoaded(runChild(file), file);
    assert.equal(r.cache, 'rejected');
    assert.equal(r.willWrite, true);
    assert.equal(assertLoaded(runChild(file), file).cache, 'used', 'rewritten without the flag');
    assertNoTmp(dir);
  });
});

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a child Node running as `uid` can load tsx from the checkout (to test permissions as root). */
function canRunAs(uid: number): boolean {
  const r = spawnSync(
    process.execPath,
    [
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(join(REPO_ROOT, 'node_modules', 'tsx', 'package.json'))})`,
    ],
    { cwd: REPO_ROOT, uid, gid: uid, timeout: 60_000 },
  );
  return r.status === 0;
}

describe('a file written already wrapped (prewrapCommonJs, what the build writes)', () => {
  test('is compiled as it is: the same exports, strict mode, require and paths, and its cache is used on the next run', () => {
    const { dir, file, cache } = fixtureDir();
    writeFileSync(file, prewrapCommonJs(fixture(42)));
    assert.ok(
      readFileSync(file, 'utf8').startsWith('(function (exports, require, module, __filename, __dirname)'),
    );
    assertNoTmp(dir);
    assert.equal(assertLoaded(runChild(file), file).cache, 'absent');
    assert.ok(existsSync(cache));
    assert.equal(assertLoaded(runChild(file), file).cache, 'used');
  });

  test('reports line and column of the unwrapped file, as require would', () => {
    const { dir } = fixtureDir();
    const thrower = join(dir, 'throws.cjs');
    writeFileSync(thrower, prewrapCommonJs("exports.a = 1;\n  throw new Error('boom');\n"));
    assert.throws(
      () => loadWithCodeCache(thrower, { write: 'never' }),
      (err: unknown) =>
        err instanceof Error && err.message === 'boom' && (err.stack ?? '').includes(`${thrower}:2:9`),
    );
  });

  test('keeps a closing source-map comment last, after the wrapper, and leaves a file without one as it was', () => {
    const body = 'exports.a = 1;\n//# sourceMappingURL=x.cjs.map\n';
    const wrapped = prewrapCommonJs(body);
    assert.ok(wrapped.endsWith('\n})\n//# sourceMappingURL=x.cjs.map\n'), wrapped);
    assert.ok(wrapped.includes('exports.a = 1;\n})'));
    assert.equal(prewrapCommonJs('exports.a = 1;').endsWith('exports.a = 1;\n})'), true);
    // A file that merely mentions a source map elsewhere is wrapped whole.
    const inner = "exports.s = '//# sourceMappingURL=not-last';\nexports.b = 2;\n";
    assert.ok(prewrapCommonJs(inner).endsWith(`${inner}\n})`));
  });

  test('a file that only looks wrapped on a later line is wrapped again (the head must be its first line)', () => {
    const { file } = fixtureDir();
    writeFileSync(file, `\n${prewrapCommonJs(fixture(42))}`);
    // Wrapped again, the inner function is an expression statement that is never called: no exports.
    assert.deepEqual(loadWithCodeCache(file, { write: 'never' }).exports, {});
  });
});
