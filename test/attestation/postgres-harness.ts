/**
 * A throwaway PostgreSQL for tests: `CCNODES_TEST_DATABASE_URL` if set, else a temporary cluster
 * started with the local `initdb`/`postgres` binaries (as the `postgres` user when running as root).
 *
 * Binaries: the first directory holding both `initdb` and `postgres`, looking in every
 * `/usr/lib/postgresql/<version>/bin` (newest version first), then each `PATH` entry.
 *
 * Outside CI, when no server can be had, `startTestPostgres` returns undefined and the caller skips
 * with the one line of {@link postgresSkipReason}. Under `CI=true` that is a failure: it throws an
 * Error saying what was missing or why the server did not start.
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
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface TestPostgres {
  readonly url: string;
  /** A fresh database on the server (each suite run gets its own). */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

const PG_LIB = '/usr/lib/postgresql';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Directories that may hold the PostgreSQL server binaries, in the order they are tried. */
export function postgresBinDirs(env: Record<string, string | undefined>, lib = PG_LIB): string[] {
  let versions: string[] = [];
  try {
    versions = readdirSync(lib).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // no Debian-style installation
  }
  versions.sort((a, b) => Number(b) - Number(a));
  const dirs = [
    ...versions.map((v) => join(lib, v, 'bin')),
    ...(env['PATH'] ?? '').split(':').filter((d) => d !== ''),
  ];
  return [...new Set(dirs)];
}

/** `initdb` and `postgres` from the same directory, or undefined. */
export function findPostgresBinaries(
  env: Record<string, string | undefined>,
  lib = PG_LIB,
): { initdb: string; postgres: string } | undefined {
  for (const dir of postgresBinDirs(env, lib)) {
    const initdb = join(dir, 'initdb');
    const postgres = join(dir, 'postgres');
    if (executable(initdb) && executable(postgres)) return { initdb, postgres };
  }
  return undefined;
}

/** A port that was free a moment ago on 127.0.0.1 (the kernel picks it). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/** `cmd args` as the `postgres` user when this process is root (the server refuses to run as root). */
export function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

/**
 * A temporary directory (`prefix` in the OS temp dir, owned by `postgres` when running as root)
 * holding a fresh trust-auth cluster in `<dir>/data`. Throws with the tail of initdb's stderr when
 * it fails, after removing the directory.
 */
export function initTestCluster(initdb: string, prefix: string): { dir: string; data: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const data = join(dir, 'data');
  try {
    if (userInfo().uid === 0) {
      chmodSync(dir, 0o700);
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
      chownSync(dir, uid, gid);
    }
    const [c, a] = asPostgresUser(initdb, [
      '-D',
      data,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    try {
      execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      throw new Error(`${initdb} failed${tail(e.stderr?.toString('utf8') ?? e.message)}`);
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, data };
}

/** The `postgres` command line of a test cluster: `data` on 127.0.0.1:`port`, sockets in `socketDir`, no fsync. */
export function postmasterCommand(
  postgres: string,
  data: string,
  port: number,
  socketDir: string,
): [string, string[]] {
  return asPostgresUser(postgres, [
    '-D',
    data,
    '-p',
    String(port),
    '-k',
    socketDir,
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    'fsync=off',
  ]);
}

/**
 * Fast shutdown: SIGINT to the postmaster of `data` itself (runuser does not forward signals),
 * SIGKILL to `proc` when its pid file cannot be read.
 */
export function fastShutdown(data: string, proc: ChildProcess): void {
  try {
    const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
  } catch {
    proc.kill('SIGKILL');
  }
}

let skipReason = 'no PostgreSQL available';

/** Why the last {@link startTestPostgres} returned undefined: one line for a test skip. */
export function postgresSkipReason(): string {
  return skipReason;
}

/** Outside CI: remember the reason and let the caller skip. Under CI=true: fail. */
function unavailable(env: Record<string, string | undefined>, reason: string): void {
  if (env['CI'] === 'true') {
    throw new Error(
      `PostgreSQL is required under CI=true but ${reason} ` +
        '(install initdb/postgres, e.g. the Debian postgresql package as .ci/run does, or set CCNODES_TEST_DATABASE_URL)',
    );
  }
  skipReason = `no PostgreSQL: ${reason} (set CCNODES_TEST_DATABASE_URL or install initdb/postgres)`;
}

/** The last lines of a process's output, for an error message. */
function tail(text: string): string {
  const lines = text.trim().split('\n').slice(-3).join(' | ');
  return lines === '' ? '' : `: ${lines.slice(0, 600)}`;
}

/** True once `url` accepts a connection, polling for up to `ms` or until `gaveUp()` (e.g. the server exited). */
export async function waitReady(
  url: string,
  ms: number,
  gaveUp: () => boolean = () => false,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !gaveUp()) {
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

/**
 * Starts (or connects to) a PostgreSQL. Undefined when none can be had (see
 * {@link postgresSkipReason}); under `CI=true` that case throws instead.
 */
export async function startTestPostgres(
  env: Record<string, string | undefined>,
  lib = PG_LIB,
): Promise<TestPostgres | undefined> {
  const given = env['CCNODES_TEST_DATABASE_URL'];
  if (given !== undefined && given !== '') {
    if (await waitReady(given, 3000)) return withServer(given, () => Promise.resolve());
    unavailable(env, 'CCNODES_TEST_DATABASE_URL does not accept connections within 3 s');
    return undefined;
  }
  const bins = findPostgresBinaries(env, lib);
  if (bins === undefined) {
    unavailable(env, `no directory holds both initdb and postgres (looked in ${PG_LIB}/*/bin and PATH)`);
    return undefined;
  }
  let dir: string;
  let data: string;
  try {
    ({ dir, data } = initTestCluster(bins.initdb, 'ccnodes-pg-'));
  } catch (err) {
    unavailable(env, `it did not start: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
  let child: ChildProcess | undefined;
  let output = '';
  try {
    const port = await freePort();
    const [c2, a2] = postmasterCommand(bins.postgres, data, port, dir);
    const proc = spawn(c2, a2, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-4000);
    });
    let exited = false;
    proc.once('exit', () => {
      exited = true;
    });
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    if (!(await waitReady(url, 15000, () => exited))) {
      throw new Error(`${bins.postgres} did not accept connections on port ${port}${tail(output)}`);
    }
    return withServer(url, async () => {
      await new Promise<void>((resolve) => {
        if (exited) {
          resolve();
          return;
        }
        proc.once('exit', () => {
          resolve();
        });
        fastShutdown(data, proc);
      });
      rmSync(dir, { recursive: true, force: true });
    });
  } catch (err) {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    unavailable(env, `it did not start: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}
