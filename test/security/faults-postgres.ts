/**
 * A private PostgreSQL that can be stopped and started again on the same data directory and port,
 * for the PostgreSQL-outage fault scenario (the shared test harness, postgres-harness.ts, starts a
 * server once and removes it on stop). Found, initialised and started with the harness's helpers
 * (the local `initdb`/`postgres`, as the `postgres` user when running as root); undefined when
 * there are none, with the reason in `restartablePostgresSkipReason()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import {
  fastShutdown,
  findPostgresBinaries,
  initTestCluster,
  postmasterCommand,
  waitReady,
} from '../attestation/postgres-harness.ts';
import { freePort } from './faults-support.ts';

export interface RestartablePostgres {
  readonly url: string;
  /** Fast shutdown (SIGINT to the postmaster: sessions are terminated, no new connections). */
  stop(): Promise<void>;
  /** Starts the server again on the same data directory and port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

let skipReason = 'no PostgreSQL binaries';
export const restartablePostgresSkipReason = (): string => skipReason;

/** Creates and starts a cluster; undefined (with a skip reason) when it cannot. */
export async function startRestartablePostgres(): Promise<RestartablePostgres | undefined> {
  const bins = findPostgresBinaries(process.env);
  if (bins === undefined) {
    skipReason = 'no PostgreSQL: no directory holds both initdb and postgres';
    return undefined;
  }
  let dir: string;
  let data: string;
  try {
    ({ dir, data } = initTestCluster(bins.initdb, 'ccnodes-faults-pg-'));
  } catch (err) {
    skipReason = `no PostgreSQL: initdb failed (${(err as Error).message.slice(0, 200)})`;
    return undefined;
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const [c, a] = postmasterCommand(bins.postgres, data, port, dir);
    const p = spawn(c, a, { stdio: 'ignore' });
    proc = p;
    exited = new Promise((resolve) => {
      p.once('exit', () => {
        resolve();
      });
    });
    if (await waitReady(url, 30_000, () => p.exitCode !== null || p.signalCode !== null)) return;
    throw new Error(`postgres did not accept connections on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    fastShutdown(data, proc);
    await exited;
  };
  try {
    await start();
  } catch (err) {
    proc?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    skipReason = `no PostgreSQL: ${(err as Error).message}`;
    return undefined;
  }
  return {
    url,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
