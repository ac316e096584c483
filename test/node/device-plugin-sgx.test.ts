/** The SGX device plugin daemon driven by the kubelet peer over real unix sockets. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  DevicePluginMetrics,
  serveMetrics,
  startSgxDevicePlugin,
  type SgxDevicePlugin,
  type SgxDevicePluginConfig,
} from '../../src/node/device-plugin/index.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { makeFakeSgxTree, type FakeSgxTree } from '../support/fake-sgx-tree.ts';

const EPC = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
const ENCLAVE = 'sgx.intel.com/enclave';
const PROVISION = 'sgx.intel.com/provision';

describe('SGX device plugin with a kubelet peer', () => {
  let dir: string;
  let peer: KubeletPeer;
  let tree: FakeSgxTree;
  let daemon: SgxDevicePlugin;
  let metrics: DevicePluginMetrics;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-sgxdp-'));
    peer = await KubeletPeer.start(dir);
    tree = makeFakeSgxTree();
    metrics = new DevicePluginMetrics();
    const config: SgxDevicePluginConfig = {
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'auto',
      enclaveLimit: 4,
      provisionLimit: 2,
      aesmdMount: true,
      healthIntervalMs: 50,
      watchIntervalMs: 100,
      metrics,
    };
    daemon = await startSgxDevicePlugin(config);
  });
  after(async () => {
    await daemon.stop();
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
    tree.remove();
  });

  test('registers three resources and lists one EPC device per MiB from sysfs', async () => {
    assert.equal(daemon.plan.epcMode, 'devices');
    assert.equal(daemon.plan.epcSource, 'sysfs');
    const epc = await peer.waitForRegistration(EPC);
    assert.equal(epc.request.version, 'v1beta1');
    assert.equal(epc.options.get_preferred_allocation_available, true);
    const devices = await epc.waitForDevices(() => true);
    assert.equal(devices.length, 112);
    assert.deepEqual(
      devices.map((d) => d.ID),
      Array.from({ length: 112 }, (_, i) => String(i)),
    );
    assert.ok(devices.every((d) => d.health === 'Healthy' && (d.topology ?? null) === null));
    const enclave = await (await peer.waitForRegistration(ENCLAVE)).waitForDevices(() => true);
    assert.deepEqual(
      enclave.map((d) => d.ID),
      ['sgx-enclave-0', 'sgx-enclave-1', 'sgx-enclave-2', 'sgx-enclave-3'],
    );
    const provision = await (await peer.waitForRegistration(PROVISION)).waitForDevices(() => true);
    assert.equal(provision.length, 2);
  });

  test('Allocate gives rw device specs (both layouts), env and the aesmd mount', async () => {
    const epc = await peer.waitForRegistration(EPC);
    const res = await epc.allocate([['0', '1', '2'], ['7']]);
    assert.equal(res.container_responses.length, 2);
    const first = res.container_responses[0]!;
    assert.deepEqual(first.devices, [
      { container_path: '/dev/sgx_enclave', host_path: '/dev/sgx_enclave', permissions: 'rw' },
      { container_path: '/dev/sgx/enclave', host_path: '/dev/sgx_enclave', permissions: 'rw' },
    ]);
    assert.deepEqual(first.envs, { CCNODES_SGX_EPC_MIB: '3', SGX_AESM_ADDR: '1' });
    assert.deepEqual(first.mounts, [
      { container_path: '/var/run/aesmd', host_path: '/var/run/aesmd', read_only: true },
    ]);
    assert.equal(res.container_responses[1]!.envs['CCNODES_SGX_EPC_MIB'], '1');

    const prov = await peer.waitForRegistration(PROVISION);
    const p = await prov.allocate([['sgx-provision-1']]);
    assert.deepEqual(p.container_responses[0]!.devices, [
      { container_path: '/dev/sgx_provision', host_path: '/dev/sgx_provision', permissions: 'rw' },
      { container_path: '/dev/sgx/provision', host_path: '/dev/sgx_provision', permissions: 'rw' },
    ]);
    assert.deepEqual(p.container_responses[0]!.envs, {});
    assert.deepEqual(p.container_responses[0]!.mounts, []);

    const pref = await epc.getPreferredAllocation([
      { available_deviceIDs: ['9', '5', '1', '0'], must_include_deviceIDs: ['5'], allocation_size: 3 },
    ]);
    assert.deepEqual(pref.container_responses[0]!.deviceIDs, ['5', '0', '1']);
    assert.deepEqual(await epc.preStartContainer(['1']), {});

    for (const bad of [['112'], ['01'], ['-1'], ['sgx-enclave-0']]) {
      await assert.rejects(epc.allocate([bad]), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
        assert.match(err.details, /^ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE/);
        return true;
      });
    }
    await assert.rejects(epc.preStartContainer(['999']), { code: grpc.status.INVALID_ARGUMENT });

    const text = await metrics.registry.metrics();
    assert.match(text, /ccnodes_device_plugin_epc_allocated_mib_total 4/);
    assert.match(
      text,
      /ccnodes_device_plugin_allocation_failures_total\{resource="kubernetes.azure.com\/sgx_epc_mem_in_MiB"\} 4/,
    );
    assert.match(text, /ccnodes_device_plugin_epc_capacity_bytes 117440512/);
  });

  test('enclave node removed → EPC and enclave devices Unhealthy, allocation refused; back → Healthy', async () => {
    const epc = await peer.waitForRegistration(EPC);
    const enclave = await peer.waitForRegistration(ENCLAVE);
    const provision = await peer.waitForRegistration(PROVISION);
    unlinkSync(tree.dev('/dev/sgx_enclave'));
    try {
      const sick = await epc.waitForDevices((d) => d.every((x) => x.health === 'Unhealthy'));
      assert.equal(sick.length, 112);
      await enclave.waitForDevices((d) => d.every((x) => x.health === 'Unhealthy'));
      assert.ok(provision.devices?.every((x) => x.health === 'Healthy'));
      assert.equal(daemon.healthy(), false);
      await assert.rejects(epc.allocate([['0']]), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.FAILED_PRECONDITION);
        assert.match(err.details, /^ERR_DEVICE_PLUGIN_UNHEALTHY_DEVICE/);
        return true;
      });
      assert.match(
        await metrics.registry.metrics(),
        /ccnodes_device_plugin_healthy\{resource="sgx.intel.com\/enclave"\} 0/,
      );
    } finally {
      symlinkSync('/dev/null', tree.dev('/dev/sgx_enclave'));
    }
    await epc.waitForDevices((d) => d.every((x) => x.health === 'Healthy'));
    assert.equal(daemon.healthy(), true);
  });

  test('kubelet restart → every resource registered again within 2 s', async (t) => {
    const waits = [EPC, ENCLAVE, PROVISION].map((r) => peer.waitForRegistration(r, 2000, false));
    const started = Date.now();
    await peer.restart();
    const eps = await Promise.all(waits);
    const elapsed = Date.now() - started;
    t.diagnostic(`all three resources registered again ${elapsed} ms after the kubelet restart`);
    assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    const devices = await eps[0]!.waitForDevices(() => true);
    assert.equal(devices.length, 112);
    assert.equal(peer.registrations.filter((r) => r.resource_name === EPC).length, 2);
  });

  test('metrics endpoint serves the registry', async (t) => {
    const endpoint = await serveMetrics('127.0.0.1:0', metrics.registry, () => daemon.healthy());
    t.after(() => endpoint.close());
    const res = await fetch(`${endpoint.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /ccnodes_device_plugin_registrations_total/);
    assert.equal((await fetch(`${endpoint.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${endpoint.url}/nope`)).status, 404);
  });
});

describe('SGX device plugin on other driver layouts', () => {
  test('legacy DCAP driver: /dev/sgx/enclave mapped to both names', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-sgxdp-'));
    const peer = await KubeletPeer.start(dir);
    const tree = makeFakeSgxTree({ enclave: 'dcap-legacy' });
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'devices',
      epcMib: 8,
      watchIntervalMs: 100,
    });
    t.after(async () => {
      await daemon.stop();
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
      tree.remove();
    });
    assert.equal(daemon.plan.epcSource, 'flag');
    const ep = await peer.waitForRegistration(ENCLAVE);
    const res = await ep.allocate([['sgx-enclave-0']]);
    assert.deepEqual(res.container_responses[0]!.devices, [
      { container_path: '/dev/sgx/enclave', host_path: '/dev/sgx/enclave', permissions: 'rw' },
      { container_path: '/dev/sgx_enclave', host_path: '/dev/sgx/enclave', permissions: 'rw' },
    ]);
    const epc = await (await peer.waitForRegistration(EPC)).waitForDevices(() => true);
    assert.equal(epc.length, 8);
  });

  test('isgx driver: enclave only, no provision resource', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-sgxdp-'));
    const tree = makeFakeSgxTree({ enclave: 'isgx' });
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'auto',
      watchIntervalMs: 100,
    });
    t.after(async () => {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
      tree.remove();
    });
    assert.deepEqual(Object.keys(daemon.plan.deviceResources).sort(), [EPC, ENCLAVE]);
    assert.equal(daemon.plan.nodes.enclave?.path, '/dev/isgx');
    assert.equal(
      daemon.server(ENCLAVE)?.registered,
      false,
      'no kubelet.sock yet: not registered, still serving',
    );
  });
});
