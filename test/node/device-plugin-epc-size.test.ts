/**
 * EPC served as one device per MiB must fit kubelet's 4 MiB ListAndWatch message (spec §1.6). The
 * size arithmetic is checked against protobufjs encoding, and the boundary against a real grpc-js
 * client with the default 4 MiB receive limit (what kubelet's grpc-go client has).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import {
  DEVICE_PLUGIN_PROTO_PATH,
  DevicePluginServer,
  KUBELET_MAX_RECEIVE_MESSAGE_BYTES,
  encodeListAndWatchResponse,
  epcListSize,
  findSgxSku,
  maxDeviceModeEpcMib,
  resolveEpcMode,
  startSgxDevicePlugin,
  type Device,
} from '../../src/node/device-plugin/index.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { makeFakeSgxTree } from '../support/fake-sgx-tree.ts';

const EPC = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
const ListAndWatchResponse = protobuf
  .loadSync(DEVICE_PLUGIN_PROTO_PATH)
  .lookupType('v1beta1.ListAndWatchResponse');

function encodedLength(devices: Device[]): number {
  return ListAndWatchResponse.encode(ListAndWatchResponse.fromObject({ devices })).finish().length;
}

function list(count: number, health: 'Healthy' | 'Unhealthy'): Device[] {
  return Array.from({ length: count }, (_, i) => ({ ID: String(i), health }));
}

describe('EPC device-mode size limit', () => {
  test('computed ListAndWatch sizes equal protobufjs encodings', () => {
    for (const n of [0, 1, 10, 11, 128, 1000, 10_001]) {
      assert.equal(epcListSize(n, 'Unhealthy'), encodedLength(list(n, 'Unhealthy')), `n=${n}`);
      assert.equal(epcListSize(n, 'Healthy'), encodedLength(list(n, 'Healthy')), `n=${n}`);
    }
  });

  test('the direct ListAndWatch encoder writes the same bytes as protobufjs', () => {
    const cases: Device[][] = [
      [],
      list(300, 'Healthy'),
      [
        { ID: 'gpu-ü-1', health: 'Unhealthy', topology: { nodes: [{ ID: 1 }, { ID: 300 }, { ID: -2 }] } },
        { ID: 'x'.repeat(200), health: 'Healthy', topology: { nodes: [] } },
      ],
    ];
    for (const devices of cases) {
      const ours = encodeListAndWatchResponse({ devices });
      const theirs = ListAndWatchResponse.encode(ListAndWatchResponse.fromObject({ devices })).finish();
      assert.equal(Buffer.from(ours).toString('hex'), Buffer.from(theirs).toString('hex'));
    }
  });

  test('default values are omitted (canonical proto3, as grpc-go writes) and decode back equal', () => {
    const devices: Device[] = [
      { ID: '', health: 'Healthy' },
      { ID: 'a', health: 'Unhealthy', topology: { nodes: [{ ID: 0 }, { ID: 7 }] } },
    ];
    const ours = encodeListAndWatchResponse({ devices });
    // Device "" omits its ID field: 0a 09 | 12 07 "Healthy".
    assert.equal(Buffer.from(ours.subarray(0, 4)).toString('hex'), '0a091207');
    const decoded = ListAndWatchResponse.toObject(ListAndWatchResponse.decode(ours), {
      defaults: true,
      longs: Number,
    });
    assert.deepEqual(JSON.parse(JSON.stringify(decoded)), {
      devices: [
        { ID: '', health: 'Healthy', topology: null },
        { ID: 'a', health: 'Unhealthy', topology: { nodes: [{ ID: 0 }, { ID: 7 }] } },
      ],
    });
  });

  test('the largest device-mode EPC fits 4 MiB, one more MiB switches auto mode to capacity', () => {
    const max = maxDeviceModeEpcMib();
    assert.ok(epcListSize(max) <= KUBELET_MAX_RECEIVE_MESSAGE_BYTES);
    assert.ok(epcListSize(max + 1) > KUBELET_MAX_RECEIVE_MESSAGE_BYTES);
    assert.equal(resolveEpcMode('auto', max), 'devices');
    assert.equal(resolveEpcMode('auto', max + 1), 'capacity');
    assert.throws(() => resolveEpcMode('devices', max + 1), { code: 'ERR_DEVICE_PLUGIN_EPC_TOO_LARGE' });
    assert.equal(resolveEpcMode('capacity', 28), 'capacity');
    // Spec §4: every DCsv2 and DCsv3 up to DC32s_v3 fits; DC48s_v3 (256 GiB) does not.
    assert.equal(resolveEpcMode('auto', findSgxSku('Standard_DC32s_v3').epcMiB), 'devices');
    assert.equal(resolveEpcMode('auto', findSgxSku('Standard_DC48ds_v3').epcMiB), 'capacity');
  });

  test('kubelet-side grpc client receives the largest list, all Unhealthy, and rejects one more device', async (t) => {
    const max = maxDeviceModeEpcMib();
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-epcsize-'));
    const tree = makeFakeSgxTree();
    const daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'devices',
      epcMib: max,
      healthIntervalMs: 60_000,
      watchIntervalMs: 100,
    });
    const devices = list(max + 1, 'Unhealthy');
    const oversized = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'oversized.sock',
      watchIntervalMs: 100,
      handler: {
        resourceName: 'example.com/oversized',
        options: { pre_start_required: false, get_preferred_allocation_available: false },
        listDevices: () => devices,
        allocate: () => ({ envs: {}, mounts: [], devices: [], annotations: {}, cdi_devices: [] }),
        preferredAllocation: () => ({ deviceIDs: [] }),
        preStartContainer: () => undefined,
      },
    });
    const kubelet: { peer?: KubeletPeer } = {};
    t.after(async () => {
      await daemon.stop();
      await oversized.stop();
      await kubelet.peer?.stop();
      rmSync(dir, { recursive: true, force: true });
      tree.remove();
    });
    // Worst case before kubelet connects: enclave node gone, so every device is Unhealthy.
    unlinkSync(tree.dev('/dev/sgx_enclave'));
    await daemon.rescan();
    await oversized.start();
    const registeredEpc = new Promise((resolve) => daemon.server(EPC)?.once('registered', resolve));
    const peer = await KubeletPeer.start(dir);
    kubelet.peer = peer;
    const ep = await peer.waitForRegistration(EPC, 10_000);
    await registeredEpc;
    const sick = await ep.waitForDevices(() => true, 10_000);
    assert.equal(sick.length, max);
    assert.ok(sick.every((x) => x.health === 'Unhealthy'));
    assert.equal(ep.streamError, undefined);

    // One device more, served by the generic server: the same client refuses the message.
    const big = await peer.waitForRegistration('example.com/oversized', 10_000);
    const err = await big.waitForStreamEnd(10_000);
    assert.equal(err?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(big.devices, undefined);
  });
});
