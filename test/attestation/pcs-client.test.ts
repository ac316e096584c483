/**
 * PCS/PCCS client and collateral cache against the simulated PCS (same shapes as Intel's), plus
 * a stub server for retries, timeouts, header spellings and error statuses.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import {
  CollateralCache,
  MAX_PCS_RESPONSE_BYTES,
  PcsClient,
  PcsError,
} from '../../src/collateral-source/index.ts';
import { verifyQuote } from '../../src/core/index.ts';
import { createSimDcap, startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { createHash } from 'node:crypto';

const dcap = createSimDcap({ seed: 'attestation-pcs-client' });

describe('PcsClient + CollateralCache against the simulated PCS', () => {
  let pcs: SimPcsServer;
  before(async () => {
    pcs = await startSimPcs(dcap);
  });
  after(() => pcs.close());

  test('fetches collateral that verifies a simulated quote', async () => {
    const client = new PcsClient({ baseUrl: pcs.url });
    const platform = dcap.platform('up-to-date');
    const raw = await client.collateral(platform.config.fmspc, platform.config.ca);
    const quote = platform.quote(
      platform.syntheticReportBody({ reportData: createHash('sha256').update('x').digest() }),
    );
    const result = verifyQuote(quote, raw, { now: new Date(), trustSimulatedRoot: dcap.rootPem });
    assert.equal(result.status, 'UpToDate');
  });

  test('the cache serves repeated requests without refetching until nextUpdate', async () => {
    let now = new Date();
    const cache = new CollateralCache({ client: new PcsClient({ baseUrl: pcs.url }), now: () => now });
    const platform = dcap.platform('up-to-date');
    const a = await cache.get(platform.config.fmspc, platform.config.ca);
    const b = await cache.get(platform.config.fmspc.toLowerCase(), platform.config.ca);
    assert.equal(a, b, 'same prepared object while nothing expired');
    assert.equal(cache.fetches.get('tcb'), 1);
    // Concurrent misses share one fetch.
    const cache2 = new CollateralCache({ client: new PcsClient({ baseUrl: pcs.url }) });
    await Promise.all([1, 2, 3].map(() => cache2.get(platform.config.fmspc, platform.config.ca)));
    assert.equal(cache2.fetches.get('tcb'), 1);
    // Past the TCB Info nextUpdate (30 days) everything with that horizon is fetched again.
    now = new Date(now.getTime() + 31 * 86400_000);
    const c = await cache.get(platform.config.fmspc, platform.config.ca);
    assert.notEqual(c, a);
    assert.equal(cache.fetches.get('tcb'), 2);
    assert.equal(cache.fetches.get('qe'), 2);
  });

  test('maxAgeMs caps how long an item is kept', async () => {
    let now = new Date();
    const cache = new CollateralCache({
      client: new PcsClient({ baseUrl: pcs.url }),
      now: () => now,
      maxAgeMs: 1000,
    });
    const p = dcap.platform('up-to-date');
    await cache.get(p.config.fmspc, p.config.ca);
    now = new Date(now.getTime() + 2000);
    await cache.get(p.config.fmspc, p.config.ca);
    assert.equal(cache.fetches.get('tcb'), 2);
  });

  test('unknown FMSPC is ERR_PCS_HTTP 404 without retries', async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const client = new PcsClient({ baseUrl: pcs.url, fetch: counting, retries: 3, retryDelayMs: 1 });
    await assert.rejects(
      client.tcbInfo('FFFFFFFFFFFF'),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_HTTP' && e.details['status'] === 404,
    );
    assert.equal(calls, 1);
  });
});

describe('PcsClient against a misbehaving stub', () => {
  let server: Server;
  let base = '';
  let handler: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
  before(async () => {
    server = createServer((req, res) => {
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
  });
  after(
    () =>
      new Promise<void>((r) =>
        server.close(() => {
          r();
        }),
      ),
  );

  test('retries 503 then succeeds; accepts the v3 header spelling', async () => {
    let n = 0;
    handler = (_req, res) => {
      n++;
      if (n < 3) {
        res.writeHead(503).end();
        return;
      }
      res.writeHead(200, {
        'SGX-TCB-Info-Issuer-Chain': encodeURIComponent(
          '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
        ),
      });
      res.end('{"tcbInfo":{},"signature":"00"}');
    };
    const item = await new PcsClient({ baseUrl: base, retries: 2, retryDelayMs: 1 }).tcbInfo('00906ED50000');
    assert.equal(n, 3);
    assert.match(item.issuerChain, /BEGIN CERTIFICATE/);
  });

  test('gives up after the retries with ERR_PCS_HTTP', async () => {
    handler = (_req, res) => res.writeHead(500).end();
    await assert.rejects(
      new PcsClient({ baseUrl: base, retries: 1, retryDelayMs: 1 }).qeIdentity(),
      (e: unknown) => (e as PcsError).code === 'ERR_PCS_HTTP',
    );
  });

  test('times out with ERR_PCS_TIMEOUT', async () => {
    handler = () => undefined; // never answers
    await assert.rejects(
      new PcsClient({ baseUrl: base, retries: 0, timeoutMs: 100 }).qeIdentity(),
      (e: unknown) => (e as PcsError).code === 'ERR_PCS_TIMEOUT',
    );
  });

  test('an answer whose body trickles past the timeout is ERR_PCS_TIMEOUT, and is retried', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      res.writeHead(200, { 'content-type': 'application/json' });
      const t = setInterval(() => res.write(' '), 20); // headers at once, then a byte every 20 ms
      req.socket.on('close', () => {
        clearInterval(t);
      });
    };
    const started = performance.now();
    await assert.rejects(
      new PcsClient({ baseUrl: base, retries: 1, retryDelayMs: 1, timeoutMs: 200 }).qeIdentity(),
      (e: unknown) =>
        e instanceof PcsError && e.code === 'ERR_PCS_TIMEOUT' && /while its answer was read/.test(e.message),
    );
    assert.equal(calls, 2);
    assert.ok(performance.now() - started < 3000);
  });

  test('an answer over MAX_PCS_RESPONSE_BYTES is ERR_PCS_RESPONSE, declared or streamed, and not asked for again', async () => {
    let calls = 0;
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    for (const declared of [true, false]) {
      calls = 0;
      handler = (_req, res) => {
        calls++;
        res.writeHead(200, declared ? { 'content-length': String(MAX_PCS_RESPONSE_BYTES + 1) } : {});
        // Streamed: 1 MiB pieces for as long as the client reads (more than the cap in all).
        let sent = 0;
        const more = (): void => {
          while (sent <= MAX_PCS_RESPONSE_BYTES + chunk.length && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) {
              res.once('drain', more);
              return;
            }
          }
          res.end();
        };
        if (declared) res.flushHeaders();
        else more();
      };
      await assert.rejects(
        new PcsClient({ baseUrl: base, retries: 2, retryDelayMs: 1 }).qeIdentity(),
        (e: unknown) =>
          e instanceof PcsError &&
          e.code === 'ERR_PCS_RESPONSE' &&
          e.details['maxBytes'] === MAX_PCS_RESPONSE_BYTES,
        declared ? 'declared' : 'streamed',
      );
      assert.equal(calls, 1, declared ? 'declared' : 'streamed');
    }
  });

  test('missing issuer-chain header is ERR_PCS_RESPONSE', async () => {
    handler = (_req, res) => res.writeHead(200).end('{}');
    await assert.rejects(
      new PcsClient({ baseUrl: base, retries: 0 }).qeIdentity(),
      (e: unknown) => (e as PcsError).code === 'ERR_PCS_RESPONSE',
    );
  });

  test('unreachable host is ERR_PCS_UNREACHABLE', async () => {
    await assert.rejects(
      new PcsClient({ baseUrl: 'http://127.0.0.1:1', retries: 0 }).qeIdentity(),
      (e: unknown) => (e as PcsError).code === 'ERR_PCS_UNREACHABLE',
    );
  });
});
