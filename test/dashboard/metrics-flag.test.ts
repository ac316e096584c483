/**
 * `ccnodes dashboard serve --metrics <url>…` as issue 16 writes it: several endpoints after one
 * `--metrics`, and the flag may still be repeated; every endpoint given is scraped and shown. `serve`
 * has no positional arguments: the list ends at the next option.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCli } from '../../src/cli/index.ts';
import { captureContext, runCapture } from '../support/cli.ts';
import { startFakeCluster, type FakeClusterServer } from './fake-cluster.ts';

const servers: Server[] = [];
const urls: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dashboard-metrics-'));
const kubeconfig = join(dir, 'kubeconfig');
let api: FakeClusterServer;

before(async () => {
  // The Nodes view needs a Kubernetes API: an empty cluster, so every scraped endpoint is "other".
  api = await startFakeCluster({
    nodes: [],
    pods: [],
    expected: { nodes: new Map(), namespaces: new Map(), pending: 0 },
  });
  writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
  for (let i = 0; i < 3; i++) {
    const s = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(`# HELP agent_up stand-in agent ${i}\n# TYPE agent_up gauge\nagent_up 1\n`);
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    servers.push(s);
    urls.push(`http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`);
  }
});

after(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
  await api.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Agent {
  target: string;
  node?: string;
  up: boolean;
}

test('several endpoints after one --metrics, plus a repeated --metrics, are all scraped', async () => {
  const stop = new AbortController();
  const ctx = captureContext(stop.signal);
  const run = runCli(
    [
      'dashboard',
      'serve',
      '--kubeconfig',
      kubeconfig,
      '--metrics',
      `node-a=${urls[0] ?? ''}`,
      `node-b=${urls[1] ?? ''}`,
      '--listen',
      '127.0.0.1:0',
      '--metrics',
      `node-c=${urls[2] ?? ''}`,
      '--sample-interval',
      '0',
      '--json',
    ],
    ctx,
  );
  try {
    let url: string | undefined;
    for (let i = 0; i < 600 && url === undefined && ctx.exitCode === 0; i++) {
      const line = ctx.out.join('').split('\n')[0] ?? '';
      if (line.startsWith('{')) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(url !== undefined, `did not start: ${ctx.err.join('')}`);
    const view = (await (await fetch(`${url}/api/nodes`)).json()) as { otherAgents: Agent[] };
    assert.deepEqual(
      view.otherAgents.map((a) => [a.node, a.target, a.up]),
      [
        ['node-a', urls[0], true],
        ['node-b', urls[1], true],
        ['node-c', urls[2], true],
      ],
    );
  } finally {
    stop.abort();
    assert.equal(await run, 0, ctx.err.join(''));
  }
});

test('each value of the list is checked: a bad one is a usage error naming it', async () => {
  const r = await runCapture([
    'dashboard',
    'serve',
    '--metrics',
    urls[0] ?? '',
    'ftp://example.test/metrics',
    '--listen',
    '127.0.0.1:0',
  ]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--metrics: expected an http\(s\) URL, got "ftp:\/\/example\.test\/metrics"/);
});
