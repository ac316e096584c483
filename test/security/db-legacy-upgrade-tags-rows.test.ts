/**
 * Upgrade path of the stored-state integrity check: a database from a build before tags (schema
 * version 2, untagged rows) is upgraded once — migration 3 tags the existing rows in its own
 * transaction — so its deny-all policy is still enforced afterwards, and a row edited after the
 * upgrade is refused (the upgrade does not leave a window in which untagged rows are accepted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MIGRATIONS, SQLITE } from '../../src/attestation/storage/migrations.ts';
import { startService } from '../attestation/support.ts';
import { DENY_ALL, PERMIT_ALL, attest, policyJws } from './db-tamper-support.ts';

test('a version-2 database is tagged on upgrade: its policy stays enforced, later edits are refused', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-legacy-'));
  try {
    const db = new Database(join(dataDir, 'attestation.db'));
    db.exec(
      'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    );
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      for (const sql of m.statements(SQLITE)) db.exec(sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
    }
    db.prepare(
      'INSERT INTO policies (attestation_type, jws, policy_text, signer_jwk, updated_at) VALUES (?, ?, ?, NULL, ?)',
    ).run('SgxEnclave', policyJws(DENY_ALL), DENY_ALL, Date.now());
    db.close();

    const s = await startService({ dataDir, keepDir: true });
    try {
      assert.equal((await attest(s.url)).status, 400, 'the legacy deny-all policy is adopted and enforced');
      const raw = new Database(join(dataDir, 'attestation.db'));
      raw
        .prepare('UPDATE policies SET policy_text = ?, jws = ? WHERE attestation_type = ?')
        .run(PERMIT_ALL, policyJws(PERMIT_ALL), 'SgxEnclave');
      raw.close();
      const r = await attest(s.url);
      assert.equal(r.status, 500);
      assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
