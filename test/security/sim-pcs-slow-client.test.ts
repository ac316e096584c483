/**
 * Slow clients against the simulated PCS (`ccnodes sim pcs serve`, src/sim/pcs-server.ts), which
 * can listen on any interface. It ran with Fastify's defaults: no request timeout at all, Node's
 * 60 s header timeout checked every 30 s, and no connection cap, so clients trickling their
 * requests could hold connections for minutes and take all its descriptors. It now takes its
 * bounds from src/http-limits like the other servers. Through the real server on 127.0.0.1 with
 * short bounds; a connection must be cut off within its timeout + 1.5 s (the test gives up at 10 s).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import {
  DEFAULT_SIM_PCS_HTTP_LIMITS,
  createSimDcap,
  startSimPcs,
  type SimPcsServer,
} from '../../src/sim/index.ts';
import { expectConnectionCap, expectCutOff, opened } from './slow-client-support.ts';

const LIMITS = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 3 };
const GRACE_MS = 1500;
const dcap = createSimDcap({ seed: 'sim-pcs-slow-client' });

describe('simulated PCS: slow clients are cut off at their deadline', () => {
  let pcs: SimPcsServer;
  let port: number;
  before(async () => {
    pcs = await startSimPcs(dcap, { limits: LIMITS });
    port = Number(new URL(pcs.url).port);
  });
  after(() => pcs.close());

  test('headers sent one byte every 200 ms: closed within the header timeout + 1.5 s', async () => {
    await expectCutOff(await opened(connect(port, '127.0.0.1')), {
      text: 'GET /sgx/certification/v4/qe/identity HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 200,
      limitMs: LIMITS.headerTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('connections beyond the cap are closed at once; the others still get answers', async () => {
    await expectConnectionCap(port, LIMITS.maxConnections, '/sgx/certification/v4/qe/identity');
  });

  test('unusable bounds are ERR_SIM_PCS_CONFIG naming the bound; the defaults', async () => {
    for (const [limits, field] of [
      [{ requestTimeoutMs: 1000, headerTimeoutMs: 2000 }, 'limits.headerTimeoutMs'],
      [{ maxConnections: -1 }, 'limits.maxConnections'],
    ] as const) {
      await assert.rejects(
        startSimPcs(dcap, { limits }),
        (err: { code?: string; details?: Record<string, unknown> }) =>
          err.code === 'ERR_SIM_PCS_CONFIG' && err.details?.['field'] === field,
        field,
      );
    }
    assert.deepEqual(DEFAULT_SIM_PCS_HTTP_LIMITS, {
      requestTimeoutMs: 30_000,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      maxConnections: 256,
    });
  });
});
