/**
 * The attestation-service fault scenarios, shared by `npm run bench -- faults` (which prints their
 * figures) and the `test/security` fault tests (which assert on them with generous bounds).
 *
 *  - kill9: a load run with concurrent policy, secret and key-rotation writes; `kill -9` of the
 *    service mid-run; restart on the same data directory / database; every acknowledged write present.
 *  - pgRestart: PostgreSQL stopped (fast shutdown) under load for ~3 s and started again: requests
 *    during the outage fail fast with 503, the service recovers without a restart, no acknowledged
 *    write is lost.
 *  - replicas: two services on one PostgreSQL (one KEK); a policy set on A is enforced by B.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  API,
  DENIED_MRENCLAVE,
  Ledger,
  attestBody,
  call,
  denyPolicy,
  findLostWrites,
  freePort,
  percentile,
  round,
  seqPolicy,
  startAttestLoad,
  startCliService,
  startWriters,
  unsignedPolicyJws,
  writeSimInputs,
  type Answer,
  type LostWrite,
} from './faults-support.ts';
import { startRestartablePostgres, type RestartablePostgres } from './faults-postgres.ts';

type Log = (line: string) => void;
const quiet: Log = () => undefined;

function statusCounts(answers: readonly Answer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const k = a.status === 0 ? 'no-answer' : String(a.status);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export interface Kill9Result {
  readonly backend: 'sqlite' | 'postgres';
  readonly writesAttempted: number;
  readonly writesAcknowledged: number;
  readonly acknowledgedByKind: { policies: number; secrets: number; keyRotations: number };
  readonly writesLost: number;
  readonly lost: readonly LostWrite[];
  readonly attestsBeforeKill: Record<string, number>;
  readonly loadMs: number;
  /** Spawn of the restarted process to "ready", ms. */
  readonly restartMs: number;
}

/**
 * kill -9 mid-run. `databaseUrl` undefined = SQLite in the data directory. The kill comes after
 * `loadMs` and once at least `minAcked` writes were acknowledged (whichever is later, at most 60 s).
 */
