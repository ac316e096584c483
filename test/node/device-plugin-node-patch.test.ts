/** Capacity mode and simulation: the exact node PATCHes sent to a fake API server. */
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  kubeNodeClient,
  markingPatch,
  startSgxDevicePlugin,
  type SgxDevicePlugin,
} from '../../src/node/device-plugin/index.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.ts';
import { makeFakeSgxTree, type FakeSgxTree } from '../support/fake-sgx-tree.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';

const MIB = 1024 * 1024;

/** A capacity-mode daemon on a fake SGX tree, patching `nodeName` on `api`; stopped after the test. */
async function capacityModeDaemon(
  t: TestContext,
  api: FakeApiServer,
  nodeName: string,
  treeOrEpc: FakeSgxTree | number[],
): Promise<SgxDevicePlugin> {
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cap-'));
  const tree = Array.isArray(treeOrEpc) ? makeFakeSgxTree({ epcBytesPerNode: treeOrEpc }) : treeOrEpc;
  const running: { daemon?: SgxDevicePlugin } = {};
  t.after(async () => {
    await running.daemon?.stop();
    await api.close();
    rmSync(dir, { recursive: true, force: true });
    tree.remove();
  });
  running.daemon = await startSgxDevicePlugin({
    pluginDir: dir,
    devRoot: tree.devRoot,
    sysRoot: tree.sysRoot,
    epcMode: 'capacity',
    nodeName,
    nodeClient: await kubeNodeClient(api.kubeConfig()),
    watchIntervalMs: 100,
    // Rescans are driven by the tests.
    healthIntervalMs: 3_600_000,
  });
  // The node PATCH runs after registration, in the background.
  await running.daemon.nodePatch?.whenApplied();
  return running.daemon;
}

