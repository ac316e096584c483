/**
 * Core dumps off for the launcher: RLIMIT_CORE is read from /proc/<pid>/limits, set to 0/0 through
 * prlimit(1), and only a limit read back as 0/0 counts. A missing or ineffective prlimit fails
 * closed with ERR_CONTAINER_CORE_LIMIT. (The launcher-level checks, with the program reading its
 * parent's limits, are in cli-run.test.ts.)
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { disableCoreDumps, parseCoreLimit, readCoreLimit } from '../../src/container/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-core-limit-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const LIMITS = [
  'Limit                     Soft Limit           Hard Limit           Units     ',
  'Max cpu time              unlimited            unlimited            seconds   ',
  'Max core file size        0                    unlimited            bytes     ',
  'Max resident set          unlimited            unlimited            bytes     ',
  '',
].join('\n');

test('the core line of /proc/<pid>/limits: numbers and unlimited; no line is undefined', () => {
  assert.deepEqual(parseCoreLimit(LIMITS), { soft: 0, hard: Infinity });
  assert.deepEqual(
    parseCoreLimit(
      LIMITS.replace(/0 {20}unlimited {12}bytes/, '4096                 8192                 bytes'),
    ),
    { soft: 4096, hard: 8192 },
  );
  assert.equal(parseCoreLimit(LIMITS.replace('Max core file size', 'Max core files')), undefined);
  assert.equal(parseCoreLimit(''), undefined);
  assert.equal(readCoreLimit(2 ** 30), undefined, 'no such process');
});

/** Whether this process can still have its core limit lowered (it is not already 0/0). */
function lowerable(): boolean {
  const l = readCoreLimit();
  return l !== undefined && !(l.soft === 0 && l.hard === 0);
}

// Order matters: the failing cases run while the limit is still above 0/0; the last test lowers it.
test('prlimit missing: ERR_CONTAINER_CORE_LIMIT at step prlimit', { skip: !lowerable() }, async () => {
  await assert.rejects(
    disableCoreDumps({ prlimit: join(dir, 'no-prlimit') }),
    (err: Record<string, unknown>) => {
      assert.equal(err['code'], 'ERR_CONTAINER_CORE_LIMIT');
      assert.equal((err['details'] as Record<string, unknown>)['step'], 'prlimit');
      assert.match(String(err['message']), /not found/);
      return true;
    },
  );
});

test(
  'a prlimit that succeeds without lowering the limit: refused at step check',
  { skip: !lowerable() },
  async () => {
    const fake = join(dir, 'fake-prlimit');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    await assert.rejects(disableCoreDumps({ prlimit: fake }), (err: Record<string, unknown>) => {
      assert.equal(err['code'], 'ERR_CONTAINER_CORE_LIMIT');
      assert.equal((err['details'] as Record<string, unknown>)['step'], 'check');
      return true;
    });
    assert.notDeepEqual(readCoreLimit(), { soft: 0, hard: 0 });
  },
);

test('a prlimit that fails: refused at step prlimit with its message', { skip: !lowerable() }, async () => {
  const failing = join(dir, 'failing-prlimit');
  writeFileSync(failing, '#!/bin/sh\necho "prlimit: no permission" >&2\nexit 1\n');
  chmodSync(failing, 0o755);
  await assert.rejects(disableCoreDumps({ prlimit: failing }), /no permission/);
});

test('prlimit lowers this process to 0/0, read back from /proc; a second call needs no prlimit', async () => {
  assert.deepEqual(await disableCoreDumps(), { soft: 0, hard: 0 });
  assert.deepEqual(readCoreLimit(), { soft: 0, hard: 0 });
  assert.match(readFileSync('/proc/self/coredump_filter', 'utf8'), /^0+\n?$/, 'no mapping dumped either');
  assert.deepEqual(await disableCoreDumps({ prlimit: join(dir, 'no-prlimit') }), { soft: 0, hard: 0 });
});
