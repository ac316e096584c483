/**
 * CDI mode (`--cdi-spec-dir`): the spec written for the host's SGX device nodes, Allocate naming CDI
 * devices instead of device specs (through a real kubelet peer), the spec following the device
 * nodes, and simulated nodes leaving CDI alone.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CDI_SPEC_FILE,
  cdiSpec,
  startSgxDevicePlugin,
  type CdiSpec,
  type SgxDevicePlugin,
} from '../../src/node/device-plugin/index.ts';
import { makeFakeSgxTree } from '../support/fake-sgx-tree.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';

const EPC = 'kubernetes.azure.com/sgx_epc_mem_in_MiB';
const ENCLAVE = 'sgx.intel.com/enclave';
const PROVISION = 'sgx.intel.com/provision';

const rw = (path: string, hostPath: string): { path: string; hostPath: string; permissions: string } => ({
  path,
  hostPath,
  permissions: 'rw',
});

describe('CDI spec', () => {
  test('in-kernel driver: both devices, each at its own name and the legacy one', () => {
    assert.deepEqual(
      cdiSpec({
        enclave: { role: 'enclave', path: '/dev/sgx_enclave', driver: 'in-kernel', mode: 0o666 },
        provision: { role: 'provision', path: '/dev/sgx_provision', driver: 'in-kernel', mode: 0o660 },
        searched: [],
        notCharDevices: [],
      }),
      {
        cdiVersion: '0.5.0',
        kind: 'ccnodes.io/sgx',
        devices: [
          {
            name: 'enclave',
            containerEdits: {
              deviceNodes: [
                rw('/dev/sgx_enclave', '/dev/sgx_enclave'),
                rw('/dev/sgx/enclave', '/dev/sgx_enclave'),
              ],
            },
          },
          {
            name: 'provision',
            containerEdits: {
              deviceNodes: [
                rw('/dev/sgx_provision', '/dev/sgx_provision'),
                rw('/dev/sgx/provision', '/dev/sgx_provision'),
              ],
            },
          },
        ],
      } satisfies CdiSpec,
    );
  });

  test('isgx driver: the enclave device only; no device for a missing node', () => {
    const spec = cdiSpec({
      enclave: { role: 'enclave', path: '/dev/isgx', driver: 'isgx', mode: 0o666 },
      searched: [],
      notCharDevices: [],
    });
    assert.deepEqual(spec.devices, [
      { name: 'enclave', containerEdits: { deviceNodes: [rw('/dev/isgx', '/dev/isgx')] } },
    ]);
    assert.deepEqual(cdiSpec({ searched: [], notCharDevices: [] }).devices, []);
  });
});

describe('device plugin in CDI mode', () => {
  test('writes the spec, allocates CDI devices (no device specs), and rewrites the spec when a node goes', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cdi-'));
    const cdiDir = join(dir, 'cdi');
    const peer = await KubeletPeer.start(dir);
    const tree = makeFakeSgxTree();
    const running: { daemon?: SgxDevicePlugin } = {};
    t.after(async () => {
      await running.daemon?.stop();
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
      tree.remove();
    });
    running.daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: tree.devRoot,
      sysRoot: tree.sysRoot,
      epcMode: 'auto',
      cdiSpecDir: cdiDir,
      healthIntervalMs: 3_600_000,
    });
    const daemon = running.daemon;
    const specPath = join(cdiDir, CDI_SPEC_FILE);
    const spec = JSON.parse(readFileSync(specPath, 'utf8')) as CdiSpec;
    assert.deepEqual(
      spec.devices.map((d) => d.name),
      ['enclave', 'provision'],
    );
    assert.equal(statSync(specPath).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(cdiDir), [CDI_SPEC_FILE], 'no temp file left behind');

    const epc = await peer.waitForRegistration(EPC);
    const epcAnswer = await epc.allocate([['0', '1']]);
    const epcResponse = epcAnswer.container_responses[0];
    assert.ok(epcResponse);
    assert.deepEqual(epcResponse.cdi_devices, [{ name: 'ccnodes.io/sgx=enclave' }]);
    assert.deepEqual(epcResponse.devices, []);
    assert.equal(epcResponse.envs['CCNODES_SGX_EPC_MIB'], '2');
    const provision = await peer.waitForRegistration(PROVISION);
    const provAnswer = await provision.allocate([['sgx-provision-0']]);
    assert.deepEqual(provAnswer.container_responses[0]?.cdi_devices, [{ name: 'ccnodes.io/sgx=provision' }]);
    assert.ok(await peer.waitForRegistration(ENCLAVE));

    unlinkSync(tree.dev('/dev/sgx_provision'));
    await daemon.rescan();
    const after = JSON.parse(readFileSync(specPath, 'utf8')) as CdiSpec;
    assert.deepEqual(
      after.devices.map((d) => d.name),
      ['enclave'],
    );
  });

  test('a simulated node writes no spec and names no CDI device', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cdi-sim-'));
    const peer = await KubeletPeer.start(dir);
    const running: { daemon?: SgxDevicePlugin } = {};
    t.after(async () => {
      await running.daemon?.stop();
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
    });
    running.daemon = await startSgxDevicePlugin({
      pluginDir: dir,
      devRoot: dir,
      sysRoot: dir,
      epcMode: 'auto',
      simulate: 'Standard_DC1s_v2',
      nodeName: 'n',
      nodeSettings: () => Promise.resolve({ statusPatch: [], nodePatch: [] }),
      cdiSpecDir: join(dir, 'cdi'),
    });
    assert.equal(existsSync(join(dir, 'cdi')), false);
    const epc = await peer.waitForRegistration(EPC);
    const answer = await epc.allocate([['0']]);
    const response = answer.container_responses[0];
    assert.ok(response);
    assert.deepEqual(response.cdi_devices, []);
    assert.equal(response.envs['CCNODES_SGX_SIMULATED'], '1');
  });
});
