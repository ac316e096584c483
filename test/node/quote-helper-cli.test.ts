/**
 * `ccnodes node quote-helper` in-process: starts, serves the AESM and JSON sockets, keeps the
 * simulated platform's keys in --data-dir across restarts, stops cleanly when its signal aborts
 * (what SIGTERM does through src/bin), and refuses bad flags with exit status 2.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../../src/cli/index.ts';
import { captureContext, runCapture, type CliRun } from '../support/cli.ts';
import { AesmClient } from '../support/aesm-client.ts';
import { unixHttp } from './quote-helper-http.ts';

async function waitFor(path: string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear`);
    await sleep(20);
  }
}

describe('ccnodes node quote-helper', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'qh-cli-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function runDaemon(): Promise<{ pubKeyId: string; run: CliRun }> {
    const socket = join(dir, 'aesmd', 'aesm.socket');
    const jsonSocket = join(dir, 'json.socket');
    const stop = new AbortController();
    const running = runCapture(
      [
        'node',
        'quote-helper',
        '--socket',
        socket,
        '--json-socket',
        jsonSocket,
        '--data-dir',
        join(dir, 'state'),
        '--log-level',
        'info',
      ],
      { signal: stop.signal },
    );
    try {
      await waitFor(jsonSocket);
      const size = await new AesmClient(socket).getQuoteSizeEx();
      assert.equal(size.errorCode, 0);
      const info = await unixHttp(jsonSocket, 'GET', '/v1/target-info');
      assert.equal(info.status, 200);
      return { pubKeyId: (info.json() as { pubKeyId: string }).pubKeyId, run: await stopAndWait() };
    } catch (err) {
      stop.abort();
      await running;
      throw err;
    }
    async function stopAndWait(): Promise<CliRun> {
      stop.abort(new Error('received SIGTERM'));
      const run = await running;
      assert.equal(existsSync(socket), false, 'AESM socket removed');
      assert.equal(existsSync(jsonSocket), false, 'JSON socket removed');
      return run;
    }
  }

  test('serves, stops on abort with exit 0, and keeps its keys in --data-dir', async () => {
    const first = await runDaemon();
    assert.equal(first.run.code, 0, first.run.stderr);
    const lines = first.run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg: string });
    assert.ok(lines.some((l) => l.msg === 'quote helper ready'));
    assert.ok(lines.some((l) => l.msg === 'quote helper stopped'));
    const second = await runDaemon();
    assert.equal(second.run.code, 0);
    assert.equal(second.pubKeyId, first.pubKeyId, 'same attestation key after a restart');
  });

  test('--metrics-listen serves /metrics and /healthz over TCP, and nothing that quotes', async () => {
    const socket = join(dir, 'm', 'aesm.socket');
    const stop = new AbortController();
    const ctx = captureContext(stop.signal);
    const running = runCli(
      ['node', 'quote-helper', '--socket', socket, '--no-json', '--metrics-listen', '127.0.0.1:0'],
      ctx,
    );
    try {
      let url: string | undefined;
      const until = Date.now() + 20_000;
      while (url === undefined && Date.now() < until) {
        await sleep(50);
        url = /"metrics":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(ctx.out.join(''))?.[1];
      }
      assert.ok(url !== undefined, `the ready line names the metrics URL:\n${ctx.out.join('')}`);
      assert.equal((await new AesmClient(socket).getQuoteSizeEx()).errorCode, 0);
      const metrics = await fetch(`${url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(
        await metrics.text(),
        /^ccnodes_quote_helper_requests_total\{[^}]*transport="aesm"[^}]*\} 1$/m,
      );
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/v1/target-info`)).status, 404);
      assert.equal((await fetch(`${url}/v1/quote`, { method: 'POST', body: '{}' })).status, 404);
    } finally {
      stop.abort(new Error('received SIGTERM'));
      assert.equal(await running, 0);
    }
  });

  test('a bad --metrics-listen is a usage error (exit 2)', async () => {
    const socket = join(dir, 'm2', 'aesm.socket');
    const run = await runCapture([
      'node',
      'quote-helper',
      '--socket',
      socket,
      '--no-json',
      '--metrics-listen',
      'nope',
    ]);
    assert.equal(run.code, 2, run.stdout + run.stderr);
    assert.match(run.stderr, /--metrics-listen/);
    assert.equal(existsSync(socket), false, 'the AESM socket was closed again');
  });

  const usage: ReadonlyArray<readonly [string, string[], RegExp]> = [
    ['an unknown provider', ['--provider', 'tpm'], /--provider: expected sim or aesmd/],
    ['aesmd without --aesmd-socket', ['--provider', 'aesmd'], /needs --aesmd-socket/],
    ['aesmd relaying to itself', ['--provider', 'aesmd', '--aesmd-socket', 'SOCKET'], /must differ/],
    ['an unknown simulated platform', ['--sim-platform', 'nope'], /unknown simulated platform/],
    ['a bad --max-request-bytes', ['--max-request-bytes', '-1'], /--max-request-bytes/],
    ['a zero --max-connections', ['--max-connections', '0'], /--max-connections/],
    [
      'a --max-connections over a million',
      ['--max-connections', '1000001'],
      /maxConnections must be an integer/,
    ],
    ['a bad --log-level', ['--log-level', 'loud'], /--log-level/],
    ['a socket path that is a regular file', ['--socket', 'FILE'], /not a socket/],
  ];
  for (const [name, extra, message] of usage) {
    test(`refuses ${name} with exit status 2`, async () => {
      const socket = join(dir, 'u', 'aesm.socket');
      const file = join(dir, 'regular-file');
      writeFileSync(file, 'keep me');
      const args = extra.map((a) => (a === 'SOCKET' ? socket : a === 'FILE' ? file : a));
      const run = await runCapture(['node', 'quote-helper', '--socket', socket, '--no-json', ...args]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, message);
      assert.equal(existsSync(file), true);
    });
  }

  test('--help describes the command', async () => {
    const run = await runCapture(['node', 'quote-helper', '--help']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /SGX_AESM_ADDR=1/);
    assert.match(run.stdout, /--aesmd-socket/);
  });
});
