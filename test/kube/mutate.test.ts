import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_WEBHOOK_CONFIG,
  analysePod,
  mutatePod,
  mutatePodWithResult,
  parseAdmissionReview,
  pointer,
  type WebhookConfig,
} from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { AZURE, INTEL, admissionReview, container, pod, type Json } from './fixtures.ts';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call -- tests read deep into patched pods */
type Pod = any;

function mutateReview(
  review: Json,
  config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG,
): { patched: Pod; patch: unknown[] } {
  const req = parseAdmissionReview(review);
  const patch = mutatePod(req.object, config, { namespace: req.namespace ?? 'default' });
  const patched = applyPatch(req.object, patch) as Pod;
  // Idempotent: the patched pod needs nothing more.
  assert.deepEqual(
    mutatePod(patched, config, { namespace: req.namespace ?? 'default' }),
    [],
    'second pass must be empty',
  );
  return { patched, patch };
}

interface Case {
  readonly name: string;
  readonly review: Json;
  readonly config?: WebhookConfig;
  readonly check: (p: Pod, patch: unknown[]) => void;
}

const oop = (c: any): void => {
  assert.ok(c.env.some((e: any) => e.name === 'SGX_AESM_ADDR' && e.value === '1'));
  assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/var/run/aesmd' && m.name === 'aesmd-socket'));
};

