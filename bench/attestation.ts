/**
 * `npm run bench -- attestation`: attest requests per second and p50/p99 latency at 32 concurrent
 * connections on loopback (undici pool as the load generator; autocannon is not a dependency), and
 * in the same run the in-process bound: verify the same simulated quote + sign one RS256 token.
 * The service runs in this process (client and server share the CPU), so the ratio is conservative.
 * Last line: {"bench":"attestation","ours","bound","p50_ms","p99_ms","rss_mib","unit"}.
 */
import 'reflect-metadata';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { Pool } from 'undici';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  staticCollateral,
} from '../src/attestation/index.ts';
import { prepareCollateral, verifyQuote } from '../src/core/index.ts';
import { createSimDcap } from '../src/sim/index.ts';

const CONNECTIONS = 32;
const DURATION_MS = Number(process.env['BENCH_DURATION_MS'] ?? 10_000);

const dcap = createSimDcap({ seed: 'bench-attestation' });
const platform = dcap.platform('up-to-date');
const runtime = Buffer.from('bench runtime data');
const quote = platform.quote(
  platform.syntheticReportBody({ reportData: createHash('sha256').update(runtime).digest() }),
);
const collateral = prepareCollateral(dcap.collateral(platform));

// In-process bound: verify + sign, same inputs.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
let n = 0;
const boundEnd = performance.now() + Math.min(DURATION_MS, 5000);
const boundStart = performance.now();
while (performance.now() < boundEnd) {
  verifyQuote(quote, collateral, { now: new Date(), trustSimulatedRoot: dcap.rootPem });
  await new SignJWT({ n }).setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).sign(privateKey);
  n++;
}
const bound = n / ((performance.now() - boundStart) / 1000);
process.stdout.write(`bound (verify + RS256 sign, one core): ${bound.toFixed(0)}/s\n`);

const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-bench-attest-'));
const service = await createAttestationService({
  dataDir,
  publicUrl: 'http://127.0.0.1:0',
  simulationMode: true,
  verifier: createDcapEvidenceVerifier({
    collateral: staticCollateral(collateral),
    trustSimulatedRoot: dcap.rootPem,
  }),
});
await service.app.listen({ host: '127.0.0.1', port: 0 });
const addr = service.app.server.address();
const url = `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}`;
const body = JSON.stringify({
  quote: Buffer.from(quote).toString('base64url'),
  runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
});
const pool = new Pool(url, { connections: CONNECTIONS, pipelining: 1 });

async function one(): Promise<number> {
  const t = performance.now();
  const res = await pool.request({
    path: '/attest/SgxEnclave?api-version=2022-08-01',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  return performance.now() - t;
}

// Warm-up, then the measured run.
await Promise.all(Array.from({ length: CONNECTIONS }, () => one()));
const latencies: number[] = [];
let maxRss = 0;
const rssTimer = setInterval(() => {
  maxRss = Math.max(maxRss, process.memoryUsage().rss);
}, 200);
const start = performance.now();
const end = start + DURATION_MS;
await Promise.all(
  Array.from({ length: CONNECTIONS }, async () => {
    while (performance.now() < end) latencies.push(await one());
  }),
);
const elapsed = (performance.now() - start) / 1000;
clearInterval(rssTimer);
await pool.close();
await service.close();
rmSync(dataDir, { recursive: true, force: true });

latencies.sort((a, b) => a - b);
const pct = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
const ours = latencies.length / elapsed;
process.stdout.write(
  `service: ${ours.toFixed(0)} req/s over ${latencies.length} requests, p50 ${pct(50).toFixed(1)} ms, p99 ${pct(99).toFixed(1)} ms, ratio ${(ours / bound).toFixed(2)}\n`,
);
process.stdout.write(
  `${JSON.stringify({ bench: 'attestation', ours: Math.round(ours), bound: Math.round(bound), p50_ms: Number(pct(50).toFixed(2)), p99_ms: Number(pct(99).toFixed(2)), rss_mib: Math.round(maxRss / 1048576), unit: 'requests/s' })}\n`,
);