describe('node PATCH through the API server', () => {
  test('capacity mode: status PATCH adds both EPC resources; labels patched; no EPC device plugin', async (t) => {
    const api = await startFakeApiServer({
      nodes: {
        'node-1': {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: { name: 'node-1', resourceVersion: '42', labels: { 'kubernetes.io/os': 'linux' } },
          spec: {},
          status: { capacity: { cpu: '4' } },
        },
      },
    });
    const daemon = await capacityModeDaemon(t, api, 'node-1', [64 * MIB, 48 * MIB + 4096]);
    const patches = api.patches();
    assert.equal(patches.length, 2);
    const status = patches[0]!;
    assert.equal(status.path, '/api/v1/nodes/node-1/status');
    assert.equal(status.contentType, 'application/json-patch+json');
    assert.deepEqual(status.body, [
      { op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: String(112 * MIB + 4096) },
      { op: 'add', path: '/status/capacity/kubernetes.azure.com~1sgx_epc_mem_in_MiB', value: '112' },
    ]);
    const node = patches[1]!;
    assert.equal(node.path, '/api/v1/nodes/node-1');
    assert.equal(node.contentType, 'application/json-patch+json');
    assert.deepEqual(node.body, [
      { op: 'test', path: '/metadata/resourceVersion', value: '42' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1sgx', value: 'true' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1epc-mib', value: '112' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1simulated', value: 'false' },
    ]);
    assert.deepEqual(Object.keys(daemon.plan.deviceResources).sort(), [
      'sgx.intel.com/enclave',
      'sgx.intel.com/provision',
    ]);
  });

  test('simulated DC4s_v2: labelled simulated, tainted NoSchedule, 112 EPC devices, env-only allocation', async (t) => {
    const api = await startFakeApiServer({
      nodes: {
        'sim-0': {
          metadata: { name: 'sim-0', resourceVersion: '7', labels: {} },
          spec: { taints: [{ key: 'other', value: 'x', effect: 'NoExecute' }] },
        },
      },
    });
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-sim-'));
    const peer = await KubeletPeer.start(dir);
    const running: { daemon?: SgxDevicePlugin } = {};
    t.after(async () => {
      await running.daemon?.stop();
      await peer.stop();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: join(dir, 'no-such-dev'),
      sysRoot: join(dir, 'no-such-sys'),
      epcMode: 'auto',
      simulate: 'standard_dc4s_v2',
      nodeName: 'sim-0',
      nodeClient: await kubeNodeClient(api.kubeConfig()),
      watchIntervalMs: 100,
    });
    running.daemon = daemon;
    await daemon.nodePatch?.whenApplied();
    assert.equal(daemon.plan.simulatedSku, 'Standard_DC4s_v2');
    const [status, node] = api.patches();
    assert.deepEqual(status?.body, [
      { op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: String(112 * MIB) },
    ]);
    assert.deepEqual(node?.body, [
      { op: 'test', path: '/metadata/resourceVersion', value: '7' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1sgx', value: 'false' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1epc-mib', value: '112' },
      { op: 'add', path: '/metadata/labels/ccnodes.io~1simulated', value: 'true' },
      {
        op: 'add',
        path: '/spec/taints',
        value: [
          { key: 'other', value: 'x', effect: 'NoExecute' },
          { key: 'ccnodes.io/simulated', value: 'true', effect: 'NoSchedule' },
        ],
      },
    ]);
    const epc = await peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB');
    assert.equal((await epc.waitForDevices(() => true)).length, 112);
    const res = await epc.allocate([['3', '4']]);
    assert.deepEqual(res.container_responses[0]!.devices, []);
    assert.deepEqual(res.container_responses[0]!.envs, {
      CCNODES_SGX_EPC_MIB: '2',
      CCNODES_SGX_SIMULATED: '1',
      CCNODES_SGX_SIMULATED_SKU: 'Standard_DC4s_v2',
    });
    await peer.waitForRegistration('sgx.intel.com/provision');
  });

  test('markingPatch is empty when the node already carries everything, and removes a stale simulated taint', () => {
    const marking = {
      labels: { 'ccnodes.io/sgx': 'true' },
      taints: [],
      removeTaints: [{ key: 'ccnodes.io/simulated', value: 'true', effect: 'NoSchedule' as const }],
    };
    assert.deepEqual(markingPatch({ metadata: { labels: { 'ccnodes.io/sgx': 'true' } } }, marking), []);
    assert.deepEqual(
      markingPatch(
        {
          metadata: { labels: { 'ccnodes.io/sgx': 'true' } },
          spec: { taints: [{ key: 'ccnodes.io/simulated', value: 'true', effect: 'NoSchedule' }] },
        },
        marking,
      ),
      [{ op: 'add', path: '/spec/taints', value: [] }],
    );
    assert.deepEqual(markingPatch({}, { labels: { a: 'b' }, taints: [], removeTaints: [] }), [
      { op: 'add', path: '/metadata/labels', value: { a: 'b' } },
    ]);
  });

  test('an API server refusing the PATCH: node patch failing with ERR_DEVICE_PLUGIN_NODE_PATCH and the HTTP status', async (t) => {
    const api = await startFakeApiServer({ nodes: { n: { metadata: { name: 'n' } } }, failPatchWith: 403 });
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-403-'));
    const running: { daemon?: SgxDevicePlugin } = {};
    t.after(async () => {
      await running.daemon?.stop();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: dir,
      sysRoot: dir,
      epcMode: 'auto',
      simulate: 'Standard_DC1s_v2',
      nodeName: 'n',
      nodeClient: await kubeNodeClient(api.kubeConfig()),
      nodePatchBackoff: { initialMs: 3_600_000, maxMs: 3_600_000 },
    });
    running.daemon = daemon;
    const status = await daemon.nodePatch?.whenFirstAttemptDone();
    assert.equal(status?.state, 'failing');
    assert.equal(status.attempts, 1);
    assert.equal(status.lastErrorCode, 'ERR_DEVICE_PLUGIN_NODE_PATCH');
    assert.match(status.lastError ?? '', /403/);
    assert.equal(status.nextRetryMs, 3_600_000);
  });

  test('capacity mode: the enclave node gone → status capacity 0; back → the planned values again', async (t) => {
    const api = await startFakeApiServer({
      nodes: { n: { metadata: { name: 'n', resourceVersion: '1', labels: {} }, spec: {} } },
    });
    const tree = makeFakeSgxTree({ epcBytesPerNode: [64 * MIB] });
    const daemon = await capacityModeDaemon(t, api, 'n', tree);
    const statusPatches = (): unknown[] =>
      api
        .patches()
        .filter((p) => p.path === '/api/v1/nodes/n/status')
        .map((p) => p.body);
    const planned = [
      { op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: String(64 * MIB) },
      { op: 'add', path: '/status/capacity/kubernetes.azure.com~1sgx_epc_mem_in_MiB', value: '64' },
    ];
    assert.deepEqual(statusPatches(), [planned]);

    await daemon.rescan();
    assert.equal(statusPatches().length, 1, 'no change, no PATCH');

    unlinkSync(tree.dev('/dev/sgx_enclave'));
    await daemon.rescan();
    assert.equal(daemon.capacityShown, 'zero');
    assert.deepEqual(statusPatches()[1], [
      { op: 'add', path: '/status/capacity/sgx.intel.com~1epc', value: '0' },
      { op: 'add', path: '/status/capacity/kubernetes.azure.com~1sgx_epc_mem_in_MiB', value: '0' },
    ]);
    await daemon.rescan();
    assert.equal(statusPatches().length, 2, 'still gone, no second PATCH');

    symlinkSync('/dev/null', tree.dev('/dev/sgx_enclave'));
    await daemon.rescan();
    assert.equal(daemon.capacityShown, 'planned');
    assert.deepEqual(statusPatches()[2], planned);
  });

  test('a failed capacity update is logged and retried at the next rescan', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cap-retry-'));
    const tree = makeFakeSgxTree({ epcBytesPerNode: [32 * MIB] });
    const running: { daemon?: SgxDevicePlugin } = {};
    t.after(async () => {
      await running.daemon?.stop();
      rmSync(dir, { recursive: true, force: true });
      tree.remove();
    });
    const calls: Record<string, string>[] = [];
    let failNext = false;
    const errors: string[] = [];
    const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'devices',
      nodeName: 'n',
      nodeSettings: (_name, settings) => {
        calls.push({ ...settings.capacity });
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('API server unreachable'));
        }
        return Promise.resolve({ statusPatch: [], nodePatch: [] });
      },
      healthIntervalMs: 3_600_000,
      logger: {
        ...log,
        error: (fields: Record<string, unknown>, msg: string) =>
          errors.push(`${msg}: ${String(fields['error'])}`),
      },
    });
    running.daemon = daemon;
    await daemon.nodePatch?.whenApplied();
    assert.deepEqual(calls, [{ 'sgx.intel.com/epc': String(32 * MIB) }]);
    unlinkSync(tree.dev('/dev/sgx_enclave'));
    failNext = true;
    await daemon.rescan();
    assert.equal(daemon.capacityShown, 'planned');
    assert.match(
      errors.join('\n'),
      /node capacity update failed; retrying at the next rescan: API server unreachable/,
    );
    await daemon.rescan();
    assert.equal(daemon.capacityShown, 'zero');
    assert.deepEqual(calls.slice(1), [{ 'sgx.intel.com/epc': '0' }, { 'sgx.intel.com/epc': '0' }]);
  });
});
