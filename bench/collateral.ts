/**
 * `npm run bench -- collateral`: the collateral service (LAZY, SQLite, in front of the simulated PCS,
 * cache warm) measured in one run:
 *
 * - cached collateral requests/s through the service's HTTP API (the four artefacts a quote needs,
 *   round robin, 16 requests in flight over keep-alive connections);
 * - verifications/s with collateral from the service: per quote, the four artefacts are fetched
 *   from the service over HTTP (a PCCS client without a cache of its own, as a one-shot
 *   `quote verify --pccs-url`), prepared and the quote verified;
 * - the in-process bound: verifications/s with the same collateral prepared once in memory.
 *
 * The headline ("ours") is verifications/s through the service; "vsBound" is its ratio to the bound.
 * The last line is the JSON summary.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcsClient, collateralRequestOfQuote } from '../src/collateral-source/index.ts';
import { startCollateralService } from '../src/collateral-service/index.ts';
import { prepareCollateral, verifyQuote } from '../src/core/index.ts';
import { createSimDcap, startSimPcs } from '../src/sim/index.ts';
import { loadRecorder } from './support/load.ts';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? '3');
const load = loadRecorder();
const dcap = createSimDcap({ seed: 'bench-collateral' });
const platform = dcap.platform('up-to-date');
const quote = platform.quote(
  platform.syntheticReportBody({
    reportData: new Uint8Array(64),
    mrEnclave: new Uint8Array(32).fill(0xaa),
    mrSigner: new Uint8Array(32).fill(0xbb),
    isvProdId: 1,
    isvSvn: 1,
    debug: false,
  }),
);
const req = collateralRequestOfQuote(quote);

const pcs = await startSimPcs(dcap);
const dir = mkdtempSync(join(tmpdir(), 'ccnodes-bench-collateral-'));
const server = await startCollateralService({
  mode: 'lazy',
  upstream: { baseUrl: pcs.url, retries: 0 },
  dataDir: join(dir, 'data'),
  trustSimulatedRoot: dcap.rootPem,
  refreshIntervalMs: 0,
});

async function timed(label: string, run: () => Promise<void> | void, inFlight = 1): Promise<number> {
  for (let i = 0; i < 20; i++) await run(); // warm-up
  let count = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) {
        await run();
        count++;
      }
    }),
  );
  const rate = count / ((performance.now() - start) / 1000);
  process.stdout.write(`  ${label}: ${rate.toFixed(0)}/s\n`);
  return rate;
}

try {
  const client = new PcsClient({ baseUrl: server.url, retries: 0 });
  const first = await client.collateral(req.fmspc, req.ca, req.tee);
  // After the fetch: the simulated PCS issues its collateral when first asked.
  const options = { now: new Date(Date.now() + 1000), trustSimulatedRoot: dcap.rootPem };
  const ok = verifyQuote(quote, first, options);
  if (ok.status !== 'UpToDate') throw new Error(`unexpected status ${ok.status}`);
  const paths = [
    `/sgx/certification/v4/tcb?fmspc=${req.fmspc}`,
    '/sgx/certification/v4/qe/identity',
    `/sgx/certification/v4/pckcrl?ca=${req.ca}&encoding=der`,
    '/sgx/certification/v4/rootcacrl',
  ];
  let next = 0;
  process.stdout.write(`collateral service (LAZY, SQLite, warm cache), ${SECONDS} s per figure:\n`);
  const requests = await timed(
    'cached artefact requests through HTTP (16 in flight)',
    async () => {
      const res = await fetch(`${server.url}${paths[next++ % paths.length] ?? ''}`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    },
    16,
  );
  const through = await timed(
    'verifications with collateral fetched from the service per quote',
    async () => {
      const raw = await client.collateral(req.fmspc, req.ca, req.tee);
      verifyQuote(quote, prepareCollateral(raw), options);
    },
  );
  const prepared = prepareCollateral(first);
  const bound = await timed('bound: verifications with collateral prepared in memory', () => {
    verifyQuote(quote, prepared, options);
  });
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  if (/result="miss"\} [2-9]/.test(metrics)) throw new Error('cache misses during the run');
  const loadavg = load.summary();
  const r = (x: number): number => Math.round(x);
  process.stdout.write(
    `through the service / in-memory bound: ${(through / bound).toFixed(3)} (load ${loadavg.start ?? '?'}→${loadavg.end ?? '?'} on ${loadavg.cpus} CPUs)\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'collateral',
      headline: 'verifications through the service',
      ours: r(through),
      bound: r(bound),
      boundWhat: 'verifications/s with the collateral prepared once in memory, measured in this run',
      unit: 'verifications/s',
      vsBound: Number((through / bound).toFixed(3)),
      cachedRequests: r(requests),
      cachedRequestsUnit: 'requests/s (16 in flight, keep-alive)',
      seconds: SECONDS,
      loadavg,
    })}\n`,
  );
} finally {
  await server.close();
  await pcs.close();
  rmSync(dir, { recursive: true, force: true });
}
