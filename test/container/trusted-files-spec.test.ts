/**
 * Specification of trusted files: how the manifest's paths and globs expand, how files are hashed,
 * and how a tree is compared with what was recorded at prepare time (the launcher refuses to start
 * on any difference). Each case builds a small tree in a temp directory.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { runModuleScript } from '../support/child-module.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import {
  checkTrustedFiles,
  expandTrustedFiles,
  globToRegExp,
  HASH_CHUNK,
  HASH_CONCURRENCY,
  hashFile,
  hashTrustedFiles,
  startTrustedFileHashes,
} from '../../src/container/index.ts';

const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A temp tree with `files` (relative path → content). */
function tree(files: Record<string, string>): string {
  const base = mkdtempSync(join(tmpdir(), 'ccnodes-trusted-spec-'));
  roots.push(base);
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(dirname(join(base, p)), { recursive: true });
    writeFileSync(join(base, p), content);
  }
  return base;
}

const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

async function rejectsWith(
  p: Promise<unknown>,
  code: string,
  details: Record<string, unknown>,
  message?: RegExp,
): Promise<void> {
  await assert.rejects(p, (err: { code?: string; details?: Record<string, unknown>; message?: string }) => {
    assert.equal(err.code, code);
    if (message !== undefined) assert.match(err.message ?? '', message);
    for (const [k, v] of Object.entries(details)) assert.equal(err.details?.[k], v, k);
    return true;
  });
}

describe('globs', () => {
  test('`*` and `?` stay within one segment, `**` spans whole segments, other characters are literal', () => {
    const re = (g: string, p: string): boolean => globToRegExp(g).test(p);
    assert.equal(re('lib/*.js', 'lib/a.js'), true);
    assert.equal(re('lib/*.js', 'lib/x/a.js'), false);
    assert.equal(re('lib/?.js', 'lib/a.js'), true);
    assert.equal(re('lib/?.js', 'lib/ab.js'), false);
    assert.equal(re('lib/?.js', 'lib//.js'), false);
    assert.equal(re('lib/**/a.js', 'lib/a.js'), true);
    assert.equal(re('lib/**/a.js', 'lib/x/y/a.js'), true);
    assert.equal(re('lib/**', 'lib/x/y/a.js'), true);
    assert.equal(re('lib/**/a.js', 'lib/xa.js'), false, 'a middle ** spans whole segments only');
    assert.equal(re('lib/**', 'other/a.js'), false);
    assert.equal(re('a.js', 'aXjs'), false, 'a dot is literal');
    assert.equal(re('a+(b).js', 'a+(b).js'), true);
    assert.equal(re('lib/*.js', 'xlib/a.js'), false, 'anchored at the start');
    assert.equal(re('lib/*.js', 'lib/a.jsx'), false, 'anchored at the end');
  });
});

