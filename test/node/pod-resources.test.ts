/**
 * Devices in use now, from kubelet's pod resources API: the counting rule, the client against a
 * kubelet-side peer, the metric at scrape time, and `node device-plugin --pod-resources-socket`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import {
  DevicePluginMetrics,
  PodResourcesClient,
  devicesInUse,
  type PodResourcesList,
} from '../../src/node/device-plugin/index.ts';
import { makeFakeSgxTree } from '../support/fake-sgx-tree.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { PodResourcesPeer } from '../support/pod-resources-peer.ts';

const EPC = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
const ENCLAVE = 'sgx.intel.com/enclave';

const LIST: PodResourcesList = {
  pod_resources: [
    {
      name: 'enclave-app',
      namespace: 'default',
      containers: [
        { name: 'init', devices: [{ resource_name: EPC, device_ids: ['0', '1'] }] },
        {
          name: 'app',
          devices: [
            { resource_name: EPC, device_ids: ['0', '1', '2'] },
            { resource_name: ENCLAVE, device_ids: ['e7'] },
          ],
        },
      ],
    },
    {
      name: 'gpu-job',
      namespace: 'ml',
      containers: [{ name: 'train', devices: [{ resource_name: 'nvidia.com/gpu', device_ids: ['GPU-1'] }] }],
    },
    { name: 'plain', namespace: 'default', containers: [{ name: 'c', devices: [] }] },
  ],
};

describe('devices in use (kubelet pod resources API)', () => {
  test('counts distinct device IDs per asked resource; others ignored; none is 0', () => {
    assert.deepEqual(devicesInUse(LIST, [EPC, ENCLAVE, 'sgx.intel.com/provision']), {
      [EPC]: 3,
      [ENCLAVE]: 1,
      'sgx.intel.com/provision': 0,
    });
    assert.deepEqual(devicesInUse({ pod_resources: [] }, [EPC]), { [EPC]: 0 });
  });

  test('the client lists through the socket; the metric is read at scrape time and drops when kubelet is gone', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-podres-'));
    const peer = await PodResourcesPeer.start(join(dir, 'kubelet.sock'));
    const client = new PodResourcesClient(peer.socketPath);
    t.after(async () => {
      client.close();
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    peer.list = LIST;
    const listed = await client.list();
    assert.equal(listed.pod_resources.length, 3);
    assert.deepEqual(listed.pod_resources[0]?.containers[1]?.devices[0], {
      resource_name: EPC,
      device_ids: ['0', '1', '2'],
    });

    const metrics = new DevicePluginMetrics();
    const before = await metrics.registry.metrics();
    assert.doesNotMatch(before, /ccnodes_device_plugin_devices_in_use\{/, 'no samples until observed');
    metrics.observeDevicesInUse(async () => devicesInUse(await client.list(), [EPC, ENCLAVE]));
    const text = await metrics.registry.metrics();
    assert.match(
      text,
      /ccnodes_device_plugin_devices_in_use\{resource="kubernetes.azure.com\/sgx_epc_mem_in_MiB"\} 3/,
    );
    assert.match(text, /ccnodes_device_plugin_devices_in_use\{resource="sgx.intel.com\/enclave"\} 1/);
    assert.match(text, /ccnodes_device_plugin_pod_resources_up 1/);

    // Containers ended: the next scrape says so (kubelet never tells the plugin itself).
    peer.list = { pod_resources: [] };
    assert.match(
      await metrics.registry.metrics(),
      /ccnodes_device_plugin_devices_in_use\{resource="kubernetes.azure.com\/sgx_epc_mem_in_MiB"\} 0/,
    );
    await peer.stop();
    const down = await metrics.registry.metrics();
    assert.match(down, /ccnodes_device_plugin_pod_resources_up 0/);
    assert.doesNotMatch(down, /ccnodes_device_plugin_devices_in_use\{/, 'no stale samples');
  });

  test('`node device-plugin --metrics-listen` serves the devices in use from --pod-resources-socket', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-podres-cli-'));
    const kubelet = await KubeletPeer.start(dir);
    const podResources = await PodResourcesPeer.start(join(dir, 'pod-resources.sock'));
    podResources.list = LIST;
    const tree = makeFakeSgxTree();
    const stop = new AbortController();
    const out: string[] = [];
    const ctx: CliContext = {
      stdout: (s) => out.push(s),
      stderr: (s) => out.push(s),
      env: {},
      cwd: process.cwd(),
      signal: stop.signal,
      exitCode: 0,
    };
    t.after(async () => {
      await kubelet.stop();
      await podResources.stop();
      tree.remove();
      rmSync(dir, { recursive: true, force: true });
    });
    const run = runCli(
      [
        'node',
        'device-plugin',
        '--device-plugin-dir',
        dir,
        '--dev-root',
        tree.devRoot,
        '--sys-root',
        tree.sysRoot,
        '--metrics-listen',
        '127.0.0.1:0',
        '--pod-resources-socket',
        podResources.socketPath,
      ],
      ctx,
    );
    await kubelet.waitForRegistration(EPC, 10_000);
    let url: string | undefined;
    for (let i = 0; i < 100 && url === undefined; i++) {
      for (const line of out.join('').split('\n')) {
        if (line.includes('metrics listening')) url = (JSON.parse(line) as { url: string }).url;
      }
      if (url === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(url !== undefined, out.join(''));
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(
      text,
      /ccnodes_device_plugin_devices_in_use\{resource="kubernetes.azure.com\/sgx_epc_mem_in_MiB"\} 3/,
    );
    assert.match(text, /ccnodes_device_plugin_devices_in_use\{resource="sgx.intel.com\/provision"\} 0/);
    assert.ok(podResources.calls >= 1);
    stop.abort(new Error('test done'));
    assert.equal(await run, 0);
  });
});
