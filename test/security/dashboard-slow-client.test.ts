/**
 * Slow clients against the operator dashboard (`ccnodes dashboard serve`, src/dashboard/server.ts).
 * It set a 10 s header timeout and a 30 s request timeout but left Node's deadline check at its
 * default, every 30 s, so a client trickling its headers a byte at a time held a connection for up
 * to 40 s, and 256 such clients filled the dashboard's connection cap. It now takes its bounds from
 * src/http-limits like the other servers: deadlines checked at least every second, and the bounds
 * configurable (`limits`). Each attack goes through the real server on 127.0.0.1 with short
 * timeouts; a connection must be cut off within its timeout + 1.5 s (the test gives up after 10 s).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { createDashboard, DEFAULT_DASHBOARD_HTTP_LIMITS, type Dashboard } from '../../src/dashboard/index.ts';
import { expectConnectionCap, expectCutOff, opened } from './slow-client-support.ts';

const LIMITS = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 3 };
const GRACE_MS = 1500;

describe('dashboard: slow clients are cut off at their deadline', () => {
  let dashboard: Dashboard;
  let port: number;
  before(async () => {
    dashboard = createDashboard({ sampleIntervalMs: 0, limits: LIMITS });
    port = Number(new URL(await dashboard.listen('127.0.0.1', 0)).port);
  });
  after(() => dashboard.close());

  const client = (): Promise<Socket> => opened(connect(port, '127.0.0.1'));

  test('headers sent one byte every 200 ms: closed within the header timeout + 1.5 s', async () => {
    await expectCutOff(await client(), {
      text: 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 200,
      limitMs: LIMITS.headerTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('connections beyond the cap are closed at once; the others still get answers', async () => {
    await expectConnectionCap(port, LIMITS.maxConnections, '/healthz');
  });

  test('unusable bounds are refused with ERR_DASHBOARD_CONFIG naming the bound; the defaults are the documented ones', () => {
    for (const [limits, option] of [
      [{ requestTimeoutMs: 1000, headerTimeoutMs: 2000 }, 'limits.headerTimeoutMs'],
      [{ maxConnections: 0 }, 'limits.maxConnections'],
      [{ idleTimeoutMs: 1.5 }, 'limits.idleTimeoutMs'],
    ] as const) {
      assert.throws(
        () => createDashboard({ sampleIntervalMs: 0, limits }),
        (err: { code?: string; details?: Record<string, unknown> }) =>
          err.code === 'ERR_DASHBOARD_CONFIG' && err.details?.['option'] === option,
        option,
      );
    }
    assert.deepEqual(DEFAULT_DASHBOARD_HTTP_LIMITS, {
      requestTimeoutMs: 30_000,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      maxConnections: 256,
    });
  });
});
