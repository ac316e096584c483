/**
 * The Collateral page per FMSPC: the TCB status of the highest level, the number of levels, the TCB
 * evaluation data number, `issueDate`, `nextUpdate` and the time left until it (or how long ago it
 * passed), plus the QE Identity's — read from a PCS v4 endpoint, with the FMSPCs it lists when none
 * is configured. An FMSPC the source cannot serve is shown with its error, not dropped.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createDashboard } from '../../src/dashboard/index.ts';

const NOW = new Date('2027-03-01T12:00:00Z');
const FRESH = '00906ED50000';
const STALE = '00A067110000';
const MISSING = '30606A000000';
const TCB: Record<string, Record<string, unknown>> = {
  [FRESH]: {
    issueDate: '2027-02-28T00:00:00Z',
    nextUpdate: '2027-03-03T15:30:00Z', // 2 d 3 h 30 min after NOW
    tcbEvaluationDataNumber: 17,
    tcbLevels: [{ tcbStatus: 'UpToDate' }, { tcbStatus: 'SWHardeningNeeded' }, { tcbStatus: 'OutOfDate' }],
  },
  [STALE]: {
    issueDate: '2027-01-01T00:00:00Z',
    nextUpdate: '2027-03-01T09:15:00Z', // 2 h 45 min before NOW
    tcbEvaluationDataNumber: 16,
    tcbLevels: [{ tcbStatus: 'OutOfDate' }],
  },
};

let server: Server;
let url: string;

before(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (u.pathname === '/sgx/certification/v4/fmspcs') {
      res.end(JSON.stringify([FRESH, STALE, MISSING].map((fmspc) => ({ fmspc, platform: 'E3' }))));
    } else if (
      u.pathname === '/sgx/certification/v4/tcb' &&
      TCB[u.searchParams.get('fmspc') ?? ''] !== undefined
    ) {
      res.end(JSON.stringify({ tcbInfo: TCB[u.searchParams.get('fmspc') ?? ''] }));
    } else if (u.pathname === '/sgx/certification/v4/qe/identity') {
      res.end(
        JSON.stringify({
          enclaveIdentity: { issueDate: '2027-02-28T00:00:00Z', nextUpdate: '2027-03-01T12:40:00Z' },
        }),
      );
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

test('Collateral page and API: status, levels, evaluation data number, nextUpdate and expiry per FMSPC', async () => {
  const d = createDashboard({ collateral: { url }, sampleIntervalMs: 0, now: () => NOW });
  try {
    const api = JSON.parse((await d.app.inject({ method: 'GET', url: '/api/collateral' })).body) as {
      fmspcs: {
        fmspc: string;
        latestTcbStatus?: string;
        tcbLevels: number;
        tcbEvaluationDataNumber?: number;
        nextUpdate?: string;
        error?: string;
      }[];
      qeIdentity: { nextUpdate?: string };
    };
    // No --fmspc: the source's own list, in its order.
    assert.deepEqual(
      api.fmspcs.map((f) => f.fmspc),
      [FRESH, STALE, MISSING],
    );
    const [fresh, stale, missing] = api.fmspcs;
    assert.deepEqual(
      [fresh?.latestTcbStatus, fresh?.tcbLevels, fresh?.tcbEvaluationDataNumber, fresh?.nextUpdate],
      ['UpToDate', 3, 17, '2027-03-03T15:30:00Z'],
    );
    assert.deepEqual(
      [stale?.latestTcbStatus, stale?.tcbLevels, stale?.tcbEvaluationDataNumber],
      ['OutOfDate', 1, 16],
    );
    assert.match(missing?.error ?? '', /404/);
    assert.equal(api.qeIdentity.nextUpdate, '2027-03-01T12:40:00Z');

    const html = (await d.app.inject({ method: 'GET', url: '/collateral' })).body;
    const row = (fmspc: string): string[] => {
      const tr = new RegExp(`<tr><td><code>${fmspc}</code></td>(.*?)</tr>`).exec(html)?.[1] ?? '';
      return [...tr.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((m) => m[1] ?? '');
    };
    assert.deepEqual(row(FRESH), [
      'UpToDate',
      '3',
      '17',
      '2027-02-28T00:00:00Z',
      '2027-03-03T15:30:00Z',
      'in 2 d 3 h',
    ]);
    assert.deepEqual(row(STALE), [
      'OutOfDate',
      '1',
      '16',
      '2027-01-01T00:00:00Z',
      '2027-03-01T09:15:00Z',
      'expired 2 h 45 min ago',
    ]);
    assert.match(html, new RegExp(`<td class="warn">OutOfDate</td>`));
    assert.match(html, /<td class="bad">expired 2 h 45 min ago<\/td>/);
    assert.match(row(MISSING)[0] ?? '', /404/);
    assert.match(
      html,
      /data-k="qeIdentity\.nextUpdate">2027-03-01T12:40:00Z<\/span> <span class="ok">\(in 40 min\)/,
    );
  } finally {
    await d.close();
  }
});
