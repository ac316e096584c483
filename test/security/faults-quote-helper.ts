/**
 * Quote-helper flood scenario: the daemon started as the CLI starts it (`node bin/ccnodes.js node
 * quote-helper --provider sim`, its own process), `goodClients` clients in this process looping
 * GetQuoteEx (fresh connection per request, as libsgx_quote_ex does; every answer checked), and a
 * separate, rate-limited flood process (faults-flood-worker.ts) holding `holders` AESM connections
 * open and sending malformed frames at `floodRate` frames/s. Phases alternate quiet / flooded
 * (`rounds` times each) so both are measured in the same run on the same machine; the figure is the
 * good clients' quote rate under the flood as a fraction of the quiet rate.
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimCpu } from '../../src/sim/index.ts';
import { AESM_FIELD, AesmClient, encodeFields } from '../support/aesm-client.ts';

const BIN = fileURLToPath(new URL('../../bin/ccnodes.js', import.meta.url));
const WORKER = fileURLToPath(new URL('./faults-flood-worker.ts', import.meta.url));

export interface FloodResult {
  readonly goodClients: number;
  readonly idleConnections: number;
  /** Good clients' GetQuoteEx rate, quiet phases. */
  readonly unloadedQps: number;
  /** The same, flooded phases. */
  readonly floodedQps: number;
  readonly keptFraction: number;
  /** Good requests that failed (no or wrong answer), quiet / flooded. */
  readonly goodErrors: { quiet: number; flooded: number };
  readonly flood: {
    readonly framesPerSecond: number;
    readonly targetRate: number;
    readonly holdersOpenAtEnd: number;
    readonly reconnects: number;
    /** CPU time of the flood process per second of flooding, ms (1000 = one core). */
    readonly cpuMsPerSecond: number;
  };
  readonly phaseMs: number;
  readonly rounds: number;
  /** Daemon CPU use (ms per second) in quiet and flooded phases, from /proc. */
  readonly daemonCpuMsPerSecond: { quiet: number; flooded: number } | null;
}

function cpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return undefined;
  }
}

