/**
 * `npm run bench -- trusted-files-hash`: how close hashing the trusted files comes to SHA-256 itself.
 *
 * The container bench's data set: 10 files of 5 MiB (incompressible, in the page cache), hashed by
 * `hashTrustedFiles` in ROUNDS rounds (median), interleaved round by round with the variants below so
 * that all share the machine's load alike. Each round is timed by wall clock and by the CPU time of
 * this process (user + system, thread pool included): on a busy machine the wall-clock figure drops,
 * the CPU figure does not. Bounds measured in the same process:
 *
 * - `openssl speed -seconds 1 -bytes 1048576 -evp sha256`, run three times (once before the rounds,
 *   twice after; median). OpenSSL divides by its own CPU user time: a per-CPU-second figure;
 * - Node's SHA-256 of one in-memory 1 MiB buffer fed 50 times (no reads at all), wall and CPU.
 *
 * For reference, the same files hashed with the reads handed to the thread pool (`FileHandle.read`,
 * two buffers, the next read in flight while the current buffer is hashed): the alternative to the
 * synchronous reads `hashFile` uses. Its wall clock on a busy machine profits from the scheduler
 * favouring threads that wake from waits; its CPU figure is the fair comparison. Everything is
 * single-threaded hashing: `hashTrustedFiles` may interleave up to four files, all on the main
 * thread. The last line is the JSON summary (load average at start and end included).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashTrustedFiles } from '../src/container/index.ts';
import { loadRecorder } from './support/load.ts';

const load = loadRecorder();
const FILES = 10;
const FILE_MIB = 5;
const ROUNDS = Number(process.env['CCNODES_BENCH_ROUNDS'] ?? 15);
const MIB = FILES * FILE_MIB;

interface Rate {
  wall: number;
  cpu: number;
}

/** Runs the variants in interleaved rounds (so that they share the machine's load alike); medians. */
async function measure(variants: readonly (() => unknown)[]): Promise<Rate[]> {
  const wall = variants.map((): number[] => []);
  const cpu = variants.map((): number[] => []);
  for (const f of variants) await f();
  for (let i = 0; i < ROUNDS; i++) {
    for (const [k, f] of variants.entries()) {
      const t = performance.now();
      const c = process.cpuUsage();
      await f();
      wall[k]?.push(MIB / ((performance.now() - t) / 1000));
      const used = process.cpuUsage(c);
      cpu[k]?.push(MIB / ((used.user + used.system) / 1e6));
    }
  }
  const med = (xs: number[] = []): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  return variants.map((_, k) => ({ wall: med(wall[k]), cpu: med(cpu[k]) }));
}

/** MiB per CPU-second of `openssl speed` (it prints "sha256 <n>k", thousands of bytes per second). */
function opensslSpeed(): number | undefined {
  const speed = spawnSync(
    'openssl',
    ['speed', '-seconds', '1', '-bytes', String(2 ** 20), '-evp', 'sha256'],
    {
      encoding: 'utf8',
    },
  );
  const m = /^sha256\s+([\d.]+)k\s*$/im.exec(speed.stdout);
  return speed.status === 0 && m !== null ? (Number(m[1]) * 1000) / 2 ** 20 : undefined;
}

/** The thread-pool alternative: reads in flight while the previous buffer is hashed. */
async function hashOverlapped(path: string, bufs: [Buffer, Buffer]): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const h = createHash('sha256');
    let pos = 0;
    let k = 0;
    let reading = fh.read(bufs[0], 0, bufs[0].length, 0);
    for (;;) {
      const { bytesRead, buffer } = await reading;
      if (bytesRead === 0) break;
      pos += bytesRead;
      k ^= 1;
      reading = fh.read(bufs[k] ?? bufs[0], 0, bufs[0].length, pos);
      h.update(buffer.subarray(0, bytesRead));
    }
    return h.digest('hex');
  } finally {
    await fh.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'ccnodes-bench-trusted-hash-'));
