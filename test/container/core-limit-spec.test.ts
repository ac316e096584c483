/**
 * Specification of turning core dumps off (src/container/core-limit.ts), details that
 * core-limit.test.ts leaves open: what a failing prlimit is reported as (its stderr when it wrote
 * one, else the failure itself; the cause kept), and that a prlimit that lowers only the soft limit
 * is refused at the check, naming the limit read back. Runs while this process's limit is still
 * above 0/0 (the last test lowers it for good).
 *
 * The refusals for a limits file that cannot be read and a coredump filter that cannot be cleared
 * run against stand-in files (the `limitsPath` and `coredumpFilterPath` options), since a test
 * cannot make its own `/proc` fail; their prlimit is a script that edits the stand-in limits, so
 * they never touch this process's real limit and run whatever it is.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  ContainerLaunchError,
  disableCoreDumps,
  findExecutable,
  readCoreLimit,
  turnCoreDumpsOff,
  type DisableCoreDumpsOptions,
} from '../../src/container/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-core-limit-spec-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
const start = readCoreLimit();
const skip = start === undefined || (start.soft === 0 && start.hard === 0);

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

async function refusal(
  prlimit: string,
  o: Omit<DisableCoreDumpsOptions, 'prlimit'> = {},
): Promise<ContainerLaunchError> {
  try {
    await disableCoreDumps({ prlimit, ...o });
  } catch (err) {
    assert.ok(err instanceof ContainerLaunchError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_CORE_LIMIT');
    return err;
  }
  assert.fail('core dumps reported off');
}

/** A `/proc/<pid>/limits` text with this core line. */
const limitsText = (soft: string, hard: string): string =>
  [
    'Limit                     Soft Limit           Hard Limit           Units     ',
    'Max cpu time              unlimited            unlimited            seconds   ',
    `Max core file size        ${soft.padEnd(20)} ${hard.padEnd(20)} bytes     `,
    '',
  ].join('\n');

let cases = 0;
/** Stand-in limits (soft/hard) and coredump filter files in a fresh directory, and a prlimit script's run marker. */
function standIn(
  soft: string,
  hard: string,
): { limitsPath: string; coredumpFilterPath: string; ran: string } {
  const d = join(dir, `case-${++cases}`);
  mkdirSync(d);
  const limitsPath = join(d, 'limits');
  writeFileSync(limitsPath, limitsText(soft, hard));
  const coredumpFilterPath = join(d, 'coredump_filter');
  writeFileSync(coredumpFilterPath, '00000033\n');
  return { limitsPath, coredumpFilterPath, ran: join(d, 'prlimit-ran') };
}

test('limits that cannot be read refuse at step read, before the filter or prlimit is touched', async () => {
  for (const make of [
    (p: string) => {
      rmSync(p);
    },
    (p: string) => {
      writeFileSync(p, limitsText('0', '0').replace('Max core file size', 'Max core files'));
    },
  ]) {
    const s = standIn('4096', 'unlimited');
    make(s.limitsPath);
    const prlimit = script(`marker-${cases}`, `touch '${s.ran}'`);
    const e = await refusal(prlimit, { limitsPath: s.limitsPath, coredumpFilterPath: s.coredumpFilterPath });
    assert.equal(e.message, `cannot read RLIMIT_CORE from ${s.limitsPath} (Linux only)`);
    assert.deepEqual(e.details, { step: 'read' });
    assert.equal(e.cause, undefined);
    assert.equal(readFileSync(s.coredumpFilterPath, 'utf8'), '00000033\n', 'filter untouched');
    assert.equal(existsSync(s.ran), false, 'prlimit not run');
  }
});

test('a coredump filter that cannot be written refuses at step filter with the cause, before prlimit', async () => {
  const s = standIn('4096', 'unlimited');
  const filter = join(dir, 'no-such-dir', 'coredump_filter');
  const prlimit = script('marker-filter', `touch '${s.ran}'`);
  const e = await refusal(prlimit, { limitsPath: s.limitsPath, coredumpFilterPath: filter });
  assert.match(e.message, new RegExp(`^cannot clear ${filter}: ENOENT`));
  assert.deepEqual(e.details, { step: 'filter' });
  assert.equal((e.cause as { code?: unknown }).code, 'ENOENT');
  assert.equal(existsSync(s.ran), false, 'prlimit not run');
});

test('a coredump filter that does not read back as zeros refuses at step filter, naming what it read', async () => {
  // /dev/null takes the write and reads back empty, as a filter that ignored it would.
  const s = standIn('0', '0');
  const e = await refusal(script('unused', 'exit 0'), {
    limitsPath: s.limitsPath,
    coredumpFilterPath: '/dev/null',
  });
  assert.equal(e.message, '/dev/null is  after writing 0');
  assert.deepEqual(e.details, { step: 'filter' });
  assert.equal(e.cause, undefined);
});

