/**
 * `ccnodes attestation serve` in process: options from flags and environment, refusal of plain HTTP
 * on non-loopback addresses, offline collateral with a simulated root, and a clean stop on abort.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { serializeCollateralBundle } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import { decodeJwt, postJson } from './support.ts';

const dcap = createSimDcap({ seed: 'attestation-cli' });

function context(env: Record<string, string> = {}): {
  ctx: CliContext;
  out: string[];
  err: string[];
  stop: AbortController;
} {
  const out: string[] = [];
  const err: string[] = [];
  const stop = new AbortController();
  const ctx: CliContext = {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env,
    cwd: process.cwd(),
    signal: stop.signal,
    exitCode: 0,
  };
  return { ctx, out, err, stop };
}

async function waitFor<T>(fn: () => T | undefined, ms = 20000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('ccnodes attestation serve', () => {
  test('--help documents every option', async () => {
    const { ctx, out } = context();
    assert.equal(await runCli(['attestation', 'serve', '--help'], ctx), 0);
    const help = out.join('');
    for (const flag of [
      '--listen',
      '--data-dir',
      '--public-url',
      '--tls-cert',
      '--tls-key',
      '--insecure-http',
      '--collateral',
      '--trust-simulated-root',
      '--admin-token-file',
      '--database-url',
      '--token-lifetime',
      'CCNODES_ATTESTATION_',
    ]) {
      assert.ok(help.includes(flag), flag);
    }
  });

  const usage: { name: string; args: string[] }[] = [
    { name: 'no data dir', args: ['--collateral', '/nonexistent', '--insecure-http'] },
    {
      name: 'plain HTTP on a non-loopback address',
      args: ['--listen', '0.0.0.0:0', '--insecure-http', '--data-dir', '/tmp/x', '--collateral', '/x'],
    },
    { name: 'neither TLS nor --insecure-http', args: ['--data-dir', '/tmp/x', '--collateral', '/x'] },
    {
      name: 'bad --listen',
      args: ['--listen', 'nowhere', '--insecure-http', '--data-dir', '/tmp/x', '--collateral', '/x'],
    },
    {
      name: 'bad --token-lifetime',
      args: ['--token-lifetime', '5y', '--insecure-http', '--data-dir', '/tmp/x', '--collateral', '/x'],
    },
    {
      name: 'unreadable collateral',
      args: ['--insecure-http', '--data-dir', '/tmp/x', '--collateral', '/nonexistent/bundle.json'],
    },
  ];
  for (const u of usage) {
    test(`exit 2: ${u.name}`, async () => {
      const { ctx, err } = context();
      assert.equal(await runCli(['attestation', 'serve', ...u.args], ctx), 2, err.join(''));
      assert.match(err.join(''), /ERR_USAGE|ERR_IO/);
    });
  }

  test('serves attestation from env + flags with offline collateral and the simulated root; stops on abort', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-attest-cli-'));
    try {
      const platform = dcap.platform('up-to-date');
      writeFileSync(join(dir, 'bundle.json'), serializeCollateralBundle(dcap.collateral(platform)));
      writeFileSync(join(dir, 'root.pem'), dcap.rootPem);
      writeFileSync(join(dir, 'admin-token'), 'cli-admin-token-0123456789\n');
      const { ctx, out, stop } = context({
        CCNODES_ATTESTATION_DATA_DIR: join(dir, 'data'),
        CCNODES_ATTESTATION_INSECURE_HTTP: '1',
        CCNODES_ATTESTATION_TOKEN_LIFETIME: '1h',
      });
      const done = runCli(
        [
          'attestation',
          'serve',
          '--listen',
          '127.0.0.1:0',
          '--collateral',
          join(dir, 'bundle.json'),
          '--trust-simulated-root',
          join(dir, 'root.pem'),
          '--admin-token-file',
          join(dir, 'admin-token'),
          '--log-level',
          'info',
        ],
        ctx,
      );
      const ready = await waitFor(
        () =>
          out
            .join('')
            .split('\n')
            .filter((l) => l.includes('attestation service ready'))
            .map((l) => JSON.parse(l) as { url: string })[0],
      );
      const runtime = Buffer.from('cli runtime');
      const quote = platform.quote(
        platform.syntheticReportBody({ reportData: createHash('sha256').update(runtime).digest() }),
      );
      const res = await postJson(`${ready.url}/attest/SgxEnclave?api-version=2022-08-01`, {
        quote: Buffer.from(quote).toString('base64url'),
        runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const claims = decodeJwt(String(res.body['token'])).payload;
      assert.equal(claims['x-ccnodes-simulated'], true);
      assert.equal(
        Number(claims['exp']) - Number(claims['iat']),
        3600,
        'lifetime from CCNODES_ATTESTATION_TOKEN_LIFETIME',
      );
      assert.equal(claims['iss'], ready.url);
      const audit = await fetch(`${ready.url}/ccnodes/v1/audit`, {
        headers: { authorization: 'Bearer cli-admin-token-0123456789' },
      });
      assert.equal(audit.status, 200);
      assert.equal(statSync(join(dir, 'data', 'kek')).mode & 0o777, 0o600);
      stop.abort(new Error('test done'));
      assert.equal(await done, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