try {
  await mkdir(join(dir, 'data'));
  const paths: string[] = [];
  for (let i = 0; i < FILES; i++) {
    const buf = Buffer.alloc(FILE_MIB * 2 ** 20);
    for (let off = 0, n = 0; off < buf.length; off += 32, n++)
      createHash('sha256').update(`bench-${i}-${n}`).digest().copy(buf, off);
    await writeFile(join(dir, 'data', `blob-${i}.bin`), buf);
    paths.push(`data/blob-${i}.bin`);
  }
  const openssl: number[] = [];
  const run = (): void => {
    const o = opensslSpeed();
    if (o !== undefined) openssl.push(o);
  };
  run();
  const block = Buffer.alloc(2 ** 20, 0x5a);
  const bufs: [Buffer, Buffer] = [Buffer.allocUnsafe(2 ** 20), Buffer.allocUnsafe(2 ** 20)];
  const [ours, inMemory, overlapped] = (await measure([
    () => hashTrustedFiles(dir, paths),
    () => {
      const h = createHash('sha256');
      for (let i = 0; i < MIB; i++) h.update(block);
      h.digest();
    },
    async () => {
      for (const p of paths) await hashOverlapped(join(dir, p), bufs);
    },
  ])) as [Rate, Rate, Rate];
  run();
  run();
  const bound = openssl.sort((a, b) => a - b)[Math.floor(openssl.length / 2)];
  const r0 = (x: number): number => Math.round(x);
  const ratio = (x: number): number | undefined =>
    bound === undefined ? undefined : Number((x / bound).toFixed(3));
  const pct = (x: number): string => (bound === undefined ? '' : ` (${(100 * (ratio(x) ?? 0)).toFixed(0)}%)`);
  const loadavg = load.summary();
  process.stdout.write(
    `trusted-files hashing, ${MIB} MiB in ${FILES} files, ${ROUNDS} rounds, load ${loadavg.start ?? '?'}→${loadavg.end ?? '?'} on ${loadavg.cpus} CPUs\n` +
      (bound === undefined
        ? '  openssl speed unavailable\n'
        : `  openssl speed -evp sha256, 1 MiB blocks: ${r0(bound)} MiB per CPU-second (runs: ${openssl.map(r0).join(', ')})\n`) +
      `  hashTrustedFiles: ${r0(ours.wall)} MiB/s wall${pct(ours.wall)}, ${r0(ours.cpu)} MiB per CPU-second${pct(ours.cpu)}; target ≥ 70%\n` +
      `  node sha256, in-memory 1 MiB blocks: ${r0(inMemory.wall)} MiB/s wall${pct(inMemory.wall)}, ${r0(inMemory.cpu)} per CPU-second${pct(inMemory.cpu)}\n` +
      `  reference, reads in the thread pool overlapped with hashing: ${r0(overlapped.wall)} MiB/s wall${pct(overlapped.wall)}, ${r0(overlapped.cpu)} per CPU-second${pct(overlapped.cpu)}\n`,
  );
  process.stdout.write(
    `${JSON.stringify({
      bench: 'trusted-files-hash',
      headline: 'hashTrustedFiles wall clock',
      ours: r0(ours.wall),
      ...(bound === undefined ? {} : { bound: r0(bound) }),
      unit: 'MiB/s',
      target: { oursVsBound: 0.7 },
      oursPerCpuSecond: r0(ours.cpu),
      ...(bound === undefined
        ? {}
        : { oursVsBound: ratio(ours.wall), oursCpuVsBound: ratio(ours.cpu), opensslRuns: openssl.map(r0) }),
      nodeInMemory: { wall: r0(inMemory.wall), perCpuSecond: r0(inMemory.cpu) },
      threadPoolOverlapped: { wall: r0(overlapped.wall), perCpuSecond: r0(overlapped.cpu) },
      boundCommand:
        'openssl speed -seconds 1 -bytes 1048576 -evp sha256 (MiB per CPU user second), median of 3',
      trustedBytes: MIB * 2 ** 20,
      rounds: ROUNDS,
      loadavg,
    })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