describe('expansion', () => {
  test('sorted, de-duplicated, relative `/` paths; globs walk only below their fixed directory', async () => {
    const base = tree({ 'b.js': '1', 'a.js': '2', 'lib/x.js': '3', 'lib/sub/y.js': '4', 'lib/z.txt': '5' });
    assert.deepEqual(await expandTrustedFiles(base, ['b.js', 'lib/**/*.js', 'a.js', 'b.js'], true), [
      'a.js',
      'b.js',
      'lib/sub/y.js',
      'lib/x.js',
    ]);
    assert.deepEqual(await expandTrustedFiles(base, ['*.js'], true), ['a.js', 'b.js']);
    assert.deepEqual(await expandTrustedFiles(base, ['**'], true), [
      'a.js',
      'b.js',
      'lib/sub/y.js',
      'lib/x.js',
      'lib/z.txt',
    ]);
  });
  test('at prepare time a pattern that matches nothing, or names a directory, is an error naming it', async () => {
    const base = tree({ 'a.js': '1', 'lib/x.js': '2' });
    await rejectsWith(
      expandTrustedFiles(base, ['a.js', 'missing.js'], true),
      'ERR_CONTAINER_TRUSTED_FILE',
      {
        field: 'trustedFiles[1]',
        path: 'missing.js',
      },
      /^trustedFiles\[1\]: missing\.js matches no file$/,
    );
    await rejectsWith(
      expandTrustedFiles(base, ['lib'], true),
      'ERR_CONTAINER_TRUSTED_FILE',
      {
        field: 'trustedFiles[0]',
        path: 'lib',
      },
      /^trustedFiles\[0\]: lib is not a regular file$/,
    );
    await rejectsWith(expandTrustedFiles(base, ['lib/*.txt'], true), 'ERR_CONTAINER_TRUSTED_FILE', {
      field: 'trustedFiles[0]',
    });
    await rejectsWith(expandTrustedFiles(base, ['nodir/*.js'], true), 'ERR_CONTAINER_TRUSTED_FILE', {
      field: 'trustedFiles[0]',
    });
    // a pattern whose files another pattern already listed still counts as matching
    assert.deepEqual(await expandTrustedFiles(base, ['lib/x.js', 'lib/*.js'], true), ['lib/x.js']);
  });
  test('at run time missing files and empty globs are simply not listed', async () => {
    const base = tree({ 'a.js': '1' });
    assert.deepEqual(await expandTrustedFiles(base, ['a.js', 'missing.js', 'x/*.js', 'a.js/*'], false), [
      'a.js',
    ]);
    assert.deepEqual(await expandTrustedFiles(base, ['.'], false), []);
  });
  test("symbolic links: named ones and those in a glob's fixed part are followed; below it, only links to regular files are listed", async () => {
    const base = tree({ 'real.js': 'r', 'lib/a.js': 'a', 'elsewhere/b.js': 'b' });
    symlinkSync(join(base, 'real.js'), join(base, 'lib/link.js'));
    symlinkSync(join(base, 'elsewhere'), join(base, 'lib/dirlink'));
    symlinkSync(join(base, 'nothing'), join(base, 'lib/dangling.js'));
    assert.deepEqual(await expandTrustedFiles(base, ['lib/**'], true), ['lib/a.js', 'lib/link.js']);
    assert.deepEqual(await expandTrustedFiles(base, ['lib/link.js'], true), ['lib/link.js']);
    symlinkSync(join(base, 'lib'), join(base, 'liblink'));
    assert.deepEqual(
      await expandTrustedFiles(base, ['liblink/a.js'], true),
      ['liblink/a.js'],
      'named through a linked directory',
    );
    // Links are followed in what the manifest names, a glob's fixed directory part included; below
    // it, the walk does not descend into links to directories (`lib/**` above skips lib/dirlink).
    assert.deepEqual(
      await expandTrustedFiles(base, ['liblink/*.js'], true),
      ['liblink/a.js', 'liblink/link.js'],
      'a glob whose fixed part is a link',
    );
    assert.deepEqual(
      await expandTrustedFiles(base, ['lib/dirlink/*.js'], true),
      ['lib/dirlink/b.js'],
      'a glob whose fixed part passes through a link below its first segment',
    );
  });
});

