/**
 * Chaos at boot: the API server is unreachable (closed port), then answers 503, then works. The
 * device plugin, started as the `ccnodes` executable (so the node PATCH runs in its patch-node child
 * process), must register with kubelet and serve its devices during the whole outage, report the
 * node PATCH as failing in /healthz and the metrics, and apply it once the API server is back.
 * Before the fix the plugin exited at the first PATCH failure and never registered.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'ccnodes.js');
const EPC = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';

/** A free port on 127.0.0.1 (bound, then released: nothing listens there afterwards). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) =>
    s.close(() => {
      resolve();
    }),
  );
  return port;
}

/**
 * An API server front on a fixed port: absent at first (connection refused), then `unavailable`
 * (503 to everything), then `up` (forwards to the fake API server).
 */
class FlakyApiFront {
  mode: 'unavailable' | 'up' = 'unavailable';
  served503 = 0;
  #server: Server | undefined;
  constructor(
    readonly port: number,
    readonly api: FakeApiServer,
  ) {}

  async listen(): Promise<void> {
    const target = new URL(this.api.url);
    this.#server = createServer((req, res) => {
      if (this.mode === 'unavailable') {
        this.served503 += 1;
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 503 }));
        return;
      }
      const upstream = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.#server?.listen(this.port, '127.0.0.1', resolve));
  }

  close(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  }
}

function writeKubeconfig(path: string, server: string): string {
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'flaky', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'flaky', user: { token: 't' } }],
      contexts: [{ name: 'flaky', context: { cluster: 'flaky', user: 'flaky' } }],
      'current-context': 'flaky',
    }),
  );
  return path;
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Healthz {
  status: string;
  nodePatch: {
    state: string;
    attempts?: number;
    lastError?: string;
    lastErrorCode?: string;
    reason?: string;
  };
}

async function healthz(url: string): Promise<{ code: number; body: Healthz }> {
  const res = await fetch(`${url}/healthz`);
  return { code: res.status, body: (await res.json()) as Healthz };
}

function metricValue(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describe('device plugin: API server outage at boot', () => {
  test('registers with kubelet while the API server is down, reports failing, then applies the node patch', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-sec-api-outage-'));
    const api = await startFakeApiServer({
      nodes: { n1: { metadata: { name: 'n1', resourceVersion: '5', labels: {} }, spec: {} } },
    });
    const port = await closedPort();
    const front = new FlakyApiFront(port, api);
    const kubeconfig = writeKubeconfig(join(dir, 'kubeconfig.json'), `http://127.0.0.1:${port}`);
    const peer = await KubeletPeer.start(dir);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'node',
        'device-plugin',
        '--device-plugin-dir',
        dir,
        '--simulate',
        'Standard_DC1s_v2',
        '--node-name',
        'n1',
        '--kubeconfig',
        kubeconfig,
        '--metrics-listen',
        '127.0.0.1:0',
        '--pod-resources-socket',
        '',
        // Short delays keep the test quick; the defaults are 1 s doubling to 60 s.
        '--node-patch-retry-initial',
        '200',
        '--node-patch-retry-max',
        '1000',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (log += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    t.after(async () => {
      child.kill('SIGKILL');
      await front.close();
      await peer.stop();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });

    // Phase 1: nothing listens on the API server's port. Kubelet still gets the devices.
    const epc = await peer.waitForRegistration(EPC, 60_000);
    assert.equal((await epc.waitForDevices(() => true)).length, 28);
    await peer.waitForRegistration('sgx.intel.com/enclave', 60_000);
    const url = await until('the metrics address in the log', () => {
      const m = /"url":"(http:\/\/[^"]+)","msg":"metrics listening"/.exec(log);
      return m?.[1];
    });
    const failing = await until('healthz to report the node patch failing', async () => {
      const h = await healthz(url);
      return h.body.nodePatch.state === 'failing' ? h : undefined;
    });
    assert.equal(failing.code, 200, 'the plugin itself is healthy: kubelet is served');
    assert.equal(failing.body.status, 'ok');
    assert.ok((failing.body.nodePatch.attempts ?? 0) >= 1);
    assert.equal(failing.body.nodePatch.lastErrorCode, 'ERR_DEVICE_PLUGIN_NODE_PATCH');
    assert.match(failing.body.nodePatch.lastError ?? '', /patch-node|ECONNREFUSED|connect/i);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'ccnodes_device_plugin_node_patch_state{state="failing"}'), 1);
    assert.equal(metricValue(metrics, 'ccnodes_device_plugin_node_patch_state{state="applied"}'), 0);
    assert.ok(
      (metricValue(metrics, 'ccnodes_device_plugin_node_patch_attempts_total{result="error"}') ?? 0) >= 1,
    );
    assert.match(log, /"msg":"node patch failed; kubelet is served meanwhile, retrying with backoff"/);
    assert.equal(api.patches().length, 0);

    // Phase 2: the API server answers 503.
    front.mode = 'unavailable';
    await front.listen();
    await until('a 503 answered to a retry', () => (front.served503 > 0 ? true : undefined));
    assert.equal((await healthz(url)).body.nodePatch.state, 'failing');

    // Phase 3: the API server is back; the next retry applies the patch.
    front.mode = 'up';
    const applied = await until('healthz to report the node patch applied', async () => {
      const h = await healthz(url);
      return h.body.nodePatch.state === 'applied' ? h : undefined;
    });
    assert.ok((applied.body.nodePatch.attempts ?? 0) >= 3, JSON.stringify(applied.body));
    assert.deepEqual(
      api.patches().map((p) => p.path),
      ['/api/v1/nodes/n1/status', '/api/v1/nodes/n1'],
    );
    const after = await (await fetch(`${url}/metrics`)).text();
    assert.equal(metricValue(after, 'ccnodes_device_plugin_node_patch_state{state="applied"}'), 1);
    assert.equal(metricValue(after, 'ccnodes_device_plugin_node_patch_attempts_total{result="ok"}'), 1);
    assert.match(log, /"msg":"node patched"/);
    // The kubelet stream stayed up throughout: Allocate still answers.
    const answer = await epc.allocate([['0']]);
    assert.equal(answer.container_responses[0]?.envs['CCNODES_SGX_SIMULATED'], '1');

    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
  });

  test('--simulate without a node name runs against a kubelet, warning that nothing was labelled', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-sec-sim-noname-'));
    const peer = await KubeletPeer.start(dir);
    t.after(async () => {
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const ctx: CliContext = {
      stdout: (s) => out.push(s),
      stderr: (s) => err.push(s),
      env: {},
      cwd: process.cwd(),
      signal: stop.signal,
      exitCode: 0,
    };
    const run = runCli(
      [
        'node',
        'device-plugin',
        '--device-plugin-dir',
        dir,
        '--simulate',
        'Standard_DC1s_v2',
        '--metrics-listen',
        '127.0.0.1:0',
        '--pod-resources-socket',
        '',
      ],
      ctx,
    );
    const epc = await peer.waitForRegistration(EPC, 30_000);
    assert.equal((await epc.waitForDevices(() => true)).length, 28);
    const url = await until('the metrics address', () => {
      const m = /"url":"(http:\/\/[^"]+)","msg":"metrics listening"/.exec(out.join(''));
      return m?.[1];
    });
    const h = await healthz(url);
    assert.equal(h.code, 200);
    assert.equal(h.body.nodePatch.state, 'disabled');
    assert.match(out.join(''), /labels and taints NOT applied/);
    stop.abort(new Error('test done'));
    assert.equal(await run, 0, err.join(''));
  });
});
