/**
 * The SGX allocation handlers as a specification, called directly (no gRPC): what each resource
 * registers, when it is healthy, what Allocate injects, and which device IDs every call accepts.
 * Written from the gaps `npm run mutate -- src/node/device-plugin/sgx-handlers.ts` found (docs/testing.md).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  enclaveHandler,
  epcMibHandler,
  provisionHandler,
  type SgxDeviceNodes,
  type SgxNodeState,
} from '../../src/node/device-plugin/index.ts';

const ENCLAVE_NODE = { role: 'enclave', path: '/dev/sgx_enclave', driver: 'in-kernel', mode: 0o666 } as const;
const PROVISION_NODE = {
  role: 'provision',
  path: '/dev/sgx_provision',
  driver: 'in-kernel',
  mode: 0o660,
} as const;

function nodes(parts: { enclave?: boolean; provision?: boolean }): SgxDeviceNodes {
  return {
    ...(parts.enclave === true ? { enclave: ENCLAVE_NODE } : {}),
    ...(parts.provision === true ? { provision: PROVISION_NODE } : {}),
    searched: [],
    notCharDevices: [],
  };
}

function state(extra: Partial<SgxNodeState> = {}): SgxNodeState {
  return { nodes: nodes({ enclave: true, provision: true }), epcMounts: [], epcEnvs: {}, ...extra };
}

const request = (ids: string[]) => ({ devices_ids: ids });

test('no resource asks kubelet for PreStartContainer; only EPC offers preferred allocation', () => {
  const s = state();
  for (const h of [epcMibHandler(4, s), enclaveHandler(2, s), provisionHandler(2, s)]) {
    assert.equal(h.options.pre_start_required, false, h.resourceName);
  }
  assert.equal(epcMibHandler(4, s).options.get_preferred_allocation_available, true);
  assert.equal(enclaveHandler(2, s).options.get_preferred_allocation_available, false);
  assert.equal(provisionHandler(2, s).options.get_preferred_allocation_available, false);
});

test('provision devices follow the provisioning node, enclave and EPC devices the enclave node', () => {
  const s = state({ nodes: nodes({ enclave: true }) });
  const prov = provisionHandler(2, s);
  assert.equal(prov.healthy(), false);
  assert.deepEqual(
    prov.listDevices().map((d) => d.health),
    ['Unhealthy', 'Unhealthy'],
  );
  assert.throws(() => prov.allocate(request(['sgx-provision-0'])), {
    code: 'ERR_DEVICE_PLUGIN_UNHEALTHY_DEVICE',
  });
  assert.equal(enclaveHandler(2, s).healthy(), true);
  assert.equal(epcMibHandler(2, s).healthy(), true);

  const noEnclave = state({ nodes: nodes({ provision: true }) });
  assert.equal(provisionHandler(2, noEnclave).healthy(), true);
  assert.equal(enclaveHandler(2, noEnclave).healthy(), false);
  assert.equal(epcMibHandler(2, noEnclave).healthy(), false);
});

test('a simulated node injects marker env only, even where device nodes happen to exist', () => {
  const s = state({ simulatedSku: 'Standard_DC2s_v3' });
  for (const h of [enclaveHandler(1, s), provisionHandler(1, s)]) {
    const id = h.listDevices()[0]!.ID;
    const res = h.allocate(request([id]));
    assert.deepEqual(res.devices, [], h.resourceName);
    assert.deepEqual(res.cdi_devices, [], h.resourceName);
    assert.deepEqual(res.envs, { CCNODES_SGX_SIMULATED: '1', CCNODES_SGX_SIMULATED_SKU: 'Standard_DC2s_v3' });
  }
  const cdi = state({ simulatedSku: 'Standard_DC2s_v3', cdi: true });
  assert.deepEqual(enclaveHandler(1, cdi).allocate(request(['sgx-enclave-0'])).cdi_devices, []);
});

test('GetPreferredAllocation refuses IDs that were never advertised, in either list', () => {
  const h = epcMibHandler(4, state());
  assert.throws(
    () =>
      h.preferredAllocation({
        available_deviceIDs: ['0', '4'],
        must_include_deviceIDs: [],
        allocation_size: 1,
      }),
    { code: 'ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE' },
  );
  assert.throws(
    () =>
      h.preferredAllocation({
        available_deviceIDs: ['0', '1'],
        must_include_deviceIDs: ['9'],
        allocation_size: 1,
      }),
    { code: 'ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE' },
  );
  assert.deepEqual(
    h.preferredAllocation({
      available_deviceIDs: ['3', '1', '0'],
      must_include_deviceIDs: ['1'],
      allocation_size: 2,
    }).deviceIDs,
    ['1', '0'],
  );
});

test('only EPC allocations carry the EPC env and mounts; enclave and provision slots get their device node', () => {
  const s = state({
    epcEnvs: { SGX_AESM_ADDR: '1' },
    epcMounts: [{ container_path: '/var/run/aesmd', host_path: '/var/run/aesmd', read_only: true }],
  });
  const epc = epcMibHandler(8, s).allocate(request(['0', '1']));
  assert.deepEqual(epc.envs, { CCNODES_SGX_EPC_MIB: '2', SGX_AESM_ADDR: '1' });
  assert.equal(epc.mounts.length, 1);
  for (const [h, id, path] of [
    [enclaveHandler(2, s), 'sgx-enclave-1', '/dev/sgx_enclave'],
    [provisionHandler(2, s), 'sgx-provision-1', '/dev/sgx_provision'],
  ] as const) {
    const res = h.allocate(request([id]));
    assert.deepEqual(res.envs, {}, h.resourceName);
    assert.deepEqual(res.mounts, [], h.resourceName);
    assert.deepEqual(
      res.devices.map((d) => d.host_path),
      [path, path],
      h.resourceName,
    );
  }
});

test('slot IDs must carry their resource prefix exactly, not just a prefix of the same length', () => {
  const s = state();
  const enclave = enclaveHandler(2, s);
  const provision = provisionHandler(2, s);
  for (const id of ['sgx-enclave_0', 'SGX-ENCLAVE-0', 'sgx-provis-1']) {
    assert.throws(() => enclave.allocate(request([id])), { code: 'ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE' }, id);
  }
  for (const id of ['sgx_provision-1', 'sgx-enclave-0', 'sgx-provision-2']) {
    assert.throws(() => provision.allocate(request([id])), { code: 'ERR_DEVICE_PLUGIN_UNKNOWN_DEVICE' }, id);
  }
  assert.equal(enclave.allocate(request(['sgx-enclave-1'])).devices.length, 2);
});
