/**
 * `npm run bench -- attestation`: attest requests per second and p50/p99 latency at 32 concurrent
 * connections on loopback, and in the same run the in-process bound (verify the same simulated
 * quote + sign one RS256 token with a ready KeyObject, synchronously on one core, no HTTP). The service
 * signs on libuv's thread pool, so on two cores it can exceed this one-core bound.
 *
 * The service runs in its own child process (`bench/support/attestation-server.ts`: SQLite audit,
 * collateral prepared once); autocannon drives it from this process with POST /attest/SgxEnclave
 * (simulated quote + runtimeData). Client and server share the machine's two cores. The server's
 * RSS is sampled from /proc/<pid>/status during the load (max VmRSS). The child is always killed.
 *
 * Env: BENCH_DURATION_S (default 10), BENCH_SERVER_NODE_ARGS (extra node flags for the server,
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 * Last line: {"bench":"attestation","ours","bound","p50_ms","p99_ms","unit":"requests/s","rss_mib"}.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { prepareCollateral, verifyQuote } from '../src/core/index.ts';
import { createSimDcap } from '../src/sim/index.ts';

const CONNECTIONS = 32;
const DURATION_S = Number(process.env['BENCH_DURATION_S'] ?? 10);

/** The part of autocannon's result this bench reads (the package ships no types). */
interface CannonResult {
  readonly requests: { readonly average: number; readonly total: number };
  readonly latency: { readonly p50: number; readonly p99: number; readonly average: number };
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
}
type Cannon = (opts: Record<string, unknown>) => Promise<CannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

// In-process bound: verify + sign, same inputs, collateral prepared once, key ready.
const dcap = createSimDcap({ seed: 'bench-attestation' });
const platform = dcap.platform('up-to-date');
const runtime = Buffer.from('bench runtime data');
const quote = platform.quote(
  platform.syntheticReportBody({ reportData: createHash('sha256').update(runtime).digest() }),
);
const collateral = prepareCollateral(dcap.collateral(platform));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const b64 = (s: string): string => Buffer.from(s).toString('base64url');
let n = 0;
const boundStart = performance.now();
const boundEnd = boundStart + Math.min(DURATION_S * 1000, 5000);
while (performance.now() < boundEnd) {
  verifyQuote(quote, collateral, { now: new Date(), trustSimulatedRoot: dcap.rootPem });
  const input = `${b64(JSON.stringify({ alg: 'RS256', typ: 'JWT' }))}.${b64(JSON.stringify({ n }))}`;
  sign('sha256', Buffer.from(input), privateKey).toString('base64url');
  n++;
}
const bound = n / ((performance.now() - boundStart) / 1000);
process.stdout.write(`bound (verify + RS256 sign, in-process, one core): ${bound.toFixed(0)}/s\n`);

/** Starts the server child and waits for its `{url,pid,body}` line. */
function startServer(): Promise<{ child: ChildProcess; url: string; pid: number; body: string }> {
  const script = fileURLToPath(new URL('./support/attestation-server.ts', import.meta.url));
  const extra = (process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(/\s+/).filter((s) => s !== '');
  const child = spawn(process.execPath, [...extra, '--import', 'tsx', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      reject(new Error('attestation server did not start in 60 s'));
    }, 60_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`attestation server exited early (code ${code})`));
    });
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const info = JSON.parse(buf.slice(0, nl)) as { url: string; pid: number; body: string };
      resolve({ child, ...info });
    });
  });
}

function rssKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m?.[1] === undefined ? 0 : Number(m[1]);
}

const server = await startServer();
const stop = (): void => {
  if (server.child.exitCode === null) server.child.kill('SIGTERM');
};
process.on('exit', stop);
let result: CannonResult;
let maxRssKib = 0;
try {
  const opts = {
    url: `${server.url}/attest/SgxEnclave?api-version=2022-08-01`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: server.body,
    connections: CONNECTIONS,
    pipelining: 1,
  };
  // Warm-up (JIT, SQLite pages), then the measured run.
  await autocannon({ ...opts, duration: 2 });
  const timer = setInterval(() => {
    maxRssKib = Math.max(maxRssKib, rssKib(server.pid, 'VmRSS'));
  }, 200);
  try {
    result = await autocannon({ ...opts, duration: DURATION_S });
  } finally {
    clearInterval(timer);
  }
  maxRssKib = Math.max(maxRssKib, rssKib(server.pid, 'VmRSS'));
  process.stdout.write(
    `server peak RSS (VmHWM, incl. warm-up): ${(rssKib(server.pid, 'VmHWM') / 1024).toFixed(0)} MiB\n`,
  );
} finally {
  server.child.stdin?.end();
  stop();
  await new Promise((r) => {
    if (server.child.exitCode !== null) r(undefined);
    else server.child.once('exit', r);
  });
}

const total = result.requests.total;
const ok = total - result.non2xx;
const ours = ok / result.duration;
process.stdout.write(
  `service (autocannon, ${CONNECTIONS} connections, ${result.duration.toFixed(1)} s): ${ours.toFixed(0)} req/s over ${ok} OK requests (${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts), p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ratio ${(ours / bound).toFixed(2)}, server RSS under load ${(maxRssKib / 1024).toFixed(0)} MiB\n`,
);
if (result.non2xx > 0 || result.errors > 0) process.exitCode = 1;
process.stdout.write(
  `${JSON.stringify({ bench: 'attestation', ours: Math.round(ours), bound: Math.round(bound), p50_ms: result.latency.p50, p99_ms: result.latency.p99, unit: 'requests/s', rss_mib: Math.round(maxRssKib / 1024) })}\n`,
);