test('limits that become unreadable after prlimit refuse at step check as unreadable', async () => {
  const s = standIn('unlimited', 'unlimited');
  const prlimit = script('removes-limits', `rm -f '${s.limitsPath}'`);
  const e = await refusal(prlimit, { limitsPath: s.limitsPath, coredumpFilterPath: s.coredumpFilterPath });
  assert.equal(e.message, `core dumps still allowed after ${prlimit}: RLIMIT_CORE is unreadable`);
  assert.deepEqual(e.details, { step: 'check', command: prlimit });
  assert.equal(readFileSync(s.coredumpFilterPath, 'utf8'), '0', 'filter cleared first');
});

test('stand-in files: the filter cleared, prlimit run only while the limit is above 0/0, and 0/0 read back', async () => {
  const s = standIn('4096', 'unlimited');
  const prlimit = script(
    'lowers-stand-in',
    `[ "$1 $3" = "--pid --core=0:0" ] && [ "$2" = "${process.pid}" ] || exit 9\n` +
      `printf '%s' '${limitsText('0', '0')}' > '${s.limitsPath}'; touch '${s.ran}'`,
  );
  const o = { prlimit, limitsPath: s.limitsPath, coredumpFilterPath: s.coredumpFilterPath };
  assert.deepEqual(await disableCoreDumps(o), { soft: 0, hard: 0 });
  assert.equal(readFileSync(s.coredumpFilterPath, 'utf8'), '0');
  assert.equal(existsSync(s.ran), true);
  rmSync(s.ran);
  writeFileSync(s.coredumpFilterPath, '33');
  assert.deepEqual(await disableCoreDumps(o), { soft: 0, hard: 0 });
  assert.equal(readFileSync(s.coredumpFilterPath, 'utf8'), '0', 'cleared even when the limit is already 0/0');
  assert.equal(existsSync(s.ran), false, 'no prlimit for a limit already 0/0');
});

test('turnCoreDumpsOff: soft limit 0 already: the filter cleared, no prlimit run here, the program prefix names the prlimit found', async () => {
  const s = standIn('0', 'unlimited');
  const prlimit = script('marker-soft-zero', `touch '${s.ran}'`);
  const o = { prlimit, limitsPath: s.limitsPath, coredumpFilterPath: s.coredumpFilterPath };
  assert.deepEqual(await turnCoreDumpsOff(o), {
    limit: { soft: 0, hard: Infinity },
    programPrefix: [prlimit, '--core=0:0', '--'],
  });
  assert.equal(readFileSync(s.coredumpFilterPath, 'utf8'), '0');
  assert.equal(existsSync(s.ran), false, 'prlimit not run on this process');
  // A hard limit of some bytes is not 0 either.
  const t = standIn('0', '4096');
  assert.deepEqual(
    (await turnCoreDumpsOff({ ...o, limitsPath: t.limitsPath, coredumpFilterPath: t.coredumpFilterPath }))
      .programPrefix,
    [prlimit, '--core=0:0', '--'],
  );
});

test('turnCoreDumpsOff: 0/0 already: no prefix and no prlimit; above 0: prlimit run on this process, 0/0 read back', async () => {
  const zero = standIn('0', '0');
  const marker = script('marker-zero', `touch '${zero.ran}'`);
  assert.deepEqual(
    await turnCoreDumpsOff({
      prlimit: marker,
      limitsPath: zero.limitsPath,
      coredumpFilterPath: zero.coredumpFilterPath,
    }),
    { limit: { soft: 0, hard: 0 } },
  );
  assert.equal(existsSync(zero.ran), false);
  const above = standIn('unlimited', 'unlimited');
  const lowers = script(
    'lowers-stand-in-2',
    `printf '%s' '${limitsText('0', '0')}' > '${above.limitsPath}'; touch '${above.ran}'`,
  );
  assert.deepEqual(
    await turnCoreDumpsOff({
      prlimit: lowers,
      limitsPath: above.limitsPath,
      coredumpFilterPath: above.coredumpFilterPath,
    }),
    { limit: { soft: 0, hard: 0 } },
  );
  assert.equal(existsSync(above.ran), true, 'prlimit ran on this process');
});

