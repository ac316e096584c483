/**
 * Quote helper throughput and footprint (`npm run bench -- quote-helper`).
 *
 * Starts the daemon as its own process exactly as deployed (`node bin/ccnodes.js node quote-helper
 * --provider sim`), measures its idle resident memory (VmRSS after start-up has settled), then runs
 * 16 concurrent AESM clients in this process, each looping GetQuoteEx over a fresh unix socket
 * connection (one request per connection, as libsgx_quote_ex does) for a fixed time, and counts
 * quotes per second. Also reports the rate of the whole Open Enclave sequence (6 requests per quote).
 *
 * Last line: {"bench":"quote-helper","ours":<quotes/s>,"unit":"quotes/s","idleRssMiB":<MiB>, …}.
 * Target (issue 5): ≥ 2,000 quotes/s and idle RSS < 80 MiB. The machine's load is printed too,
 * because clients and daemon share its CPUs.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import {
  AESM_FIELD,
  AesmClient,
  decodeFields,
  encodeFields,
  runOpenEnclaveSequence,
} from '../test/support/aesm-client.ts';

const CONCURRENCY = 16;
const WARMUP_MS = 1_500;
const MEASURE_MS = 6_000;

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** A 432-byte report (body with INIT|MODE64BIT and some REPORTDATA; KEYID/MAC zero). */
function syntheticReport(i: number): Uint8Array {
  const r = Buffer.alloc(432);
  r.writeBigUInt64LE(0x5n, 48); // ATTRIBUTES.flags
  r.writeBigUInt64LE(0x3n, 56); // ATTRIBUTES.xfrm
  r.fill(0xa5, 64, 96); // MRENCLAVE
  r.writeUInt32LE(i, 320); // REPORTDATA
  return r;
}

async function loop(until: number, body: () => Promise<void>): Promise<number> {
  let n = 0;
  while (performance.now() < until) {
    await body();
    n += 1;
  }
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'bench-qh-'));
const socket = join(dir, 'aesm.socket');
const jsonSocket = join(dir, 'json.socket');
const bin = fileURLToPath(new URL('../bin/ccnodes.js', import.meta.url));
const daemon = spawn(
  process.execPath,
  [
    bin,
    'node',
    'quote-helper',
    '--socket',
    socket,
    '--json-socket',
    jsonSocket,
    '--data-dir',
    join(dir, 'state'),
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
try {
  const started = Date.now();
  while (!existsSync(jsonSocket)) {
    if (Date.now() - started > 60_000 || daemon.exitCode !== null)
      throw new Error('quote helper did not start');
    await sleep(25);
  }
  const pid = daemon.pid ?? 0;
  await sleep(3_000);
  const idleRss = rssMiB(pid);
  process.stdout.write(`daemon pid ${pid}: idle RSS ${idleRss} MiB (after start-up, before any request)\n`);

  const client = new AesmClient(socket);
  const size = await client.getQuoteSizeEx();
  if (size.errorCode !== 0 || size.quoteSize === undefined) throw new Error('GetQuoteSizeEx failed');
  const bufSize = size.quoteSize;
  // Requests are encoded once per client, so the clients spend their CPU on the exchange itself;
  // every answer is still decoded and checked (errorCode 0, a quote of buf_size bytes).
  const frames = Array.from({ length: CONCURRENCY }, (_, i) => {
    const body = encodeFields([
      [
        AESM_FIELD.getQuoteEx,
        encodeFields([
          [1, syntheticReport(i)],
          [4, bufSize],
        ]),
      ],
    ]);
    const frame = Buffer.alloc(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    frame.set(body, 4);
    return frame;
  });
  const quoteOnce = async (i: number): Promise<void> => {
    const answer = await client.sendRaw(frames[i] ?? Buffer.alloc(0));
    if (answer.kind !== 'response') throw new Error('GetQuoteEx closed without an answer');
    const res = decodeFields(answer.body).get(AESM_FIELD.getQuoteEx)?.[0];
    const fields = res instanceof Uint8Array ? decodeFields(res) : undefined;
    const quote = fields?.get(2)?.[0];
    if (fields?.get(1)?.[0] !== 0n || !(quote instanceof Uint8Array) || quote.length !== bufSize) {
      throw new Error(`GetQuoteEx failed (errorCode ${String(fields?.get(1)?.[0])})`);
    }
  };

  const warm = performance.now() + WARMUP_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => loop(warm, () => quoteOnce(i))));

  const load = loadavg()[0] ?? 0;
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) => loop(t0 + MEASURE_MS, () => quoteOnce(i))),
  );
  const seconds = (performance.now() - t0) / 1000;
  const quotes = counts.reduce((a, b) => a + b, 0);
  const qps = Math.round(quotes / seconds);
  const busyRss = rssMiB(pid);
  process.stdout.write(
    `GetQuoteEx: ${quotes} quotes in ${seconds.toFixed(2)} s with ${CONCURRENCY} clients = ${qps} quotes/s (RSS under load ${busyRss} MiB)\n`,
  );

  const t1 = performance.now();
  const seqCounts = await Promise.all(
    Array.from({ length: CONCURRENCY }, (_, i) =>
      loop(t1 + MEASURE_MS / 2, async () => {
        await runOpenEnclaveSequence(client, () => syntheticReport(i));
      }),
    ),
  );
  const seqSeconds = (performance.now() - t1) / 1000;
  const seqRate = Math.round(seqCounts.reduce((a, b) => a + b, 0) / seqSeconds);
  process.stdout.write(`full Open Enclave sequence (6 requests each): ${seqRate} quotes/s\n`);
  process.stdout.write(
    `machine: ${cpus().length} CPUs, 1-min load average ${load.toFixed(2)} at the start of the run\n`,
  );

  process.stdout.write(
    `${JSON.stringify({
      bench: 'quote-helper',
      ours: qps,
      bound: 2000,
      unit: 'quotes/s',
      idleRssMiB: idleRss,
      loadRssMiB: busyRss,
      sequenceQuotesPerSecond: seqRate,
      clients: CONCURRENCY,
      cpus: cpus().length,
      loadAverage: Math.round(load * 100) / 100,
    })}\n`,
  );
} finally {
  daemon.kill('SIGTERM');
  await new Promise<void>((resolve) => {
    if (daemon.exitCode !== null) resolve();
    else
      daemon.once('exit', () => {
        resolve();
      });
  });
  rmSync(dir, { recursive: true, force: true });
}
