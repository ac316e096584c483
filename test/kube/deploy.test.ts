/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return -- reading rendered objects */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parse, parseAllDocuments } from 'yaml';
import {
  DEFAULT_VALUES,
  DEFAULT_VALUES_YAML,
  PLACEHOLDER_TLS,
  generateRenderTls,
  manifestFileName,
  parseValues,
  renderManifests,
  type K8sObject,
} from '../../src/kube/index.ts';
import { objectYaml } from '../../src/cli/deploy.ts';
import { normalizePcsBaseUrl, resolveCollateralApi } from '../../src/collateral-source/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { runCapture } from '../support/cli.ts';
import { validateK8sObject } from './k8s-schema.ts';

const DEPLOY = join(REPO_ROOT, 'deploy');

function kinds(objs: readonly K8sObject[]): string[] {
  return objs.map((o) => `${o.kind}/${(o['metadata'] as { name: string }).name}`);
}

function find(objs: readonly K8sObject[], kind: string, name: string): any {
  return objs.find((o) => o.kind === kind && (o['metadata'] as { name: string }).name === name);
}

const MATRIX: Record<string, unknown>[] = [
  {},
  { simulation: { enabled: true, sku: 'Standard_DC2s_v2' } },
  { attestation: { replicas: 3, storage: { type: 'postgres' }, adminTokenSecret: 'admin' } },
  {
    attestation: { storage: { storageClassName: 'premium' } },
    webhook: { replicas: 1, discoverNodes: false, largestNodeEpcMiB: 112 },
  },
  { webhook: { enabled: false }, attestation: { enabled: false }, quoteHelper: { provider: 'sim' } },
  {
    devicePlugin: { labelNode: false, epcMode: 'capacity', cdi: true, nodeOptions: '' },
    confidentialPool: { nodeSelector: {}, tolerateTaint: false, tolerateSpot: false },
  },
  {
    namespace: 'sgx',
    nodeNamespace: 'sgx-nodes',
    image: { repository: 'registry.example.com/cc', tag: 'dev', pullPolicy: 'Always' },
  },
  {
    webhook: {
      failurePolicy: 'Fail',
      validationFailurePolicy: 'Fail',
      affinity: 'preferred',
      defaultQuoting: 'in-process',
      timeoutSeconds: 30,
    },
  },
];

