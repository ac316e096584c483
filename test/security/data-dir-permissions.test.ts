/**
 * Attack surface: the data directory holds the KEK and the SQLite database (policies, sealed
 * secrets, signing keys). Files must be created 0600 (including SQLite's -wal and -shm), a new
 * directory 0700, and a pre-existing directory that group or others can enter must be refused — by
 * the CLI with exit 2 and a message naming the path, the mode and the override flag — unless
 * `--allow-insecure-data-dir` is given (then the service starts and logs a warning).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { serializeCollateralBundle } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import { startService } from '../attestation/support.ts';
import { setPolicy, PERMIT_ALL } from './db-tamper-support.ts';

const mode = (p: string): number => statSync(p).mode & 0o777;

/** Collateral bundle and simulated root for the CLI, written outside the data directory. */
function cliInputs(root: string): string[] {
  const dcap = createSimDcap({ seed: 'data-dir-permissions' });
  writeFileSync(
    join(root, 'bundle.json'),
    serializeCollateralBundle(dcap.collateral(dcap.platform('up-to-date'))),
  );
  writeFileSync(join(root, 'root.pem'), dcap.rootPem);
  return ['--collateral', join(root, 'bundle.json'), '--trust-simulated-root', join(root, 'root.pem')];
}

/** `ccnodes attestation serve` on 127.0.0.1:0 over HTTP with `dataDir` (other flags follow). */
const serveArgv = (dataDir: string): string[] => [
  'attestation',
  'serve',
  '--listen',
  '127.0.0.1:0',
  '--insecure-http',
  '--data-dir',
  dataDir,
];

/** A data directory `<root>/data` created with `mode` (group or others may enter it). */
function openDataDir(root: string, mode: number): string {
  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  chmodSync(dataDir, mode);
  return dataDir;
}

function context(): { ctx: CliContext; out: string[]; err: string[]; stop: AbortController } {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  const ctx: CliContext = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    cwd: process.cwd(),
    signal: stop.signal,
    exitCode: 0,
  };
  return { ctx, out, err, stop };
}

describe('data directory permissions', () => {
  test('a new data directory is 0700; kek, attestation.db, -wal and -shm are 0600 (even under umask 022)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ccnodes-perm-'));
    const old = process.umask(0o022);
    try {
      const dataDir = join(root, 'data');
      const s = await startService({ dataDir, keepDir: true });
      try {
        await setPolicy(s.url, 'SgxEnclave', PERMIT_ALL); // a write, so the WAL exists
        assert.equal(mode(dataDir), 0o700);
        for (const f of ['kek', 'attestation.db', 'attestation.db-wal', 'attestation.db-shm']) {
          const p = join(dataDir, f);
          assert.ok(existsSync(p), `${f} exists`);
          assert.equal(mode(p).toString(8), '600', `${f} mode`);
        }
      } finally {
        await s.close();
      }
    } finally {
      process.umask(old);
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('an existing attestation.db created 0644 is tightened to 0600 at start', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ccnodes-perm-'));
    try {
      const a = await startService({ dataDir: root, keepDir: true });
      await a.close();
      chmodSync(join(root, 'attestation.db'), 0o644);
      const b = await startService({ dataDir: root, keepDir: true });
      await b.close();
      assert.equal(mode(join(root, 'attestation.db')).toString(8), '600');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('a group/world-accessible data directory is refused by the CLI (exit 2, path, mode, flag named)', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ccnodes-perm-'));
    try {
      const dataDir = openDataDir(root, 0o755);
      const { ctx, out, err, stop } = context();
      // Old builds started serving here; stop such a run instead of hanging the test.
      const guard = setTimeout(() => {
        stop.abort();
      }, 20_000);
      const code = await runCli([...serveArgv(dataDir), ...cliInputs(root)], ctx);
      clearTimeout(guard);
      assert.equal(code, 2, out.join('') + err.join(''));
      const text = out.join('') + err.join('');
      assert.match(text, new RegExp(dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.match(text, /0755/);
      assert.match(text, /--allow-insecure-data-dir/);
      assert.equal(existsSync(join(dataDir, 'kek')), false, 'nothing was written into it');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('--allow-insecure-data-dir starts the service anyway and logs a warning', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ccnodes-perm-'));
    try {
      const dataDir = openDataDir(root, 0o750);
      const { ctx, out, stop } = context();
      const done = runCli(
        [...serveArgv(dataDir), '--allow-insecure-data-dir', ...cliInputs(root), '--log-level', 'info'],
        ctx,
      );
      const end = Date.now() + 20_000;
      while (!out.join('').includes('attestation service ready') && Date.now() < end)
        await new Promise((r) => setTimeout(r, 50));
      stop.abort();
      await done;
      const logs = out.join('');
      assert.match(logs, /attestation service ready/);
      assert.match(logs, /accessible by group or others \(mode 0750\).*--allow-insecure-data-dir/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
