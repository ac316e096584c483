/**
 * Attack: in isolated mode a signed policy body authorizes one change, once — the service keeps the
 * replay keys of applied bodies in the `applied_management_jws` ledger. Someone who can write the
 * database (the SQLite file, a shared PostgreSQL) but does not hold the KEK deletes the ledger row
 * of a captured permissive body, then PUTs the body back (read anonymously from GET /policies) to
 * roll the strict policy back. Editing a row (rewriting its replay key) or inserting a forged one
 * (which would refuse the operator's next body as a replay) must not pass either. Every variant is refused: the management call fails closed with `ERR_STORAGE_INTEGRITY`
 * (500), `ccnodes_attestation_integrity_failures_total{kind="management-jws"}` counts it, and the
 * strict policy stays in force.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { managementJwsReplayKey } from '../../src/attestation/management-jws.ts';
import { backends, integrityFailures, stopBackends } from './db-tamper-support.ts';
import {
  currentPolicyText,
  denyAllPolicy,
  newSigner,
  permissivePolicy,
  policyPayload,
  putPolicy,
  putSignedPolicy,
  readPolicyJws,
  signedJws,
  startIsolated,
} from './policy-support.ts';

/** The ledger key of a signed (RS256) body, as the service records it. */
function replayKey(jws: string): string {
  const [h, p, s] = jws.split('.') as [string, string, string];
  return managementJwsReplayKey(`${h}.${p}`, 'RS256', Buffer.from(s, 'base64url'));
}

after(stopBackends);

for (const backend of await backends()) {
  describe(`applied management JWS ledger tampering (${backend.name})`, { skip: backend.skip }, () => {
    test('deleting the ledger row of a captured body does not make it replayable', async () => {
      const signer = await newSigner('ledger delete signer');
      const t = await backend.start((more) => startIsolated([signer], more));
      try {
        const permissive = await signedJws(signer, policyPayload(permissivePolicy('loose')));
        assert.equal((await putPolicy(t.s.url, 'SgxEnclave', permissive)).status, 200);
        const captured = await readPolicyJws(t.s.url, 'SgxEnclave'); // anonymous read
        assert.equal(captured, permissive);
        const strict = await signedJws(signer, policyPayload(denyAllPolicy('strict')));
        assert.equal((await putPolicy(t.s.url, 'SgxEnclave', strict)).status, 200);
        // Untampered, the replay is refused by the ledger.
        assert.equal((await putPolicy(t.s.url, 'SgxEnclave', captured)).code, 'ERR_ATTEST_POLICY_REPLAY');

        const key = replayKey(captured);
        assert.equal(
          (await t.sql('SELECT * FROM applied_management_jws WHERE jws_hash = ?', [key])).length,
          1,
        );
        await t.sql('DELETE FROM applied_management_jws WHERE jws_hash = ?', [key]);

        const replay = await putPolicy(t.s.url, 'SgxEnclave', captured);
        assert.equal(
          replay.status,
          500,
          `the replayed body must not be applied: ${JSON.stringify(replay.body)}`,
        );
        assert.equal(replay.code, 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'management-jws'), 1);
        assert.equal(await currentPolicyText(t.s.url, 'SgxEnclave'), denyAllPolicy('strict'));
        // Every later signed change fails closed too, until the operator restores the database.
        const fresh = await putSignedPolicy(t.s.url, 'SgxEnclave', signer, denyAllPolicy('later'));
        assert.equal(fresh.status, 500);
        assert.equal(fresh.code, 'ERR_STORAGE_INTEGRITY');
      } finally {
        await t.close();
      }
    });

    test("rewriting the replay key of a captured body's ledger row does not make it replayable", async () => {
      const signer = await newSigner('ledger edit signer');
      const t = await backend.start((more) => startIsolated([signer], more));
      try {
        const permissive = await signedJws(signer, policyPayload(permissivePolicy('old')));
        assert.equal((await putPolicy(t.s.url, 'OpenEnclave', permissive)).status, 200);
        const strict = await signedJws(signer, policyPayload(denyAllPolicy('new')));
        assert.equal((await putPolicy(t.s.url, 'OpenEnclave', strict)).status, 200);
        await t.sql('UPDATE applied_management_jws SET jws_hash = ? WHERE jws_hash = ?', [
          'ff'.repeat(32),
          replayKey(permissive),
        ]);
        const r = await putPolicy(t.s.url, 'OpenEnclave', permissive);
        assert.equal(r.status, 500, JSON.stringify(r.body));
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'management-jws'), 1);
        assert.equal(await currentPolicyText(t.s.url, 'OpenEnclave'), denyAllPolicy('new'));
      } finally {
        await t.close();
      }
    });

    test('a ledger row inserted without the KEK is refused', async () => {
      const signer = await newSigner('ledger insert signer');
      const t = await backend.start((more) => startIsolated([signer], more));
      try {
        const body = await signedJws(signer, policyPayload(denyAllPolicy('one')));
        assert.equal((await putPolicy(t.s.url, 'SgxEnclave', body)).status, 200);
        // A forged row that would block the operator's next body (or raise the iat mark).
        const next = await signedJws(signer, policyPayload(denyAllPolicy('two')));
        await t.sql(
          'INSERT INTO applied_management_jws (jws_hash, subject, operation, iat, applied_at, seq, mac) VALUES (?, ?, ?, ?, ?, ?, ?)',
          [replayKey(next), 'SgxEnclave', 'policy-set', null, Date.now(), 2, Buffer.alloc(32)],
        );
        const r = await putPolicy(t.s.url, 'SgxEnclave', next);
        assert.equal(r.status, 500, JSON.stringify(r.body));
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'management-jws'), 1);
      } finally {
        await t.close();
      }
    });
  });
}

