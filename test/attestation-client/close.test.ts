/**
 * Closing the attestation client ends what it is doing: a request waiting between two attempts, or
 * waiting for an answer that does not come, fails at once with ERR_ATTESTATION_CLIENT_UNREACHABLE
 * ("the client was closed") instead of running its remaining attempts, and a closed client makes no
 * request. The launcher relies on this to stop attesting the moment a trusted file is found changed.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { AttestationClient } from '../../src/attestation-client/index.ts';

/** A server that counts requests and answers each with `status`, or never when `status` is 0. */
async function serve(
  status: number,
): Promise<{ url: string; hits: () => number; stop: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    if (status !== 0) res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits: () => hits,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => {
        server.close(() => {
          r();
        });
      });
    },
  };
}

const EVIDENCE = { quote: new Uint8Array(8), runtimeData: new Uint8Array(2) };

async function closedWithin(p: Promise<unknown>, ms: number): Promise<void> {
  const t = performance.now();
  await assert.rejects(p, (err: { code?: string; message?: string; details?: Record<string, unknown> }) => {
    assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_UNREACHABLE');
    assert.match(err.message ?? '', /^attest: the client was closed$/);
    assert.equal(err.details?.['reason'], 'closed');
    return true;
  });
  const took = performance.now() - t;
  assert.ok(took < ms, `failed after ${took.toFixed(0)} ms`);
}

test('close() during the wait between attempts ends the request at once (no further attempt)', async () => {
  const s = await serve(503);
  const retried: number[] = [];
  // Long waits between attempts: without close() the request would take 30 s.
  const client = new AttestationClient({
    url: s.url,
    retry: { attempts: 4, baseDelayMs: 10_000, maxDelayMs: 10_000 },
    onRetry: (attempt) => retried.push(attempt),
  });
  try {
    const pending = client.attestSgxEnclave(EVIDENCE);
    while (retried.length === 0) await new Promise((r) => setTimeout(r, 5));
    await client.close();
    await closedWithin(pending, 5_000);
    assert.equal(s.hits(), 1, 'one attempt was made, none after close()');
    assert.deepEqual(retried, [2]);
  } finally {
    await client.close();
    await s.stop();
  }
});

test('close() while an answer is awaited ends the request at once', async () => {
  const s = await serve(0);
  const client = new AttestationClient({
    url: s.url,
    timeoutMs: 60_000,
    retry: { attempts: 3, baseDelayMs: 0 },
  });
  try {
    const pending = client.attestSgxEnclave(EVIDENCE);
    while (s.hits() === 0) await new Promise((r) => setTimeout(r, 5));
    await client.close();
    await closedWithin(pending, 5_000);
    assert.equal(s.hits(), 1);
  } finally {
    await s.stop();
  }
});

test('a closed client makes no request', async () => {
  const s = await serve(200);
  const client = new AttestationClient({ url: s.url });
  try {
    await client.close();
    await closedWithin(client.attestSgxEnclave(EVIDENCE), 5_000);
    assert.equal(s.hits(), 0);
  } finally {
    await s.stop();
  }
});
