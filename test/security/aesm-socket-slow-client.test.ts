/**
 * Slow and many clients against the quote helper's AESM socket (src/node/quote-helper/aesm-server.ts;
 * the socket is mode 0777, as aesmd's, so any pod it is mounted into can connect). Its read
 * timeout was an idle timeout (`socket.setTimeout`), which every byte received pushed back: a
 * client trickling its request a byte at a time kept the connection for as long as it liked, and
 * with no cap on connections, enough such clients took all the daemon's descriptors and quoting
 * stopped for every enclave on the node. Now the whole request must arrive within `readTimeoutMs`
 * of the accept, and at most `maxConnections` are open at once. Through the real unix socket with
 * short bounds; a connection must be cut off within its deadline + 1.5 s (the test gives up at 10 s).
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_AESM_MAX_CONNECTIONS,
  createSimProvider,
  silentLogger,
  startQuoteHelper,
  type QuoteHelper,
} from '../../src/node/quote-helper/index.ts';
import { AesmClient } from '../support/aesm-client.ts';
import { closedWithin, expectCutOff, opened } from './slow-client-support.ts';

const READ_TIMEOUT_MS = 1000;
const MAX_CONNECTIONS = 3;
const GRACE_MS = 1500;

/** A frame header announcing `length` body bytes (u32 little-endian). */
const header = (length: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(length, 0);
  return b.toString('latin1');
};

describe('quote helper AESM socket: slow and many clients', () => {
  let dir: string;
  let helper: QuoteHelper;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-slow-'));
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      provider: await createSimProvider({ seed: 'aesm-slow-client' }),
      logger: silentLogger(),
      readTimeoutMs: READ_TIMEOUT_MS,
      maxConnections: MAX_CONNECTIONS,
    });
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (): Promise<Socket> => opened(connect(helper.socketPath));
  const stillServing = async (): Promise<void> => {
    const size = await new AesmClient(helper.socketPath).getQuoteSizeEx();
    assert.equal(size.errorCode, 0);
  };

  test('a request sent one byte every 200 ms: closed within the read deadline + 1.5 s', async () => {
    await expectCutOff(await client(), {
      head: header(200),
      text: 'x'.repeat(200),
      everyMs: 200,
      limitMs: READ_TIMEOUT_MS + GRACE_MS,
      giveUpMs: 10_000,
    });
    await stillServing();
  });

  test('connections beyond the cap are closed at once; once the held ones go, requests are served', async () => {
    const held: Socket[] = [];
    try {
      for (let i = 0; i < MAX_CONNECTIONS; i += 1) {
        const s = await client();
        s.write(header(100)); // a request that never completes
        held.push(s);
      }
      await new Promise((r) => setTimeout(r, 100));
      const extra = connect(helper.socketPath);
      extra.on('error', () => undefined);
      held.push(extra);
      const ms = await closedWithin(extra, performance.now(), 3000);
      assert.notEqual(ms, undefined, 'the connection over the cap was kept open');
      // The held connections are cut off at their deadline too, and the socket serves again.
      const started = performance.now();
      for (const s of held.slice(0, MAX_CONNECTIONS)) {
        const closedAfter = await closedWithin(s, started, READ_TIMEOUT_MS + 5000);
        assert.notEqual(closedAfter, undefined, 'a held connection outlived its deadline');
      }
      await stillServing();
    } finally {
      for (const s of held) s.destroy();
    }
  });

  test('unusable bounds are refused with ERR_QUOTE_HELPER_CONFIG naming them; the default cap is 1,024', async () => {
    for (const [bounds, field] of [
      [{ maxConnections: 0 }, 'maxConnections'],
      [{ maxConnections: 2.5 }, 'maxConnections'],
      [{ readTimeoutMs: 0 }, 'readTimeoutMs'],
    ] as const) {
      await assert.rejects(
        startQuoteHelper({
          socketPath: join(dir, `bad-${field}.socket`),
          provider: await createSimProvider({ seed: 'aesm-slow-client-bad' }),
          logger: silentLogger(),
          ...bounds,
        }),
        (err: { code?: string; details?: Record<string, unknown> }) =>
          err.code === 'ERR_QUOTE_HELPER_CONFIG' && err.details?.['field'] === field,
        field,
      );
    }
    assert.equal(DEFAULT_AESM_MAX_CONNECTIONS, 1024);
  });
});