describe('hashing', () => {
  test('SHA-256 and size of each file, in list order; empty and multi-chunk files included', async () => {
    const big = Buffer.alloc(4 * 1024 * 1024 + 3, 7);
    const base = tree({ 'e.txt': '', 'a.txt': 'abc' });
    writeFileSync(join(base, 'big.bin'), big);
    assert.deepEqual(await hashFile(join(base, 'big.bin')), { sha256: sha(big), size: big.length });
    assert.deepEqual(await hashTrustedFiles(base, ['e.txt', 'a.txt', 'big.bin']), [
      { path: 'e.txt', sha256: sha(''), size: 0 },
      { path: 'a.txt', sha256: sha('abc'), size: 3 },
      { path: 'big.bin', sha256: sha(big), size: big.length },
    ]);
  });
  test('files of exactly one or two read chunks, and one byte around them, hash to their SHA-256', async () => {
    const base = tree({});
    const sizes = [HASH_CHUNK - 1, HASH_CHUNK, HASH_CHUNK + 1, 2 * HASH_CHUNK, 2 * HASH_CHUNK + 1];
    const files = sizes.map((size, i) => {
      const data = Buffer.alloc(size);
      for (let off = 0; off < size; off += 4096) data[off] = (off / 4096 + i) & 0xff;
      data[size - 1] = 0xa5;
      writeFileSync(join(base, `f${i}.bin`), data);
      return { path: `f${i}.bin`, sha256: sha(data), size };
    });
    for (const f of files)
      assert.deepEqual(await hashFile(join(base, f.path)), { sha256: f.sha256, size: f.size });
    assert.deepEqual(
      await hashTrustedFiles(
        base,
        files.map((f) => f.path),
      ),
      files,
    );
  });
  test('read buffers reused from file to file leave nothing of a larger file in a smaller one', async () => {
    const large = Buffer.alloc(HASH_CHUNK + 100, 0x41);
    const base = tree({ 'b.txt': 'B', 'd.txt': '' });
    writeFileSync(join(base, 'a.bin'), large);
    writeFileSync(join(base, 'c.bin'), large);
    // Two files at a time: each of the two hashing lanes sees a large file, then a small one.
    assert.deepEqual(await hashTrustedFiles(base, ['a.bin', 'c.bin', 'b.txt', 'd.txt']), [
      { path: 'a.bin', sha256: sha(large), size: large.length },
      { path: 'c.bin', sha256: sha(large), size: large.length },
      { path: 'b.txt', sha256: sha('B'), size: 1 },
      { path: 'd.txt', sha256: sha(''), size: 0 },
    ]);
  });
  test("two hashes running at once (sharing the read buffer) each get their own file's hash", async () => {
    const a = Buffer.alloc(3 * HASH_CHUNK + 5, 0x61);
    const b = Buffer.alloc(2 * HASH_CHUNK + 7, 0x62);
    const base = tree({});
    writeFileSync(join(base, 'a.bin'), a);
    writeFileSync(join(base, 'b.bin'), b);
    const [ha, hb] = await Promise.all([hashTrustedFiles(base, ['a.bin']), hashFile(join(base, 'b.bin'))]);
    assert.deepEqual(ha, [{ path: 'a.bin', sha256: sha(a), size: a.length }]);
    assert.deepEqual(hb, { sha256: sha(b), size: b.length });
  });
  test('hashing yields to the event loop between chunks: other work does not wait for a whole file', async () => {
    const base = tree({});
    writeFileSync(join(base, 'big.bin'), Buffer.alloc(4 * HASH_CHUNK, 1));
    let turns = 0;
    let done = false;
    const spin = (): void => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    await hashFile(join(base, 'big.bin'));
    done = true;
    assert.ok(turns >= 3, `the event loop ran ${turns} times during 4 chunks`);
  });
  test("a FIFO in a trusted file's place is refused at once (not read, not waited on)", async (t) => {
    const base = tree({ 'a.txt': 'abc' });
    if (spawnSync('mkfifo', [join(base, 'pipe')]).status !== 0) {
      t.skip('mkfifo unavailable');
      return;
    }
    // In a child process: opening a FIFO without O_NONBLOCK would block its whole thread (no timer
    // of this process could end the test); the child is killed after 30 s and the test fails.
    const container = JSON.stringify(join(REPO_ROOT, 'src', 'container', 'index.ts'));
    const { code, stdout } = await runModuleScript(
      `import { hashFile, hashTrustedFiles } from ${container};\n` +
        `const base = ${JSON.stringify(base)};\n` +
        'const out = [];\n' +
        "for (const p of [hashFile(base + '/pipe'), hashTrustedFiles(base, ['a.txt', 'pipe'])])\n" +
        '  out.push(await p.then(() => ({ ok: true }), (e) => ({ code: e.code, message: e.message, path: e.details?.path })));\n' +
        'console.log(JSON.stringify(out));',
      30_000,
    );
    assert.equal(code, 0, 'hashing a FIFO returned (it did not block)');
    const [single, listed] = JSON.parse(stdout) as { code?: string; message: string; path?: string }[];
    assert.match(single?.message ?? '', /pipe is not a regular file/);
    assert.equal(listed?.code, 'ERR_CONTAINER_TRUSTED_FILE');
    assert.equal(listed.path, 'pipe');
  });
  test('every file descriptor opened for hashing is closed, after success and after failure', async (t) => {
    if (!existsSync('/proc/self/fd')) {
      t.skip('no /proc/self/fd');
      return;
    }
    const base = tree({ 'a.txt': 'abc', 'b.txt': 'def', 'dir/c.txt': 'c' });
    writeFileSync(join(base, 'big.bin'), Buffer.alloc(HASH_CHUNK + 1));
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    await hashTrustedFiles(base, ['a.txt', 'b.txt', 'big.bin']);
    assert.equal(open(), before, 'after hashing');
    await assert.rejects(hashFile(join(base, 'dir')), /dir is not a regular file/);
    await assert.rejects(hashFile(join(base, 'gone.txt')), { code: 'ENOENT' });
    assert.equal(open(), before, 'after refusals');
  });
  test('an unreadable file is ERR_CONTAINER_TRUSTED_FILE naming it', async () => {
    const base = tree({ 'a.txt': 'abc' });
    await rejectsWith(
      hashTrustedFiles(base, ['a.txt', 'gone.txt']),
      'ERR_CONTAINER_TRUSTED_FILE',
      {
        path: 'gone.txt',
      },
      /^cannot read trusted file gone\.txt: ENOENT/,
    );
  });
});

