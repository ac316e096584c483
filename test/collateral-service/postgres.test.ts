/**
 * The collateral service with `--database-url postgres://…`: artefacts fetched in LAZY mode are in
 * PostgreSQL, a restarted service (upstream gone, OFFLINE) serves them from there, and a row edited
 * in the database is refused when loaded. Uses the attestation tests' throwaway PostgreSQL harness;
 * skips with one line when no server can be had, except under CI=true.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../attestation/postgres-harness.ts';
import { openPostgresStore, POSTGRES_SCHEMA_LOCK } from '../../src/collateral-service/index.ts';
import { get, startStack } from './support.ts';
import { dcap } from './support.ts';

const FMSPC = dcap.platform('up-to-date').config.fmspc.toUpperCase();
const SGX = '/sgx/certification/v4';

let server: TestPostgres | undefined;
let failure: Error | undefined;
try {
  server = await startTestPostgres(process.env);
} catch (err) {
  failure = err instanceof Error ? err : new Error(String(err));
}
const skip = server === undefined && failure === undefined ? postgresSkipReason() : false;

describe('collateral cache in PostgreSQL', { skip }, () => {
  after(() => server?.stop());

  test('persists across restart and refuses an edited row', async () => {
    if (failure !== undefined) throw failure;
    const url = await (server as TestPostgres).createDatabase(`ccnodes_collateral_${Date.now()}`);
    const s = await startStack({ databaseUrl: url });
    try {
      assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
      assert.equal((await get(s.service.url, `${SGX}/qe/identity`)).status, 200);
      await s.restart({ mode: 'offline', upstream: undefined });
      assert.deepEqual(
        s.service.service
          .list()
          .map((e) => e.key)
          .sort(),
        ['sgx:qe', 'sgx:rootcacrl', `sgx:tcb:${FMSPC}`],
      );
      assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
      await s.service.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(
        "UPDATE collateral_artefacts SET body = convert_to(replace(convert_from(body, 'UTF8'), '\"UpToDate\"', '\"Revoked\"'), 'UTF8') WHERE key = 'sgx:qe'",
      );
      await c.end();
      await s.restart({ mode: 'offline', upstream: undefined });
      assert.equal((await get(s.service.url, `${SGX}/qe/identity`)).status, 404);
      assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
    } finally {
      await s.close();
    }
  });

  test('opening waits for the schema lock that serialises replicas; four opened together all open', async () => {
    if (failure !== undefined) throw failure;
    const url = await (server as TestPostgres).createDatabase(`ccnodes_collateral_lock_${Date.now()}`);
    // Another session holds the lock: a store being opened waits for it (its request shows in
    // pg_locks as an advisory lock not granted) and opens once the lock is released.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [POSTGRES_SCHEMA_LOCK]);
      let opened = false;
      const opening = openPostgresStore(url).then((store) => {
        opened = true;
        return store;
      });
      const waiting = async (): Promise<number> =>
        (
          await holder.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND pid <> pg_backend_pid()",
          )
        ).rows[0]?.n ?? 0;
      const deadline = Date.now() + 10_000;
      while ((await waiting()) === 0) {
        assert.ok(Date.now() < deadline, 'no store waited for the schema lock within 10 s');
        assert.equal(opened, false, 'the store opened while another session held the schema lock');
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(opened, false);
      await holder.query('SELECT pg_advisory_unlock($1)', [POSTGRES_SCHEMA_LOCK]);
      await (await opening).close();
    } finally {
      await holder.end();
    }
    // Replicas starting together on a fresh database: each one opens.
    const fresh = await (server as TestPostgres).createDatabase(`ccnodes_collateral_race_${Date.now()}`);
    const stores = await Promise.all([1, 2, 3, 4].map(() => openPostgresStore(fresh)));
    for (const store of stores) {
      assert.deepEqual(await store.list(), []);
      await store.close();
    }
  });
});
