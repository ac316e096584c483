/**
 * Specification of the collateral service's persistent cache (`openStore`): the data directory is
 * created 0700 or refused when group or others can reach it; SQLite (WAL) and PostgreSQL keep
 * artefacts and registered platforms across a reopen; rows that cannot be read back (headers not a
 * JSON object of strings, a key this service never writes, a registration that is not JSON) are
 * left out rather than served; storage failures are ERR_COLLATERAL_SERVICE_STORAGE.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  openMemoryStore,
  openPostgresStore,
  openStore,
  prepareDataDir,
  type ArtefactStore,
  type PlatformRegistration,
  type StoredArtefact,
} from '../../src/collateral-service/index.ts';
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../attestation/postgres-harness.ts';

const root = mkdtempSync(join(tmpdir(), 'ccnodes-store-spec-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const fresh = (): string => join(root, `d${++n}`);

function codeOf(code: string, details?: Record<string, unknown>) {
  return (err: unknown): boolean => {
    const e = err as { code?: string; details?: Record<string, unknown> };
    assert.equal(e.code, code, String(err));
    for (const [k, v] of Object.entries(details ?? {})) assert.equal(e.details?.[k], v, String(err));
    return true;
  };
}

const A: StoredArtefact = {
  key: 'sgx:rootcacrl',
  spec: { kind: 'rootcacrl', tee: 'sgx' },
  body: new Uint8Array([1, 2, 3]),
  headers: { 'Content-Type': 'application/x-pem-file' },
  fetchedAt: 1_780_000_000_123,
  source: 'import',
};
const B: StoredArtefact = {
  key: 'sgx:pckcrl:processor',
  spec: { kind: 'pckcrl', tee: 'sgx', ca: 'processor' },
  body: new Uint8Array([9]),
  headers: {},
  fetchedAt: 1_780_000_000_000,
  source: 'upstream',
};
const P1: PlatformRegistration = { qeId: 'aa', pceId: '0000', cpuSvn: '01', pceSvn: '0b', encPpid: 'ff' };
const P1b: PlatformRegistration = { ...P1, cpuSvn: '02', platformManifest: 'ee' };
const P2: PlatformRegistration = { ...P1, qeId: 'bb' };

const plain = (a: StoredArtefact) => ({ ...a, body: [...a.body] });

/** The behaviour every store shares. */
async function roundTrip(store: ArtefactStore, reopen?: () => Promise<ArtefactStore>): Promise<void> {
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(await store.listPlatforms(), []);
  await store.put(A);
  await store.put(B);
  await store.put({ ...B, body: new Uint8Array([8, 7]), fetchedAt: B.fetchedAt + 1 });
  await store.putPlatform(P1);
  await store.putPlatform(P2);
  await store.putPlatform(P1b); // same qeId and pceId: replaces P1
  let s = store;
  if (reopen !== undefined) {
    await store.close();
    s = await reopen();
  }
  const listed = (await s.list()).map(plain).sort((x, y) => x.key.localeCompare(y.key));
  assert.deepEqual(listed, [
    plain({ ...B, body: new Uint8Array([8, 7]), fetchedAt: B.fetchedAt + 1 }),
    plain(A),
  ]);
  const platforms = (await s.listPlatforms()).sort((x, y) => x.qeId.localeCompare(y.qeId));
  assert.deepEqual(platforms, [P1b, P2]);
  await s.delete(B.key);
  await s.delete('sgx:pckcrl:platform'); // absent: nothing happens
  assert.deepEqual(
    (await s.list()).map((a) => a.key),
    [A.key],
  );
  await s.close();
}

