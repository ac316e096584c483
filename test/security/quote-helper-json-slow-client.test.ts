/**
 * Slow clients against the quote helper's JSON API (its unix socket; issue 12, item 7, applied to
 * src/node/quote-helper/json-api.ts). fastify leaves the request timeout off and Node checks header
 * deadlines only every 30 s, so a client sending its headers or body a byte at a time held a
 * connection for a minute or more (the body: for ever), with no cap on connections. Now headers
 * must arrive within 10 s, the request within 30 s (checked at least every second) and connections
 * are capped. A connection must be cut off within its timeout + 1.5 s.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_JSON_API_HTTP_LIMITS,
  buildJsonApi,
  createMetrics,
  createSimProvider,
  silentLogger,
  startQuoteHelper,
  type JsonApi,
  type QuoteHelper,
} from '../../src/node/quote-helper/index.ts';
import { closedWithin, expectCutOff, getOverSocket, opened } from './slow-client-support.ts';

const GRACE_MS = 1500;

const unixClient = (path: string): Promise<Socket> => opened(connect(path));

describe('quote helper JSON API, started by the daemon with its default limits', () => {
  let dir: string;
  let helper: QuoteHelper;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-slow-'));
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      jsonSocketPath: join(dir, 'json.socket'),
      provider: await createSimProvider({ seed: 'quote-helper-slow-client' }),
      logger: silentLogger(),
    });
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('headers sent one byte every 250 ms: closed within the default header timeout (10 s) + 1.5 s', async () => {
    const limit = DEFAULT_JSON_API_HTTP_LIMITS.headerTimeoutMs + GRACE_MS;
    await expectCutOff(await unixClient(helper.jsonSocketPath ?? ''), {
      text: 'POST /v1/quote HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 250,
      limitMs: limit,
      giveUpMs: limit + 5000,
    });
  });
});

describe('quote helper JSON API with short limits', () => {
  const limits = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 3 };
  let dir: string;
  let app: JsonApi;
  let path: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-slow-'));
    path = join(dir, 'json.socket');
    app = buildJsonApi({
      provider: await createSimProvider({ seed: 'quote-helper-slow-client' }),
      metrics: createMetrics({ defaultMetrics: false }),
      logger: silentLogger(),
      limits,
    });
    await app.listen({ path });
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a body sent one byte every 200 ms: closed within the request timeout + 1.5 s', async () => {
    await expectCutOff(await unixClient(path), {
      head: 'POST /v1/quote HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n',
      text: '{',
      everyMs: 200,
      limitMs: limits.requestTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('connections beyond maxConnections are closed at once; the others still get answers', async () => {
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 3; i += 1) open.push(await unixClient(path));
      await new Promise((r) => setTimeout(r, 100));
      const extra = connect(path);
      extra.on('error', () => undefined);
      open.push(extra);
      const ms = await closedWithin(extra, performance.now(), 3000);
      assert.notEqual(ms, undefined, 'the fourth connection was kept open');
      const first = open[0] as Socket;
      assert.match(await getOverSocket(first, '/healthz'), /^HTTP\/1\.1 200 /);
    } finally {
      for (const c of open) c.destroy();
    }
  });

  test('a header timeout longer than the request timeout is refused', () => {
    assert.throws(
      () =>
        buildJsonApi({
          provider: {} as never,
          metrics: createMetrics({ defaultMetrics: false }),
          logger: silentLogger(),
          limits: { requestTimeoutMs: 1000, headerTimeoutMs: 2000 },
        }),
      { code: 'ERR_QUOTE_HELPER_CONFIG' },
    );
  });
});
