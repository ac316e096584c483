/**
 * The dashboard's adapters and guards on their own: the bounded Prometheus text parser (accepts what
 * prom-client writes, refuses malformed or oversized text with the line), Kubernetes quantities, the
 * attestation adapter dropping anything but a secret's name and release policy, and the server's
 * access rules (no token off loopback, TLS or an explicit opt-out, 401 without the token, read-only).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Counter, Histogram, Registry } from 'prom-client';
import {
  attestationApiSource,
  bucketQuantile,
  createDashboard,
  histogramBuckets,
  parseMetricsText,
  parseQuantity,
  sumOf,
  DEFAULT_METRICS_TEXT_LIMITS,
} from '../../src/dashboard/index.ts';

test('metrics text: reads what prom-client writes (labels with escapes, histograms, quantiles)', async () => {
  const registry = new Registry();
  const c = new Counter({ name: 'x_total', help: 'h', labelNames: ['k'], registers: [registry] });
  c.inc({ k: 'a "quoted"\\ value\nnext' }, 3);
  c.inc({ k: 'b' }, 2);
  const h = new Histogram({ name: 'lat_seconds', help: 'h', buckets: [0.01, 0.1, 1], registers: [registry] });
  for (const v of [0.005, 0.005, 0.05, 0.5]) h.observe(v);
  const m = parseMetricsText(await registry.metrics());
  assert.equal(sumOf(m, 'x_total'), 5);
  assert.equal(sumOf(m, 'x_total', { k: 'a "quoted"\\ value\nnext' }), 3);
  assert.equal(m.types.get('lat_seconds'), 'histogram');
  const b = histogramBuckets(m, 'lat_seconds');
  assert.deepEqual(b, [
    { le: 0.01, count: 2 },
    { le: 0.1, count: 3 },
    { le: 1, count: 4 },
    { le: Infinity, count: 4 },
  ]);
  assert.equal(bucketQuantile(b, 0.5), 0.01);
  assert.ok(Math.abs((bucketQuantile(b, 0.75) ?? 0) - 0.1) < 1e-9);
  assert.equal(bucketQuantile([], 0.5), undefined);
});

test('metrics text: malformed lines are refused with ERR_DASHBOARD_METRICS_TEXT and their line number', () => {
  const cases: [string, number][] = [
    ['ok 1\nbad{a="1" 2', 2],
    ['x{a="1",a="2"} 1', 1],
    ['x{a="\\q"} 1', 1],
    ['x 1 2 3', 1],
    ['x notanumber', 1],
    ['x{a=1} 1', 1],
    ['# TYPE x nonsense\nx 1', 1],
    ['1x 1', 1],
    ['x{a="1"}1', 1],
  ];
  for (const [text, line] of cases) {
    assert.throws(() => parseMetricsText(text), { code: 'ERR_DASHBOARD_METRICS_TEXT' }, text);
    try {
      parseMetricsText(text);
    } catch (err) {
      assert.equal((err as { details: { line: number } }).details.line, line, text);
    }
  }
});

test('metrics text: the bounds hold (bytes, samples, labels, line length)', () => {
  const l = DEFAULT_METRICS_TEXT_LIMITS;
  assert.throws(() => parseMetricsText('x 1\n'.repeat(11), { ...l, maxSamples: 10 }), {
    code: 'ERR_DASHBOARD_METRICS_TEXT',
  });
  assert.throws(
    () => parseMetricsText(`x{${Array.from({ length: 40 }, (_, i) => `l${i}="v"`).join(',')}} 1`),
    {
      code: 'ERR_DASHBOARD_METRICS_TEXT',
    },
  );
  assert.throws(() => parseMetricsText(`x{a="${'v'.repeat(20_000)}"} 1`), {
    code: 'ERR_DASHBOARD_METRICS_TEXT',
  });
  assert.throws(() => parseMetricsText('x 1\n', { ...l, maxBytes: 3 }), {
    code: 'ERR_DASHBOARD_METRICS_TEXT',
  });
  assert.equal(parseMetricsText('x 1\n'.repeat(10), { ...l, maxSamples: 10 }).samples.length, 10);
});

test('quantities: every form kubectl accepts, rounded up to whole units; anything else is not a quantity', () => {
  const MiB = 1048576n;
  assert.equal(parseQuantity('64'), 64n);
  assert.equal(parseQuantity('64Mi'), 64n * MiB);
  assert.equal(parseQuantity('0.0625Gi'), 64n * MiB);
  assert.equal(parseQuantity('1k'), 1000n);
  assert.equal(parseQuantity('1e3'), 1000n);
  assert.equal(parseQuantity('1500m'), 2n);
  assert.equal(parseQuantity('.5Ki'), 512n);
  for (const bad of ['', 'Mi', '1MiB', '1 Mi', '--1', '1e', 'NaN', '1'.repeat(65)])
    assert.equal(parseQuantity(bad), undefined, bad);
});

test('a secret value an attestation service sends is dropped by the adapter and never reaches a page', async (t) => {
  const leaked = 'TOP-SECRET-VALUE-1234567890';
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url?.startsWith('/ccnodes/v1/secrets') === true)
      res.end(
        JSON.stringify({
          secrets: [
            {
              name: 'k',
              value: leaked,
              sealedValue: leaked,
              contentType: 'text/plain',
              releasePolicy: { anyOf: [] },
            },
          ],
        }),
      );
    else if (req.url?.startsWith('/ccnodes/v1/audit') === true) res.end('{"entries":[]}');
    else {
      const jws = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from('version=1.0;').toString('base64url') })).toString('base64url')}.`;
      res.end(
        JSON.stringify({
          token: `x.${Buffer.from(JSON.stringify({ 'x-ms-policy': jws })).toString('base64url')}.x`,
        }),
      );
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const src = attestationApiSource({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    adminToken: 'a'.repeat(20),
  });
  const secrets = await src.secrets();
  assert.deepEqual(Object.keys(secrets[0] ?? {}).sort(), [
    'contentType',
    'createdAt',
    'name',
    'releasePolicy',
    'updatedAt',
  ]);
  const d = createDashboard({ attestation: src, sampleIntervalMs: 0 });
  const url = await d.listen('127.0.0.1', 0);
  try {
    for (const p of ['/policies', '/api/policies']) {
      const body = await (await fetch(`${url}${p}`)).text();
      assert.ok(body.includes('"k"') || body.includes('<strong>k</strong>'), p);
      assert.ok(!body.includes(leaked), `${p} shows the value`);
    }
  } finally {
    await d.close();
  }
});

test('access: off loopback the server needs the token and TLS (or an explicit opt-out); with a token, 401 without it', async () => {
  const open = createDashboard({ sampleIntervalMs: 0 });
  await assert.rejects(open.listen('0.0.0.0', 0), { code: 'ERR_DASHBOARD_CONFIG' });
  await open.close();
  const noTls = createDashboard({ sampleIntervalMs: 0, accessToken: 't'.repeat(24) });
  await assert.rejects(noTls.listen('0.0.0.0', 0), { code: 'ERR_DASHBOARD_CONFIG' });
  await noTls.close();

  const token = 'dashboard-token-0123456789';
  const d = createDashboard({ sampleIntervalMs: 0, accessToken: token });
  const url = await d.listen('127.0.0.1', 0);
  try {
    const none = await fetch(`${url}/nodes`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal(
      (await fetch(`${url}/nodes`, { headers: { authorization: 'Bearer wrong-token-000000000' } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${url}/nodes`, { headers: { authorization: `Bearer ${token}` } })).status,
      200,
    );
    const basic = `Basic ${Buffer.from(`admin:${token}`).toString('base64')}`;
    assert.equal((await fetch(`${url}/api/history`, { headers: { authorization: basic } })).status, 200);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    const post = await fetch(`${url}/api/nodes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(post.status, 405);
  } finally {
    await d.close();
  }
});
