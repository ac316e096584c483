/**
 * Specification of the hash helper (src/hash-helper): large trusted files are hashed by
 * an `openssl dgst -sha256` child over descriptors the launcher opened, and its answer is taken only
 * when nothing about it is off. Each way a helper can go wrong (it fails, lies about which file is
 * which, prints too much or nothing, hangs, or the file changes under it) must leave the file to the
 * in-process hash, which then gives the true digest: the launch's outcome never depends on the helper.
 * The helpers here are small shell scripts around the machine's openssl.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  defaultHashHelper,
  HASH_HELPER_ENV,
  HELPER_MAX_FILES,
  hashFile,
  hashHelperMode,
  helperBudget,
  HELPER_MIN_BYTES,
  prestartHashes,
  startTrustedFileHashes,
} from '../../src/container/index.ts';
import {
  hashWithHelper,
  openForHelper,
  PRESTART_MAX_SIG_BYTES,
  type Opened,
} from '../../src/hash-helper/index.ts';

const OPENSSL = defaultHashHelper({});
const SKIP = OPENSSL === false ? 'no openssl in /usr/bin or /bin: the helper cannot run here' : false;

let dir: string;
/** Three files worth the helper, and one too small for it. */
const FILES: Record<string, Buffer> = {
  'a.bin': Buffer.alloc(HELPER_MIN_BYTES, 1),
  'b.bin': Buffer.alloc(3 * HELPER_MIN_BYTES + 17, 2),
  'sub/c.bin': Buffer.alloc(2 * HELPER_MIN_BYTES, 3),
  'small.txt': Buffer.from('too small for a process of its own\n'),
};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const truth = (path: string): { sha256: string; size: number } => {
  const b = readFileSync(join(dir, path));
  return { sha256: sha(b), size: b.length };
};
const openFds = (): number => readdirSync('/proc/self/fd').length;
/** A file opened for the helper (it must qualify). */
function opened(path: string): Opened {
  const o = openForHelper(join(dir, path));
  assert.ok(o !== undefined, `${path} does not qualify for the helper`);
  return o;
}

