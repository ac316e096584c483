/**
 * `ccnodes sim quote --tdx` through the CLI: v4 and v5 TDX quotes with their TDX collateral bundle
 * verify with `quote verify --trust-simulated-root` (exit 0, tee TDX, the report data given); a
 * debug TD is refused (exit 1, ERR_VERIFY_DEBUG_ENCLAVE); SGX-only options and quote version 3 are
 * usage errors (exit 2). `policy default --type TdxVm` prints the TdxVm default policy.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_TDX_POLICY, DEFAULT_TDX_POLICY_SIMULATION } from '../../src/policy/index.ts';
import { runCapture } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-tdx-cli-'));
const SEED = ['--seed', 'tdx-cli-test'];
const p = (name: string): string => join(dir, name);

describe('ccnodes sim quote --tdx', () => {
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test('v4 and v5 quotes verify to UpToDate with the TDX bundle and the simulated root', async () => {
    const root = await runCapture(['sim', 'root', ...SEED, '-o', p('root.pem')]);
    assert.equal(root.code, 0, root.stderr);
    for (const version of ['4', '5']) {
      const made = await runCapture([
        'sim',
        'quote',
        '--tdx',
        ...SEED,
        '--quote-version',
        version,
        '--report-data',
        'c0ffee',
        '-o',
        p(`q${version}.bin`),
        '--collateral-out',
        p(`c${version}.json`),
        '--json',
      ]);
      assert.equal(made.code, 0, made.stderr);
      const summary = JSON.parse(made.stdout) as Record<string, unknown>;
      assert.equal(summary['tee'], 'TDX');
      assert.equal(summary['quoteVersion'], Number(version));
      assert.equal(summary['tdReportVersion'], version === '4' ? '1.0' : '1.5');
      const verified = await runCapture([
        'quote',
        'verify',
        p(`q${version}.bin`),
        '--collateral',
        p(`c${version}.json`),
        '--trust-simulated-root',
        p('root.pem'),
        '--json',
      ]);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      const out = JSON.parse(verified.stdout) as Record<string, unknown>;
      assert.equal(out['status'], 'UpToDate');
      assert.equal(out['tee'], 'TDX');
      assert.equal(out['simulated'], true);
      assert.ok(String(out['reportData']).startsWith('c0ffee00'), String(out['reportData']));
    }
    const untrusted = await runCapture([
      'quote',
      'verify',
      p('q4.bin'),
      '--collateral',
      p('c4.json'),
      '--json',
    ]);
    assert.equal(untrusted.code, 1, 'the simulated root is refused unless trusted');
  });

  test('a debug TD is produced but refused by the verifier (exit 1)', async () => {
    const made = await runCapture([
      'sim',
      'quote',
      '--tdx',
      ...SEED,
      '--debug',
      '-o',
      p('d.bin'),
      '--collateral-out',
      p('d.json'),
    ]);
    assert.equal(made.code, 0, made.stderr);
    const verified = await runCapture([
      'quote',
      'verify',
      p('d.bin'),
      '--collateral',
      p('d.json'),
      '--trust-simulated-root',
      p('root.pem'),
      '--json',
    ]);
    assert.equal(verified.code, 1);
    assert.match(verified.stdout, /ERR_VERIFY_DEBUG_ENCLAVE/);
  });

  test('SGX-only options and quote version 3 are usage errors with --tdx', async () => {
    for (const extra of [
      ['--quote-version', '3'],
      ['--mrenclave', 'aa'.repeat(32)],
    ]) {
      const r = await runCapture([
        'sim',
        'quote',
        '--tdx',
        ...SEED,
        ...extra,
        '-o',
        p('x.bin'),
        '--collateral-out',
        p('x.json'),
      ]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    }
    const r = await runCapture([
      'sim',
      'quote',
      ...SEED,
      '--mrtd',
      '00',
      '--report-data',
      '00',
      '-o',
      p('y'),
      '--collateral-out',
      p('z'),
    ]);
    assert.equal(r.code, 2, 'without --tdx, --mrtd is refused');
  });

  test('ccnodes policy default --type TdxVm prints the TdxVm default policy', async () => {
    const prod = await runCapture(['policy', 'default', '--type', 'TdxVm']);
    assert.equal(prod.code, 0, prod.stderr);
    assert.equal(prod.stdout, DEFAULT_TDX_POLICY);
    const sim = await runCapture(['policy', 'default', '--type', 'tdxvm', '--mode', 'simulation']);
    assert.equal(sim.stdout, DEFAULT_TDX_POLICY_SIMULATION);
  });
});