export async function quoteHelperFloodScenario(
  o: {
    goodClients?: number;
    holders?: number;
    floodRate?: number;
    phaseMs?: number;
    rounds?: number;
    log?: (s: string) => void;
  } = {},
): Promise<FloodResult> {
  const log = o.log ?? ((): void => undefined);
  const goodClients = o.goodClients ?? 8;
  const holders = o.holders ?? 1000;
  const rate = o.floodRate ?? 1000;
  const phaseMs = o.phaseMs ?? 3000;
  const rounds = o.rounds ?? 2;
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-faults-qh-'));
  const socket = join(dir, 'aesm.socket');
  const jsonSocket = join(dir, 'json.socket');
  let daemon: ChildProcess | undefined;
  let worker: ChildProcess | undefined;
  try {
    daemon = spawn(
      process.execPath,
      [
        BIN,
        'node',
        'quote-helper',
        '--provider',
        'sim',
        '--socket',
        socket,
        '--json-socket',
        jsonSocket,
        '--data-dir',
        join(dir, 'state'),
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const t0 = Date.now();
    while (!existsSync(jsonSocket)) {
      if (Date.now() - t0 > 60_000 || daemon.exitCode !== null) throw new Error('quote helper did not start');
      await sleep(50);
    }
    const pid = daemon.pid ?? 0;
    // The app enclave of the daemon's simulated platform (same data dir), as bench/quote-helper.ts.
    const cpu = await SimCpu.open(join(dir, 'state'));
    const client = new AesmClient(socket);
    const init = await client.initQuoteEx({ bPubKeyId: false });
    if (init.errorCode !== 0 || init.targetInfo === undefined) throw new Error('InitQuoteEx failed');
    const size = await client.getQuoteSizeEx();
    if (size.errorCode !== 0 || size.quoteSize === undefined) throw new Error('GetQuoteSizeEx failed');
    const app = cpu.launchArchitectural({
      mrEnclave: new Uint8Array(32).fill(0xa5),
      mrSigner: new Uint8Array(32).fill(0x5a),
      attributes: { flags: 0x4n, xfrm: 0x3n },
      isvProdId: 1,
    });
    const frames = Array.from({ length: goodClients }, (_, i) => {
      const data = Buffer.alloc(64);
      data.writeUInt32LE(i, 0);
      const body = encodeFields([
        [
          AESM_FIELD.getQuoteEx,
          encodeFields([
            [1, cpu.ereport(app, init.targetInfo ?? new Uint8Array(), data)],
            [4, size.quoteSize ?? 0],
          ]),
        ],
      ]);
      const f = Buffer.alloc(4 + body.length);
      f.writeUInt32LE(body.length, 0);
      f.set(body, 4);
      return f;
    });
    // A good answer: a frame whose length covers a quote of quoteSize bytes.
    const minAnswer = 4 + size.quoteSize;
    const quoteOnce = (i: number): Promise<boolean> =>
      new Promise((resolve) => {
        const s = connect({ path: socket });
        let got = 0;
        let declared = -1;
        const head: Buffer[] = [];
        s.setTimeout(10_000, () => s.destroy());
        s.on('connect', () => s.write(frames[i] ?? Buffer.alloc(0)));
        s.on('data', (c: Buffer) => {
          if (declared < 0) head.push(c);
          got += c.length;
          if (declared < 0 && got >= 4) declared = Buffer.concat(head).readUInt32LE(0);
        });
        s.on('error', () => undefined);
        s.on('close', () => {
          resolve(declared >= 0 && got === 4 + declared && got >= minAnswer);
        });
      });
    const phase = async (): Promise<{ ok: number; bad: number; seconds: number; daemonCpu?: number }> => {
      const until = performance.now() + phaseMs;
      const c0 = cpuMs(pid);
      const start = performance.now();
      let ok = 0;
      let bad = 0;
      await Promise.all(
        Array.from({ length: goodClients }, async (_, i) => {
          while (performance.now() < until) {
            if (await quoteOnce(i)) ok += 1;
            else bad += 1;
          }
        }),
      );
      const seconds = (performance.now() - start) / 1000;
      const c1 = cpuMs(pid);
      return { ok, bad, seconds, ...(c0 === undefined || c1 === undefined ? {} : { daemonCpu: c1 - c0 }) };
    };
    worker = fork(WORKER, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const w = worker;
    const ask = <T>(msg: unknown): Promise<T> =>
      new Promise((resolve) => {
        w.once('message', (m) => {
          resolve(m as T);
        });
        w.send(msg as object);
      });
    // Warm-up (JIT, first connections), not counted.
    const warmEnd = performance.now() + 1000;
    await Promise.all(
      Array.from({ length: goodClients }, async (_, i) => {
        while (performance.now() < warmEnd) await quoteOnce(i);
      }),
    );
    const quiet = { ok: 0, bad: 0, seconds: 0, cpu: 0 };
    const flooded = { ok: 0, bad: 0, seconds: 0, cpu: 0 };
    let floodFrames = 0;
    let floodSeconds = 0;
    let floodCpu = 0;
    let holdersOpen = 0;
    let reconnects = 0;
    for (let r = 0; r < rounds; r++) {
      const q = await phase();
      quiet.ok += q.ok;
      quiet.bad += q.bad;
      quiet.seconds += q.seconds;
      quiet.cpu += q.daemonCpu ?? 0;
      log(`quote-helper-flood: quiet phase ${r + 1}: ${Math.round(q.ok / q.seconds)} quotes/s`);
      const cpuBefore = (await ask<{ cpuMs: number }>({ cmd: 'stop' })).cpuMs;
      await ask({ cmd: 'start', socket, holders, rate });
      // Let the holders connect before timing.
      await sleep(500);
      const f = await phase();
      const stats = await ask<{
        frames: number;
        seconds: number;
        holdersOpen: number;
        reconnects: number;
        cpuMs: number;
      }>({ cmd: 'stop' });
      flooded.ok += f.ok;
      flooded.bad += f.bad;
      flooded.seconds += f.seconds;
      flooded.cpu += f.daemonCpu ?? 0;
      floodFrames += stats.frames;
      floodSeconds += stats.seconds;
      floodCpu += stats.cpuMs - cpuBefore;
      holdersOpen = stats.holdersOpen;
      reconnects += stats.reconnects;
      log(
        `quote-helper-flood: flooded phase ${r + 1}: ${Math.round(f.ok / f.seconds)} quotes/s; flood ${Math.round(stats.frames / stats.seconds)} frames/s, ${stats.holdersOpen} connections held`,
      );
      await sleep(300);
    }
    const unloadedQps = Math.round(quiet.ok / quiet.seconds);
    const floodedQps = Math.round(flooded.ok / flooded.seconds);
    return {
      goodClients,
      idleConnections: holders,
      unloadedQps,
      floodedQps,
      keptFraction: Math.round((floodedQps / unloadedQps) * 1000) / 1000,
      goodErrors: { quiet: quiet.bad, flooded: flooded.bad },
      flood: {
        framesPerSecond: Math.round(floodFrames / floodSeconds),
        targetRate: rate,
        holdersOpenAtEnd: holdersOpen,
        reconnects,
        cpuMsPerSecond: Math.round(floodCpu / floodSeconds),
      },
      phaseMs,
      rounds,
      daemonCpuMsPerSecond:
        quiet.cpu === 0
          ? null
          : {
              quiet: Math.round(quiet.cpu / quiet.seconds),
              flooded: Math.round(flooded.cpu / flooded.seconds),
            },
    };
  } finally {
    worker?.send({ cmd: 'exit' });
    if (daemon !== undefined && daemon.exitCode === null) {
      const d = daemon;
      const gone = new Promise((r) => d.once('exit', r));
      d.kill('SIGTERM');
      await Promise.race([gone, sleep(10_000)]);
      if (d.exitCode === null) d.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