describe('deploy render', () => {
  test('deploy/values.yaml is the documented defaults and parses to DEFAULT_VALUES', () => {
    assert.equal(readFileSync(join(DEPLOY, 'values.yaml'), 'utf8'), DEFAULT_VALUES_YAML);
    assert.deepEqual(parseValues(parse(DEFAULT_VALUES_YAML)), DEFAULT_VALUES);
  });

  test('every default object validates against the Kubernetes API schemas', () => {
    const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    assert.ok(objs.length >= 20);
    for (const o of objs) validateK8sObject(o);
  });

  for (const [i, values] of MATRIX.entries()) {
    test(`values matrix #${i}: ${JSON.stringify(values)} validates`, () => {
      const objs = renderManifests(parseValues(values), PLACEHOLDER_TLS);
      for (const o of objs) validateK8sObject(o);
      const names = objs.map((o) => manifestFileName(o, 0));
      assert.equal(new Set(names).size, names.length, 'object names are unique');
    });
  }

  test('the schema check rejects a broken object (it can fail)', () => {
    const ds = structuredClone(
      find(renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS), 'DaemonSet', 'ccnodes-device-plugin'),
    );
    ds.spec.template.spec.containers[0].ports[0].containerPort = 'metrics';
    assert.throws(() => {
      validateK8sObject(ds);
    });
  });

  test('deploy/manifests is a fresh render of the defaults (placeholder TLS)', () => {
    const objs = renderManifests(
      parseValues(parse(readFileSync(join(DEPLOY, 'values.yaml'), 'utf8'))),
      PLACEHOLDER_TLS,
    );
    const dir = join(DEPLOY, 'manifests');
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort();
    assert.deepEqual(
      files,
      objs.map((o, i) => manifestFileName(o, i)).sort(),
      'run: ccnodes deploy render -f deploy/values.yaml --placeholder-tls -o deploy/manifests',
    );
    for (const [i, o] of objs.entries()) {
      const text = readFileSync(join(dir, manifestFileName(o, i)), 'utf8');
      assert.ok(text.endsWith(objectYaml(o)), `${manifestFileName(o, i)} is stale`);
      // Plain YAML: an object used twice (a probe, an env entry) is written out twice, never as an
      // anchor and alias that some tools and readers do not expect in a Kubernetes manifest.
      assert.doesNotMatch(
        text,
        /^\s*(- )?[\w-]*:? ?[&*]a\d+\s*$/m,
        `${manifestFileName(o, i)} has a YAML alias`,
      );
    }
  });

  test('node agents: least privilege, pool selection, tolerations, exact commands', () => {
    const sim = renderManifests(parseValues({ simulation: { enabled: true } }), PLACEHOLDER_TLS);
    const ds = find(sim, 'DaemonSet', 'ccnodes-device-plugin').spec.template.spec;
    assert.deepEqual(ds.nodeSelector, { 'kubernetes.io/os': 'linux', 'ccnodes.io/pool': 'confidential' });
    assert.deepEqual(
      ds.tolerations.map((t: any) => t.key),
      ['ccnodes.io/pool', 'ccnodes.io/simulated', 'kubernetes.azure.com/scalesetpriority'],
    );
    const c = ds.containers[0];
    assert.deepEqual(c.args.slice(0, 2), ['node', 'device-plugin']);
    assert.ok(c.args.includes('--simulate'));
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.deepEqual(ds.initContainers[0].args.slice(0, 2), ['kube', 'label-node']);
    assert.deepEqual(
      c.volumeMounts.find((m: any) => m.name === 'pod-resources'),
      { name: 'pod-resources', mountPath: '/var/lib/kubelet/pod-resources', readOnly: true },
    );
    assert.deepEqual(
      c.volumeMounts.filter((m: any) => m.readOnly !== true).map((m: any) => m.mountPath),
      ['/var/lib/kubelet/device-plugins', '/tmp'],
    );
    const rules = find(sim, 'ClusterRole', 'ccnodes-device-plugin').rules;
    assert.deepEqual(rules.flatMap((r: any) => r.verbs).sort(), ['get', 'patch', 'patch']);
    const qh = find(sim, 'DaemonSet', 'ccnodes-quote-helper').spec.template.spec;
    assert.equal(qh.automountServiceAccountToken, false);
    assert.deepEqual(qh.containers[0].args.slice(0, 4), ['node', 'quote-helper', '--provider', 'sim']);
    const prod = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    const qhProd = find(prod, 'DaemonSet', 'ccnodes-quote-helper').spec.template.spec.containers[0];
    assert.deepEqual(qhProd.args.slice(2, 4), ['--provider', 'aesmd']);
    assert.ok(
      !JSON.stringify(find(prod, 'DaemonSet', 'ccnodes-device-plugin')).includes('ccnodes.io/simulated'),
    );
  });

  test('devicePlugin.cdi: the plugin writes CDI specs into the host /var/run/cdi (off by default)', () => {
    const dp = (objects: K8sObject[]): any =>
      find(objects, 'DaemonSet', 'ccnodes-device-plugin').spec.template.spec;
    const off = dp(renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS));
    assert.ok(!off.containers[0].args.includes('--cdi-spec-dir'));
    assert.ok(!off.volumes.some((v: any) => v.name === 'cdi'));
    const on = dp(renderManifests(parseValues({ devicePlugin: { cdi: true } }), PLACEHOLDER_TLS));
    const args: string[] = on.containers[0].args;
    assert.equal(args[args.indexOf('--cdi-spec-dir') + 1], '/var/run/cdi');
    assert.deepEqual(
      on.containers[0].volumeMounts.find((m: any) => m.name === 'cdi'),
      { name: 'cdi', mountPath: '/var/run/cdi' },
    );
    assert.deepEqual(
      on.volumes.find((v: any) => v.name === 'cdi'),
      { name: 'cdi', hostPath: { path: '/var/run/cdi', type: 'DirectoryOrCreate' } },
    );
  });

  test('node agents get NODE_OPTIONS from nodeOptions (the small young generation by default, or none)', () => {
    const env = (objects: K8sObject[], name: string): unknown =>
      find(objects, 'DaemonSet', name).spec.template.spec.containers[0].env;
    const prod = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    const small = { name: 'NODE_OPTIONS', value: '--max-semi-space-size=1' };
    assert.deepEqual(env(prod, 'ccnodes-device-plugin'), [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      small,
    ]);
    assert.deepEqual(env(prod, 'ccnodes-quote-helper'), [small]);
    const none = renderManifests(
      parseValues({ devicePlugin: { nodeOptions: '' }, quoteHelper: { nodeOptions: ' ' } }),
      PLACEHOLDER_TLS,
    );
    assert.deepEqual(env(none, 'ccnodes-device-plugin'), [
      { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
    ]);
    assert.equal(env(none, 'ccnodes-quote-helper'), undefined);
    const two = renderManifests(
      parseValues({ quoteHelper: { nodeOptions: '--max-semi-space-size=2  --max-old-space-size=96' } }),
      PLACEHOLDER_TLS,
    );
    assert.deepEqual(env(two, 'ccnodes-quote-helper'), [
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=2 --max-old-space-size=96' },
    ]);
  });

  test('webhook: configurations point at the service, exclude system namespaces, fail open by default', () => {
    const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    const m = find(objs, 'MutatingWebhookConfiguration', 'ccnodes-webhook').webhooks[0];
    assert.equal(m.clientConfig.service.path, '/mutate');
    assert.equal(m.failurePolicy, 'Ignore');
    assert.equal(m.reinvocationPolicy, 'IfNeeded');
    assert.deepEqual(m.namespaceSelector.matchExpressions[0].values, [
      'kube-system',
      'ccnodes-system',
      'ccnodes-node',
    ]);
    const v = find(objs, 'ValidatingWebhookConfiguration', 'ccnodes-webhook').webhooks[0];
    assert.equal(v.clientConfig.service.path, '/validate');
    const args: string[] = find(objs, 'Deployment', 'ccnodes-webhook').spec.template.spec.containers[0].args;
    assert.deepEqual(args.slice(0, 2), ['kube', 'webhook']);
    assert.ok(args.includes('--discover-nodes'));
    assert.ok(args.join(' ').includes('--toleration ccnodes.io/pool=confidential:NoSchedule'));
    assert.ok(args.join(' ').includes('--pool-label ccnodes.io/pool=confidential'));
    const wrbac = find(objs, 'ClusterRole', 'ccnodes-webhook');
    assert.deepEqual(wrbac.rules, [{ apiGroups: [''], resources: ['nodes'], verbs: ['list'] }]);
    const noDiscover = renderManifests(parseValues({ webhook: { discoverNodes: false } }), PLACEHOLDER_TLS);
    assert.equal(find(noDiscover, 'ClusterRole', 'ccnodes-webhook'), undefined);
  });

  test('attestation: sqlite uses a PVC and Recreate; postgres reads the URL from a Secret', () => {
    const sqlite = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    assert.ok(find(sqlite, 'PersistentVolumeClaim', 'ccnodes-attestation-data'));
    const dep = find(sqlite, 'Deployment', 'ccnodes-attestation');
    assert.equal(dep.spec.strategy.type, 'Recreate');
    assert.deepEqual(dep.spec.template.spec.containers[0].args.slice(0, 2), ['attestation', 'serve']);
    const pg = renderManifests(
      parseValues({ attestation: { replicas: 2, storage: { type: 'postgres' } } }),
      PLACEHOLDER_TLS,
    );
    assert.equal(find(pg, 'PersistentVolumeClaim', 'ccnodes-attestation-data'), undefined);
    const env = find(pg, 'Deployment', 'ccnodes-attestation').spec.template.spec.containers[0].env;
    assert.equal(env[0].name, 'CCNODES_ATTESTATION_DATABASE_URL');
    assert.equal(env[0].valueFrom.secretKeyRef.name, 'ccnodes-attestation-db');
  });

  test('attestation: the default --collateral is the in-cluster collateral service (a PCCS), whose upstream is Intel', () => {
    const objs = renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS);
    const args: string[] = find(objs, 'Deployment', 'ccnodes-attestation').spec.template.spec.containers[0]
      .args;
    const collateral = args[args.indexOf('--collateral') + 1] ?? '';
    // The value the service parses (attestation serve → PcsClient → normalizePcsBaseUrl).
    const base = normalizePcsBaseUrl(collateral);
    assert.equal(base.root, 'http://ccnodes-collateral.ccnodes-system.svc:8081');
    assert.equal(resolveCollateralApi(base), 'pccs', 'a PCCS: Root CA CRL from its /rootcacrl route');
    const service = find(objs, 'Service', 'ccnodes-collateral');
    assert.equal(service.spec.ports[0].port, 8081);
    const serve: string[] = find(objs, 'Deployment', 'ccnodes-collateral').spec.template.spec.containers[0]
      .args;
    assert.deepEqual(serve.slice(0, 2), ['collateral', 'serve']);
    const upstream = normalizePcsBaseUrl(serve[serve.indexOf('--upstream') + 1] ?? '');
    assert.equal(upstream.root, 'https://api.trustedservices.intel.com');
    assert.equal(
      resolveCollateralApi(upstream),
      'pcs',
      "Intel's host: Root CA CRL from the root certificate's CDP",
    );
    assert.throws(
      () => parseValues({ collateralService: { enabled: false } }),
      /attestation\.collateral/,
      'in-cluster with the collateral service disabled',
    );
    const shipped = readFileSync(join(DEPLOY, 'manifests', '20-deployment-ccnodes-attestation.yaml'), 'utf8');
    assert.ok(shipped.includes(`- ${collateral}\n`));
    assert.doesNotMatch(
      shipped + readFileSync(join(DEPLOY, 'values.yaml'), 'utf8'),
      /certification\/v4\/sgx/,
    );
    // A PCCS URL in the usual form renders as given and is accepted too.
    const pccs = 'https://pccs.example:8081/sgx/certification/v4/';
    const withPccs: string[] = find(
      renderManifests(parseValues({ attestation: { collateral: pccs } }), PLACEHOLDER_TLS),
      'Deployment',
      'ccnodes-attestation',
    ).spec.template.spec.containers[0].args;
    assert.equal(withPccs[withPccs.indexOf('--collateral') + 1], pccs);
    assert.equal(resolveCollateralApi(normalizePcsBaseUrl(pccs)), 'pccs');
  });

  test('generated TLS: the caBundle is the CA that issued both serving certificates, for the service names', async () => {
    const tls = await generateRenderTls(DEFAULT_VALUES);
    const objs = renderManifests(DEFAULT_VALUES, tls);
    const ca = new X509Certificate(
      Buffer.from(
        find(objs, 'MutatingWebhookConfiguration', 'ccnodes-webhook').webhooks[0].clientConfig.caBundle,
        'base64',
      ),
    );
    const leaf = new X509Certificate(
      Buffer.from(find(objs, 'Secret', 'ccnodes-webhook-tls').data['tls.crt'], 'base64'),
    );
    assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
    assert.match(leaf.subjectAltName ?? '', /DNS:ccnodes-webhook\.ccnodes-system\.svc(,|$)/);
    const att = new X509Certificate(
      Buffer.from(find(objs, 'Secret', 'ccnodes-attestation-tls').data['tls.crt'], 'base64'),
    );
    assert.ok(att.checkIssued(ca) && att.verify(ca.publicKey));
    for (const o of objs) validateK8sObject(o);
  });

  test('values errors name the key path', () => {
    const bad: [unknown, RegExp][] = [
      [{ webhok: {} }, /values webhok: unknown key/],
      [{ webhook: { replicas: 'two' } }, /webhook\.replicas: expected number/],
      [{ webhook: { timeoutSeconds: 31 } }, /webhook\.timeoutSeconds: expected an integer from 1 to 30/],
      [{ webhook: { defaultQuoting: 'oop' } }, /webhook\.defaultQuoting: expected one of/],
      [
        { confidentialPool: { nodeSelector: { a: 1 } } },
        /confidentialPool\.nodeSelector\.a: expected a string/,
      ],
      [{ attestation: { replicas: 2 } }, /SQLite storage allows one replica/],
      [{ nodeNamespace: 'ccnodes-system' }, /must differ/],
      [{ webhook: { excludedNamespaces: [1] } }, /excludedNamespaces\[0\]/],
      [
        { quoteHelper: { nodeOptions: 'max-semi-space-size=1' } },
        /quoteHelper\.nodeOptions: expected .*"max-semi/,
      ],
      [{ devicePlugin: { nodeOptions: '--a=1 ;rm' } }, /devicePlugin\.nodeOptions: .*got ";rm"/],
      [[], /expected object, got array/],
    ];
    for (const [input, re] of bad)
      assert.throws(
        () => parseValues(input),
        (e: any) => e.code === 'ERR_KUBE_VALUES' && re.test(e.message),
        JSON.stringify(input),
      );
  });

  test('CLI: deploy values prints the file; render to stdout and to a directory; bad values exit 2', async () => {
    const v = await runCapture(['deploy', 'values']);
    assert.equal(v.stdout, DEFAULT_VALUES_YAML);
    const r = await runCapture(['deploy', 'render']);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
    assert.deepEqual(kinds(docs), kinds(renderManifests(DEFAULT_VALUES, PLACEHOLDER_TLS)));
    assert.ok(!r.stdout.includes('REPLACE'), 'a real render carries generated keys');
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-deploy-'));
    try {
      const o = await runCapture(['deploy', 'render', '-f', join(DEPLOY, 'values.yaml'), '-o', dir]);
      assert.equal(o.code, 0, o.stderr);
      assert.equal(readdirSync(dir).length, docs.length);
      const bad = join(dir, 'bad.yaml');
      const fs = await import('node:fs/promises');
      await fs.writeFile(bad, 'webhook: {replicas: -1}\n');
      const b = await runCapture(['deploy', 'render', '-f', bad]);
      assert.equal(b.code, 2);
      assert.match(b.stderr, /webhook\.replicas/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