describe('comparison with the recorded list (ERR_CONTAINER_TRUSTED_FILE_CHANGED)', () => {
  const patterns = ['app.js', 'lib/*.js'];
  async function prepared(): Promise<{
    base: string;
    recorded: Awaited<ReturnType<typeof hashTrustedFiles>>;
  }> {
    const base = tree({ 'app.js': 'main', 'lib/a.js': 'A', 'lib/b.js': 'B' });
    const recorded = await hashTrustedFiles(base, await expandTrustedFiles(base, patterns, true));
    return { base, recorded };
  }
  const CHANGED = 'ERR_CONTAINER_TRUSTED_FILE_CHANGED';
  test('an unchanged tree passes and returns the hashes', async () => {
    const { base, recorded } = await prepared();
    assert.deepEqual(await checkTrustedFiles(base, patterns, recorded), recorded);
  });
  test('a modified file (content, or same content length) is modified', async () => {
    const { base, recorded } = await prepared();
    writeFileSync(join(base, 'lib/b.js'), 'C');
    await rejectsWith(
      checkTrustedFiles(base, patterns, recorded),
      CHANGED,
      {
        path: 'lib/b.js',
        change: 'modified',
      },
      /^trusted file lib\/b\.js is modified since prepare$/,
    );
  });
  test('a recorded size that differs is modified even when the hash were equal', async () => {
    const { base, recorded } = await prepared();
    const forged = recorded.map((r) => (r.path === 'app.js' ? { ...r, size: r.size + 1 } : r));
    await rejectsWith(checkTrustedFiles(base, patterns, forged), CHANGED, {
      path: 'app.js',
      change: 'modified',
    });
  });
  test('a removed file is missing; a new file matching a pattern is added (first in sorted order)', async () => {
    const { base, recorded } = await prepared();
    unlinkSync(join(base, 'lib/a.js'));
    await rejectsWith(
      checkTrustedFiles(base, patterns, recorded),
      CHANGED,
      {
        path: 'lib/a.js',
        change: 'missing',
      },
      /^trusted file lib\/a\.js is missing since prepare$/,
    );
    writeFileSync(join(base, 'lib/0.js'), 'new');
    await rejectsWith(
      checkTrustedFiles(base, patterns, recorded),
      CHANGED,
      {
        path: 'lib/0.js',
        change: 'added',
      },
      /^trusted file lib\/0\.js is new \(matches a trusted pattern\) since prepare$/,
    );
  });
  test('a removed named file (not a glob) is missing too, not a manifest error', async () => {
    const { base, recorded } = await prepared();
    unlinkSync(join(base, 'app.js'));
    await rejectsWith(checkTrustedFiles(base, patterns, recorded), CHANGED, {
      path: 'app.js',
      change: 'missing',
    });
  });
  test('a listed file that cannot be read when it is hashed is missing; an earlier modified file is named first', async (t) => {
    // A link to /proc/self/mem is listed (stat says regular file) but its first read fails (EIO):
    // the same path as a file removed between the expansion and its hashing, made deterministic.
    if (!existsSync('/proc/self/mem')) {
      t.skip('no /proc/self/mem');
      return;
    }
    const { base, recorded } = await prepared();
    symlinkSync('/proc/self/mem', join(base, 'lib/mem.js'));
    const withMem = [...recorded, { path: 'lib/mem.js', sha256: sha(''), size: 0 }];
    await rejectsWith(
      checkTrustedFiles(base, patterns, withMem),
      CHANGED,
      {
        path: 'lib/mem.js',
        change: 'missing',
      },
      /^trusted file lib\/mem\.js is missing since prepare$/,
    );
    writeFileSync(join(base, 'app.js'), 'changed');
    await rejectsWith(checkTrustedFiles(base, patterns, withMem), CHANGED, {
      path: 'app.js',
      change: 'modified',
    });
  });
  test('a file not matching any pattern is ignored', async () => {
    const { base, recorded } = await prepared();
    writeFileSync(join(base, 'lib/notes.txt'), 'x');
    assert.deepEqual(await checkTrustedFiles(base, patterns, recorded), recorded);
  });
});