describe('the data directory', () => {
  test('is created with its parents, mode 0700 even under a umask that takes owner bits', () => {
    const dir = join(fresh(), 'a', 'b');
    const old = process.umask(0o277);
    try {
      prepareDataDir(dir);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
  test('an existing 0700 directory is accepted and left as it is', () => {
    const dir = fresh();
    mkdirSync(dir, { mode: 0o700 });
    chmodSync(dir, 0o700);
    prepareDataDir(dir);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
  });
  test('an existing directory that group or others can reach is refused, naming path and mode', () => {
    for (const mode of [0o750, 0o701, 0o755]) {
      const dir = fresh();
      mkdirSync(dir);
      chmodSync(dir, mode);
      assert.throws(
        () => {
          prepareDataDir(dir);
        },
        codeOf('ERR_COLLATERAL_SERVICE_CONFIG', { field: 'data-dir', path: dir, mode: mode.toString(8) }),
      );
      assert.equal(statSync(dir).mode & 0o777, mode, 'not changed');
    }
  });
  test('a directory that cannot be created is a config error naming the path', () => {
    const file = join(fresh());
    writeFileSync(file, 'x');
    const dir = join(file, 'sub');
    assert.throws(
      () => {
        prepareDataDir(dir);
      },
      codeOf('ERR_COLLATERAL_SERVICE_CONFIG', { field: 'data-dir', path: dir }),
    );
  });
});

describe('openStore', () => {
  test('a database URL must be postgres:// or postgresql://', async () => {
    for (const url of ['mysql://x/y', 'http://postgres://x', '', 'postgres:/x']) {
      await assert.rejects(
        openStore({ dataDir: fresh(), databaseUrl: url }),
        codeOf('ERR_COLLATERAL_SERVICE_CONFIG', { field: 'database-url' }),
      );
    }
  });
  test('without one: SQLite at <dataDir>/collateral.db, in WAL mode, kept across a reopen', async () => {
    const dataDir = fresh();
    const store = await openStore({ dataDir });
    assert.equal(store.kind, 'sqlite');
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    await roundTrip(store, () => openStore({ dataDir }));
    const db = new Database(join(dataDir, 'collateral.db'), { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
    }
  });
  test('SQLite refuses a group-readable data directory before opening anything', async () => {
    const dataDir = fresh();
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o750);
    await assert.rejects(
      openStore({ dataDir }),
      codeOf('ERR_COLLATERAL_SERVICE_CONFIG', { field: 'data-dir' }),
    );
  });
});

describe('SQLite rows that cannot be read back', () => {
  test('are left out, the others are listed in key order', async () => {
    const dataDir = fresh();
    const store = await openStore({ dataDir });
    await store.put(A);
    await store.put(B);
    await store.putPlatform(P2);
    await store.close();
    const db = new Database(join(dataDir, 'collateral.db'));
    const ins = db.prepare(
      'INSERT INTO collateral_artefacts (key, body, headers, fetched_at, source) VALUES (?, ?, ?, ?, ?)',
    );
    ins.run('sgx:qe', Buffer.from([1]), '[]', 1, 'upstream');
    ins.run('sgx:qve', Buffer.from([1]), 'null', 1, 'upstream');
    ins.run('tdx:qe', Buffer.from([1]), '"text"', 1, 'upstream');
    ins.run('sgx:tcb:00906ED50000', Buffer.from([1]), '{"a":1}', 1, 'upstream');
    ins.run('sgx:pckcrl:platform', Buffer.from([1]), '{not json', 1, 'upstream');
    ins.run('nonsense', Buffer.from([1]), '{}', 1, 'upstream');
    ins.run('tdx:tcb:00906ED50000', Buffer.from([5]), '{"x":"y"}', '42', 'something');
    db.prepare('INSERT INTO collateral_platforms (id, registration) VALUES (?, ?)').run('zz:0000', '{broken');
    db.close();
    const s = await openStore({ dataDir });
    const listed = await s.list();
    assert.deepEqual(
      listed.map((a) => a.key),
      ['sgx:pckcrl:processor', 'sgx:rootcacrl', 'tdx:tcb:00906ED50000'],
    );
    const odd = listed[2]!;
    assert.equal(odd.source, 'upstream', 'any source other than import reads as upstream');
    assert.equal(odd.fetchedAt, 42);
    assert.deepEqual(odd.headers, { x: 'y' });
    assert.deepEqual(odd.spec, { kind: 'tcb', tee: 'tdx', fmspc: '00906ED50000' });
    assert.equal(listed[1]!.source, 'import');
    assert.deepEqual(await s.listPlatforms(), [P2]);
    await s.close();
  });
  test('a failing query is ERR_COLLATERAL_SERVICE_STORAGE (here: after close)', async () => {
    const store = await openStore({ dataDir: fresh() });
    await store.close();
    await assert.rejects(store.list(), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
    await assert.rejects(store.put(A), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
    await assert.rejects(store.putPlatform(P1), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
  });
  test('a database file that cannot be opened is ERR_COLLATERAL_SERVICE_STORAGE', async () => {
    const dataDir = fresh();
    prepareDataDir(dataDir);
    mkdirSync(join(dataDir, 'collateral.db'));
    await assert.rejects(openStore({ dataDir }), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
  });
});

test('the memory store keeps artefacts and platforms for the life of the process', async () => {
  const store = openMemoryStore();
  assert.equal(store.kind, 'memory');
  await roundTrip(store);
});

let server: TestPostgres | undefined;
let failure: Error | undefined;
try {
  server = await startTestPostgres(process.env);
} catch (err) {
  failure = err instanceof Error ? err : new Error(String(err));
}
const skip = server === undefined && failure === undefined ? postgresSkipReason() : false;

describe('PostgreSQL', { skip }, () => {
  after(() => server?.stop());
  test('keeps artefacts and platforms across a reopen; unreadable rows are left out', async () => {
    if (failure !== undefined) throw failure;
    const url = await server!.createDatabase('store_spec');
    const store = await openStore({
      dataDir: join(root, 'unused'),
      databaseUrl: url.replace(/^postgres:/, 'postgresql:'),
    });
    assert.equal(store.kind, 'postgres');
    await roundTrip(store, () => openPostgresStore(url));
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query("INSERT INTO collateral_artefacts VALUES ('sgx:qe', '\\x01', '[]', 1, 'upstream')");
      await c.query("INSERT INTO collateral_artefacts VALUES ('nonsense', '\\x01', '{}', 1, 'upstream')");
      await c.query("INSERT INTO collateral_platforms VALUES ('zz:0000', '{broken')");
    } finally {
      await c.end();
    }
    const s = await openPostgresStore(url);
    const listed = await s.list();
    assert.deepEqual(
      listed.map((a) => a.key),
      [A.key],
    );
    assert.equal(listed[0]!.fetchedAt, A.fetchedAt, 'BIGINT read back as a number');
    assert.deepEqual(
      await s.listPlatforms(),
      [P1b, P2].sort((x, y) => x.qeId.localeCompare(y.qeId)).filter((p) => p.qeId !== 'zz'),
    );
    await s.close();
    await s.close(); // twice: the second does nothing
    await assert.rejects(s.list(), codeOf('ERR_COLLATERAL_SERVICE_STORAGE', { what: 'read' }));
    await assert.rejects(s.put(A), codeOf('ERR_COLLATERAL_SERVICE_STORAGE', { what: 'write' }));
    await assert.rejects(s.delete(A.key), codeOf('ERR_COLLATERAL_SERVICE_STORAGE', { what: 'delete' }));
  });
  test('an idle connection the server ends does not crash the process; the next query reconnects', async () => {
    if (failure !== undefined) throw failure;
    const url = await server!.createDatabase('store_spec_idle');
    const s = await openPostgresStore(url);
    await s.put(A); // leaves an idle client in the pool
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const r = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      assert.ok(r.rowCount! >= 1);
    } finally {
      await admin.end();
    }
    await new Promise((r) => setTimeout(r, 100)); // the pool sees the connection end
    assert.deepEqual(
      (await s.list()).map((a) => a.key),
      [A.key],
    );
    await s.close();
  });
  test('an open that fails after connecting leaves no connection behind', async () => {
    if (failure !== undefined) throw failure;
    const url = await server!.createDatabase('store_spec_readonly');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      await admin.query('ALTER DATABASE store_spec_readonly SET default_transaction_read_only = on');
      await assert.rejects(openPostgresStore(url), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
      let left = -1;
      for (let i = 0; i < 40 && left !== 0; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 50));
        const r = await admin.query<{ n: string }>(
          'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        left = Number(r.rows[0]!.n);
      }
      assert.equal(left, 0, 'connections of the failed open still there after 2 s');
    } finally {
      await admin.end();
    }
  });
  test('a server that refuses connections: ERR_COLLATERAL_SERVICE_STORAGE at open', async () => {
    if (failure !== undefined) throw failure;
    const u = new URL(server!.url);
    u.port = '1';
    await assert.rejects(openPostgresStore(u.toString()), codeOf('ERR_COLLATERAL_SERVICE_STORAGE'));
  });
});
