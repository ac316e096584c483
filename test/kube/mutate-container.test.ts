import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  DEFAULT_LAUNCHER_IMAGE,
  DEFAULT_WEBHOOK_CONFIG,
  mutatePod,
  mutatePodWithResult,
  parseAdmissionReview,
  reviewMutation,
  reviewValidation,
  validatePod,
  type WebhookConfig,
} from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { AZURE, INTEL, admissionReview, container, pod, type Json } from './fixtures.ts';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument -- tests read deep into patched pods */
type Pod = any;

const CC = 'ccnodes.io/confidential-container';
const LAUNCH = [
  '/ccnodes/launcher/nodejs/bin/node',
  '/ccnodes/launcher/app/dist/ccnodes.cjs',
  'container',
  'run',
];

/** Mutates through an AdmissionReview, applies the patch with the tests' own applier, checks idempotence. */
function wrap(p: Json, config: WebhookConfig = DEFAULT_WEBHOOK_CONFIG, namespace = 'default'): Pod {
  const req = parseAdmissionReview(admissionReview(p, namespace));
  const patch = mutatePod(req.object, config, { namespace });
  for (const op of patch) assert.equal(op.op, 'add');
  const patched = applyPatch(req.object, patch) as Pod;
  assert.deepEqual(mutatePod(patched, config, { namespace }), [], 'a mutated pod is admitted unchanged');
  return patched;
}

function app(extra: Json = {}): Json {
  return container('app', undefined, undefined, {
    command: ['node', 'server.js'],
    args: ['--port', '8080'],
    ...extra,
  });
}