test('a ledger from before ledger tags (schema 4) is adopted on upgrade: its bodies stay spent, a later deletion is refused', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-ledger-legacy-'));
  try {
    const signer = await newSigner('ledger upgrade signer');
    const body = await signedJws(signer, policyPayload(permissivePolicy('legacy')));
    const first = await startIsolated([signer], { dataDir, keepDir: true });
    try {
      assert.equal((await putPolicy(first.url, 'SgxEnclave', body)).status, 200);
      assert.equal((await putSignedPolicy(first.url, 'SgxEnclave', signer, denyAllPolicy('x'))).status, 200);
    } finally {
      await first.close();
    }
    // Make it the database the previous build (schema version 4) left: untagged ledger rows.
    const db = new Database(join(dataDir, 'attestation.db'));
    db.exec(`ALTER TABLE applied_management_jws DROP COLUMN seq;
      ALTER TABLE applied_management_jws DROP COLUMN mac;
      DELETE FROM integrity_manifests WHERE kind = 'management-jws';
      DELETE FROM schema_migrations WHERE version = 5;`);
    assert.equal(
      (db.prepare('SELECT COUNT(*) AS n FROM applied_management_jws').get() as { n: number }).n,
      2,
    );
    db.close();

    const s = await startIsolated([signer], { dataDir, keepDir: true });
    try {
      const replay = await putPolicy(s.url, 'SgxEnclave', body);
      assert.equal(replay.status, 400, JSON.stringify(replay.body));
      assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY', 'the adopted ledger still refuses the body');
      const raw = new Database(join(dataDir, 'attestation.db'));
      raw.prepare('DELETE FROM applied_management_jws WHERE jws_hash = ?').run(replayKey(body));
      raw.close();
      const again = await putPolicy(s.url, 'SgxEnclave', body);
      assert.equal(again.status, 500, JSON.stringify(again.body));
      assert.equal(again.code, 'ERR_STORAGE_INTEGRITY');
      assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), denyAllPolicy('x'));
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
