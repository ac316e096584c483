/** Bad options and missing devices: typed errors with stable codes, naming what is wrong. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findSgxSku,
  parseEpcMode,
  parseListen,
  planSgxNode,
  readSysfsEpc,
  startSgxDevicePlugin,
  type SgxPlanInput,
} from '../../src/node/device-plugin/index.ts';
import { makeFakeSgxTree, type FakeSgxTree } from '../support/fake-sgx-tree.ts';

function input(tree: FakeSgxTree, extra: Partial<SgxPlanInput> = {}): SgxPlanInput {
  return { devRoot: tree.devRoot, sysRoot: tree.sysRoot, epcMode: 'auto', ...extra };
}

describe('device plugin errors', () => {
  test('no SGX device node → ERR_DEVICE_PLUGIN_NO_SGX_DEVICE listing the searched paths', async (t) => {
    const tree = makeFakeSgxTree({ enclave: false });
    t.after(() => {
      tree.remove();
    });
    await assert.rejects(
      planSgxNode(input(tree)),
      (err: { code: string; message: string; details: { searched: string[] } }) => {
        assert.equal(err.code, 'ERR_DEVICE_PLUGIN_NO_SGX_DEVICE');
        assert.deepEqual(err.details.searched, [
          '/dev/sgx_enclave',
          '/dev/sgx/enclave',
          '/dev/isgx',
          '/dev/sgx_provision',
          '/dev/sgx/provision',
        ]);
        assert.match(err.message, /--simulate/);
        return true;
      },
    );
  });

  test('a regular file where the device node should be is not a device', async (t) => {
    const tree = makeFakeSgxTree();
    t.after(() => {
      tree.remove();
    });
    unlinkSync(tree.dev('/dev/sgx_enclave'));
    writeFileSync(tree.dev('/dev/sgx_enclave'), '');
    await assert.rejects(
      planSgxNode(input(tree)),
      (err: { code: string; details: { notCharDevices: string[] } }) => {
        assert.equal(err.code, 'ERR_DEVICE_PLUGIN_NO_SGX_DEVICE');
        assert.deepEqual(err.details.notCharDevices, ['/dev/sgx_enclave']);
        return true;
      },
    );
  });

  test('EPC unknown, zero or malformed in sysfs', async (t) => {
    const none = makeFakeSgxTree({ epcBytesPerNode: [] });
    const zero = makeFakeSgxTree({ epcBytesPerNode: [0] });
    const bad = makeFakeSgxTree();
    t.after(() => {
      none.remove();
      zero.remove();
      bad.remove();
    });
    await assert.rejects(planSgxNode(input(none)), { code: 'ERR_DEVICE_PLUGIN_EPC_UNKNOWN' });
    await assert.rejects(planSgxNode(input(zero)), { code: 'ERR_DEVICE_PLUGIN_EPC_UNKNOWN' });
    // --epc-mib stands in for sysfs.
    assert.equal((await planSgxNode(input(none, { epcMib: 64 }))).epcMib, 64);
    writeFileSync(join(bad.sysRoot, 'devices/system/node/node0/x86/sgx_total_bytes'), '0x7000000\n');
    await assert.rejects(readSysfsEpc(bad.sysRoot), (err: { code: string; details: { file: string } }) => {
      assert.equal(err.code, 'ERR_DEVICE_PLUGIN_SYSFS_VALUE');
      assert.match(err.details.file, /node0\/x86\/sgx_total_bytes$/);
      return true;
    });
  });

  test('bad option values', async (t) => {
    const tree = makeFakeSgxTree();
    t.after(() => {
      tree.remove();
    });
    assert.throws(() => findSgxSku('Standard_D4s_v5'), { code: 'ERR_DEVICE_PLUGIN_UNKNOWN_SKU' });
    assert.throws(() => parseEpcMode('bytes'), { code: 'ERR_DEVICE_PLUGIN_OPTION' });
    for (const epcMib of [0, -1, 1.5, 2 ** 40]) {
      await assert.rejects(planSgxNode(input(tree, { epcMib })), { code: 'ERR_DEVICE_PLUGIN_OPTION' });
    }
    await assert.rejects(planSgxNode(input(tree, { enclaveLimit: 0 })), { code: 'ERR_DEVICE_PLUGIN_OPTION' });
    await assert.rejects(planSgxNode(input(tree, { simulate: 'DC4s' })), {
      code: 'ERR_DEVICE_PLUGIN_UNKNOWN_SKU',
    });
    await assert.rejects(planSgxNode(input(tree, { epcMode: 'devices', epcMib: 262_144 })), {
      code: 'ERR_DEVICE_PLUGIN_EPC_TOO_LARGE',
    });
    for (const bad of ['9464', 'host:', 'a:b', ':70000']) {
      assert.throws(() => parseListen(bad), { code: 'ERR_DEVICE_PLUGIN_OPTION' }, bad);
    }
    assert.deepEqual(parseListen(':9464'), { host: '0.0.0.0', port: 9464 });
    assert.deepEqual(parseListen('[::1]:0'), { host: '::1', port: 0 });
  });

  test('capacity mode on real hardware without a node name → ERR_DEVICE_PLUGIN_NODE_NAME', async (t) => {
    const tree = makeFakeSgxTree();
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-noname-'));
    t.after(() => {
      tree.remove();
      rmSync(dir, { recursive: true, force: true });
    });
    const base = { pluginDir: dir, devRoot: tree.devRoot, sysRoot: tree.sysRoot };
    await assert.rejects(startSgxDevicePlugin({ ...base, epcMode: 'capacity' }), {
      code: 'ERR_DEVICE_PLUGIN_NODE_NAME',
    });
    // A simulated node without one runs (test/security/device-plugin-api-outage-at-boot.test.ts).
    await assert.rejects(startSgxDevicePlugin({ ...base, epcMode: 'auto', epcMib: 262_144 }), {
      code: 'ERR_DEVICE_PLUGIN_NODE_NAME',
    });
  });
});
