/**
 * File arguments are resolved against the command's working directory (`ctx.cwd`), not the test
 * process's: relative paths work from the given cwd and fail (exit 2, file not found) from another.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from '../support/cli.ts';

describe('CLI file arguments resolve against ctx.cwd', () => {
  let dir: string;
  let elsewhere: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-cwd-'));
    elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const quote = await runCapture(
      [
        'sim',
        'quote',
        '--seed',
        'cwd-test',
        '--report-data',
        '01',
        '-o',
        'q.bin',
        '--collateral-out',
        'c.json',
      ],
      { cwd: dir },
    );
    assert.equal(quote.code, 0, quote.stderr);
    const root = await runCapture(['sim', 'root', '--seed', 'cwd-test', '-o', 'root.pem'], { cwd: dir });
    assert.equal(root.code, 0, root.stderr);
    assert.ok(existsSync(join(dir, 'q.bin')) && existsSync(join(dir, 'root.pem')));
    const policy = await runCapture(['policy', 'default', '--mode', 'simulation']);
    assert.equal(policy.code, 0, policy.stderr);
    writeFileSync(join(dir, 'policy.txt'), policy.stdout);
    writeFileSync(join(dir, 'claims.json'), JSON.stringify({ 'x-ms-sgx-is-debuggable': false }));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const verifyArgs = [
    'quote',
    'verify',
    'q.bin',
    '--collateral',
    'c.json',
    '--trust-simulated-root',
    'root.pem',
  ];

  test('quote verify: quote, collateral and root relative to cwd', async () => {
    const ok = await runCapture([...verifyArgs, '--json'], { cwd: dir });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { verified: boolean }).verified, true);
    const missing = await runCapture(verifyArgs, { cwd: elsewhere });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /q\.bin/);
  });

  test('quote inspect: file relative to cwd', async () => {
    assert.equal((await runCapture(['quote', 'inspect', 'q.bin'], { cwd: dir })).code, 0);
    assert.equal((await runCapture(['quote', 'inspect', 'q.bin'], { cwd: elsewhere })).code, 2);
  });

  test('policy check and eval: policy and claims files relative to cwd', async () => {
    const check = await runCapture(['policy', 'check', 'policy.txt'], { cwd: dir });
    assert.equal(check.code, 0, check.stderr);
    const evaluated = await runCapture(
      ['policy', 'eval', 'policy.txt', '--claims', 'claims.json', '--json'],
      {
        cwd: dir,
      },
    );
    assert.notEqual(evaluated.code, 2, evaluated.stderr);
    assert.equal((await runCapture(['policy', 'check', 'policy.txt'], { cwd: elsewhere })).code, 2);
    const noClaims = await runCapture(['policy', 'eval', 'policy.txt', '--claims', 'nope.json'], {
      cwd: dir,
    });
    assert.equal(noClaims.code, 2);
  });

  test('node doctor: roots relative to cwd', async () => {
    // A relative --proc-root that exists only under cwd: its cpuinfo must be read from there.
    mkdirSync(join(dir, 'proc'), { recursive: true });
    writeFileSync(join(dir, 'proc', 'cpuinfo'), 'processor\t: 0\nflags\t\t: sgx sgx_lc fsgsbase\n\n');
    const run = await runCapture(
      [
        'node',
        'doctor',
        '--json',
        '--proc-root',
        'proc',
        '--dev-root',
        'dev',
        '--sys-root',
        'sys',
        '--aesmd-socket',
        'none.sock',
      ],
      { cwd: dir },
    );
    const report = JSON.parse(run.stdout) as { checks: { id: string; status: string; detail: string }[] };
    const flags = report.checks.filter((c) => /cpu|sgx_lc|fsgsbase/i.test(c.id));
    assert.ok(flags.length > 0);
    assert.ok(
      flags.every((c) => c.status === 'pass'),
      JSON.stringify(flags),
    );
  });
});
