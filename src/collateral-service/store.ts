/**
 * Persistent cache of the collateral service: SQLite (better-sqlite3) at `<dataDir>/collateral.db`
 * by default, PostgreSQL (`pg`) with a `postgres://` URL. Rows hold only what the upstream sent
 * (body bytes and kept headers) and when; everything else is recomputed by verification when the
 * rows are loaded, so a row edited in the database is refused like a tampered upstream response.
 * Registered platforms (`POST /platforms`) are kept too.
 */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { specOfKey, type StoredArtefact } from './artefacts.ts';
import { CollateralServiceConfigError, CollateralStorageError } from './errors.ts';

/** A registered platform (the body of `POST /sgx/certification/v4/platforms`, normalised). */
export interface PlatformRegistration {
  /** Lower-case hex. */
  readonly qeId: string;
  readonly pceId: string;
  readonly cpuSvn: string;
  readonly pceSvn: string;
  readonly encPpid: string;
  readonly platformManifest?: string;
}

/** Where artefacts and platforms are kept. */
export interface ArtefactStore {
  readonly kind: 'sqlite' | 'postgres' | 'memory';
  list(): Promise<StoredArtefact[]>;
  put(a: StoredArtefact): Promise<void>;
  delete(key: string): Promise<void>;
  listPlatforms(): Promise<PlatformRegistration[]>;
  putPlatform(p: PlatformRegistration): Promise<void>;
  close(): Promise<void>;
}

interface Row {
  key: string;
  body: Uint8Array;
  headers: string;
  fetched_at: number | string;
  source: string;
}

function rowToArtefact(r: Row): StoredArtefact | undefined {
  try {
    const headers = JSON.parse(r.headers) as unknown;
    if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) return undefined;
    if (!Object.values(headers).every((v) => typeof v === 'string')) return undefined;
    return {
      key: r.key,
      spec: specOfKey(r.key),
      body: new Uint8Array(r.body),
      headers: headers as Record<string, string>,
      fetchedAt: Number(r.fetched_at),
      source: r.source === 'import' ? 'import' : 'upstream',
    };
  } catch {
    return undefined;
  }
}

function platformOf(text: string): PlatformRegistration | undefined {
  try {
    return JSON.parse(text) as PlatformRegistration;
  } catch {
    return undefined;
  }
}

const platformId = (p: PlatformRegistration): string => `${p.qeId}:${p.pceId}`;

/**
 * Creates the data directory with mode 0700, or refuses an existing one that group or others can
 * access (`ERR_COLLATERAL_SERVICE_CONFIG` naming the path and mode).
 */
export function prepareDataDir(dir: string): void {
  let created: string | undefined;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (cause) {
    throw new CollateralServiceConfigError(
      `cannot create data directory ${dir}: ${(cause as Error).message}`,
      { field: 'data-dir', path: dir },
      cause,
    );
  }
  if (created !== undefined) chmodSync(dir, 0o700);
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) !== 0)
    throw new CollateralServiceConfigError(
      `data directory ${dir} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')}); chmod 700 it`,
      { field: 'data-dir', path: dir, mode: mode.toString(8) },
    );
}

const SQLITE_SCHEMA = `
CREATE TABLE IF NOT EXISTS collateral_artefacts (
  key TEXT PRIMARY KEY,
  body BLOB NOT NULL,
  headers TEXT NOT NULL,
  fetched_at INTEGER NOT NULL,
  source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS collateral_platforms (
  id TEXT PRIMARY KEY,
  registration TEXT NOT NULL
);`;

/** SQLite store at `path` (the directory must exist). */
export function openSqliteStore(path: string): ArtefactStore {
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(SQLITE_SCHEMA);
  } catch (cause) {
    throw new CollateralStorageError(
      `cannot open the collateral cache ${path}: ${(cause as Error).message}`,
      { path },
      cause,
    );
  }
  const wrap = <T>(what: string, fn: () => T): Promise<T> => {
    try {
      return Promise.resolve(fn());
    } catch (cause) {
      return Promise.reject(
        new CollateralStorageError(
          `collateral cache ${what} failed: ${(cause as Error).message}`,
          { path },
          cause,
        ),
      );
    }
  };
  const put = db.prepare(
    'INSERT INTO collateral_artefacts (key, body, headers, fetched_at, source) VALUES (?, ?, ?, ?, ?) ' +
      'ON CONFLICT (key) DO UPDATE SET body = excluded.body, headers = excluded.headers, fetched_at = excluded.fetched_at, source = excluded.source',
  );
  const putPlatform = db.prepare(
    'INSERT INTO collateral_platforms (id, registration) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET registration = excluded.registration',
  );
  return {
    kind: 'sqlite',
    list: () =>
      wrap('read', () =>
        (
          db
            .prepare('SELECT key, body, headers, fetched_at, source FROM collateral_artefacts ORDER BY key')
            .all() as Row[]
        )
          .map(rowToArtefact)
          .filter((a): a is StoredArtefact => a !== undefined),
      ),
    put: (a) =>
      wrap('write', () => {
        put.run(a.key, Buffer.from(a.body), JSON.stringify(a.headers), a.fetchedAt, a.source);
      }),
    delete: (key) =>
      wrap('delete', () => {
        db.prepare('DELETE FROM collateral_artefacts WHERE key = ?').run(key);
      }),
    listPlatforms: () =>
      wrap('read', () =>
        (
          db.prepare('SELECT registration FROM collateral_platforms ORDER BY id').all() as {
            registration: string;
          }[]
        )
          .map((r) => platformOf(r.registration))
          .filter((p): p is PlatformRegistration => p !== undefined),
      ),
    putPlatform: (p) =>
      wrap('write', () => {
        putPlatform.run(platformId(p), JSON.stringify(p));
      }),
    close: () => wrap('close', () => void db.close()),
  };
}