const cases: Case[] = [
  {
    name: 'Azure dialect 10 MiB gains 10Mi bytes, enclave, out-of-process quoting, toleration, affinity, annotation',
    review: admissionReview(pod([container('app', { [AZURE]: '10' })])),
    check: (p) => {
      const l = p.spec.containers[0].resources.limits;
      assert.equal(l[AZURE], '10');
      assert.equal(l[INTEL], '10Mi');
      assert.equal(l['sgx.intel.com/enclave'], '1');
      assert.equal(l['sgx.intel.com/provision'], undefined);
      oop(p.spec.containers[0]);
      assert.deepEqual(p.spec.volumes, [
        { name: 'aesmd-socket', hostPath: { path: '/var/run/aesmd', type: 'DirectoryOrCreate' } },
      ]);
      assert.deepEqual(p.spec.tolerations, [
        { key: 'ccnodes.io/pool', operator: 'Equal', value: 'confidential', effect: 'NoSchedule' },
      ]);
      assert.deepEqual(
        p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
        [{ matchExpressions: [{ key: 'ccnodes.io/pool', operator: 'In', values: ['confidential'] }] }],
      );
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '10');
      assert.equal(p.metadata.annotations['sgx.intel.com/epc'], '10Mi');
    },
  },
  {
    name: 'Intel dialect 10Mi gains Azure 10',
    review: admissionReview(pod([container('app', { [INTEL]: '10Mi' })])),
    check: (p) => {
      const l = p.spec.containers[0].resources.limits;
      assert.equal(l[AZURE], '10');
      assert.equal(l[INTEL], '10Mi');
    },
  },
  {
    name: 'Intel bytes round up: 10M (decimal) → 10 MiB, 1 byte → 1 MiB, 1.5Gi → 1536 MiB, 0.5Mi → 1 MiB',
    review: admissionReview(
      pod([
        container('a', { [INTEL]: '10M' }),
        container('b', { [INTEL]: '1' }),
        container('c', { [INTEL]: '1.5Gi' }),
        container('d', { [INTEL]: '0.5Mi' }),
        container('e', { [INTEL]: '10485761' }),
      ]),
    ),
    check: (p) => {
      assert.deepEqual(
        p.spec.containers.map((c: any) => c.resources.limits[AZURE]),
        ['10', '1', '1536', '1', '11'],
      );
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], String(10 + 1 + 1536 + 1 + 11));
    },
  },
  {
    name: 'numbers (not strings) are read as quantities',
    review: admissionReview(pod([container('app', { [AZURE]: 8 })])),
    check: (p) => {
      assert.equal(p.spec.containers[0].resources.limits[INTEL], '8Mi');
    },
  },
  {
    name: 'EPC only in requests is copied to limits in both dialects',
    review: admissionReview(pod([container('app', undefined, { [AZURE]: '4', cpu: '100m' })])),
    check: (p) => {
      const r = p.spec.containers[0].resources;
      assert.equal(r.limits[AZURE], '4');
      assert.equal(r.limits[INTEL], '4Mi');
      assert.equal(r.requests[INTEL], '4Mi');
      assert.equal(r.limits['sgx.intel.com/enclave'], '1');
    },
  },
  {
    name: 'pod with no annotations, no env, no volumes: parents are created first',
    review: admissionReview({
      apiVersion: 'v1',
      kind: 'Pod',
      spec: { containers: [container('app', { [AZURE]: '1' })] },
    }),
    check: (p, patch) => {
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '1');
      assert.ok(patch.some((op: any) => op.path === '/metadata' && op.op === 'add'));
    },
  },
  {
    name: 'null maps (annotations: null, resources.limits: null) are replaced, not crashed on',
    review: admissionReview({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { annotations: null },
      spec: {
        volumes: null,
        containers: [{ name: 'app', env: null, resources: { limits: null, requests: { [INTEL]: '2Mi' } } }],
      },
    }),
    check: (p) => {
      assert.equal(p.spec.containers[0].resources.limits[INTEL], '2Mi');
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '2');
    },
  },
  {
    name: 'pod asking for no SGX: nothing at all',
    review: admissionReview(pod([container('web', { cpu: '1', memory: '1Gi' })])),
    check: (_p, patch) => {
      assert.deepEqual(patch, []);
    },
  },
  {
    name: 'pod with no resources at all: nothing',
    review: admissionReview(pod([container('web')])),
    check: (_p, patch) => {
      assert.deepEqual(patch, []);
    },
  },
  {
    name: 'kube-system is excluded by default',
    review: admissionReview(pod([container('app', { [AZURE]: '10' })]), 'kube-system'),
    check: (_p, patch) => {
      assert.deepEqual(patch, []);
    },
  },
  {
    name: 'annotation ccnodes.io/sgx=false opts out',
    review: admissionReview(
      pod([container('app', { [AZURE]: '10' })], { annotations: { 'ccnodes.io/sgx': 'false' } }),
    ),
    check: (_p, patch) => {
      assert.deepEqual(patch, []);
    },
  },
  {
    name: 'annotation ccnodes.io/sgx=true without EPC: scheduling and quoting set-up, no EPC, no annotation',
    review: admissionReview(pod([container('client')], { annotations: { 'ccnodes.io/sgx': 'true' } })),
    check: (p) => {
      assert.equal(p.spec.containers[0].resources, undefined);
      oop(p.spec.containers[0]);
      assert.equal(p.spec.tolerations.length, 1);
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], undefined);
    },
  },
  {
    name: 'several containers: only EPC users get enclave and quoting; a sidecar without EPC is untouched',
    review: admissionReview(
      pod([
        container('app', { [AZURE]: '6' }),
        container('proxy', { cpu: '50m' }),
        container('job', { [INTEL]: '2Mi' }),
      ]),
    ),
    check: (p) => {
      const [app, proxy, job] = p.spec.containers;
      assert.equal(app.resources.limits['sgx.intel.com/enclave'], '1');
      assert.equal(job.resources.limits['sgx.intel.com/enclave'], '1');
      assert.equal(proxy.resources.limits['sgx.intel.com/enclave'], undefined);
      assert.equal(proxy.env, undefined);
      oop(app);
      oop(job);
      assert.equal(p.spec.volumes.length, 1);
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '8');
    },
  },
  {
    name: 'init containers and sidecars: effective total follows the scheduler rule',
    review: admissionReview(
      pod([container('app', { [AZURE]: '10' })], {
        initContainers: [
          container('sidecar', { [AZURE]: '3' }, undefined, { restartPolicy: 'Always' }),
          container('setup', { [AZURE]: '20' }),
        ],
      }),
    ),
    check: (p) => {
      // steady: app 10 + sidecar 3 = 13; setup runs beside the sidecar: 20 + 3 = 23.
      assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '23');
      assert.equal(p.spec.initContainers[1].resources.limits[INTEL], '20Mi');
      assert.equal(p.spec.initContainers[0].resources.limits['sgx.intel.com/enclave'], '1');
    },
  },
  {
    name: 'existing env, mounts, volumes, tolerations and annotations are appended to, not replaced',
    review: admissionReview(
      pod(
        [
          container('app', { [AZURE]: '2' }, undefined, {
            env: [{ name: 'A', value: 'b' }],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          }),
        ],
        {
          annotations: { team: 'x' },
          spec: {
            volumes: [{ name: 'data', emptyDir: {} }],
            tolerations: [{ key: 'other', operator: 'Exists' }],
          },
        },
      ),
    ),
    check: (p) => {
      const c = p.spec.containers[0];
      assert.equal(c.env[0].name, 'A');
      assert.equal(c.env.length, 2);
      assert.equal(c.volumeMounts.length, 2);
      assert.equal(p.spec.volumes.length, 2);
      assert.equal(p.spec.tolerations.length, 2);
      assert.equal(p.metadata.annotations.team, 'x');
    },
  },
  {
    name: 'a pod that already tolerates everything and already mounts /var/run/aesmd gets no duplicates',
    review: admissionReview(
      pod(
        [
          container('app', { [AZURE]: '2' }, undefined, {
            env: [{ name: 'SGX_AESM_ADDR', value: 'yes' }],
            volumeMounts: [{ name: 'mine', mountPath: '/var/run/aesmd' }],
          }),
        ],
        {
          spec: {
            volumes: [{ name: 'mine', hostPath: { path: '/var/run/aesmd' } }],
            tolerations: [{ operator: 'Exists' }],
          },
        },
      ),
    ),
    check: (p) => {
      const c = p.spec.containers[0];
      assert.equal(c.env.length, 1);
      assert.equal(c.volumeMounts.length, 1);
      assert.equal(p.spec.volumes.length, 1);
      assert.equal(p.spec.tolerations.length, 1);
    },
  },
  {
    name: 'in-process quoting (ccnodes.io/quoting) adds provision and no aesmd socket',
    review: admissionReview(
      pod([container('app', { [INTEL]: '10Mi' })], { annotations: { 'ccnodes.io/quoting': 'in-process' } }),
    ),
    check: (p) => {
      const c = p.spec.containers[0];
      assert.equal(c.resources.limits['sgx.intel.com/provision'], '1');
      assert.equal(c.env, undefined);
      assert.equal(p.spec.volumes, undefined);
    },
  },
  {
    name: 'Intel quote-provider naming a container: only that container gets provision',
    review: admissionReview(
      pod([container('a', { [INTEL]: '1Mi' }), container('b', { [INTEL]: '1Mi' })], {
        annotations: { 'sgx.intel.com/quote-provider': 'b' },
      }),
    ),
    check: (p) => {
      assert.equal(p.spec.containers[0].resources.limits['sgx.intel.com/provision'], undefined);
      assert.equal(p.spec.containers[1].resources.limits['sgx.intel.com/provision'], '1');
    },
  },
  {
    name: 'aesmd sidecar pattern: the socket volume is an in-memory emptyDir',
    review: admissionReview(
      pod([container('aesmd', { [INTEL]: '1Mi' }), container('app', { [INTEL]: '4Mi' })], {
        annotations: { 'sgx.intel.com/quote-provider': 'aesmd' },
      }),
    ),
    check: (p) => {
      assert.deepEqual(p.spec.volumes, [{ name: 'aesmd-socket', emptyDir: { medium: 'Memory' } }]);
      assert.equal(p.spec.containers[0].resources.limits['sgx.intel.com/provision'], undefined);
    },
  },
  {
    name: 'quoting none: only resources, tolerations, affinity',
    review: admissionReview(
      pod([container('app', { [AZURE]: '1' })], { annotations: { 'ccnodes.io/quoting': 'none' } }),
    ),
    check: (p) => {
      assert.equal(p.spec.containers[0].env, undefined);
      assert.equal(p.spec.containers[0].resources.limits['sgx.intel.com/provision'], undefined);
    },
  },
  {
    name: 'existing required node affinity terms each gain the pool requirement',
    review: admissionReview(
      pod([container('app', { [AZURE]: '1' })], {
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
                  { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] },
                ],
              },
            },
          },
        },
      }),
    ),
    check: (p) => {
      const terms =
        p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
      assert.equal(terms[0].matchExpressions.length, 2);
      assert.equal(terms[1].matchExpressions[0].key, 'ccnodes.io/pool');
      assert.equal(terms[1].matchFields.length, 1);
    },
  },
  {
    name: 'preferred affinity and extra tolerations from the config',
    review: admissionReview(pod([container('app', { [AZURE]: '1' })])),
    config: {
      ...DEFAULT_WEBHOOK_CONFIG,
      affinity: 'preferred',
      tolerations: [
        ...DEFAULT_WEBHOOK_CONFIG.tolerations,
        { key: 'ccnodes.io/simulated', operator: 'Equal', value: 'true', effect: 'NoSchedule' },
      ],
    },
    check: (p) => {
      assert.equal(
        p.spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight,
        100,
      );
      assert.equal(p.spec.tolerations.length, 2);
    },
  },
  {
    name: 'both dialects already present and enclave set: only pod-level additions',
    review: admissionReview(
      pod([container('app', { [AZURE]: '10', [INTEL]: '10Mi', 'sgx.intel.com/enclave': 1 })]),
    ),
    check: (p, patch) => {
      assert.equal(p.spec.containers[0].resources.limits['sgx.intel.com/enclave'], 1);
      assert.ok(!patch.some((op: any) => String(op.path).includes('/resources/')));
    },
  },
];