describe('confidential containers in the admission webhook', () => {
  test('an annotated pod gets the launcher, the manifest ConfigMap, EPC and the wrapped command', () => {
    const p = wrap(pod([app()], { annotations: { [CC]: 'db-service-app' } }));
    const c = p.spec.containers[0];
    assert.deepEqual(c.command, [
      ...LAUNCH,
      '/ccnodes/app/app.yaml',
      '--sig',
      '/ccnodes/app/app.sig',
      '--hash-helper',
      'off',
      '--',
    ]);
    // The container's args follow the launcher's `--`: the program's extra arguments.
    assert.deepEqual(c.args, ['--port', '8080']);
    assert.deepEqual(p.spec.initContainers, [
      {
        name: 'ccnodes-launcher',
        image: DEFAULT_LAUNCHER_IMAGE,
        command: ['/nodejs/bin/node', '-e', p.spec.initContainers[0].command[2], '/ccnodes/launcher'],
        volumeMounts: [{ name: 'ccnodes-launcher', mountPath: '/ccnodes/launcher' }],
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ]);
    assert.match(p.spec.initContainers[0].command[2], /cpSync/);
    assert.deepEqual(
      p.spec.volumes.filter((v: any) => v.name.startsWith('ccnodes-')),
      [
        { name: 'ccnodes-launcher', emptyDir: { medium: 'Memory' } },
        {
          name: 'ccnodes-app',
          configMap: {
            name: 'db-service-app',
            items: [
              { key: 'app.yaml', path: 'app.yaml' },
              { key: 'app.sig', path: 'app.sig' },
            ],
          },
        },
      ],
    );
    assert.deepEqual(
      c.volumeMounts.filter((m: any) => m.name.startsWith('ccnodes-')),
      [
        { name: 'ccnodes-launcher', mountPath: '/ccnodes/launcher', readOnly: true },
        { name: 'ccnodes-app', mountPath: '/ccnodes/app/app.yaml', subPath: 'app.yaml', readOnly: true },
        { name: 'ccnodes-app', mountPath: '/ccnodes/app/app.sig', subPath: 'app.sig', readOnly: true },
      ],
    );
    // The default EPC, then the existing EPC rules: both dialects, the enclave device, quoting, pool.
    assert.equal(c.resources.requests[AZURE], '64');
    assert.equal(c.resources.limits[AZURE], '64');
    assert.equal(c.resources.limits[INTEL], '64Mi');
    assert.equal(c.resources.limits['sgx.intel.com/enclave'], '1');
    assert.ok(c.env.some((e: any) => e.name === 'SGX_AESM_ADDR' && e.value === '1'));
    assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/var/run/aesmd'));
    assert.ok(p.spec.tolerations.some((t: any) => t.key === 'ccnodes.io/pool'));
    assert.ok(p.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution);
    assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '64');
  });

  test('the EPC, app directory and target container annotations are honoured', () => {
    const p = wrap(
      pod([container('sidecar'), app({ name: 'db' })], {
        annotations: {
          [CC]: 'cc.app-1',
          'ccnodes.io/confidential-container-epc-mib': '32',
          'ccnodes.io/confidential-container-dir': '/app/',
          'ccnodes.io/confidential-container-target': 'db',
        },
      }),
    );
    assert.equal(p.spec.containers[0].command, undefined, 'the other container is left alone');
    const c = p.spec.containers[1];
    assert.deepEqual(c.command.slice(4), [
      '/app/app.yaml',
      '--sig',
      '/app/app.sig',
      '--hash-helper',
      'off',
      '--',
    ]);
    assert.ok(c.volumeMounts.some((m: any) => m.mountPath === '/app/app.yaml' && m.subPath === 'app.yaml'));
    assert.equal(c.resources.limits[AZURE], '32');
    assert.equal(p.metadata.annotations['ccnodes.io/epc-total-mib'], '32');
  });

  test('an EPC request of the container is kept, in either dialect', () => {
    const p = wrap(pod([container('app', { [INTEL]: '128Mi' })], { annotations: { [CC]: 'cm' } }));
    const c = p.spec.containers[0];
    assert.equal(c.resources.limits[INTEL], '128Mi');
    assert.equal(c.resources.limits[AZURE], '128');
    assert.equal(c.command[0], LAUNCH[0]);
  });

  test('works alongside existing volumes, init containers, env, tolerations and in-process quoting', () => {
    const p = wrap(
      pod(
        [
          app({
            env: [{ name: 'MODE', value: 'prod' }],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          }),
        ],
        {
          annotations: { [CC]: 'cm', 'ccnodes.io/quoting': 'in-process' },
          initContainers: [container('migrate')],
          spec: {
            volumes: [{ name: 'data', emptyDir: {} }],
            tolerations: [{ key: 'ccnodes.io/pool', operator: 'Exists', effect: 'NoSchedule' }],
          },
        },
      ),
    );
    assert.deepEqual(
      p.spec.initContainers.map((c: any) => c.name),
      ['migrate', 'ccnodes-launcher'],
    );
    assert.deepEqual(
      p.spec.volumes.map((v: any) => v.name),
      ['data', 'ccnodes-launcher', 'ccnodes-app'],
    );
    const c = p.spec.containers[0];
    assert.equal(c.volumeMounts[0].mountPath, '/data');
    assert.equal(c.resources.limits['sgx.intel.com/provision'], '1');
    assert.ok(!(c.env ?? []).some((e: any) => e.name === 'SGX_AESM_ADDR'));
    assert.equal(p.spec.tolerations.length, 1, 'an existing matching toleration is not duplicated');
  });

  test('excluded namespaces are left alone, annotation or not', () => {
    const p = pod([app()], { annotations: { [CC]: 'cm' } });
    assert.deepEqual(mutatePod(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'kube-system' }), []);
  });

  test('the preview (`ccnodes kube mutate`) shows the wrapped pod', () => {
    const r = mutatePodWithResult(pod([app()], { annotations: { [CC]: 'cm' } }), undefined, {
      namespace: 'default',
    });
    assert.equal(r.analysis.reason, `annotation ${CC}`);
    assert.equal((r.pod as Pod).spec.containers[0].command[3], 'run');
  });

  const refused: { name: string; annotations: Json; containers?: Json[]; spec?: Json; field: string }[] = [
    { name: 'upper-case ConfigMap name', annotations: { [CC]: 'My_Config' }, field: CC },
    { name: 'empty ConfigMap name', annotations: { [CC]: '' }, field: CC },
    {
      name: 'EPC not a number',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-epc-mib': '64Mi' },
      field: 'ccnodes.io/confidential-container-epc-mib',
    },
    {
      name: 'EPC zero',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-epc-mib': '0' },
      field: 'ccnodes.io/confidential-container-epc-mib',
    },
    {
      name: 'EPC over 65536',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-epc-mib': '65537' },
      field: 'ccnodes.io/confidential-container-epc-mib',
    },
    {
      name: 'relative app directory',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-dir': 'app' },
      field: 'ccnodes.io/confidential-container-dir',
    },
    {
      name: 'app directory with ..',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-dir': '/app/../etc' },
      field: 'ccnodes.io/confidential-container-dir',
    },
    {
      name: 'app directory inside the launcher volume',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-dir': '/ccnodes/launcher/x' },
      field: 'ccnodes.io/confidential-container-dir',
    },
    {
      name: 'unknown target container',
      annotations: { [CC]: 'cm', 'ccnodes.io/confidential-container-target': 'nope' },
      field: 'ccnodes.io/confidential-container-target',
    },
    {
      name: 'a detail annotation without the main one',
      annotations: { 'ccnodes.io/confidential-container-epc-mib': '64' },
      field: 'ccnodes.io/confidential-container-epc-mib',
    },
    {
      name: 'SGX switched off',
      annotations: { [CC]: 'cm', 'ccnodes.io/sgx': 'false' },
      field: 'ccnodes.io/sgx',
    },
    {
      name: 'a different volume already named ccnodes-app',
      annotations: { [CC]: 'cm' },
      spec: { volumes: [{ name: 'ccnodes-app', emptyDir: {} }] },
      field: 'spec.volumes',
    },
    {
      name: 'another mount at the manifest path',
      annotations: { [CC]: 'cm' },
      containers: [app({ volumeMounts: [{ name: 'mine', mountPath: '/ccnodes/app/app.yaml' }] })],
      spec: { volumes: [{ name: 'mine', emptyDir: {} }] },
      field: 'spec.containers[0] (app).volumeMounts',
    },
  ];
  for (const r of refused) {
    test(`refused with ERR_KUBE_CONFIDENTIAL_CONTAINER: ${r.name}`, () => {
      const p = pod(r.containers ?? [app()], {
        annotations: r.annotations,
        ...(r.spec === undefined ? {} : { spec: r.spec }),
      });
      assert.throws(
        () => mutatePod(p, DEFAULT_WEBHOOK_CONFIG, { namespace: 'default' }),
        (err: any) => {
          assert.equal(err.code, 'ERR_KUBE_CONFIDENTIAL_CONTAINER');
          assert.ok(
            String(err.details.field).includes(r.field),
            `${String(err.details.field)} names ${r.field}`,
          );
          return true;
        },
      );
      // The validating webhook refuses the pod, so it never runs unwrapped.
      const v = validatePod(p, {}, { namespace: 'default' });
      assert.equal(v.allowed, false);
      assert.match(v.message ?? '', /ERR_KUBE_CONFIDENTIAL_CONTAINER/);
    });
  }

  test('through AdmissionReview: no patch for a malformed annotation, and the validating webhook says 403', () => {
    const req = parseAdmissionReview(admissionReview(pod([app()], { annotations: { [CC]: 'Bad Name' } })));
    const mutated = reviewMutation(req, DEFAULT_WEBHOOK_CONFIG) as Pod;
    assert.equal(mutated.response.patch, undefined);
    assert.match(mutated.response.warnings[0], /ERR_KUBE_CONFIDENTIAL_CONTAINER|confidential-container/);
    const validated = reviewValidation(req) as Pod;
    assert.equal(validated.response.allowed, false);
    assert.equal(validated.response.status.code, 403);
  });
});