export async function kill9Scenario(
  o: { databaseUrl?: string; loadMs?: number; minAcked?: number; attestConcurrency?: number; log?: Log } = {},
): Promise<Kill9Result> {
  const log = o.log ?? quiet;
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-faults-kill9-'));
  const backend = o.databaseUrl === undefined ? 'sqlite' : 'postgres';
  try {
    const inputs = writeSimInputs(join(dir, 'inputs'));
    const port = await freePort();
    const opts = {
      dataDir: join(dir, 'data'),
      inputs,
      port,
      ...(o.databaseUrl === undefined ? {} : { databaseUrl: o.databaseUrl }),
    };
    const first = await startCliService(opts);
    log(`kill9/${backend}: service pid ${first.pid} ready in ${round(first.readyMs, 0)} ms at ${first.url}`);
    const ledger = new Ledger();
    const writers = startWriters(() => first.url, ledger, { secretWriters: 2, rotateEveryMs: 150 });
    const load = startAttestLoad(() => first.url, o.attestConcurrency ?? 4);
    const t0 = performance.now();
    const loadMs = o.loadMs ?? 3000;
    // Mid-run: after loadMs, once writes of every kind were acknowledged and attestations answered.
    const midRun = (): boolean =>
      performance.now() - t0 >= loadMs &&
      ledger.acknowledged >= (o.minAcked ?? 20) &&
      ledger.keys.length >= 1 &&
      load.answers.some((a) => a.status === 200);
    while (!midRun() && performance.now() - t0 < 90_000) {
      await sleep(50);
    }
    const attestsBeforeKill = statusCounts(load.answers);
    await first.kill9();
    const ranMs = performance.now() - t0;
    log(
      `kill9/${backend}: SIGKILL after ${round(ranMs, 0)} ms; ${ledger.acknowledged} of ${ledger.attempted} writes acknowledged so far; attests ${JSON.stringify(attestsBeforeKill)}`,
    );
    writers.stop();
    load.stop();
    await Promise.all([writers.done, load.done]);
    const second = await startCliService(opts);
    log(`kill9/${backend}: restarted on the same ${backend} state in ${round(second.readyMs, 0)} ms`);
    try {
      const lost = await findLostWrites(second.url, ledger);
      const acked = (m: Map<string, { outcome: string }[]>): number =>
        [...m.values()].reduce((n, l) => n + l.filter((a) => a.outcome === 'acked').length, 0);
      return {
        backend,
        writesAttempted: ledger.attempted,
        writesAcknowledged: ledger.acknowledged,
        acknowledgedByKind: {
          policies: acked(ledger.policies),
          secrets: acked(ledger.secrets),
          keyRotations: ledger.keys.length,
        },
        writesLost: lost.length,
        lost,
        attestsBeforeKill,
        loadMs: round(ranMs, 0),
        restartMs: round(second.readyMs, 0),
      };
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface PgRestartResult {
  readonly outageMs: number;
  /** Requests (attest and writes) started while PostgreSQL was down. */
  readonly outageRequests: number;
  readonly outageStatuses: Record<string, number>;
  /**
   * Latency of the requests begun during the outage that failed (503), max and p99 — key rotations
   * excluded: they generate their RSA key (about a second on a loaded machine) before the database
   * is touched; their own maximum is `outageRotateMaxMs`.
   */
  readonly outageMaxMs: number;
  readonly outageP99Ms: number;
  readonly outageRotateMaxMs: number;
  /**
   * Requests begun during the outage that succeeded, ending after PostgreSQL was started again:
   * they reached the database only once it was back (a key rotation generates its RSA key first).
   * Any other non-503 answer is a failure.
   */
  readonly outageSucceededAfterRecovery: number;
  /** Requests begun during the outage answered neither 503 nor 2xx ending after PostgreSQL's restart. */
  readonly outageWrongAnswers: number;
  /** The slowest requests of the outage: method, path, status, code, ms. */
  readonly outageSlowest: readonly string[];
  /** PostgreSQL accepting again → first successful attestation begun after that, ms. */
  readonly recoverMs: number | null;
  readonly serviceAlive: boolean;
  readonly writesAcknowledged: number;
  readonly writesLost: number;
  readonly lost: readonly LostWrite[];
  readonly attestsAfterRecovery: Record<string, number>;
}

/** PostgreSQL fast shutdown under load, `outageMs` down, started again. Undefined when no PostgreSQL. */
export async function pgRestartScenario(
  o: { outageMs?: number; log?: Log; pg?: RestartablePostgres } = {},
): Promise<PgRestartResult | undefined> {
  const log = o.log ?? quiet;
  const pg = o.pg ?? (await startRestartablePostgres());
  if (pg === undefined) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-faults-pgr-'));
  try {
    const svc = await startCliService({
      dataDir: join(dir, 'data'),
      inputs: writeSimInputs(join(dir, 'inputs')),
      port: await freePort(),
      databaseUrl: pg.url,
    });
    log(`pg-restart: service pid ${svc.pid} ready in ${round(svc.readyMs, 0)} ms on ${pg.url}`);
    try {
      const writeAnswers: Answer[] = [];
      const ledger = new Ledger((w) => writeAnswers.push(w));
      const writers = startWriters(() => svc.url, ledger, {
        secretWriters: 2,
        rotateEveryMs: 300,
        pauseMs: 20,
      });
      const load = startAttestLoad(() => svc.url, 4);
      const t0 = performance.now();
      while (
        (performance.now() - t0 < 2000 ||
          ledger.acknowledged < 10 ||
          !load.answers.some((a) => a.status === 200)) &&
        performance.now() - t0 < 60_000
      ) {
        await sleep(50);
      }
      const before = ledger.acknowledged;
      await pg.stop();
      const downAt = performance.now();
      log(`pg-restart: PostgreSQL stopped (fast shutdown) after ${before} acknowledged writes`);
      await sleep(o.outageMs ?? 3000);
      const restartAt = performance.now();
      await pg.start();
      const upAt = performance.now();
      log(`pg-restart: PostgreSQL accepting again ${round(upAt - restartAt, 0)} ms after its start`);
      // Recovery: the first attestation begun after PostgreSQL was back that succeeded.
      let recoverMs: number | null = null;
      const deadline = upAt + 30_000;
      while (recoverMs === null && performance.now() < deadline && svc.alive()) {
        const ok = load.answers.find((a) => a.at >= upAt && a.status === 200);
        if (ok !== undefined) recoverMs = ok.at + ok.ms - upAt;
        else await sleep(20);
      }
      await sleep(1500);
      writers.stop();
      load.stop();
      await Promise.all([writers.done, load.done]);
      const during = [...load.answers, ...writeAnswers].filter((a) => a.at >= downAt && a.at < restartAt);
      const failed = during.filter((a) => a.status === 503);
      const isRotate = (a: Answer): boolean => a.what.endsWith('signing-keys:rotate');
      const latencies = failed.filter((a) => !isRotate(a)).map((a) => a.ms);
      const rotateMax = Math.max(0, ...failed.filter(isRotate).map((a) => a.ms));
      // A success is legitimate when it ended after PostgreSQL was started again: it may accept
      // connections well before the harness's poll (every 200 ms, plus a connect) sees it and
      // `upAt` is taken. One ending before `restartAt` would be a write acknowledged with no server.
      const lateOk = during.filter((a) => a.status >= 200 && a.status < 300 && a.at + a.ms >= restartAt);
      const alive = svc.alive();
      const lost = alive ? await findLostWrites(svc.url, ledger) : [];
      if (!alive) log(`pg-restart: the service process DIED: ${svc.stderr().slice(-600)}`);
      return {
        outageMs: round(restartAt - downAt, 0),
        outageRequests: during.length,
        outageStatuses: statusCounts(during),
        outageMaxMs: round(Math.max(0, ...latencies)),
        outageP99Ms: round(percentile(latencies, 99)),
        outageRotateMaxMs: round(rotateMax),
        outageSucceededAfterRecovery: lateOk.length,
        outageWrongAnswers: during.length - failed.length - lateOk.length,
        outageSlowest: [...during]
          .sort((x, y) => y.ms - x.ms)
          .slice(0, 3)
          .map((a) => `${a.what} ${a.status} ${a.code ?? ''} ${round(a.ms, 0)} ms`),
        recoverMs: recoverMs === null ? null : round(recoverMs, 0),
        serviceAlive: alive,
        writesAcknowledged: ledger.acknowledged,
        writesLost: alive ? lost.length : -1,
        lost,
        attestsAfterRecovery: statusCounts(load.answers.filter((a) => a.at >= upAt)),
      };
    } finally {
      await svc.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (o.pg === undefined) await pg.destroy();
  }
}

export interface ReplicasResult {
  readonly rounds: number;
  /** Per round: A acknowledged the deny policy → B's first denial of a request begun after that, ms. */
  readonly propagationMs: readonly number[];
  readonly maxMs: number;
  readonly medianMs: number;
  /** Requests B answered with the old (permitting) policy after A acknowledged, summed over rounds. */
  readonly staleAnswers: number;
}

async function untilB(
  url: string,
  body: string,
  want: 'deny' | 'permit',
  since: number,
  timeoutMs: number,
): Promise<{ ms: number; stale: number }> {
  let stale = 0;
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    const r = await call(`${url}/attest/SgxEnclave?${API}`, { method: 'POST', body });
    const denied = r.status === 400 && r.code === 'ERR_ATTEST_POLICY_DENIED';
    if ((want === 'deny') === denied && (denied || r.status === 200))
      return { ms: r.at + r.ms - since, stale };
    if (r.status !== 200 && !denied) throw new Error(`replica B answered ${r.status} ${r.code ?? ''}`);
    stale += 1;
  }
  throw new Error(`replica B did not ${want} within ${timeoutMs} ms`);
}

/** Two replicas on `databaseUrl` with one KEK; `rounds` deny-policy sets on A, each timed until B denies. */
export async function replicasScenario(o: {
  databaseUrl: string;
  rounds?: number;
  log?: Log;
}): Promise<ReplicasResult> {
  const log = o.log ?? quiet;
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-faults-replicas-'));
  const kek = randomBytes(32).toString('base64');
  const inputs = writeSimInputs(join(dir, 'inputs'));
  const a = await startCliService({
    dataDir: join(dir, 'a'),
    inputs,
    port: await freePort(),
    databaseUrl: o.databaseUrl,
    kek,
  });
  try {
    const b = await startCliService({
      dataDir: join(dir, 'b'),
      inputs,
      port: await freePort(),
      databaseUrl: o.databaseUrl,
      kek,
    });
    try {
      log(`replicas: A ${a.url}, B ${b.url} on one PostgreSQL`);
      const denied = attestBody(DENIED_MRENCLAVE, 'replica');
      const put = async (text: string): Promise<number> => {
        const r = await call(`${a.url}/policies/SgxEnclave?${API}`, {
          method: 'PUT',
          body: unsignedPolicyJws(text),
          type: 'text/plain',
          admin: true,
        });
        if (r.status !== 200) throw new Error(`PUT policy on A: ${r.status} ${r.code ?? ''}`);
        return r.at + r.ms;
      };
      const propagation: number[] = [];
      let staleAnswers = 0;
      const rounds = o.rounds ?? 5;
      for (let i = 0; i < rounds; i++) {
        const permitAck = await put(seqPolicy(2 * i + 1));
        await untilB(b.url, denied, 'permit', permitAck, 10_000);
        const denyAck = await put(denyPolicy(2 * i + 2));
        const r = await untilB(b.url, denied, 'deny', denyAck, 10_000);
        propagation.push(round(Math.max(0, r.ms)));
        staleAnswers += r.stale;
      }
      const sorted = [...propagation].sort((x, y) => x - y);
      return {
        rounds,
        propagationMs: propagation,
        maxMs: Math.max(...propagation),
        medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
        staleAnswers,
      };
    } finally {
      await b.stop();
    }
  } finally {
    await a.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