describe('mutatePod (AdmissionReview fixtures)', () => {
  for (const c of cases) {
    test(c.name, () => {
      const { patched, patch } = mutateReview(c.review, c.config);
      c.check(patched, patch);
    });
  }

  test('keys with "/" are escaped as ~1 and "~" as ~0', () => {
    const patch = mutatePod(pod([container('app', { [AZURE]: '1' })]), DEFAULT_WEBHOOK_CONFIG, {});
    const paths = patch.map((op) => op.path);
    assert.ok(paths.includes('/spec/containers/0/resources/limits/sgx.intel.com~1epc'));
    assert.ok(paths.includes('/spec/containers/0/resources/limits/sgx.intel.com~1enclave'));
    const withTilde = pod([container('app', { [AZURE]: '1' })], { annotations: { 'a~b': 'c' } });
    const again = mutatePod(withTilde, DEFAULT_WEBHOOK_CONFIG, {});
    assert.ok(again.some((op) => op.path === '/metadata/annotations/ccnodes.io~1epc-total-mib'));
    assert.equal(pointer(['metadata', 'annotations', 'a~b/c']), '/metadata/annotations/a~0b~1c');
  });

  test('the request namespace wins over metadata.namespace', () => {
    const p = pod([container('app', { [AZURE]: '1' })]);
    (p['metadata'] as Json)['namespace'] = 'kube-system';
    assert.deepEqual(mutatePod(p, DEFAULT_WEBHOOK_CONFIG, {}), []);
    assert.notDeepEqual(mutatePod(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'apps' }), []);
  });

  test('malformed pods and quantities are typed errors naming the field', () => {
    assert.throws(
      () => mutatePod(pod([container('app', { [INTEL]: '10 Mi' })])),
      (e: any) => e.code === 'ERR_KUBE_QUANTITY' && e.message.includes('containers[0]'),
    );
    assert.throws(() => mutatePod(pod([container('app', { [AZURE]: '-1' })])), /negative/);
    assert.throws(
      () => mutatePod({ spec: { containers: {} } }),
      (e: any) => e.code === 'ERR_KUBE_POD_SHAPE' && e.message.includes('spec.containers'),
    );
    assert.throws(
      () => mutatePod('pod'),
      (e: any) => e.code === 'ERR_KUBE_POD_SHAPE',
    );
  });

  test('mutatePodWithResult returns the same patch and the patched pod', () => {
    const p = pod([container('app', { [AZURE]: '3' })]);
    const r = mutatePodWithResult(p);
    assert.deepEqual(r.pod, applyPatch(p, r.patch));
    assert.equal(r.analysis.totalEpcMib, 3n);
    assert.equal(analysePod(pod([container('w')])).sgx, false);
  });
});
