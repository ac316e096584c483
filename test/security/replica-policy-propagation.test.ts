/**
 * Two replicas of the service (started from the CLI) on one PostgreSQL with one key-encryption key:
 * a policy set through replica A is enforced by replica B within a second — B denies the enclave
 * the new policy denies, for a request begun after A acknowledged the change. Five rounds, each
 * first permitting the enclave again (so each round measures a fresh change).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestPostgres } from '../attestation/postgres-harness.ts';
import { replicasScenario } from './faults-scenarios.ts';

test('a policy set on replica A is enforced by replica B within 1 s', { timeout: 240_000 }, async (t) => {
  const pg = await startTestPostgres(process.env);
  if (pg === undefined) {
    t.skip('no PostgreSQL (set CCNODES_TEST_DATABASE_URL or install initdb/postgres)');
    return;
  }
  try {
    const r = await replicasScenario({ databaseUrl: await pg.createDatabase('ccnodes_security_replicas') });
    assert.equal(r.propagationMs.length, 5);
    assert.ok(r.maxMs <= 1000, `B enforced A's policy only after ${r.propagationMs.join(', ')} ms`);
  } finally {
    await pg.stop();
  }
});
