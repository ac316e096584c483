/**
 * src/container/small-file.ts and its users: the manifest, a manifest's CA file and app.sig are read
 * whole, synchronously, only from a regular file and only up to a bound. A FIFO, a device or a
 * directory put in their place is refused at once (before, a FIFO with no writer blocked
 * `container run` for ever in the thread pool), and a file past its bound is refused from its stat,
 * or while it is read when its stat says less (as /proc files do).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ContainerManifestError,
  ContainerSigError,
  loadManifest,
  MAX_APP_SIG_BYTES,
  MAX_MANIFEST_BYTES,
  readAppSig,
  readSmallFile,
  readSmallTextFile,
  SmallFileError,
} from '../../src/container/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-small-file-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fifo(name: string): string {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

function refused(f: () => unknown, reason: SmallFileError['reason']): SmallFileError {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof SmallFileError, String(err));
    assert.equal(err.reason, reason, err.message);
    return err;
  }
  assert.fail('read');
}

test('a regular file is read whole, up to and including its bound', () => {
  const path = join(dir, 'ok.txt');
  writeFileSync(path, 'héllo\n');
  assert.equal(readSmallTextFile(path, 1024), 'héllo\n');
  assert.equal(readSmallFile(path, 7).length, 7, 'exactly the bound is accepted');
  writeFileSync(join(dir, 'empty'), '');
  assert.equal(readSmallFile(join(dir, 'empty'), 10).length, 0);
});

test('one byte past the bound is refused, naming the file and the bound', () => {
  const path = join(dir, 'big.txt');
  writeFileSync(path, 'x'.repeat(101));
  const err = refused(() => readSmallFile(path, 100), 'too-large');
  assert.match(err.message, /big\.txt is larger than 100 bytes/);
});

test('a file whose stat says 0 bytes but which holds more (a /proc file) is read to its end, and bounded', () => {
  const text = readSmallTextFile('/proc/self/status', 1024 * 1024);
  assert.match(text, /^Name:/);
  assert.ok(text.length > 64);
  refused(() => readSmallFile('/proc/self/status', 64), 'too-large');
});

test('a FIFO with no writer, a character device and a directory are refused at once, not read', () => {
  const started = Date.now();
  refused(() => readSmallFile(fifo('pipe'), 1024), 'not-file');
  refused(() => readSmallFile('/dev/zero', 1024), 'not-file');
  refused(() => readSmallFile(dir, 1024), 'not-file');
  assert.ok(Date.now() - started < 5000);
});

test('a missing file is an io refusal carrying the system error', () => {
  const err = refused(() => readSmallFile(join(dir, 'none'), 10), 'io');
  assert.equal((err.cause as { code?: string }).code, 'ENOENT');
});

test('loadManifest: a FIFO in the manifest’s place is ERR_CONTAINER_MANIFEST_IO at once (it used to hang)', async () => {
  const path = fifo('app.yaml');
  await assert.rejects(loadManifest(path), (err: unknown) => {
    assert.ok(err instanceof ContainerManifestError);
    assert.equal(err.code, 'ERR_CONTAINER_MANIFEST_IO');
    assert.match(err.message, /not a regular file/);
    return true;
  });
});

test(`loadManifest: a manifest over ${MAX_MANIFEST_BYTES} bytes is ERR_CONTAINER_MANIFEST_IO naming the bound; at the bound it is parsed`, async () => {
  const path = join(dir, 'large.yaml');
  const head = 'name: app\nentrypoint: [node, main.js]\ntrustedFiles: [main.js]\n';
  writeFileSync(path, head + '#'.repeat(MAX_MANIFEST_BYTES - head.length));
  assert.equal((await loadManifest(path)).manifest.name, 'app');
  writeFileSync(path, head + '#'.repeat(MAX_MANIFEST_BYTES - head.length + 1));
  await assert.rejects(loadManifest(path), (err: unknown) => {
    assert.ok(err instanceof ContainerManifestError);
    assert.equal(err.code, 'ERR_CONTAINER_MANIFEST_IO');
    assert.match(err.message, new RegExp(`larger than ${MAX_MANIFEST_BYTES} bytes`));
    return true;
  });
});

test('loadManifest: an attestation.ca file that is a FIFO is ERR_CONTAINER_MANIFEST_IO naming the field', async () => {
  fifo('ca.pem');
  const path = join(dir, 'with-ca.yaml');
  writeFileSync(
    path,
    'name: app\nentrypoint: [node, main.js]\ntrustedFiles: [main.js]\nattestation:\n  ca: ca.pem\n',
  );
  await assert.rejects(loadManifest(path), (err: unknown) => {
    assert.ok(err instanceof ContainerManifestError);
    assert.equal(err.code, 'ERR_CONTAINER_MANIFEST_IO');
    assert.equal(err.details['field'], 'attestation.ca');
    return true;
  });
});

test('readAppSig: a FIFO, or a (sparse) file over the bound, is ERR_CONTAINER_SIG without being read', async () => {
  const check = async (path: string, message: RegExp): Promise<void> => {
    await assert.rejects(readAppSig(path), (err: unknown) => {
      assert.ok(err instanceof ContainerSigError);
      assert.equal(err.code, 'ERR_CONTAINER_SIG');
      assert.equal(err.details['field'], '(file)');
      assert.match(err.message, message);
      return true;
    });
  };
  await check(fifo('app.sig'), /not a regular file/);
  const sparse = join(dir, 'huge.sig');
  writeFileSync(sparse, '');
  truncateSync(sparse, MAX_APP_SIG_BYTES + 1);
  const started = Date.now();
  await check(sparse, new RegExp(`larger than ${MAX_APP_SIG_BYTES} bytes`));
  assert.ok(Date.now() - started < 2000, 'refused from its stat, not read');
});
