/**
 * The quote helper's client of the host aesmd (src/node/quote-helper/aesm-transport.ts) gives the
 * whole exchange one deadline (`timeoutMs`, "whole exchange deadline" in its options): an aesmd
 * that trickles its answer a byte at a time is given up on at the deadline. It was an idle timeout,
 * which each byte pushed back, so such a peer held the relay, and the AESM client waiting on it,
 * for as long as it kept sending. A scripted peer on a unix socket in a temp dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { aesmExchange } from '../../src/node/quote-helper/index.ts';
import { startTricklingPeer } from '../support/trickling-peer.ts';

test('an answer trickled one byte every 20 ms is refused at the deadline, as ERR_QUOTE_HELPER_UPSTREAM', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aesm-transport-'));
  const path = join(dir, 'aesmd.socket');
  const answer = Buffer.alloc(1004, 0x08);
  answer.writeUInt32LE(1000, 0); // 1,000 body bytes: 20 s at this pace
  const peer = await startTricklingPeer(path, answer, 20);
  try {
    const started = performance.now();
    await assert.rejects(aesmExchange(path, Buffer.from([0x0a, 0x00]), { timeoutMs: 400 }), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'ERR_QUOTE_HELPER_UPSTREAM');
      assert.match(err.message, /did not answer within 400 ms/);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took < 400 + 1500, `refused after ${took.toFixed(0)} ms`);
  } finally {
    peer.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
