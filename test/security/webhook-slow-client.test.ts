/**
 * Slow clients against the admission webhook (issue 12, item 7, for src/kube/server.ts). The
 * webhook had request and header timeouts, but Node enforces them only when it checks its
 * connections, every 30 s by default: a client sending its headers or body a byte at a time kept
 * its connection for up to 30 s past the deadline, and a TCP client that never started TLS for two
 * minutes. Now the TLS handshake and headers must arrive within the header timeout, the request
 * within the request timeout, the deadlines are checked at least every second, and connections are
 * capped. Each attack goes through the real HTTPS server on 127.0.0.1 with short configured
 * timeouts; a connection must be cut off within its timeout + 1.5 s (the test gives up after 10 s).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import {
  generateWebhookTls,
  startWebhookServer,
  type WebhookServer,
  type WebhookTls,
} from '../../src/kube/index.ts';
import { closedWithin, expectCutOff, getOverSocket, opened } from './slow-client-support.ts';

const LIMITS = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 1024 };
const GRACE_MS = 1500;
const GIVE_UP_MS = 10_000;

const tlsClient = (server: WebhookServer, ca: string): Promise<TLSSocket> =>
  opened(tlsConnect({ host: '127.0.0.1', port: server.port, ca, servername: 'localhost' }), 'secureConnect');

describe('webhook: slow clients are cut off at their deadline', () => {
  let tls: WebhookTls;
  let server: WebhookServer;
  before(async () => {
    tls = await generateWebhookTls(['localhost', '127.0.0.1']);
    server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      limits: LIMITS,
    });
  });
  after(() => server.close());

  test('headers sent one byte every 200 ms: closed within the header timeout + 1.5 s', async () => {
    await expectCutOff(await tlsClient(server, tls.caPem), {
      text: 'POST /mutate HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 200,
      limitMs: LIMITS.headerTimeoutMs + GRACE_MS,
      giveUpMs: GIVE_UP_MS,
    });
  });

  test('a body sent one byte every 200 ms: closed within the request timeout + 1.5 s', async () => {
    const ms = await expectCutOff(await tlsClient(server, tls.caPem), {
      head: 'POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n',
      text: '{',
      everyMs: 200,
      limitMs: LIMITS.requestTimeoutMs + GRACE_MS,
      giveUpMs: GIVE_UP_MS,
    });
    assert.ok(ms >= LIMITS.headerTimeoutMs, `closed after ${ms.toFixed(0)} ms, before any deadline`);
  });

  test('a TCP client that never starts TLS: closed within the header timeout + 1.5 s', async () => {
    const socket = await opened(tcpConnect(server.port, '127.0.0.1'));
    const started = performance.now();
    try {
      const ms = await closedWithin(socket, started, GIVE_UP_MS);
      assert.notEqual(ms, undefined, `still open after ${GIVE_UP_MS} ms`);
      assert.ok((ms ?? 0) < LIMITS.headerTimeoutMs + GRACE_MS, `closed after ${ms?.toFixed(0)} ms`);
    } finally {
      socket.destroy();
    }
  });

  test('a well-behaved client still gets its answer', async () => {
    const socket = await tlsClient(server, tls.caPem);
    try {
      assert.match(await getOverSocket(socket, '/healthz'), /^HTTP\/1\.1 200 /);
    } finally {
      socket.destroy();
    }
  });
});

describe('webhook: connection cap', () => {
  test('connections beyond maxConnections are closed at once', async () => {
    const tls = await generateWebhookTls(['localhost', '127.0.0.1']);
    const server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      certPem: tls.certPem,
      keyPem: tls.keyPem,
      limits: { maxConnections: 3 },
    });
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 3; i += 1) open.push(await tlsClient(server, tls.caPem));
      const extra = tcpConnect(server.port, '127.0.0.1');
      extra.on('error', () => undefined);
      open.push(extra);
      const ms = await closedWithin(extra, performance.now(), 3000);
      assert.notEqual(ms, undefined, 'the fourth connection was kept open');
      assert.equal(open[0]?.destroyed, false, 'the first connections stay open');
    } finally {
      for (const c of open) c.destroy();
      await server.close();
    }
  });

  test('a header timeout longer than the request timeout is refused', async () => {
    await assert.rejects(
      startWebhookServer({
        host: '127.0.0.1',
        port: 0,
        certPem: 'unused',
        keyPem: 'unused',
        limits: { requestTimeoutMs: 1000, headerTimeoutMs: 2000 },
      }),
      { code: 'ERR_KUBE_LISTEN' },
    );
  });

  test('defaults: every deadline at most 30 s', async () => {
    const { DEFAULT_WEBHOOK_HTTP_LIMITS } = await import('../../src/kube/index.ts');
    for (const [k, v] of Object.entries(DEFAULT_WEBHOOK_HTTP_LIMITS)) {
      if (k !== 'maxConnections') assert.ok(v > 0 && v <= 30_000, `${k} = ${v}`);
    }
  });
});
