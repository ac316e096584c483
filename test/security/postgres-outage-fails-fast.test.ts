/**
 * PostgreSQL stopped (fast shutdown) under load and started again ~3 s later, with the service
 * started from the CLI (`--database-url`) kept running: the process survives the sessions being
 * terminated mid-transaction (it used to die of an unhandled 'error' event of a checked-out pg
 * client), every request begun during the outage fails fast with 503 ERR_STORAGE_UNAVAILABLE
 * (it used to be 500) unless it only reached the database after it was back, the service serves
 * again without a restart once PostgreSQL accepts connections, and no acknowledged write is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pgRestartScenario } from './faults-scenarios.ts';
import { restartablePostgresSkipReason, startRestartablePostgres } from './faults-postgres.ts';

test(
  'a PostgreSQL restart under load: 503 fast during the outage, recovery without restart, nothing lost',
  { timeout: 300_000 },
  async (t) => {
    const pg = await startRestartablePostgres();
    if (pg === undefined) {
      if (process.env['CI'] === 'true')
        throw new Error(`PostgreSQL is required under CI=true: ${restartablePostgresSkipReason()}`);
      t.skip(restartablePostgresSkipReason());
      return;
    }
    try {
      const r = await pgRestartScenario({ pg });
      assert.ok(r !== undefined);
      assert.equal(r.serviceAlive, true, 'the service process died when PostgreSQL went away');
      assert.ok(r.outageRequests >= 4, `requests during the outage: ${JSON.stringify(r)}`);
      assert.ok(
        (r.outageStatuses['503'] ?? 0) >= 1,
        `no 503 during the outage: ${JSON.stringify(r.outageStatuses)}`,
      );
      assert.equal(
        r.outageWrongAnswers,
        0,
        `outage answers: ${JSON.stringify(r.outageStatuses)}; ${r.outageSlowest.join('; ')}`,
      );
      // Generous for a loaded 2-core machine; a hang waits for PostgreSQL to come back (3 s or more).
      assert.ok(
        r.outageMaxMs < 2500,
        `a failing request took ${r.outageMaxMs} ms: ${r.outageSlowest.join('; ')}`,
      );
      assert.notEqual(r.recoverMs, null, 'no attestation succeeded after PostgreSQL was back');
      assert.ok((r.recoverMs ?? Infinity) < 15_000, `recovered after ${r.recoverMs} ms`);
      assert.deepEqual(r.lost, []);
    } finally {
      await pg.destroy();
    }
  },
);
