/**
 * `npm run bench -- policy-attack`: does a hostile draft policy stall the attestation service?
 * (issue 12, item 6). Targets from the issue: during the attack `GET /ccnodes/v1/health` answers
 * within 200 ms, and the crafted request ends with a 4xx within 2 s.
 *
 * The service is started from the CLI (`node bin/ccnodes.js attestation serve`, simulation mode,
 * SQLite in a temporary data directory, an offline collateral bundle) in a child process. This
 * process polls health (one request at a time, 20 ms apart, keep-alive) for BENCH_DURATION_S
 * seconds with no other traffic (the unloaded figures, the "bound"), then again while an attacker
 * process (`bench/support/policy-attacker.ts`) sends the crafted request over and over:
 * an anonymous `POST /attest/SgxEnclave` with a valid simulated quote and a
 * `draftPolicyForAttestation` that builds 40 strings of 512 KiB with AppendString and compares them
 * pairwise in 800 rules (built by test/support/policy-attack.ts, the same code as the regression
 * test). The attacker keeps one request in flight from each of 8 client addresses (127.0.0.2 to
 * 127.0.0.9), so that the per-client draft rate limit does not stop it early. Two services are
 * measured: one with the default draft rate limit (30 a minute, burst 10, per address), one with
 * the limit off (`--draft-rate-limit 0`), where every request reaches the policy worker and its
 * deadline; the second one is the headline.
 *
 * Reported per service: health p50/p99/max unloaded and under attack and the p99 ratio; attack
 * requests by status and error code and their duration (p50, max); the service's own event-loop
 * delay (p99, max, from its /ccnodes/v1/metrics) in each phase, which tells a blocked event loop
 * from a CPU shared with other work. /proc/loadavg at start and
 * end (the machine is shared). The bench exits 1 if a health request fails or an attack request
 * is answered with anything but 4xx or 503 (a full evaluation queue); missed targets are reported
 * in `met`, not as a failure. Env: BENCH_DURATION_S (default 10) per phase, BENCH_SERVER_NODE_ARGS
 * (extra node flags for the service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 * Last line: {"bench":"policy-attack","ours","bound","unit":"ms","target",…}.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeCollateralBundle } from '../src/core/index.ts';
import { createSimDcap } from '../src/sim/index.ts';
import { pairwiseDraftAttackBody } from '../test/support/policy-attack.ts';
import type { AttackRecord } from './support/policy-attacker.ts';
import { loadRecorder } from './support/load.ts';

const DURATION_MS = Number(process.env['BENCH_DURATION_S'] ?? 10) * 1000;
const POLL_GAP_MS = 20;
const ATTACKERS = ['2', '3', '4', '5', '6', '7', '8', '9'].map((n) => `127.0.0.${n}`);
const TARGET = { health_ms: 200, attack_status: '4xx', attack_ms: 2000 };

const load = loadRecorder();
const loadavg = (): string => {
  try {
    return readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    return 'n/a';
  }
};
const loadavgStart = loadavg();
process.stdout.write(`loadavg at start: ${loadavgStart}\n`);

const repo = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ccnodes-bench-policy-attack-'));
process.on('exit', () => {
  rmSync(work, { recursive: true, force: true });
});

// Inputs: collateral bundle and simulated root for the CLI, the attack body for the attacker.
const dcap = createSimDcap({ seed: 'bench-policy-attack' });
const platform = dcap.platform('up-to-date');
writeFileSync(join(work, 'bundle.json'), serializeCollateralBundle(dcap.collateral(platform)));
writeFileSync(join(work, 'root.pem'), dcap.rootPem);
const runtime = Buffer.from('policy-attack bench runtime data');
const quote = platform.quote(
  platform.syntheticReportBody({ reportData: createHash('sha256').update(runtime).digest() }),
);
const bodyFile = join(work, 'attack.json');
writeFileSync(bodyFile, JSON.stringify(pairwiseDraftAttackBody(quote, runtime)));

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Reads JSON lines from a child's stdout; resolves with the first line `pick` accepts. */
function firstLine<T>(
  child: ChildProcess,
  what: string,
  pick: (o: Record<string, unknown>) => T | undefined,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let found = false;
    const timer = setTimeout(() => {
      reject(new Error(`${what}: no answer in 120 s`));
    }, 120_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${what} exited early (code ${code})`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (found || !line.startsWith('{')) continue;
        const value = pick(JSON.parse(line) as Record<string, unknown>);
        if (value !== undefined) {
          found = true;
          clearTimeout(timer);
          resolve(value);
        }
      }
    });
  });
}

/** Starts `ccnodes attestation serve` with `extra` flags; resolves with its URL. */
async function startService(name: string, extra: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [
      ...(process.env['BENCH_SERVER_NODE_ARGS'] ?? '').split(/\s+/).filter((a) => a !== ''),
      join(repo, 'bin', 'ccnodes.js'),
      'attestation',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--insecure-http',
      '--data-dir',
      join(work, `data-${name}`),
      '--collateral',
      join(work, 'bundle.json'),
      '--trust-simulated-root',
      join(work, 'root.pem'),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const url = await firstLine(child, 'attestation service', (o) =>
    o['msg'] === 'attestation service ready' && typeof o['url'] === 'string' ? o['url'] : undefined,
  );
  return { child, url };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
  children.delete(child);
}

interface Latency {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function latency(ms: readonly number[]): Latency {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  const r = (x: number): number => Math.round(x * 10) / 10;
  return { n: s.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1] ?? NaN) };
}

/** Polls health until `until`; every answer's time and the failures (non-200, errors, 10 s timeouts). */
async function pollHealth(url: string, until: number): Promise<{ latency: Latency; failures: string[] }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const times: number[] = [];
  const failures: string[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    const status = await new Promise<number | string>((resolve) => {
      const req = get(`${url}/ccnodes/v1/health`, { agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          resolve(res.statusCode ?? 0);
        });
      });
      req.on('timeout', () => {
        req.destroy(new Error('no answer in 10 s'));
      });
      req.on('error', (err) => {
        resolve(err.message);
      });
    });
    times.push(performance.now() - started);
    if (status !== 200) failures.push(String(status));
    await new Promise((r) => setTimeout(r, POLL_GAP_MS));
  }
  agent.destroy();
  return { latency: latency(times), failures };
}

/**
 * The service's own event-loop delay since the previous call (prom-client's histogram behind
 * /ccnodes/v1/metrics resets on every scrape), in ms: tells a blocked event loop from a starved CPU.
 */
async function eventLoopDelay(url: string): Promise<{ p99_ms: number; max_ms: number }> {
  const text = await (await fetch(`${url}/ccnodes/v1/metrics`)).text();
  const value = (name: string): number => {
    const m = new RegExp(`^ccnodes_attestation_nodejs_eventloop_lag_${name}_seconds\\S* (\\S+)$`, 'm').exec(
      text,
    );
    return Math.round(Number(m?.[1] ?? NaN) * 10_000) / 10;
  };
  return { p99_ms: value('p99'), max_ms: value('max') };
}

interface AttackSummary {
  readonly n: number;
  readonly statuses: Record<string, number>;
  readonly codes: Record<string, number>;
  readonly p50_ms: number;
  readonly max_ms: number;
  /** Slowest request that reached the policy (not refused by the rate limit). */
  readonly max_evaluated_ms: number;
}

function summarize(records: readonly AttackRecord[]): AttackSummary {
  const count = (key: (r: AttackRecord) => string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of records) out[key(r)] = (out[key(r)] ?? 0) + 1;
    return out;
  };
  const evaluated = records.filter((r) => r.status !== 429).map((r) => r.ms);
  const all = latency(records.map((r) => r.ms));
  return {
    n: records.length,
    statuses: count((r) => String(r.status)),
    codes: count((r) => r.code ?? '(none)'),
    p50_ms: all.p50,
    max_ms: all.max,
    max_evaluated_ms: Math.round(Math.max(0, ...evaluated)),
  };
}

interface RunResult {
  readonly flags: string[];
  readonly unloaded: Latency;
  readonly attack: Latency;
  readonly ratio_p99: number;
  readonly attack_requests: AttackSummary;
  readonly health_failures: string[];
  /** The service's event-loop delay (p99, max) in each phase. */
  readonly event_loop: {
    unloaded: { p99_ms: number; max_ms: number };
    attack: { p99_ms: number; max_ms: number };
  };
}

/** One service: unloaded health, then health under attack. */
async function run(name: string, flags: string[]): Promise<RunResult> {
  const service = await startService(name, flags);
  try {
    // Warm the health path (JIT, connection) before measuring.
    await pollHealth(service.url, performance.now() + 500);
    await eventLoopDelay(service.url);
    const unloaded = await pollHealth(service.url, performance.now() + DURATION_MS);
    const loopUnloaded = await eventLoopDelay(service.url);
    const attacker = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./support/policy-attacker.ts', import.meta.url)),
        JSON.stringify({ url: service.url, bodyFile, addresses: ATTACKERS, durationMs: DURATION_MS }),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(attacker);
    const records = firstLine(attacker, 'attacker', (o) =>
      Array.isArray(o['requests']) ? (o['requests'] as AttackRecord[]) : undefined,
    );
    await firstLine(attacker, 'attacker', (o) => (o['started'] === true ? true : undefined));
    const attacked = await pollHealth(service.url, performance.now() + DURATION_MS);
    const summary = summarize(await records);
    const loopAttack = await eventLoopDelay(service.url);
    children.delete(attacker);
    const result: RunResult = {
      flags,
      unloaded: unloaded.latency,
      attack: attacked.latency,
      ratio_p99: Math.round((attacked.latency.p99 / unloaded.latency.p99) * 10) / 10,
      attack_requests: summary,
      health_failures: [...unloaded.failures, ...attacked.failures],
      event_loop: { unloaded: loopUnloaded, attack: loopAttack },
    };
    const l = (x: Latency): string => `p50 ${x.p50} ms, p99 ${x.p99} ms, max ${x.max} ms (n=${x.n})`;
    process.stdout.write(
      `[${name}] flags: ${flags.join(' ') || '(defaults)'}\n` +
        `[${name}] health unloaded:     ${l(result.unloaded)}\n` +
        `[${name}] health under attack: ${l(result.attack)}; p99 ratio ${result.ratio_p99}\n` +
        `[${name}] service event-loop delay: unloaded p99 ${loopUnloaded.p99_ms} ms, max ${loopUnloaded.max_ms} ms; under attack p99 ${loopAttack.p99_ms} ms, max ${loopAttack.max_ms} ms\n` +
        `[${name}] attack requests: ${summary.n}, statuses ${JSON.stringify(summary.statuses)}, codes ${JSON.stringify(summary.codes)}, p50 ${summary.p50_ms} ms, max ${summary.max_ms} ms (max of those evaluated: ${summary.max_evaluated_ms} ms)\n`,
    );
    return result;
  } finally {
    await stop(service.child);
  }
}

const rateLimitOn = await run('rate-limit-on', []);
const rateLimitOff = await run('rate-limit-off', ['--draft-rate-limit', '0']);

const runs = { rate_limit_on: rateLimitOn, rate_limit_off: rateLimitOff };
const all = Object.values(runs);
const only4xxOr503 = all.every((r) =>
  Object.keys(r.attack_requests.statuses).every((s) => (Number(s) >= 400 && Number(s) < 500) || s === '503'),
);
const met = {
  health_ms: all.every((r) => r.attack.max <= TARGET.health_ms),
  attack_status: all.every((r) =>
    Object.keys(r.attack_requests.statuses).every((s) => Number(s) >= 400 && Number(s) < 500),
  ),
  attack_ms: all.every((r) => r.attack_requests.max_ms <= TARGET.attack_ms),
};
const healthFailures = all.flatMap((r) => r.health_failures);
if (healthFailures.length > 0) {
  process.stdout.write(`health failures: ${healthFailures.slice(0, 10).join(', ')}\n`);
  process.exitCode = 1;
}
if (!only4xxOr503) {
  process.stdout.write('an attack request was answered with something other than 4xx or 503\n');
  process.exitCode = 1;
}
const loadavgEnd = loadavg();
process.stdout.write(
  `targets: health within ${TARGET.health_ms} ms ${met.health_ms ? 'met' : 'MISSED'}, attack 4xx ${met.attack_status ? 'met' : 'MISSED'}, attack within ${TARGET.attack_ms} ms ${met.attack_ms ? 'met' : 'MISSED'}\n` +
    `loadavg at end: ${loadavgEnd}\n`,
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'policy-attack',
    headline: 'health p99 under attack, draft rate limit off, 8 attacker addresses',
    ours: rateLimitOff.attack.p99,
    bound: rateLimitOff.unloaded.p99,
    unit: 'ms',
    target: TARGET,
    met,
    runs,
    loadavg_start: loadavgStart,
    loadavg_end: loadavgEnd,
    load: load.summary(),
  })}\n`,
);