test('turnCoreDumpsOff with soft limit 0: a prlimit that is missing or not executable refuses at step prlimit; unreadable limits at step read', async () => {
  const s = standIn('0', 'unlimited');
  const o = { limitsPath: s.limitsPath, coredumpFilterPath: s.coredumpFilterPath };
  for (const [prlimit, reason] of [
    [join(dir, 'no-such-prlimit'), 'not found (install util-linux)'],
    [join(dir, 'limits-spec-not-executable'), 'cannot be executed'],
  ] as const) {
    if (reason === 'cannot be executed') writeFileSync(prlimit, '#!/bin/sh\n', { mode: 0o644 });
    await assert.rejects(turnCoreDumpsOff({ ...o, prlimit }), (err: unknown) => {
      assert.ok(err instanceof ContainerLaunchError, String(err));
      assert.equal(err.code, 'ERR_CONTAINER_CORE_LIMIT');
      assert.equal(err.message, `cannot turn core dumps off: ${prlimit} ${reason}`);
      assert.deepEqual(err.details, { step: 'prlimit', command: prlimit });
      return true;
    });
  }
  await assert.rejects(
    turnCoreDumpsOff({ ...o, limitsPath: join(dir, 'no-limits-here') }),
    (err: unknown) => err instanceof ContainerLaunchError && err.details['step'] === 'read',
  );
});

test('findExecutable: as execvp looks a program up (PATH in order, empty entry = cwd, a slash = a path), with its error', () => {
  const base = join(dir, 'find');
  const [a, b, c] = ['a', 'b', 'c'].map((d) => join(base, d)) as [string, string, string];
  for (const d of [a, b, c]) mkdirSync(d, { recursive: true });
  writeFileSync(join(a, 'tool'), '', { mode: 0o644 }); // not executable: skipped, remembered
  writeFileSync(join(b, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  writeFileSync(join(c, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  mkdirSync(join(a, 'dir-named'), { recursive: true });
  assert.deepEqual(findExecutable('tool', `${a}:${b}:${c}`), { path: join(b, 'tool') });
  assert.deepEqual(findExecutable('tool', `${c}:${b}`), { path: join(c, 'tool') });
  assert.deepEqual(findExecutable('tool', a), { error: 'EACCES' });
  assert.deepEqual(findExecutable('dir-named', a), { error: 'EACCES' });
  assert.deepEqual(findExecutable('missing', `${a}:${b}`), { error: 'ENOENT' });
  assert.deepEqual(findExecutable('', `${a}:${b}`), { error: 'ENOENT' });
  // An empty PATH entry, and a relative one, are relative to the working directory.
  assert.deepEqual(findExecutable('tool', `:${a}`, b), { path: join(b, 'tool') });
  assert.deepEqual(findExecutable('tool', 'c', base), { path: join(c, 'tool') });
  // A name with a slash is not looked up in PATH.
  assert.deepEqual(findExecutable('b/tool', c, base), { path: join(b, 'tool') });
  assert.deepEqual(findExecutable(join(a, 'tool'), b), { error: 'EACCES' });
  assert.deepEqual(findExecutable('./tool', b, c), { path: join(c, 'tool') });
  assert.deepEqual(findExecutable('./missing', b, c), { error: 'ENOENT' });
});

test(
  'a failing prlimit: its stderr is the reason, or the failure itself when it wrote none; the cause is kept',
  { skip },
  async () => {
    const noisy = script('noisy', 'echo "  prlimit: operation not permitted  " >&2\nexit 1');
    const e = await refusal(noisy);
    assert.equal(e.message, `cannot turn core dumps off: ${noisy} failed: prlimit: operation not permitted`);
    assert.deepEqual(e.details, { step: 'prlimit', command: noisy });
    assert.ok(e.cause instanceof Error);
    const quiet = script('quiet', 'exit 3');
    const q = await refusal(quiet);
    assert.match(
      q.message,
      new RegExp(`^cannot turn core dumps off: ${quiet} failed: Command failed: ${quiet} `),
    );
    assert.equal((q.cause as { code?: unknown }).code, 3);
    const missing = join(dir, 'missing');
    const m = await refusal(missing);
    assert.equal(m.message, `cannot turn core dumps off: ${missing} not found (install util-linux)`);
    assert.equal((m.cause as { code?: unknown }).code, 'ENOENT');
  },
);

test(
  'a prlimit that lowers only the soft limit is refused at the check, naming the limit read back',
  { skip },
  async () => {
    const softOnly = script('soft-only', 'exec prlimit --pid "$2" --core=0:');
    const e = await refusal(softOnly);
    const now = readCoreLimit();
    assert.equal(now?.soft, 0);
    assert.notEqual(now.hard, 0);
    assert.deepEqual(e.details, { step: 'check', command: softOnly });
    assert.equal(e.message, `core dumps still allowed after ${softOnly}: RLIMIT_CORE is 0/${now.hard}`);
    assert.equal(e.cause, undefined);
  },
);

test('the real prlimit: 0/0 returned and read back; then no prlimit is needed', { skip }, async () => {
  assert.deepEqual(await disableCoreDumps(), { soft: 0, hard: 0 });
  assert.deepEqual(readCoreLimit(), { soft: 0, hard: 0 });
  assert.deepEqual(await disableCoreDumps({ prlimit: join(dir, 'missing') }), { soft: 0, hard: 0 });
});
