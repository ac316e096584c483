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
});
