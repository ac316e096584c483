/**
 * kill -9 of the attestation service in the middle of a load run (attestations of real simulated
 * quotes, concurrent policy sets, secret creates/updates with release policies, signing-key
 * rotations, all through the HTTP API of the service started from the CLI): after a restart on the
 * same state, every write the service had acknowledged (2xx) is there — the policy in force and
 * enforced, each secret's release policy and value (released to an enclave key and opened), every
 * rotated key in /certs. SQLite (the data directory) and PostgreSQL (`--database-url`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPostgres } from '../attestation/postgres-harness.ts';
import { kill9Scenario, type Kill9Result } from './faults-scenarios.ts';

function assertNothingLost(r: Kill9Result): void {
  assert.ok(r.acknowledgedByKind.policies >= 2, `policy sets acknowledged: ${JSON.stringify(r)}`);
  assert.ok(r.acknowledgedByKind.secrets >= 2, `secret writes acknowledged: ${JSON.stringify(r)}`);
  assert.ok(r.acknowledgedByKind.keyRotations >= 1, `key rotations acknowledged: ${JSON.stringify(r)}`);
  assert.deepEqual(r.lost, [], `acknowledged writes lost after kill -9 (${r.backend})`);
  assert.equal(r.writesLost, 0);
}

test('SQLite: every acknowledged write survives kill -9 of the service', { timeout: 240_000 }, async () => {
  assertNothingLost(await kill9Scenario({ loadMs: 1500, minAcked: 12, attestConcurrency: 2 }));
});

test(
  'PostgreSQL: every acknowledged write survives kill -9 of the service',
  { timeout: 240_000 },
  async (t) => {
    const pg = await startTestPostgres(process.env);
    if (pg === undefined) {
      t.skip('no PostgreSQL (set CCNODES_TEST_DATABASE_URL or install initdb/postgres)');
      return;
    }
    try {
      const url = await pg.createDatabase('ccnodes_security_kill9');
      assertNothingLost(
        await kill9Scenario({ databaseUrl: url, loadMs: 1500, minAcked: 12, attestConcurrency: 2 }),
      );
    } finally {
      await pg.stop();
    }
  },
);
