/** The generic device plugin server against the kubelet peer: register, list, restart, shutdown. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  AllocationError,
  DevicePluginServer,
  type Device,
  type DevicePluginHandler,
} from '../../src/node/device-plugin/index.ts';
import { KubeletPeer, KUBELET_CHECKPOINT } from '../support/kubelet-peer.ts';

function handler(resourceName: string, devices: Device[]): DevicePluginHandler {
  return {
    resourceName,
    options: { pre_start_required: false, get_preferred_allocation_available: false },
    listDevices: () => devices.map((d) => ({ ...d })),
    allocate: (req) => {
      for (const id of req.devices_ids) {
        if (!devices.some((d) => d.ID === id)) {
          throw new AllocationError('ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE', `unknown device ${id}`, { id });
        }
      }
      return {
        envs: { N: String(req.devices_ids.length) },
        mounts: [],
        devices: [],
        annotations: {},
        cdi_devices: [],
      };
    },
    preferredAllocation: (req) => ({ deviceIDs: req.available_deviceIDs.slice(0, req.allocation_size) }),
    preStartContainer: () => undefined,
  };
}

describe('DevicePluginServer with a kubelet peer', () => {
  let dir: string;
  let peer: KubeletPeer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-dp-'));
    peer = await KubeletPeer.start(dir);
  });
  after(async () => {
    await peer.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serves first, registers, streams the device list, re-registers after a kubelet restart', async (t) => {
    const devices: Device[] = [
      { ID: 'a', health: 'Healthy' },
      { ID: 'b', health: 'Healthy' },
    ];
    const server = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'test-a.sock',
      handler: handler('example.com/a', devices),
      watchIntervalMs: 100,
    });
    t.after(() => server.stop());
    await server.start();
    const ep = await peer.waitForRegistration('example.com/a');
    assert.equal(ep.request.version, 'v1beta1');
    assert.equal(ep.request.endpoint, 'test-a.sock');
    const listed = await ep.waitForDevices((d) => d.length === 2);
    assert.deepEqual(
      listed.map((d) => [d.ID, d.health]),
      [
        ['a', 'Healthy'],
        ['b', 'Healthy'],
      ],
    );

    // Health change pushed through the open stream as a complete list.
    devices[1] = { ID: 'b', health: 'Unhealthy' };
    server.update();
    await ep.waitForDevices((d) => d.some((x) => x.ID === 'b' && x.health === 'Unhealthy'));

    // Kubelet restart: directory wiped except the checkpoint, kubelet.sock recreated.
    writeFileSync(join(dir, KUBELET_CHECKPOINT), '{}');
    const started = Date.now();
    const again = peer.waitForRegistration('example.com/a', 2000, false);
    const pluginSide = new Promise((resolve) => server.once('registered', resolve));
    await peer.restart();
    const ep2 = await again;
    await pluginSide;
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 2000, `re-registered after ${elapsed} ms`);
    assert.ok(existsSync(join(dir, KUBELET_CHECKPOINT)));
    assert.equal(server.registrations, 2);
    await ep2.waitForDevices((d) => d.length === 2);
  });

  test('refuses unknown device IDs with a typed error code in the gRPC status', async (t) => {
    const server = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'test-b.sock',
      handler: handler('example.com/b', [{ ID: 'x', health: 'Healthy' }]),
      watchIntervalMs: 100,
    });
    t.after(() => server.stop());
    await server.start();
    const ep = await peer.waitForRegistration('example.com/b');
    const ok = await ep.allocate([['x']]);
    assert.equal(ok.container_responses[0]?.envs['N'], '1');
    await assert.rejects(ep.allocate([['nope']]), (err: grpc.ServiceError) => {
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.match(err.details, /^ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE:/);
      return true;
    });
  });

  test('a second server on the same socket is refused; stop ends the stream and removes the socket', async () => {
    const server = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'test-c.sock',
      handler: handler('example.com/c', [{ ID: 'x', health: 'Healthy' }]),
      watchIntervalMs: 100,
    });
    await server.start();
    const ep = await peer.waitForRegistration('example.com/c');
    await ep.waitForDevices(() => true);
    const twin = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'test-c.sock',
      handler: handler('example.com/c', []),
    });
    await assert.rejects(twin.start(), { code: 'ERR_DEVICE_PLUGIN_SOCKET_IN_USE' });
    await server.stop();
    await ep.waitForStreamEnd();
    assert.equal(existsSync(join(dir, 'test-c.sock')), false);
  });

  test('kubelet refusing the resource name is reported as a registration error', async (t) => {
    const server = new DevicePluginServer({
      pluginDir: dir,
      socketName: 'test-d.sock',
      handler: handler('kubernetes.io/not-extended', []),
      watchIntervalMs: 100,
    });
    t.after(() => server.stop());
    const failed = new Promise((resolve) => server.once('registerError', resolve));
    await server.start();
    const err = await failed;
    assert.equal((err as { code: string }).code, 'ERR_DEVICE_PLUGIN_REGISTER');
    assert.equal(server.registered, false);
  });
});
