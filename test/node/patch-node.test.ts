/**
 * `ccnodes node patch-node` and the device plugin's node update in a short-lived child process: the
 * daemon never loads the Kubernetes client library itself; the child applies the node settings and
 * reports the JSON patches it sent. Every failure (bad document, API server refusal, a child that
 * cannot start or hangs) surfaces as a typed error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { childProcessNodeSettings } from '../../src/cli/node-patch-node.ts';
import * as dp from '../../src/node/device-plugin/index.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const BIN = join(REPO_ROOT, 'bin', 'ccnodes.js');
const SELF = { command: process.execPath, args: [BIN] };

const SETTINGS: dp.NodeSettings = {
  capacity: { 'sgx.intel.com/epc': '117440512' },
  marking: {
    labels: { 'ccnodes.io/simulated': 'true' },
    taints: [{ key: 'ccnodes.io/simulated', value: 'true', effect: 'NoSchedule' }],
    removeTaints: [],
  },
};

function context(extra: Partial<CliContext> = {}): CliContext & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
    ...extra,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

async function withApi(
  options: { failPatchWith?: number } = {},
): Promise<{ api: FakeApiServer; dir: string; kubeconfig: string; done: () => Promise<void> }> {
  const api = await startFakeApiServer({
    nodes: { n1: { metadata: { name: 'n1', resourceVersion: '7', labels: {} }, spec: {} } },
    ...options,
  });
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-patch-node-'));
  const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.json'));
  return {
    api,
    dir,
    kubeconfig,
    done: async () => {
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const EXPECTED_STATUS_PATCH = [
  { op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: '117440512' },
];
const EXPECTED_NODE_PATCH = [
  { op: 'test', path: '/metadata/resourceVersion', value: '7' },
  { op: 'add', path: '/metadata/labels/ccnodes.io~1simulated', value: 'true' },
  {
    op: 'add',
    path: '/spec/taints',
    value: [{ key: 'ccnodes.io/simulated', value: 'true', effect: 'NoSchedule' }],
  },
];

describe('parseNodeSettings', () => {
  test('accepts a complete document and returns it unchanged', () => {
    assert.deepEqual(dp.parseNodeSettings(structuredClone(SETTINGS)), SETTINGS);
  });

  test('names the first wrong field with ERR_DEVICE_PLUGIN_NODE_SETTINGS', () => {
    const cases: [unknown, RegExp][] = [
      [[], /\(document\)/],
      [{ marking: SETTINGS.marking }, /capacity: expected an object of strings/],
      [
        { ...SETTINGS, capacity: { 'sgx.intel.com/epc': 1 } },
        /capacity\.sgx\.intel\.com\/epc: expected a string/,
      ],
      [{ capacity: {} }, /marking: expected an object/],
      [{ ...SETTINGS, marking: { ...SETTINGS.marking, labels: null } }, /marking\.labels/],
      [{ ...SETTINGS, marking: { ...SETTINGS.marking, taints: {} } }, /marking\.taints: expected an array/],
      [
        {
          ...SETTINGS,
          marking: { ...SETTINGS.marking, taints: [{ key: 'k', value: 'v', effect: 'Never' }] },
        },
        /marking\.taints\[0\]\.effect: expected NoSchedule \| PreferNoSchedule \| NoExecute/,
      ],
      [
        {
          ...SETTINGS,
          marking: { ...SETTINGS.marking, removeTaints: [{ value: 'v', effect: 'NoSchedule' }] },
        },
        /marking\.removeTaints\[0\]\.key/,
      ],
    ];
    for (const [doc, message] of cases) {
      assert.throws(
        () => dp.parseNodeSettings(doc),
        (err: unknown) => err instanceof dp.NodeSettingsError && message.test(err.message),
        JSON.stringify(doc),
      );
    }
  });
});

describe('ccnodes node patch-node', () => {
  test('applies a settings file and prints the patches it sent (--json) or a summary', async (t) => {
    const env = await withApi();
    t.after(env.done);
    const file = join(env.dir, 'settings.json');
    writeFileSync(file, JSON.stringify(SETTINGS));
    const args = [
      'node',
      'patch-node',
      '--node-name',
      'n1',
      '--settings',
      file,
      '--kubeconfig',
      env.kubeconfig,
    ];

    const json = context();
    assert.equal(await runCli([...args, '--json'], json), 0, json.err());
    assert.deepEqual(JSON.parse(json.out()), {
      node: 'n1',
      statusPatch: EXPECTED_STATUS_PATCH,
      nodePatch: EXPECTED_NODE_PATCH,
    });
    const sent = env.api.patches();
    assert.deepEqual(
      sent.map((p) => [p.path, p.contentType, p.body]),
      [
        ['/api/v1/nodes/n1/status', 'application/json-patch+json', EXPECTED_STATUS_PATCH],
        ['/api/v1/nodes/n1', 'application/json-patch+json', EXPECTED_NODE_PATCH],
      ],
    );

    const human = context({ readStdin: () => Promise.resolve(Buffer.from(JSON.stringify(SETTINGS))) });
    assert.equal(
      await runCli(['node', 'patch-node', '--node-name', 'n1', '--kubeconfig', env.kubeconfig], human),
      0,
    );
    assert.match(human.out(), /^node n1: capacity sgx\.intel\.com\/epc=117440512$/m);
    assert.match(human.out(), /^node n1: labels\/taints patched \(3 operations\)$/m);
  });

  test('bad input exits 2 naming the problem; an API server refusal exits 1 with the HTTP status', async (t) => {
    const env = await withApi({ failPatchWith: 403 });
    t.after(env.done);
    const write = (name: string, text: string): string => {
      const path = join(env.dir, name);
      writeFileSync(path, text);
      return path;
    };
    const good = write('good.json', JSON.stringify(SETTINGS));
    const cases: [string[], number, RegExp][] = [
      [['--settings', good, '--kubeconfig', env.kubeconfig], 2, /--node-name: required/],
      [
        ['--node-name', 'n1', '--settings', write('a.json', '{'), '--kubeconfig', env.kubeconfig],
        2,
        /not JSON/,
      ],
      [
        [
          '--node-name',
          'n1',
          '--settings',
          write('b.json', '{"capacity":{}}'),
          '--kubeconfig',
          env.kubeconfig,
        ],
        2,
        /marking: expected .*ERR_DEVICE_PLUGIN_NODE_SETTINGS/,
      ],
      [['--node-name', 'n1', '--settings', join(env.dir, 'missing.json')], 2, /cannot read .*missing\.json/],
      [
        ['--node-name', 'n1', '--settings', good, '--kubeconfig', join(env.dir, 'nope')],
        2,
        /cannot load the kubeconfig/,
      ],
      [['--node-name', 'n1', '--settings', '-', '--kubeconfig', env.kubeconfig], 2, /no standard input/],
      [
        ['--node-name', 'n1', '--settings', good, '--kubeconfig', env.kubeconfig],
        1,
        /HTTP 403.*ERR_DEVICE_PLUGIN_NODE_PATCH/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const ctx = context();
      assert.equal(await runCli(['node', 'patch-node', ...args], ctx), code, args.join(' '));
      assert.match(ctx.err(), message, args.join(' '));
    }
  });
});

describe('node update in a child process', () => {
  test('the applier runs `ccnodes node patch-node` and returns the patches the child sent', async (t) => {
    const env = await withApi();
    t.after(env.done);
    const apply = childProcessNodeSettings(dp, { self: SELF, kubeconfig: env.kubeconfig, env: process.env });
    const patches = await apply('n1', SETTINGS);
    assert.deepEqual(patches, { statusPatch: EXPECTED_STATUS_PATCH, nodePatch: EXPECTED_NODE_PATCH });
    assert.equal(env.api.patches().length, 2);
  });

  test('a refusing API server, a child that cannot start, and a hung child all reject with NodePatchError', async (t) => {
    const env = await withApi({ failPatchWith: 500 });
    t.after(env.done);
    const refused = childProcessNodeSettings(dp, {
      self: SELF,
      kubeconfig: env.kubeconfig,
      env: process.env,
    });
    await assert.rejects(refused('n1', SETTINGS), (err: unknown) => {
      assert.ok(err instanceof dp.NodePatchError);
      assert.equal(err.code, 'ERR_DEVICE_PLUGIN_NODE_PATCH');
      assert.match(err.message, /patch-node process failed \(exit 1\): .*HTTP 500/);
      return true;
    });

    const missing = childProcessNodeSettings(dp, {
      self: { command: join(env.dir, 'no-such-node'), args: [] },
      env: process.env,
    });
    await assert.rejects(missing('n1', SETTINGS), /cannot start .*no-such-node.*ENOENT/);

    const hung = childProcessNodeSettings(dp, {
      self: { command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60000)', '--'] },
      env: process.env,
      timeoutMs: 300,
    });
    await assert.rejects(hung('n1', SETTINGS), /did not finish in 300 ms and was killed/);

    const garbage = childProcessNodeSettings(dp, {
      self: { command: process.execPath, args: ['-e', 'console.log("hello")', '--'] },
      env: process.env,
    });
    await assert.rejects(garbage('n1', SETTINGS), /unreadable answer from the patch-node process: hello/);
  });

  test('`node device-plugin` run as the executable patches its node from a child process', async (t) => {
    const env = await withApi();
    const peer = await KubeletPeer.start(env.dir);
    t.after(async () => {
      await peer.stop();
      await env.done();
    });
    const stop = new AbortController();
    const args = [
      'node',
      'device-plugin',
      '--device-plugin-dir',
      env.dir,
      '--simulate',
      'Standard_DC1s_v2',
      '--node-name',
      'n1',
      '--kubeconfig',
      env.kubeconfig,
    ];
    // ctx.self names a program that does not exist: the node update must fail (and be retried while
    // kubelet is served), which proves that it goes through the child process and not through an
    // in-process client.
    const stopBroken = new AbortController();
    const broken = context({
      self: { command: join(env.dir, 'missing-ccnodes'), args: [] },
      signal: stopBroken.signal,
    });
    const brokenRun = runCli(args, broken);
    for (const end = Date.now() + 60_000; !/"msg":"node patch failed/.test(broken.out()) && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(broken.out(), /cannot start .*missing-ccnodes.*"code":"ERR_DEVICE_PLUGIN_NODE_PATCH"/);
    stopBroken.abort(new Error('test done'));
    assert.equal(await brokenRun, 0);
    assert.equal(env.api.patches().length, 0);

    const ctx = context({ self: SELF, env: process.env, signal: stop.signal });
    const run = runCli(args, ctx);
    await peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', 60_000);
    // The node PATCH runs after registration with kubelet, in a patch-node child process.
    for (const end = Date.now() + 60_000; !/"msg":"node patched"/.test(ctx.out()) && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50));
    const sent = env.api.patches();
    assert.deepEqual(
      sent.map((p) => p.path),
      ['/api/v1/nodes/n1/status', '/api/v1/nodes/n1'],
    );
    assert.match(ctx.out(), /"msg":"node patched"/);
    stop.abort(new Error('test done'));
    assert.equal(await run, 0);
  });
});
