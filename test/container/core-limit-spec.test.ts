/**
 * Specification of turning core dumps off (src/container/core-limit.ts), details that
 * core-limit.test.ts leaves open: what a failing prlimit is reported as (its stderr when it wrote
 * one, else the failure itself; the cause kept), and that a prlimit that lowers only the soft limit
 * is refused at the check, naming the limit read back. Runs while this process's limit is still
 * above 0/0 (the last test lowers it for good).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ContainerLaunchError, disableCoreDumps, readCoreLimit } from '../../src/container/index.ts';

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

async function refusal(prlimit: string): Promise<ContainerLaunchError> {
  try {
    await disableCoreDumps({ prlimit });
  } catch (err) {
    assert.ok(err instanceof ContainerLaunchError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_CORE_LIMIT');
    return err;
  }
  assert.fail('core dumps reported off');
}

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
