/**
 * One storage test-suite, run against SQLite and (when a PostgreSQL can be started or
 * `CCNODES_TEST_DATABASE_URL` is set) PostgreSQL: migrations, signing keys, policies with their audit
 * entry in one transaction, policy certificates (never the last), secrets, audit paging, and
 * concurrent policy writes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import {
  SCHEMA_VERSION,
  openPostgresStorage,
  openSqliteStorage,
  type AttestationStorage,
  type AuditEntry,
} from '../../src/attestation/index.ts';
import { postgresSkipReason, startTestPostgres, type TestPostgres } from './postgres-harness.ts';

const audit = (action: string, subject = 's'): AuditEntry => ({
  at: new Date(),
  action,
  actor: 'test',
  subject,
  decision: 'allow',
  reason: 'r',
});

function storageSuite(
  name: string,
  open: () => Promise<
    | { storage: AttestationStorage; bumpVersion: () => Promise<void>; cleanup: () => Promise<void> }
    | undefined
  >,
  skip: string | false,
): void {
  describe(`storage: ${name}`, { skip }, () => {
    let st: AttestationStorage;
    let bump: () => Promise<void>;
    let cleanup: () => Promise<void>;
    before(async () => {
      const o = await open();
      if (o === undefined) throw new Error('no backend');
      st = o.storage;
      bump = o.bumpVersion;
      cleanup = o.cleanup;
      assert.equal(await st.migrate(), SCHEMA_VERSION);
    });
    after(async () => {
      await st.close();
      await cleanup();
    });

    test('migrate is idempotent', async () => {
      assert.equal(await st.migrate(), SCHEMA_VERSION);
    });

    test('signing keys: adding one retires the others atomically', async () => {
      const k = (kid: string, t: number) => ({
        kid,
        certDer: new Uint8Array([1, 2, 3]),
        sealedPrivateKey: new Uint8Array([4, 5]),
        createdAt: new Date(t),
        retiredAt: null,
      });
      await st.addSigningKeyAndRetireOthers(k('a', 1000));
      await st.addSigningKeyAndRetireOthers(k('b', 2000));
      const keys = await st.listSigningKeys();
      assert.deepEqual(
        keys.map((x) => [x.kid, x.retiredAt?.getTime() ?? null]),
        [
          ['a', 2000],
          ['b', null],
        ],
      );
      assert.deepEqual([...(keys[0]?.certDer ?? [])], [1, 2, 3]);
      await assert.rejects(
        st.addSigningKeyAndRetireOthers(k('b', 3000)),
        (e: unknown) => (e as { code?: string }).code === 'ERR_STORAGE_BACKEND',
      );
      assert.equal(
        (await st.listSigningKeys()).find((x) => x.kid === 'b')?.retiredAt,
        null,
        'failed insert rolled back the retire',
      );
      await st.deleteSigningKey('a');
      assert.deepEqual(
        (await st.listSigningKeys()).map((x) => x.kid),
        ['b'],
      );
    });

    test('policies: set, replace, remove, each with its audit entry', async () => {
      assert.equal(await st.getPolicy('SgxEnclave'), undefined);
      const p = {
        attestationType: 'SgxEnclave',
        jws: 'a..',
        text: 'v1',
        signerJwk: { kty: 'RSA', x5c: ['AA=='] },
        updatedAt: new Date(5),
      };
      await st.setPolicy('SgxEnclave', p, audit('policy-set'));
      await st.setPolicy('SgxEnclave', { ...p, text: 'v2', signerJwk: null }, audit('policy-set'));
      const got = await st.getPolicy('SgxEnclave');
      assert.equal(got?.text, 'v2');
      assert.equal(got.signerJwk, null);
      await st.setPolicy('SgxEnclave', undefined, audit('policy-reset'));
      assert.equal(await st.getPolicy('SgxEnclave'), undefined);
      const log = await st.listAudit({ limit: 10 });
      assert.deepEqual(
        log.slice(0, 3).map((e) => e.action),
        ['policy-reset', 'policy-set', 'policy-set'],
      );
    });

    test('concurrent policy writes are serialized: last write wins whole, every audit entry kept', async () => {
      const before = (await st.listAudit({ limit: 1000 })).length;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          st.setPolicy(
            'OpenEnclave',
            {
              attestationType: 'OpenEnclave',
              jws: `j${i}`,
              text: `t${i}`,
              signerJwk: null,
              updatedAt: new Date(i),
            },
            audit('policy-set', `w${i}`),
          ),
        ),
      );
      const got = await st.getPolicy('OpenEnclave');
      assert.equal(got?.jws.slice(1), got?.text.slice(1), 'jws and text come from the same write');
      assert.equal((await st.listAudit({ limit: 1000 })).length - before, 20);
    });

    test('policy certificates: add (idempotent), remove, never the last', async () => {
      const c = (t: string) => ({ thumbprint: t, certDer: new Uint8Array([9]), addedAt: new Date() });
      await st.addPolicyCertificate(c('T1'));
      await st.addPolicyCertificate(c('T1'));
      await st.addPolicyCertificate(c('T2'));
      assert.equal((await st.listPolicyCertificates()).length, 2);
      assert.equal(await st.removePolicyCertificate('T3'), 'absent');
      assert.equal(await st.removePolicyCertificate('T1'), 'removed');
      assert.equal(await st.removePolicyCertificate('T2'), 'last');
      assert.deepEqual(
        (await st.listPolicyCertificates()).map((x) => x.thumbprint),
        ['T2'],
      );
    });

    test('secrets: put, replace, list without values, delete', async () => {
      const s = {
        name: 'x',
        sealedValue: new Uint8Array([1]),
        releasePolicy: '{}',
        contentType: 'text/plain',
        createdAt: new Date(1),
        updatedAt: new Date(1),
      };
      await st.putSecret(s);
      await st.putSecret({ ...s, sealedValue: new Uint8Array([2]), updatedAt: new Date(2) });
      const got = await st.getSecret('x');
      assert.deepEqual([...(got?.sealedValue ?? [])], [2]);
      assert.equal(got?.createdAt.getTime(), 1);
      const list = await st.listSecrets();
      assert.equal(list.length, 1);
      assert.equal('sealedValue' in (list[0] ?? {}), false);
      assert.equal(await st.deleteSecret('x'), true);
      assert.equal(await st.deleteSecret('x'), false);
      assert.equal(await st.getSecret('x'), undefined);
    });

    test('audit: newest first, paged by id', async () => {
      for (let i = 0; i < 5; i++) await st.appendAudit(audit('page', `p${i}`));
      const first = await st.listAudit({ limit: 2 });
      assert.deepEqual(
        first.map((e) => e.subject),
        ['p4', 'p3'],
      );
      const next = await st.listAudit({ limit: 2, beforeId: first[1]?.id ?? 0 });
      assert.deepEqual(
        next.map((e) => e.subject),
        ['p2', 'p1'],
      );
    });

    test('a database newer than this build is refused', async () => {
      await bump();
      await assert.rejects(
        st.migrate(),
        (e: unknown) => (e as { code?: string }).code === 'ERR_STORAGE_MIGRATION',
      );
    });
  });
}

const sqliteDir = mkdtempSync(join(tmpdir(), 'ccnodes-sqlite-'));
storageSuite(
  'SQLite',
  () => {
    const path = join(sqliteDir, 'a.db');
    return Promise.resolve({
      storage: openSqliteStorage(path),
      bumpVersion: () => {
        const db = new Database(path);
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)').run(
          'future',
        );
        db.close();
        return Promise.resolve();
      },
      cleanup: () => {
        rmSync(sqliteDir, { recursive: true, force: true });
        return Promise.resolve();
      },
    });
  },
  false,
);

// Under CI=true the harness throws when it cannot start PostgreSQL: every PostgreSQL test then fails
// with its message (the SQLite suite still runs); elsewhere the suite skips with one line.
let pgServer: TestPostgres | undefined;
let pgFailure: Error | undefined;
try {
  pgServer = await startTestPostgres(process.env);
} catch (err) {
  pgFailure = err instanceof Error ? err : new Error(String(err));
}
storageSuite(
  'PostgreSQL',
  async () => {
    if (pgFailure !== undefined) throw pgFailure;
    if (pgServer === undefined) return undefined;
    const url = await pgServer.createDatabase(`ccnodes_test_${Date.now()}`);
    return {
      storage: openPostgresStorage(url),
      bumpVersion: async () => {
        const c = new pg.Client({ connectionString: url });
        await c.connect();
        await c.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)");
        await c.end();
      },
      cleanup: () => pgServer.stop(),
    };
  },
  pgServer === undefined && pgFailure === undefined ? postgresSkipReason() : false,
);