describe('deploy/examples/confidential-container*.yaml', () => {
  const dir = join(REPO_ROOT, 'deploy', 'examples');
  const [podDoc] = parseAllDocuments(readFileSync(join(dir, 'confidential-container.yaml'), 'utf8')).map(
    (d) => d.toJS(),
  );
  const [configMap] = parseAllDocuments(
    readFileSync(join(dir, 'confidential-container-configmap.yaml'), 'utf8'),
  ).map((d) => d.toJS());

  test('the pod is wrapped with the ConfigMap of the other file, which holds app.yaml and a signed app.sig', () => {
    const p = wrap(podDoc);
    assert.equal(configMap.kind, 'ConfigMap');
    assert.equal(
      p.spec.volumes.find((v: any) => v.name === 'ccnodes-app').configMap.name,
      configMap.metadata.name,
    );
    assert.deepEqual(p.spec.containers[0].command.slice(4), [
      '/app/app.yaml',
      '--sig',
      '/app/app.sig',
      '--hash-helper',
      'off',
      '--',
    ]);
    const manifest = parse(configMap.data['app.yaml']);
    assert.deepEqual(manifest.entrypoint, ['node', 'server.js']);
    const sig = JSON.parse(configMap.data['app.sig']);
    assert.equal(sig.format, 'ccnodes-container-sig/1');
    assert.equal(sig.name, manifest.name);
    assert.match(sig.mrenclave, /^[0-9a-f]{64}$/);
  });
});
