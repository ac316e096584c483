import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeNodeApi, labelNode, labelPatch } from '../../src/kube/index.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.ts';

const DOCTOR_LABELS = {
  'ccnodes.io/sgx': 'true',
  'ccnodes.io/epc-mib': '112',
  'ccnodes.io/flc': 'true',
  'ccnodes.io/fsgsbase': 'true',
  'ccnodes.io/simulated': 'false',
};

describe('node labeller on a fake API server', () => {
  let api: FakeApiServer;
  before(async () => {
    api = await startFakeApiServer({
      nodes: {
        fresh: {
          metadata: { name: 'fresh', resourceVersion: '41', labels: { 'kubernetes.io/os': 'linux' } },
        },
        done: { metadata: { name: 'done', resourceVersion: '7', labels: { ...DOCTOR_LABELS } } },
        bare: { metadata: { name: 'bare', resourceVersion: '3' } },
      },
    });
  });
  after(async () => {
    await api.close();
  });

  test('PATCHes only missing labels, as a JSON patch guarded by the resourceVersion', async () => {
    const ops = await labelNode({
      api: kubeNodeApi(api.kubeConfig()),
      nodeName: 'fresh',
      labels: DOCTOR_LABELS,
    });
    const sent = api.patches().at(-1);
    assert.ok(sent);
    assert.equal(sent.path, '/api/v1/nodes/fresh');
    assert.equal(sent.contentType, 'application/json-patch+json');
    assert.deepEqual(sent.body, ops);
    assert.deepEqual(ops[0], { op: 'test', path: '/metadata/resourceVersion', value: '41' });
    assert.ok(ops.some((o) => o.path === '/metadata/labels/ccnodes.io~1epc-mib' && o.value === '112'));
    assert.equal(ops.length, 6);
  });

  test('an up-to-date node gets no PATCH', async () => {
    const before = api.patches().length;
    const ops = await labelNode({
      api: kubeNodeApi(api.kubeConfig()),
      nodeName: 'done',
      labels: DOCTOR_LABELS,
    });
    assert.deepEqual(ops, []);
    assert.equal(api.patches().length, before);
  });

  test('a node without labels gets the whole map; dry-run sends nothing', async () => {
    const before = api.patches().length;
    const ops = await labelNode({
      api: kubeNodeApi(api.kubeConfig()),
      nodeName: 'bare',
      labels: DOCTOR_LABELS,
      dryRun: true,
    });
    assert.deepEqual(ops[1], { op: 'add', path: '/metadata/labels', value: DOCTOR_LABELS });
    assert.equal(api.patches().length, before);
  });

  test('a missing node is a typed error', async () => {
    await assert.rejects(
      labelNode({ api: kubeNodeApi(api.kubeConfig()), nodeName: 'nope', labels: DOCTOR_LABELS }),
      (e: { code?: string; message: string }) =>
        e.code === 'ERR_KUBE_NODE_PATCH' && e.message.includes('nope'),
    );
  });

  test('a refused PATCH is a typed error', async () => {
    const denying = await startFakeApiServer({
      nodes: { n: { metadata: { name: 'n' } } },
      failPatchWith: 403,
    });
    try {
      await assert.rejects(
        labelNode({ api: kubeNodeApi(denying.kubeConfig()), nodeName: 'n', labels: DOCTOR_LABELS }),
        (e: { code?: string }) => e.code === 'ERR_KUBE_NODE_PATCH',
      );
    } finally {
      await denying.close();
    }
  });

  test('labelPatch changes a label whose value differs', () => {
    const ops = labelPatch(
      { metadata: { labels: { 'ccnodes.io/sgx': 'false' } } },
      { 'ccnodes.io/sgx': 'true' },
    );
    assert.deepEqual(ops, [{ op: 'add', path: '/metadata/labels/ccnodes.io~1sgx', value: 'true' }]);
  });
});