describe('hashing: its bounds, and hashes started early', () => {
  test('a file is hashed to its end, whatever its stat size says (here a /proc file, stat size 0)', async (t) => {
    if (!existsSync('/proc/self/status')) {
      t.skip('no /proc');
      return;
    }
    const r = await hashFile('/proc/self/cmdline');
    const content = readFileSync('/proc/self/cmdline');
    assert.ok(content.length > 1);
    assert.deepEqual(r, { sha256: sha(content), size: content.length });
  });
  test(`at most HASH_CONCURRENCY (${HASH_CONCURRENCY}) files are open for hashing at once; all are hashed`, async (t) => {
    if (!existsSync('/proc/self/fd')) {
      t.skip('no /proc/self/fd');
      return;
    }
    const files: Record<string, string> = {};
    for (let i = 0; i < 3 * HASH_CONCURRENCY; i++)
      files[`f${String(i).padStart(2, '0')}.txt`] = `${i}`.repeat(200_000);
    const base = tree(files);
    const open = (): number => readdirSync('/proc/self/fd').length;
    const before = open();
    let peak = 0;
    let done = false;
    const sample = (): void => {
      if (done) return;
      peak = Math.max(peak, open() - before);
      setImmediate(sample);
    };
    setImmediate(sample);
    const paths = Object.keys(files);
    const hashes = await hashTrustedFiles(base, paths);
    done = true;
    assert.deepEqual(
      hashes,
      paths.map((path) => ({ path, sha256: sha(files[path] ?? ''), size: (files[path] ?? '').length })),
    );
    assert.ok(peak <= HASH_CONCURRENCY, `${peak} files open at once`);
    assert.ok(peak >= 2, `files are hashed concurrently (peak ${peak})`);
    assert.equal(open(), before, 'every descriptor closed');
  });
  test('hashes started early are the ones the check uses; a started failure is a missing file', async () => {
    const base = tree({ 'app.js': 'main', 'lib/a.js': 'A' });
    const patterns = ['app.js', 'lib/*.js'];
    const recorded = await hashTrustedFiles(base, ['app.js', 'lib/a.js']);
    const started = startTrustedFileHashes(base, ['app.js', 'lib/a.js']);
    assert.deepEqual(await checkTrustedFiles(base, patterns, recorded, { started }), recorded);
    // Not re-hashed: a started result that differs from the (unchanged) file decides.
    const forged = new Map([['lib/a.js', Promise.resolve({ sha256: sha('B'), size: 1 })]]);
    await rejectsWith(
      checkTrustedFiles(base, patterns, recorded, { started: forged }),
      'ERR_CONTAINER_TRUSTED_FILE_CHANGED',
      {
        path: 'lib/a.js',
        change: 'modified',
      },
    );
    const failed = new Map([['app.js', Promise.resolve(undefined)]]);
    await rejectsWith(
      checkTrustedFiles(base, patterns, recorded, { started: failed }),
      'ERR_CONTAINER_TRUSTED_FILE_CHANGED',
      {
        path: 'app.js',
        change: 'missing',
      },
    );
  });
  test('an aborted signal stops hashing: before the first read, and between two chunks', async () => {
    const base = tree({ 'small.txt': 'x' });
    const fds = (): number => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
    const open = fds();
    writeFileSync(join(base, 'big.bin'), Buffer.alloc(4 * HASH_CHUNK, 3));
    const aborted = AbortSignal.abort();
    await assert.rejects(hashFile(join(base, 'small.txt'), aborted), { name: 'AbortError' });
    // Started hashes that are no longer wanted give undefined, not a hash.
    const now = new AbortController();
    const before = startTrustedFileHashes(base, ['big.bin'], now.signal);
    now.abort();
    assert.equal(await before.get('big.bin'), undefined);
    const later = new AbortController();
    const during = startTrustedFileHashes(base, ['big.bin'], later.signal);
    // Runs after the first 1 MiB chunk was read and hashed, before the second.
    setImmediate(() => {
      later.abort();
    });
    assert.equal(await during.get('big.bin'), undefined);
    // Not aborted: the same file hashes to its SHA-256.
    assert.deepEqual(
      await startTrustedFileHashes(base, ['big.bin'], new AbortController().signal).get('big.bin'),
      {
        sha256: sha(Buffer.alloc(4 * HASH_CHUNK, 3)),
        size: 4 * HASH_CHUNK,
      },
    );
    assert.equal(fds(), open, 'every descriptor closed, aborted or not');
  });
  test('only plain relative paths are started (app.sig is read before anything vouches for it)', async () => {
    const base = tree({ 'ok.txt': 'x', 'd/e.txt': 'y' });
    const started = startTrustedFileHashes(base, [
      '../x',
      '/etc/hostname',
      'd/../ok.txt',
      './ok.txt',
      'd//e.txt',
      'd/e.txt',
      'ok.txt',
      'ok.txt',
    ]);
    assert.deepEqual([...started.keys()], ['d/e.txt', 'ok.txt']);
    assert.deepEqual(await started.get('ok.txt'), { sha256: sha('x'), size: 1 });
    // A file that cannot be hashed is undefined (reported as missing by the check), not a rejection.
    const gone = startTrustedFileHashes(base, ['gone.txt']).get('gone.txt');
    assert.equal(await gone, undefined);
  });
});
