import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { runCapture } from '../support/cli.ts';
import { startFakeApiServer, type FakeApiServer } from '../support/fake-apiserver.ts';

describe('ccnodes kube', () => {
  let dir: string;
  let api: FakeApiServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-kube-cli-'));
    api = await startFakeApiServer({
      nodes: { n1: { metadata: { name: 'n1', resourceVersion: '1', labels: {} } } },
    });
    writeFileSync(
      join(dir, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'fake', cluster: { server: api.url, 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'fake', user: { token: 't' } }],
        contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
        'current-context': 'fake',
      }),
    );
    writeFileSync(
      join(dir, 'pod.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata: {name: hello}\nspec:\n  containers:\n  - name: app\n    image: x\n    resources: {limits: {sgx.intel.com/epc: 10Mi}}\n',
    );
    writeFileSync(
      join(dir, 'deploy.yaml'),
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: kube-system}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: x\n        resources: {limits: {kubernetes.azure.com/sgx_epc_mem_in_MiB: "5"}}\n',
    );
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('mutate --json reports the patched pod; --patch the operations', async () => {
    const r = await runCapture(['kube', 'mutate', '-f', join(dir, 'pod.yaml'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      sgx: boolean;
      totalEpcMiB: number;
      pod: { spec: { containers: { resources: { limits: Record<string, string> } }[] } };
    };
    assert.equal(out.sgx, true);
    assert.equal(out.totalEpcMiB, 10);
    assert.equal(
      out.pod.spec.containers[0]?.resources.limits['kubernetes.azure.com/sgx_epc_mem_in_MiB'],
      '10',
    );
    const p = await runCapture([
      'kube',
      'mutate',
      '-f',
      join(dir, 'pod.yaml'),
      '--patch',
      '--json',
      '--default-quoting',
      'in-process',
    ]);
    const patch = (JSON.parse(p.stdout) as { patch: { path: string }[] }).patch;
    assert.ok(patch.some((o) => o.path.endsWith('sgx.intel.com~1provision')));
  });

  test('mutate reads a Deployment template and honours its namespace (kube-system: left alone)', async () => {
    const r = await runCapture(['kube', 'mutate', '-f', join(dir, 'deploy.yaml'), '--json']);
    assert.equal(r.code, 0);
    assert.equal((JSON.parse(r.stdout) as { sgx: boolean }).sgx, false);
    const r2 = await runCapture([
      'kube',
      'mutate',
      '-f',
      join(dir, 'deploy.yaml'),
      '--json',
      '--namespace',
      'apps',
    ]);
    assert.equal((JSON.parse(r2.stdout) as { sgx: boolean }).sgx, true);
  });

  test('mutate passes objects without a pod (a ConfigMap next to its pod) through unchanged', async () => {
    const file = join(dir, 'multi.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-manifest}\ndata: {app.yaml: "entrypoint: [/bin/true]"}\n---\n' +
        readFileSync(join(dir, 'pod.yaml'), 'utf8') +
        '---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n',
    );
    const r = await runCapture(['kube', 'mutate', '-f', file, '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as {
      document: number;
      kind?: string;
      sgx: boolean;
      totalEpcMiB?: number;
    }[];
    assert.deepEqual(
      out.map((d) => [d.document, d.kind, d.sgx]),
      [
        [1, 'ConfigMap', false],
        [2, undefined, true],
        [3, 'Service', false],
      ],
    );
    assert.equal(out[1]?.totalEpcMiB, 10);
    const human = await runCapture(['kube', 'mutate', '-f', file]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stderr, /document 1: a ConfigMap, no pod: passed through unchanged/);
    const docs = human.stdout.split(/^---$/m);
    assert.equal(docs.length, 3);
    assert.match(docs[0] ?? '', /kind: ConfigMap[\s\S]*app\.yaml: "entrypoint: \[\/bin\/true\]"/);
    assert.match(docs[1] ?? '', /sgx_epc_mem_in_MiB/);
    assert.match(docs[2] ?? '', /kind: Service/);
  });

  test('mutate exits 1 when the validator would refuse, 2 on usage errors', async () => {
    const r = await runCapture([
      'kube',
      'mutate',
      '-f',
      join(dir, 'pod.yaml'),
      '--largest-node-epc-mib',
      '8',
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused: .*10 MiB.*offers 8 MiB/);
    assert.equal((await runCapture(['kube', 'mutate', '-f', join(dir, 'missing.yaml')])).code, 2);
    assert.equal(
      (await runCapture(['kube', 'mutate', '-f', join(dir, 'pod.yaml'), '--default-quoting', 'x'])).code,
      2,
    );
    assert.equal(
      (await runCapture(['kube', 'mutate', '-f', join(dir, 'pod.yaml'), '--toleration', 'bad'])).code,
      2,
    );
  });

  test('webhook --self-signed writes the CA, serves, and stops on abort', async () => {
    const ca = join(dir, 'ca.pem');
    const ac = new AbortController();
    const running = runCapture(['kube', 'webhook', '--listen', '127.0.0.1:0', '--self-signed', ca], {
      signal: ac.signal,
    });
    for (let i = 0; i < 100; i++) {
      try {
        if (new X509Certificate(readFileSync(ca)).ca) break;
      } catch {
        // not yet written
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    ac.abort();
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /serving AdmissionReview v1 on https:\/\/127\.0\.0\.1:\d+/);
    assert.match(r.stdout, /stopped/);
  });

  test('webhook without TLS material is a usage error', async () => {
    const r = await runCapture(['kube', 'webhook', '--listen', '127.0.0.1:0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--tls-cert and --tls-key are required/);
    assert.equal(
      (await runCapture(['kube', 'webhook', '--listen', 'nonsense', '--self-signed', join(dir, 'x.pem')]))
        .code,
      2,
    );
  });

  test('label-node --label patches the node through the kubeconfig; --dry-run does not', async () => {
    const kc = join(dir, 'kubeconfig');
    const dry = await runCapture([
      'kube',
      'label-node',
      '--node-name',
      'n1',
      '--label',
      'ccnodes.io/sgx=true',
      '--dry-run',
      '--kubeconfig',
      kc,
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would patch/);
    assert.equal(api.patches().length, 0);
    const r = await runCapture(
      ['kube', 'label-node', '--label', 'ccnodes.io/sgx=true', '--kubeconfig', kc, '--json'],
      { env: { NODE_NAME: 'n1' } },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(api.patches().length, 1);
    assert.equal((JSON.parse(r.stdout) as { applied: boolean }).applied, true);
    assert.equal((await runCapture(['kube', 'label-node', '--label', 'x=y', '--kubeconfig', kc])).code, 2);
  });
});
