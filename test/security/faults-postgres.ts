/**
 * A private PostgreSQL that can be stopped and started again on the same data directory and port,
 * for the PostgreSQL-outage fault scenario (the shared test harness, postgres-harness.ts, starts a
 * server once and removes it on stop). Started from the local `initdb`/`postgres` binaries (as the
 * `postgres` user when running as root), like the harness; undefined when there are none, with the
 * reason in `restartablePostgresSkipReason()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
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

function binaries(): { initdb: string; postgres: string } | undefined {
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  } catch {
    // none there
  }
  const dirs = [
    ...versions.map((v) => `/usr/lib/postgresql/${v}/bin`),
    ...(process.env['PATH'] ?? '').split(':'),
    '/usr/local/bin',
    '/usr/bin',
  ];
  for (const d of dirs) {
    try {
      accessSync(join(d, 'initdb'), constants.X_OK);
      accessSync(join(d, 'postgres'), constants.X_OK);
      return { initdb: join(d, 'initdb'), postgres: join(d, 'postgres') };
    } catch {
      // next
    }
  }
  return undefined;
}

async function accepts(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    await c.end().catch(() => undefined);
    return false;
  }
}

/** Creates and starts a cluster; undefined (with a skip reason) when it cannot. */
export async function startRestartablePostgres(): Promise<RestartablePostgres | undefined> {
  const bins = binaries();
  if (bins === undefined) {
    skipReason = 'no PostgreSQL: no directory holds both initdb and postgres';
    return undefined;
  }
  const root = userInfo().uid === 0;
  const as = (cmd: string, args: string[]): [string, string[]] =>
    root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-faults-pg-'));
  const data = join(dir, 'data');
  if (root) {
    chmodSync(dir, 0o700);
    const id = (f: string): number => Number(execFileSync('id', [f, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  try {
    const [c, a] = as(bins.initdb, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    execFileSync(c, a, { stdio: 'ignore' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    skipReason = `no PostgreSQL: initdb failed (${(err as Error).message.slice(0, 200)})`;
    return undefined;
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async (): Promise<void> => {
    const [c, a] = as(bins.postgres, [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
    ]);
    const p = spawn(c, a, { stdio: 'ignore' });
    proc = p;
    exited = new Promise((resolve) => {
      p.once('exit', () => {
        resolve();
      });
    });
    const end = Date.now() + 30_000;
    while (Date.now() < end && p.exitCode === null && p.signalCode === null) {
      if (await accepts(url)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`postgres did not accept connections on port ${port}`);
  };
  const stop = async (): Promise<void> => {
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      process.kill(pid, 'SIGINT');
    } catch {
      proc.kill('SIGKILL');
    }
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
