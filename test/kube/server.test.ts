import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { X509Certificate } from 'node:crypto';
import {
  generateWebhookTls,
  startWebhookServer,
  type WebhookServer,
  type WebhookTls,
} from '../../src/kube/index.ts';
import { applyPatch } from '../support/json-patch.ts';
import { AZURE, INTEL, admissionReview, container, pod } from './fixtures.ts';

interface Reply {
  status: number;
  body: string;
}

function post(
  server: WebhookServer,
  ca: string,
  path: string,
  body: string,
  method = 'POST',
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      { method, ca, servername: 'localhost', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('webhook HTTPS server (real TLS client trusting the generated CA)', () => {
  let tls: WebhookTls;
  let server: WebhookServer;
  const reviews: string[] = [];
  before(async () => {
    tls = await generateWebhookTls(['localhost', '127.0.0.1', 'ccnodes-webhook.ccnodes-system.svc']);
    server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      largestNodeEpcMiB: () => 112,
      maxBodyBytes: 64 * 1024,
      onReview: (e) => reviews.push(`${e.path}:${String(e.allowed)}`),
    });
  });
  after(async () => {
    await server.close();
  });

  test('the serving certificate names the service and chains to the CA', () => {
    const leaf = new X509Certificate(tls.certPem);
    const ca = new X509Certificate(tls.caPem);
    assert.ok(leaf.verify(ca.publicKey));
    assert.ok(leaf.checkIssued(ca));
    assert.match(leaf.subjectAltName ?? '', /DNS:ccnodes-webhook\.ccnodes-system\.svc/);
    assert.match(leaf.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    assert.equal(ca.ca, true);
    assert.equal(leaf.ca, false);
  });

  test('POST /mutate answers with the uid and a base64 JSON Patch that applies', async () => {
    const p = pod([container('app', { [AZURE]: '10' })]);
    const review = admissionReview(p);
    const r = await post(server, tls.caPem, '/mutate', JSON.stringify(review));
    assert.equal(r.status, 200);
    const out = JSON.parse(r.body) as {
      apiVersion: string;
      kind: string;
      response: { uid: string; allowed: boolean; patchType: string; patch: string };
    };
    assert.equal(out.apiVersion, 'admission.k8s.io/v1');
    assert.equal(out.kind, 'AdmissionReview');
    assert.equal(out.response.uid, (review['request'] as { uid: string }).uid);
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.patchType, 'JSONPatch');
    const ops = JSON.parse(Buffer.from(out.response.patch, 'base64').toString('utf8')) as {
      op: string;
      path: string;
    }[];
    const patched = applyPatch(p, ops) as {
      spec: { containers: { resources: { limits: Record<string, string> } }[] };
    };
    assert.equal(patched.spec.containers[0]?.resources.limits[INTEL], '10Mi');
  });

  test('non-SGX pods: allowed with no patch at all', async () => {
    const r = await post(
      server,
      tls.caPem,
      '/mutate',
      JSON.stringify(admissionReview(pod([container('web')]))),
    );
    const out = JSON.parse(r.body) as { response: Record<string, unknown> };
    assert.equal(out.response['allowed'], true);
    assert.equal(out.response['patch'], undefined);
    assert.equal(out.response['patchType'], undefined);
  });

  test('mutation fails open on an unreadable pod, validation refuses it', async () => {
    const bad = JSON.stringify(admissionReview(pod([container('app', { [INTEL]: 'ten' })])));
    const m = JSON.parse((await post(server, tls.caPem, '/mutate', bad)).body) as {
      response: { allowed: boolean; warnings: string[] };
    };
    assert.equal(m.response.allowed, true);
    assert.match(m.response.warnings[0] ?? '', /ERR|quantity/);
    const v = JSON.parse((await post(server, tls.caPem, '/validate', bad)).body) as {
      response: { allowed: boolean };
    };
    assert.equal(v.response.allowed, false);
  });

  test('POST /validate refuses a pod larger than the largest node', async () => {
    const r = await post(
      server,
      tls.caPem,
      '/validate',
      JSON.stringify(admissionReview(pod([container('app', { [AZURE]: '113' })]))),
    );
    const out = JSON.parse(r.body) as {
      response: { allowed: boolean; status: { code: number; message: string } };
    };
    assert.equal(out.response.allowed, false);
    assert.match(out.response.status.message, /113 MiB.*112 MiB/);
  });

  test('bad requests: not JSON 400, not a review 400 naming the field, too large 413, wrong path 404, GET 405, healthz', async () => {
    assert.equal((await post(server, tls.caPem, '/mutate', '{')).status, 400);
    const r = await post(server, tls.caPem, '/mutate', JSON.stringify({ apiVersion: 'v1', kind: 'Pod' }));
    assert.equal(r.status, 400);
    assert.match(r.body, /ERR_KUBE_ADMISSION_REVIEW.*apiVersion/);
    assert.equal((await post(server, tls.caPem, '/mutate', 'x'.repeat(70 * 1024))).status, 413);
    assert.equal((await post(server, tls.caPem, '/other', '{}')).status, 404);
    assert.equal((await post(server, tls.caPem, '/mutate', '', 'GET')).status, 405);
    const h = await post(server, tls.caPem, '/healthz', '', 'GET');
    assert.equal(h.status, 200);
    assert.equal(h.body, 'ok\n');
    assert.ok(reviews.length >= 3);
  });

  test('a client that does not trust the CA is refused by TLS', async () => {
    const other = await generateWebhookTls(['localhost']);
    await assert.rejects(
      post(server, other.caPem, '/healthz', '', 'GET'),
      /certificate|self[- ]signed|unable to verify/i,
    );
  });

  test('listening on a busy port is a typed error', async () => {
    await assert.rejects(
      startWebhookServer({ host: '127.0.0.1', port: server.port, certPem: tls.certPem, keyPem: tls.keyPem }),
      (e: { code?: string }) => e.code === 'ERR_KUBE_LISTEN',
    );
  });
});
