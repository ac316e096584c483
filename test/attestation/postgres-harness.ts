/**
 * A throwaway PostgreSQL for tests: `CCNODES_TEST_DATABASE_URL` if set, else a temporary cluster
 * started with the local `initdb`/`postgres` binaries (as the `postgres` user when running as root).
 * Returns undefined — and the caller skips — when neither is available.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  readonly url: string;
  /** A fresh database on the server (each suite run gets its own). */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

function findBinary(name: string): string | undefined {
  for (const dir of [
    '/usr/local/bin',
    '/usr/lib/postgresql/15/bin',
    '/usr/lib/postgresql/16/bin',
    '/usr/bin',
  ]) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

async function waitReady(url: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const c = new pg.Client({ connectionString: url });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch {
      await c.end().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return false;
}

function withServer(url: string, stop: () => Promise<void>): TestPostgres {
  return {
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name}`);
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    stop,
  };
}

/** Starts (or connects to) a PostgreSQL; undefined when none can be had. */
export async function startTestPostgres(
  env: Record<string, string | undefined>,
): Promise<TestPostgres | undefined> {
  const given = env['CCNODES_TEST_DATABASE_URL'];
  if (given !== undefined && given !== '') {
    return (await waitReady(given, 3000)) ? withServer(given, () => Promise.resolve()) : undefined;
  }
  const initdb = findBinary('initdb');
  const postgres = findBinary('postgres');
  if (initdb === undefined || postgres === undefined) return undefined;
  const root = userInfo().uid === 0;
  const asUser = (cmd: string, args: string[]): [string, string[]] =>
    root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-pg-'));
  const data = join(dir, 'data');
  let child: ChildProcess | undefined;
  try {
    if (root) {
      chmodSync(dir, 0o700);
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const [c1, a1] = asUser(initdb, [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    execFileSync(c1, a1, { stdio: 'ignore' });
    const port = 20000 + Math.floor(Math.random() * 20000);
    const [c2, a2] = asUser(postgres, [
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
    child = spawn(c2, a2, { stdio: 'ignore' });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    if (!(await waitReady(url, 15000))) throw new Error('postgres did not start');
    const proc = child;
    return withServer(url, async () => {
      // Signal the postmaster itself (runuser does not forward signals): fast shutdown.
      await new Promise<void>((resolve) => {
        proc.once('exit', () => {
          resolve();
        });
        try {
          const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
          process.kill(pid, 'SIGINT');
        } catch {
          proc.kill('SIGKILL');
        }
      });
      rmSync(dir, { recursive: true, force: true });
    });
  } catch {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}
