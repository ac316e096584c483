/**
 * The Collateral page and `/api/collateral` show the same documents: the collateral endpoint is read
 * at most once a minute by default (collateral changes at most daily). A PCS that stamps
 * `nextUpdate` at fetch time — the simulated PCS does — made the page and the API disagree when a
 * second boundary fell between two reads (seen in the browser test on a loaded machine).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.ts';

const FMSPC = '00906ED50000';
let server: Server;
let url: string;
let reads = 0;

/** A PCS whose every TCB Info answer carries a new `nextUpdate` (one second later each time). */
before(async () => {
  server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    res.setHeader('content-type', 'application/json');
    if (path.endsWith('/tcb')) {
      reads++;
      const nextUpdate = new Date(Date.UTC(2030, 0, 1, 0, 0, reads)).toISOString();
      res.end(
        JSON.stringify({
          tcbInfo: { issueDate: '2029-12-01T00:00:00Z', nextUpdate, tcbLevels: [{ tcbStatus: 'UpToDate' }] },
        }),
      );
    } else if (path.endsWith('/qe/identity')) {
      res.end(JSON.stringify({ enclaveIdentity: { nextUpdate: '2030-01-01T00:00:00Z' } }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.close();
});

async function pageAndApi(d: Dashboard): Promise<{ page: string | undefined; api: string | undefined }> {
  const html = (await d.app.inject({ method: 'GET', url: '/collateral' })).body;
  const page = new RegExp(`data-k="fmspc\\.${FMSPC}\\.nextUpdate">([^<]+)<`).exec(html)?.[1];
  const body = JSON.parse((await d.app.inject({ method: 'GET', url: '/api/collateral' })).body) as {
    fmspcs: { nextUpdate?: string }[];
  };
  return { page, api: body.fmspcs[0]?.nextUpdate };
}

test('by default the page and the API show the same collateral, read once', async () => {
  const d = createDashboard({ collateral: { url, fmspcs: [FMSPC] }, sampleIntervalMs: 0 });
  try {
    const before = reads;
    const first = await pageAndApi(d);
    await new Promise((r) => setTimeout(r, 2100)); // longer than the other sources' 2 s cache
    const second = await pageAndApi(d);
    assert.ok(first.page !== undefined);
    assert.equal(first.page, first.api);
    assert.deepEqual(second, first);
    assert.equal(reads - before, 1, 'the endpoint was read once for four answers');
  } finally {
    await d.close();
  }
});

test('collateralCacheMs: 0 reads the endpoint for every answer', async () => {
  const d = createDashboard({
    collateral: { url, fmspcs: [FMSPC] },
    sampleIntervalMs: 0,
    collateralCacheMs: 0,
  });
  try {
    const { page, api } = await pageAndApi(d);
    assert.notEqual(page, api, 'each answer got its own read');
  } finally {
    await d.close();
  }
});
