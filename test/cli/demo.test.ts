/**
 * `npm start` = `ccnodes demo`: the whole confidential flow in simulation. Run as npm start would
 * (a child process of bin/ccnodes.js with --json), every step must succeed; each --tamper mode must
 * fail at the step that should catch it; nothing may remain in the temp directory afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/testdata.ts';
import { runDemo, type DemoReport } from '../../src/cli/demo.ts';
import { TAMPER_MODES, type TamperMode } from '../../src/cli/demo-tamper.ts';
import { DEMO_CONTAINER_TOKEN } from '../../src/cli/demo-container.ts';

/** Why each tampered run must fail: the reason the failing component gives. */
const REASONS: Record<TamperMode, RegExp> = {
  'enclave-page': /EINIT: measured MRENCLAVE .* differs from SIGSTRUCT\.ENCLAVEHASH/,
  debug: /debug mode/,
  'runtime-key': /SHA-256\(runtimeData\) differs from REPORTDATA/,
  quote: /quote signature does not verify/,
  'release-policy': /HTTP 403: .*release policy/,
  'trusted-file': /trusted file count\.sh is modified since prepare — the program was not started/,
};

const STEPS = [
  'services',
  'measure',
  'allocate',
  'launch',
  'quote',
  'attest',
  'verify-token',
  'release',
  'container',
];

function runBin(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'ccnodes.js'), ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function scratchDir(report: DemoReport): string {
  const services = report.steps.find((s) => s.id === 'services');
  const socket = services?.detail?.['aesmSocket'];
  assert.equal(typeof socket, 'string');
  return join(String(socket), '..', '..');
}

describe('ccnodes demo', () => {
  test('npm start --json: every step succeeds, the process exits 0 and leaves nothing behind', async () => {
    const run = await runBin(['demo', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout) as DemoReport;
    assert.equal(report.ok, true);
    assert.equal(report.simulated, true);
    assert.deepEqual(
      report.steps.map((s) => [s.id, s.ok]),
      STEPS.map((id) => [id, true]),
    );
    const detail = (id: string): Record<string, unknown> =>
      report.steps.find((s) => s.id === id)?.detail ?? {};
    assert.deepEqual(detail('services')['registered'], [
      'kubernetes.azure.com/sgx_epc_mem_in_MiB',
      'sgx.intel.com/enclave',
      'sgx.intel.com/provision',
    ]);
    assert.match(String(detail('measure')['mrenclave']), /^[0-9a-f]{64}$/);
    assert.equal((detail('allocate')['env'] as Record<string, string>)['SGX_AESM_ADDR'], '1');
    assert.equal(detail('verify-token')['x-ms-sgx-mrenclave'], detail('measure')['mrenclave']);
    assert.equal(detail('verify-token')['x-ccnodes-simulated'], true);
    assert.equal(detail('verify-token')['x-ms-sgx-is-debuggable'], false);
    assert.equal(detail('release')['openedInsideEnclave'], true);
    // The unmodified program under the launcher: it started only after attestation and release, and
    // the token it saw is the one stored for its identity.
    const events = detail('container')['steps'] as string[];
    const at = (re: RegExp): number => events.findIndex((e) => re.test(e));
    assert.ok(at(/^launcher: attested at /) >= 0, events.join('\n'));
    assert.ok(at(/^launcher: attested at /) < at(/^launcher: released: report-api-token, input-key$/));
    assert.ok(at(/^launcher: released: /) < at(/^launcher: program started$/));
    assert.ok(at(/^launcher: program started$/) < at(/^program: count: 3 lines, run 1$/));
    const tokenHash = createHash('sha256').update(DEMO_CONTAINER_TOKEN).digest('hex').slice(0, 16);
    assert.match(String(detail('container')['programReport']), new RegExp(`token_sha256=${tokenHash}`));
    assert.ok(
      !JSON.stringify(report).includes(DEMO_CONTAINER_TOKEN),
      'the secret value is not in the report',
    );
    assert.equal(existsSync(scratchDir(report)), false, 'the demo scratch directory was removed');
  });

  for (const mode of Object.keys(TAMPER_MODES) as TamperMode[]) {
    test(`--tamper ${mode} fails at "${TAMPER_MODES[mode].failsAt}" and nowhere earlier`, async () => {
      const report = await runDemo({ tamper: mode });
      const failed = report.steps.filter((s) => !s.ok);
      assert.equal(failed.length, 1, JSON.stringify(report.steps.map((s) => [s.id, s.ok, s.error])));
      const [step] = failed;
      assert.ok(step?.error !== undefined);
      assert.equal(step.id, TAMPER_MODES[mode].failsAt, JSON.stringify(step.error));
      assert.match(step.error.message, REASONS[mode]);
      assert.equal(report.ok, true, 'a tampered run is "ok" when it failed where expected');
      assert.equal(existsSync(scratchDir(report)), false);
    });
  }

  test('--keep-running leaves the services up until SIGINT, then stops them and cleans up', async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'ccnodes.js'), 'demo', '--keep-running'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`no "left running" banner:\n${out}`));
        // Generous: the whole demo runs before the banner, and its first step alone took 21 s on a
        // 2-core machine at load average 20 (a run of npm start --json there took 78 s).
      }, 240_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Services left running')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await ready;
    const url = /attestation service\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
    const dir = /AESM socket\s+(\S+)\/aesmd\/aesm\.socket/.exec(out)?.[1];
    assert.ok(url !== undefined && dir !== undefined, out);
    const health = await fetch(`${url}/ccnodes/v1/health`);
    assert.equal(health.status, 200, 'the attestation service is still serving');
    assert.equal(existsSync(join(dir, 'aesmd', 'aesm.socket')), true);
    // The dashboard starts after the banner and prints its URL (issue 16).
    const dashboardLine = /^\s*dashboard\s+(http:\/\/127\.0\.0\.1:\d+)[ \t]*\n/m; // a whole line
    for (let i = 0; i < 600 && !dashboardLine.test(out); i++) await new Promise((r) => setTimeout(r, 100));
    const dashboard = dashboardLine.exec(out)?.[1];
    assert.ok(dashboard !== undefined, `no "dashboard http://…" line:\n${out}`);
    assert.equal((await fetch(`${dashboard}/healthz`)).status, 200, 'the dashboard is serving');
    child.kill('SIGINT');
    assert.equal(await exited, 0);
    assert.equal(existsSync(dir), false, 'the scratch directory is gone after Ctrl-C');
    await assert.rejects(fetch(`${url}/ccnodes/v1/health`), 'nothing listens any more');
    await assert.rejects(fetch(`${dashboard}/healthz`), 'the dashboard stopped too');
  });

  test('--help lists every tamper mode', async () => {
    const run = await runBin(['demo', '--help']);
    assert.equal(run.code, 0);
    for (const mode of Object.keys(TAMPER_MODES)) assert.match(run.stdout, new RegExp(mode));
  });
});
