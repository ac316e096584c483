/** `ccnodes node device-plugin` and `ccnodes node doctor` through runCli, with an injected stop signal. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/index.ts';
import { startFakeApiServer } from '../support/fake-apiserver.ts';
import { makeFakeSgxTree } from '../support/fake-sgx-tree.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { captureContext as context } from '../support/cli.ts';

async function until<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ccnodes node device-plugin', () => {
  test('simulated node: patches the node, registers, serves metrics, stops cleanly on the signal', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cli-dp-'));
    const peer = await KubeletPeer.start(dir);
    const api = await startFakeApiServer({
      nodes: { n1: { metadata: { name: 'n1', resourceVersion: '1' } } },
    });
    const kubeconfig = join(dir, '..', `${dir.split('/').pop() ?? 'x'}-kubeconfig.json`);
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 't' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    t.after(async () => {
      await peer.stop();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(kubeconfig, { force: true });
    });
    const stop = new AbortController();
    const ctx = context(stop.signal);
    const run = runCli(
      [
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
        '--enclave-limit',
        '3',
      ],
      ctx,
    );
    const epc = await peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', 10_000);
    assert.equal((await epc.waitForDevices(() => true)).length, 28);
    const enclave = await peer.waitForRegistration('sgx.intel.com/enclave');
    assert.equal((await enclave.waitForDevices(() => true)).length, 3);
    await until(() => (api.patches().length === 2 ? true : undefined));
    const url = await until(() => {
      for (const line of ctx.out.join('').split('\n')) {
        if (line.includes('metrics listening')) return (JSON.parse(line) as { url: string }).url;
      }
      return undefined;
    });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /ccnodes_device_plugin_epc_capacity_bytes 29360128/);
    assert.match(metrics, /process_resident_memory_bytes/);

    stop.abort(new Error('received SIGTERM'));
    assert.equal(await run, 0);
    await epc.waitForStreamEnd();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('ccnodes-')),
      [],
    );
    assert.ok(existsSync(join(dir, 'kubelet.sock')));
    assert.match(ctx.out.join(''), /device plugin stopped/);
  });

  test('bad flags exit 2 naming the flag; missing devices exit 1 with the typed code', async () => {
    const cases: [string[], number, RegExp][] = [
      [['--epc-mode', 'bytes', '--simulate', 'Standard_DC2s_v2'], 2, /--epc-mode.*ERR_DEVICE_PLUGIN_OPTION/],
      [['--simulate', 'Standard_DC9s_v9', '--node-name', 'n'], 2, /ERR_DEVICE_PLUGIN_UNKNOWN_SKU/],
      [['--epc-mib', '0', '--simulate', 'Standard_DC2s_v2'], 2, /--epc-mib/],
      [['--log-level', 'loud'], 2, /--log-level/],
      [['--kubeconfig', '/nonexistent/kubeconfig', '--node-name', 'n'], 2, /cannot load the kubeconfig/],
      [['--dev-root', '/nonexistent-dev'], 1, /ERR_DEVICE_PLUGIN_NO_SGX_DEVICE/],
    ];
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cli-bad-'));
    try {
      for (const [args, code, message] of cases) {
        const ctx = context();
        const status = await runCli(['node', 'device-plugin', '--device-plugin-dir', dir, ...args], ctx);
        assert.equal(status, code, args.join(' '));
        assert.match(ctx.err.join(''), message, args.join(' '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ccnodes node doctor', () => {
  test('--json on a healthy fake tree exits 0; a failing tree exits 1; bad flags exit 2', async (t) => {
    const good = makeFakeSgxTree();
    const bad = makeFakeSgxTree({ cpuFlags: ['sgx'] });
    t.after(() => {
      good.remove();
      bad.remove();
    });
    const roots = (tree: typeof good): string[] => [
      '--dev-root',
      tree.devRoot,
      '--sys-root',
      tree.sysRoot,
      '--proc-root',
      tree.procRoot,
      '--aesmd-socket',
      join(tree.root, 'none.sock'),
    ];
    const ok = context();
    assert.equal(await runCli(['node', 'doctor', '--json', ...roots(good)], ok), 0);
    const report = JSON.parse(ok.out.join('')) as { ok: boolean; labels: Record<string, string> };
    assert.equal(report.ok, true);
    assert.equal(report.labels['ccnodes.io/epc-mib'], '112');

    const failing = context();
    assert.equal(await runCli(['node', 'doctor', ...roots(bad)], failing), 1);
    assert.match(failing.out.join(''), /^fail\s+cpu-flc/m);
    assert.match(failing.out.join(''), /result: FAIL \(2 failed/);

    const sim = context();
    assert.equal(await runCli(['node', 'doctor', '--simulate', 'Standard_DC8_v2', ...roots(bad)], sim), 0);
    assert.match(sim.out.join(''), /ccnodes\.io\/simulated=true/);

    for (const args of [
      ['--pccs-url', 'not a url'],
      ['--simulate', 'nope'],
      ['--timeout', '0'],
    ]) {
      const ctx = context();
      assert.equal(await runCli(['node', 'doctor', ...roots(good), ...args], ctx), 2, args.join(' '));
    }
  });
});
