/**
 * Issue 12, item 7: a client that sends its body one byte at a time used to keep its connection
 * (and a request slot) for as long as it liked. The service now has request, header and idle
 * timeouts (checked at most every second) and a connection cap; the defaults cut such a client off
 * within 30 s.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { closedWithin, expectCutOff, opened } from './slow-client-support.ts';
import { startSimService, type SimService } from './support.ts';

describe('slow body trickle', () => {
  let s: SimService;
  before(async () => {
    s = await startSimService({
      httpLimits: { requestTimeoutMs: 1500, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 4 },
    });
  });
  after(() => s.close());

  test('a body trickling one byte every 250 ms is cut off at the request timeout', async () => {
    // 1.5 s timeout, checked every 250 ms: closed after about 1.5-1.8 s; 6 s allows for a loaded machine.
    const ms = await expectCutOff(await opened(connect(s.port, '127.0.0.1')), {
      head:
        'POST /attest/SgxEnclave?api-version=2022-08-01 HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{',
      text: '',
      everyMs: 250,
      limitMs: 6000,
      giveUpMs: 8000,
    });
    assert.ok(ms >= 1000, `closed after ${ms} ms, before the request timeout`);
  });

  test('connections beyond --max-connections are closed at once', async () => {
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 4; i += 1) {
        open.push(await opened(connect(s.port, '127.0.0.1')));
      }
      // Let the server accept all four before the fifth arrives.
      await new Promise((r) => setTimeout(r, 200));
      const extra = connect(s.port, '127.0.0.1');
      extra.on('error', () => undefined);
      open.push(extra);
      const ms = await closedWithin(extra, performance.now(), 3000);
      assert.notEqual(ms, undefined, 'the fifth connection was kept open');
      // The first four still work.
      const first = open[0] as Socket;
      assert.equal(first.destroyed, false);
    } finally {
      for (const c of open) c.destroy();
    }
  });
});

describe('default connection bounds', () => {
  test('every effective server timeout is at most 30 s, checked at least every second', async () => {
    const s = await startSimService();
    try {
      const server = s.service.app.server as unknown as Record<string, unknown>;
      for (const key of ['requestTimeout', 'headersTimeout', 'keepAliveTimeout', 'timeout']) {
        const v = server[key];
        assert.equal(typeof v, 'number', key);
        assert.ok((v as number) > 0 && (v as number) <= 30_000, `${key} = ${String(v)}`);
      }
      const interval = server['connectionsCheckingInterval'];
      assert.ok(
        typeof interval === 'number' && interval <= 1000,
        `connectionsCheckingInterval = ${String(interval)}`,
      );
      assert.ok(typeof server['maxConnections'] === 'number' && server['maxConnections'] > 0);
    } finally {
      await s.close();
    }
  });
});
