/**
 * Slow clients against the device plugin's metrics/health endpoint (`--metrics-listen`; issue 12,
 * item 7, applied to src/node/device-plugin/metrics-server.ts). It used Node's defaults: headers
 * within 60 s and requests within 300 s, checked only every 30 s, and no connection cap, so a
 * client trickling bytes kept a connection for a minute or more and enough of them could exhaust
 * the daemon's file descriptors. Now headers must arrive within 10 s, the request within 30 s,
 * checked at least every second, and connections are capped. A connection must be cut off within
 * its timeout + 1.5 s (short timeouts configured here; the test gives up after 10 s).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Registry } from 'prom-client';
import { serveMetrics, type MetricsEndpoint } from '../../src/node/device-plugin/index.ts';
import { expectConnectionCap, expectCutOff, opened } from './slow-client-support.ts';

const LIMITS = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 3 };
const GRACE_MS = 1500;

describe('device plugin metrics endpoint: slow clients', () => {
  let endpoint: MetricsEndpoint;
  let port: number;
  before(async () => {
    endpoint = await serveMetrics('127.0.0.1:0', new Registry(), () => true, undefined, LIMITS);
    port = Number(new URL(endpoint.url).port);
  });
  after(() => endpoint.close());

  const client = (): Promise<Socket> => opened(connect(port, '127.0.0.1'));

  test('headers sent one byte every 200 ms: closed within the header timeout + 1.5 s', async () => {
    await expectCutOff(await client(), {
      text: 'GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 200,
      limitMs: LIMITS.headerTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('a body sent one byte every 200 ms: closed within the request timeout + 1.5 s', async () => {
    await expectCutOff(await client(), {
      head: 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 60000\r\n\r\n',
      text: '{',
      everyMs: 200,
      limitMs: LIMITS.requestTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('connections beyond the cap are closed at once; the others still get answers', async () => {
    await expectConnectionCap(port, LIMITS.maxConnections, '/healthz');
  });

  test('a header timeout longer than the request timeout is refused', async () => {
    await assert.rejects(
      serveMetrics('127.0.0.1:0', new Registry(), () => true, undefined, {
        requestTimeoutMs: 1000,
        headerTimeoutMs: 2000,
      }),
      { code: 'ERR_DEVICE_PLUGIN_OPTION' },
    );
  });
});
