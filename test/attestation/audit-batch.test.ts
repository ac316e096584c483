/**
 * SQLite audit appends are batched per event-loop turn (one transaction per tick): every caller's
 * promise settles only after its line is committed, nothing is lost or reordered, a closed store
 * rejects, and close() commits what is still queued.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteStorage, type AuditEntry } from '../../src/attestation/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-audit-batch-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

const entry = (i: number): AuditEntry => ({
  at: new Date(1_700_000_000_000 + i),
  action: 'attest',
  actor: 'test',
  subject: `s${i}`,
  decision: 'allow',
  reason: `line ${i}`,
});

describe('SQLite audit batching', () => {
  test('appends made in one tick are all committed, in order, before their promises resolve', async () => {
    const path = join(dir, 'a.db');
    const storage = openSqliteStorage(path);
    await storage.migrate();
    await Promise.all(Array.from({ length: 50 }, (_, i) => storage.appendAudit(entry(i))));
    // Read through a second connection: the lines are committed, not just queued.
    const other = new Database(path, { readonly: true });
    const rows = other.prepare('SELECT subject FROM audit_log ORDER BY id').all() as { subject: string }[];
    other.close();
    assert.deepEqual(
      rows.map((r) => r.subject),
      Array.from({ length: 50 }, (_, i) => `s${i}`),
    );
    const listed = await storage.listAudit({ limit: 3 });
    assert.deepEqual(
      listed.map((r) => r.subject),
      ['s49', 's48', 's47'],
    );
    await storage.close();
  });

  test('close() commits appends still queued; appends after close reject', async () => {
    const path = join(dir, 'b.db');
    const storage = openSqliteStorage(path);
    await storage.migrate();
    const pending = storage.appendAudit(entry(1));
    await storage.close();
    await pending;
    const other = new Database(path, { readonly: true });
    const n = (other.prepare('SELECT COUNT(*) AS n FROM audit_log').get() as { n: number }).n;
    other.close();
    assert.equal(n, 1);
    await assert.rejects(storage.appendAudit(entry(2)), { code: 'ERR_STORAGE_BACKEND' });
  });
});