/** A helper script: `body` runs with the helper's arguments in "$@" and the real openssl as $OPENSSL. */
function helper(name: string, body: string): string {
  const path = join(dir, 'helpers', name);
  writeFileSync(path, `#!/bin/sh\nOPENSSL=${String(OPENSSL)}\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ccnodes-hash-helper-'));
  for (const [p, content] of Object.entries(FILES)) {
    spawnSync('mkdir', ['-p', join(dir, p, '..')]);
    writeFileSync(join(dir, p), content);
  }
  spawnSync('mkdir', ['-p', join(dir, 'helpers')]);
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Hashes every file through `startTrustedFileHashes` with `helperPath`, in path order. */
async function hashAll(helperPath: string | false): Promise<{ sha256: string; size: number }[]> {
  const paths = Object.keys(FILES);
  const started = startTrustedFileHashes(dir, paths, undefined, { helper: helperPath });
  return Promise.all(
    paths.map(async (p) => {
      const h = await started.get(p);
      assert.ok(h !== undefined, `${p} not hashed`);
      return h;
    }),
  );
}

describe('hash helper', { skip: SKIP }, () => {
  test('the real openssl gives every file its SHA-256 and size, and is really asked (one child for all)', async () => {
    const log = join(dir, 'real.log');
    const wrapper = helper('logging', `echo "$@" >> ${log}\nexec "$OPENSSL" "$@"`);
    const fds = openFds();
    assert.deepEqual(
      await hashAll(wrapper),
      Object.keys(FILES).map((p) => truth(p)),
    );
    // One invocation, for the three large files by descriptor; the small one stays in process.
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      'dgst -sha256 -r /dev/fd/3 /dev/fd/4 /dev/fd/5',
    ]);
    assert.equal(openFds(), fds, 'every descriptor is closed');
  });

  // Each helper below is wrong in one way; each file must still get its true digest (in process).
  const faulty: Record<string, string> = {
    'exits 1 after a correct answer': '"$OPENSSL" "$@"; exit 1',
    'swaps two lines (the digests of other files)':
      '"$OPENSSL" "$@" | awk \'NR == 1 { first = $0; next } NR == 2 { print; print first; next } { print }\'',
    'names another descriptor': '"$OPENSSL" "$@" | sed "s#/dev/fd/3#/dev/fd/4#"',
    'answers one line short': '"$OPENSSL" "$@" | head -n 2',
    'answers one line too many': '"$OPENSSL" "$@"; echo "$(printf "%064d" 0) */dev/fd/6"',
    'prints upper-case hex': `"$OPENSSL" "$@" | tr a-f A-F`,
    'prints without the final newline': `"$OPENSSL" "$@" | head -c -1`,
    'prints garbage': 'echo "not a digest"',
    'prints without end (killed at the longest right answer)': 'yes 0000000000000000000000000000',
    'is killed by a signal': 'kill -9 $$',
  };
  for (const [what, body] of Object.entries(faulty))
    test(`a helper that ${what}: not believed, every file hashed in process`, async () => {
      const fds = openFds();
      assert.deepEqual(
        await hashAll(helper(what.replace(/\W+/g, '-'), body)),
        Object.keys(FILES).map((p) => truth(p)),
      );
      assert.equal(openFds(), fds, 'every descriptor is closed');
    });

  test(`more files than HELPER_MAX_FILES (${HELPER_MAX_FILES}): the first go to one child, each to its own descriptor; the rest in process`, async () => {
    const many = join(dir, 'many');
    spawnSync('mkdir', ['-p', many]);
    const paths: string[] = [];
    for (let i = 0; i < HELPER_MAX_FILES + 4; i++) {
      const p = `f${String(i).padStart(3, '0')}.bin`;
      // Distinct contents, so that a file given another's descriptor would show.
      writeFileSync(join(many, p), Buffer.alloc(HELPER_MIN_BYTES, i % 251));
      paths.push(p);
    }
    const log = join(dir, 'many.log');
    const wrapper = helper('many-logging', `echo "$#" >> ${log}\nexec "$OPENSSL" "$@"`);
    const fds = openFds();
    const started = startTrustedFileHashes(many, paths, undefined, { helper: wrapper });
    for (const p of paths) {
      const want = sha(readFileSync(join(many, p)));
      assert.deepEqual(await started.get(p), { sha256: want, size: HELPER_MIN_BYTES }, p);
    }
    // One child, with dgst -sha256 -r and one argument per descriptor.
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [String(3 + HELPER_MAX_FILES)]);
    assert.equal(openFds(), fds);
  });

  test("with app.sig's sizes: the helper takes files in list order up to its share (half the bytes plus 24 MiB), not one of another size; the rest are hashed in process", async () => {
    const big = join(dir, 'big');
    spawnSync('mkdir', ['-p', big]);
    const MiB = 1024 * 1024;
    const paths: string[] = [];
    const sizes = new Map<string, number>();
    for (let i = 0; i < 8; i++) {
      const p = `b${i}.bin`;
      writeFileSync(join(big, p), Buffer.alloc(10 * MiB, i + 1));
      paths.push(p);
      sizes.set(p, 10 * MiB);
    }
    assert.equal(helperBudget(80 * MiB), 64 * MiB);
    // b1 is recorded with another size: it stays in process, read to one byte past that size. So
    // app.sig's total is 70 MiB + 1000 bytes, a share of 59 MiB + 500 bytes.
    sizes.set('b1.bin', 1000);
    const log = join(dir, 'big.log');
    const wrapper = helper('big-logging', `echo "$@" >> ${log}\nexec "$OPENSSL" "$@"`);
    const started = startTrustedFileHashes(big, paths, undefined, { helper: wrapper, sizes });
    for (const p of paths) {
      const content = readFileSync(join(big, p));
      const want = p === 'b1.bin' ? content.subarray(0, 1001) : content;
      assert.deepEqual(await started.get(p), { sha256: sha(want), size: want.length }, p);
    }
    // b0, b2…b6 (60 MiB) reach the share: b7 is hashed in process.
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), [
      `dgst -sha256 -r ${[3, 4, 5, 6, 7, 8].map((n) => `/dev/fd/${n}`).join(' ')}`,
    ]);
    // The start before the launcher loads follows the same share.
    const sig = join(big, 'app.sig');
    writeFileSync(
      sig,
      JSON.stringify({ trustedFiles: paths.map((path) => ({ path, size: sizes.get(path) })) }),
    );
    const p = prestartHashes(join(big, 'app.yaml'), sig);
    assert.deepEqual(
      [...(p?.hashes.keys() ?? [])],
      ['b0.bin', 'b2.bin', 'b3.bin', 'b4.bin', 'b5.bin', 'b6.bin'],
    );
    for (const d of p?.hashes.values() ?? []) await d;
  });

  test('a helper that does not exist, or is not executable: every file hashed in process', async () => {
    assert.deepEqual(
      await hashAll(join(dir, 'helpers', 'absent')),
      Object.keys(FILES).map((p) => truth(p)),
    );
    const notExec = join(dir, 'helpers', 'not-executable');
    writeFileSync(notExec, '#!/bin/sh\nexit 0\n');
    chmodSync(notExec, 0o644);
    assert.deepEqual(
      await hashAll(notExec),
      Object.keys(FILES).map((p) => truth(p)),
    );
  });

  test('a file changed while the helper hashed it (its times move): that file is hashed again, in process', async () => {
    // The helper answers correctly, then the file's mtime and ctime move (a write would do the same).
    const fds = openFds();
    const touching = helper('touching', '"$OPENSSL" "$@"; touch /dev/fd/4');
    const opened = ['a.bin', 'b.bin'].map((p) => openForHelper(join(dir, p)));
    const digests = await hashWithHelper(
      touching,
      opened.filter((o) => o !== undefined),
    );
    assert.equal(opened.length, 2);
    assert.deepEqual(digests, [truth('a.bin'), undefined]);
    assert.equal(openFds(), fds);
  });

  test('a helper past its deadline is killed: nothing taken, within the deadline', async () => {
    const hanging = helper('hanging', 'exec sleep 30');
    const t = performance.now();
    assert.deepEqual(await hashWithHelper(hanging, [opened('a.bin')], undefined, { timeoutMs: 300 }), [
      undefined,
    ]);
    assert.ok(performance.now() - t < 10_000);
  });

  test('an aborted signal kills the helper at once: nothing taken; one aborted before starts none', async () => {
    const log = join(dir, 'abort.log');
    const hanging = helper('hanging-logged', `echo started >> ${log}\nexec sleep 30`);
    const controller = new AbortController();
    const result = hashWithHelper(hanging, [opened('a.bin')], controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 200);
    const t = performance.now();
    assert.deepEqual(await result, [undefined]);
    assert.ok(performance.now() - t < 10_000);
    // The same through startTrustedFileHashes: the aborted launch hashes nothing in process either.
    const before = readFileSync(log, 'utf8');
    const aborted = new AbortController();
    aborted.abort();
    const started = startTrustedFileHashes(dir, ['a.bin'], aborted.signal, { helper: hanging });
    assert.equal(await started.get('a.bin'), undefined);
    assert.equal(readFileSync(log, 'utf8'), before, 'no helper started for an aborted launch');
  });
});

describe('which files go to the helper', () => {
  test('a regular file of at least HELPER_MIN_BYTES with blocks on disk, of the expected size if one is given', (t) => {
    const fds = openFds();
    const size = truth('b.bin').size;
    for (const expected of [size, undefined]) {
      const ok = openForHelper(join(dir, 'b.bin'), expected);
      assert.ok(ok !== undefined);
      assert.equal(Number(ok.before.size), size);
      closeSync(ok.fd);
    }
    const refused: Record<string, () => unknown> = {
      'a file smaller than HELPER_MIN_BYTES': () => openForHelper(join(dir, 'small.txt')),
      'a file of another size than app.sig records': () => openForHelper(join(dir, 'b.bin'), 5),
      'a directory': () => openForHelper(join(dir, 'sub')),
      'a missing file': () => openForHelper(join(dir, 'gone.bin')),
      'a /proc file (its stat size is not its content)': () => openForHelper('/proc/self/status'),
    };
    const sparse = join(dir, 'sparse.bin');
    writeFileSync(sparse, '');
    truncateSync(sparse, 8 * HELPER_MIN_BYTES);
    refused['a sparse file without blocks on disk'] = () => openForHelper(sparse);
    const fifo = join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status === 0)
      refused['a FIFO (not waited on)'] = () => openForHelper(fifo);
    else t.diagnostic('mkfifo unavailable: FIFO case not run');
    for (const [what, open] of Object.entries(refused)) assert.equal(open(), undefined, what);
    assert.equal(openFds(), fds, 'nothing left open');
  });

  test('in process, a file larger than app.sig records is read only to one byte past that size', async () => {
    const big = join(dir, 'grown.bin');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 7));
    const r = await hashFile(big, undefined, 1000);
    assert.deepEqual(r, { sha256: sha(Buffer.alloc(1001, 7)), size: 1001 });
    // A file of the recorded size, or smaller, is read whole.
    assert.deepEqual(await hashFile(big, undefined, 5 * 1024 * 1024), {
      sha256: sha(Buffer.alloc(5 * 1024 * 1024, 7)),
      size: 5 * 1024 * 1024,
    });
    assert.deepEqual((await hashFile(join(dir, 'small.txt'), undefined, 0)).size, 1);
  });

  test('the mode: --hash-helper if given, else the variable (empty counts as unset), else auto; other values refused naming their source', () => {
    assert.deepEqual(hashHelperMode(undefined, {}), { mode: 'auto' });
    assert.deepEqual(hashHelperMode(undefined, { [HASH_HELPER_ENV]: '' }), { mode: 'auto' });
    assert.deepEqual(hashHelperMode(undefined, { [HASH_HELPER_ENV]: 'off' }), { mode: 'off' });
    assert.deepEqual(hashHelperMode('auto', { [HASH_HELPER_ENV]: 'off' }), { mode: 'auto' });
    assert.deepEqual(hashHelperMode('off', { [HASH_HELPER_ENV]: 'auto' }), { mode: 'off' });
    assert.deepEqual(hashHelperMode('/usr/local/bin/openssl', {}), {
      error: '--hash-helper: auto or off, got "/usr/local/bin/openssl"',
      option: '--hash-helper',
    });
    assert.deepEqual(hashHelperMode(undefined, { [HASH_HELPER_ENV]: 'OFF' }), {
      error: `${HASH_HELPER_ENV}: auto or off, got "OFF"`,
      option: HASH_HELPER_ENV,
    });
  });

  test(`${HASH_HELPER_ENV}=off turns the helper off; anything else leaves the default`, () => {
    assert.equal(defaultHashHelper({ [HASH_HELPER_ENV]: 'off' }), false);
    assert.equal(defaultHashHelper({ [HASH_HELPER_ENV]: 'auto' }), OPENSSL);
    assert.equal(defaultHashHelper({}), OPENSSL);
  });
});

describe('hashes started before the launcher loads (prestartHashes)', { skip: SKIP }, () => {
  const sigFor = (files: unknown): string => {
    const p = join(dir, `app-${Math.random().toString(36).slice(2)}.sig`);
    writeFileSync(p, JSON.stringify({ format: 'whatever: the launcher checks it', trustedFiles: files }));
    return p;
  };
  const manifest = (): string => join(dir, 'app.yaml');

  test('the plain relative paths app.sig lists, at their recorded sizes, are hashed by the helper', async () => {
    const listed = Object.keys(FILES).map((path) => ({ path, size: truth(path).size }));
    const sig = sigFor([
      ...listed,
      { path: '../outside.bin', size: 1 },
      { path: '/etc/passwd', size: 1 },
      { path: 'sub/./c.bin', size: truth('sub/c.bin').size },
      { path: 'b.bin', size: 12 }, // a second entry for a path: the first counts
    ]);
    const p = prestartHashes(manifest(), sig);
    assert.ok(p !== undefined);
    assert.equal(p.baseDir, dir);
    assert.equal(p.sigPath, sig);
    assert.deepEqual([...p.hashes.keys()], ['a.bin', 'b.bin', 'sub/c.bin']);
    for (const [path, digest] of p.hashes) assert.deepEqual(await digest, truth(path));
  });

  test('a file whose size is not the recorded one is left to the launcher', async () => {
    const p = prestartHashes(
      manifest(),
      sigFor([
        { path: 'a.bin', size: 5 },
        { path: 'b.bin', size: truth('b.bin').size },
      ]),
    );
    assert.deepEqual([...(p?.hashes.keys() ?? [])], ['b.bin']);
    await p?.hashes.get('b.bin');
  });

  test('anything unexpected starts nothing, and leaves nothing open', () => {
    const fds = openFds();
    const oversize = join(dir, 'oversize.sig');
    writeFileSync(oversize, ' '.repeat(PRESTART_MAX_SIG_BYTES + 1));
    const cases: Record<string, () => unknown> = {
      'no helper': () =>
        prestartHashes(manifest(), sigFor([{ path: 'a.bin', size: truth('a.bin').size }]), false),
      'no app.sig': () => prestartHashes(manifest(), join(dir, 'absent.sig')),
      'app.sig not JSON': () => prestartHashes(manifest(), join(dir, 'small.txt')),
      'app.sig over the size bound': () => prestartHashes(manifest(), oversize),
      'app.sig a directory': () => prestartHashes(manifest(), join(dir, 'sub')),
      'trustedFiles not an array': () => prestartHashes(manifest(), sigFor({ path: 'a.bin' })),
      'sizes that are not integers': () =>
        prestartHashes(
          manifest(),
          sigFor([
            { path: 'a.bin', size: 1.5 },
            { path: 'b.bin', size: '3' },
          ]),
        ),
      'entries that are not objects': () => prestartHashes(manifest(), sigFor([null, 7, 'a.bin'])),
      'no file worth the helper': () => prestartHashes(manifest(), sigFor([{ path: 'small.txt', size: 35 }])),
    };
    for (const [what, start] of Object.entries(cases)) assert.equal(start(), undefined, what);
    assert.equal(openFds(), fds);
  });
});