const POSTGRES_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS collateral_artefacts (
     key TEXT PRIMARY KEY, body BYTEA NOT NULL, headers TEXT NOT NULL, fetched_at BIGINT NOT NULL, source TEXT NOT NULL)`,
  'CREATE TABLE IF NOT EXISTS collateral_platforms (id TEXT PRIMARY KEY, registration TEXT NOT NULL)',
];

/** How long a query waits for a connection before failing (a database that is down fails fast). */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;

/**
 * The PostgreSQL advisory lock key under which a store creates its tables, so that replicas
 * starting together do not race on `CREATE TABLE IF NOT EXISTS` (concurrent ones can fail on the
 * catalog's unique index).
 */
export const POSTGRES_SCHEMA_LOCK = 1668181359;

/** PostgreSQL store (creates its two tables if absent; an advisory lock serialises replicas starting together). */
export async function openPostgresStore(databaseUrl: string): Promise<ArtefactStore> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    max: 4,
  });
  pool.on('error', () => undefined); // an idle client's error surfaces on the next query instead
  let closed = false;
  const q = async <R extends pg.QueryResultRow>(
    what: string,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> => {
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (cause) {
      throw new CollateralStorageError(
        `collateral cache ${what} failed: ${(cause as Error).message}`,
        { what },
        cause,
      );
    }
  };
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [POSTGRES_SCHEMA_LOCK]);
      for (const s of POSTGRES_SCHEMA) await client.query(s);
      await client.query('SELECT pg_advisory_unlock($1)', [POSTGRES_SCHEMA_LOCK]);
    } finally {
      client.release();
    }
  } catch (cause) {
    await pool.end().catch(() => undefined);
    throw new CollateralStorageError(
      `cannot open the collateral cache database: ${(cause as Error).message}`,
      {},
      cause,
    );
  }
  return {
    kind: 'postgres',
    list: async () =>
      (
        await q<Row>(
          'read',
          'SELECT key, body, headers, fetched_at, source FROM collateral_artefacts ORDER BY key',
        )
      )
        .map(rowToArtefact)
        .filter((a): a is StoredArtefact => a !== undefined),
    put: async (a) => {
      await q(
        'write',
        'INSERT INTO collateral_artefacts (key, body, headers, fetched_at, source) VALUES ($1, $2, $3, $4, $5) ' +
          'ON CONFLICT (key) DO UPDATE SET body = EXCLUDED.body, headers = EXCLUDED.headers, fetched_at = EXCLUDED.fetched_at, source = EXCLUDED.source',
        [a.key, Buffer.from(a.body), JSON.stringify(a.headers), a.fetchedAt, a.source],
      );
    },
    delete: async (key) => {
      await q('delete', 'DELETE FROM collateral_artefacts WHERE key = $1', [key]);
    },
    listPlatforms: async () =>
      (await q<{ registration: string }>('read', 'SELECT registration FROM collateral_platforms ORDER BY id'))
        .map((r) => platformOf(r.registration))
        .filter((p): p is PlatformRegistration => p !== undefined),
    putPlatform: async (p) => {
      await q(
        'write',
        'INSERT INTO collateral_platforms (id, registration) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET registration = EXCLUDED.registration',
        [platformId(p), JSON.stringify(p)],
      );
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/**
 * Opens the store: PostgreSQL for a `postgres://`/`postgresql://` URL, else SQLite at
 * `<dataDir>/collateral.db` (the directory is created 0700, or checked).
 */
export async function openStore(options: { dataDir: string; databaseUrl?: string }): Promise<ArtefactStore> {
  const url = options.databaseUrl;
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//.test(url))
      throw new CollateralServiceConfigError('--database-url must start with postgres:// or postgresql://', {
        field: 'database-url',
      });
    return openPostgresStore(url);
  }
  prepareDataDir(options.dataDir);
  return openSqliteStore(join(options.dataDir, 'collateral.db'));
}

/** A store that keeps nothing beyond the process (`collateral fetch`, tests). */
export function openMemoryStore(): ArtefactStore {
  const artefacts = new Map<string, StoredArtefact>();
  const platforms = new Map<string, PlatformRegistration>();
  return {
    kind: 'memory',
    list: () => Promise.resolve([...artefacts.values()]),
    put: (a) => {
      artefacts.set(a.key, a);
      return Promise.resolve();
    },
    delete: (key) => {
      artefacts.delete(key);
      return Promise.resolve();
    },
    listPlatforms: () => Promise.resolve([...platforms.values()]),
    putPlatform: (p) => {
      platforms.set(platformId(p), p);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}
