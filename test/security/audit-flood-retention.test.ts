/**
 * Attack: flood the service with failing unauthenticated attest requests so that every failure
 * appends an audit line and the database grows without bound. Identical failures from one client
 * within the aggregation window become one line (plus one line with the repeat count when the
 * window is flushed), counted by `ccnodes_attestation_audit_aggregated_total`; retention keeps at
 * most `maxRows` lines and deletes lines older than `maxAgeMs`, at start and periodically.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { postJson, startService } from '../attestation/support.ts';

const auditRows = (dataDir: string): { n: number; counted: number } => {
  const db = new Database(join(dataDir, 'attestation.db'), { readonly: true });
  try {
    return db
      .prepare('SELECT COUNT(*) AS n, COALESCE(SUM(repeat_count), 0) AS counted FROM audit_log')
      .get() as {
      n: number;
      counted: number;
    };
  } finally {
    db.close();
  }
};

const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/ccnodes/v1/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
};

describe('audit flood', () => {
  test('300 identical failed attests from one client leave 1 line + 1 count line, not 300', async () => {
    const s = await startService({ audit: { aggregateWindowMs: 60_000 } });
    try {
      for (let i = 0; i < 300; i++) {
        const r = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, { quote: 'AAAA' });
        assert.equal(r.status, 400);
      }
      assert.equal(auditRows(s.dataDir).n, 1, 'only the first failure is written during the window');
      assert.equal(await metric(s.url, 'ccnodes_attestation_audit_aggregated_total'), 299);
      await s.service.close(); // flushes the pending count
      const after = auditRows(s.dataDir);
      assert.equal(after.n, 2);
      assert.equal(after.counted, 300, 'no failure is lost: 1 + a line with count 299');
    } finally {
      await s.close().catch(() => undefined);
    }
  });

  test('distinct failures beyond --audit-max-rows are pruned to the limit; old lines are deleted at start', async () => {
    const s = await startService({
      keepDir: true,
      audit: { aggregateWindowMs: 60_000, maxRows: 1000, pruneIntervalMs: 100 },
    });
    try {
      // Distinct reasons (the bad api-version is named in each), so aggregation does not apply.
      await Promise.all(
        Array.from({ length: 4 }, async (_, w) => {
          for (let i = 0; i < 400; i++)
            await postJson(`${s.url}/attest/SgxEnclave?api-version=bad-${w}-${i}`, { quote: 'AAAA' });
        }),
      );
      const end = Date.now() + 15_000;
      while (auditRows(s.dataDir).n > 1000 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      assert.equal(auditRows(s.dataDir).n, 1000);
      assert.ok((await metric(s.url, 'ccnodes_attestation_audit_pruned_total')) >= 600);
      await s.service.close();
      // Lines older than the maximum age are deleted when the service starts.
      const db = new Database(join(s.dataDir, 'attestation.db'));
      db.prepare(
        'UPDATE audit_log SET at = ? WHERE id IN (SELECT id FROM audit_log ORDER BY id LIMIT 700)',
      ).run(Date.now() - 40 * 86_400_000);
      db.close();
      const again = await startService({ dataDir: s.dataDir, keepDir: true });
      await again.close();
      assert.equal(auditRows(s.dataDir).n, 300, 'default 30-day retention removed the 700 old lines');
    } finally {
      await s.close().catch(() => undefined);
      const { rmSync } = await import('node:fs');
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
