/**
 * SQLite storage (better-sqlite3, WAL mode): the embedded default. State changes (keys, policies,
 * certificates, secrets) commit with synchronous=FULL (fsync: survive power loss); audit appends of
 * the hot attest path commit with synchronous=NORMAL (survive a process crash; in WAL mode the
 * database is never corrupted, an OS crash may drop the last audit lines). better-sqlite3
 * is synchronous, so every method runs to completion inside one event-loop turn — writes are
 * naturally serialized — and each multi-statement write is wrapped in `db.transaction`. Audit
 * appends are the exception to "one call, one commit": appends made in the same event-loop turn are
 * committed together in one transaction at the next `setImmediate` (see `appendAudit`); statements
 * are prepared once and reused.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { StorageError } from '../errors.ts';
import {
  KEK_CHECK,
  LEDGER_HEAD,
  LedgerIntegrity,
  RECORD_TABLES,
  bumpManifest,
  dropFromManifest,
  macRow,
  planAdoption,
  verifyRow,
  type Manifest,
  type ManifestKind,
  type RecordIntegrity,
  type RowKind,
} from './integrity.ts';
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS, SCHEMA_VERSION, SQLITE } from './migrations.ts';
import type {
  AppliedManagementJws,
  AttestationStorage,
  AuditEntry,
  AuditRetention,
  StoredPolicy,
  StoredPolicyCertificate,
  StoredSecret,
  StoredSigningKey,
} from './types.ts';

type Row = Record<string, unknown>;

/** Options of both storage backends. */
export interface StorageOptions {
  /**
   * Tags and checks every trusted record (`integrity.ts`). The service always passes one; without
   * it (unit tests of the storage layer) rows are written untagged and read unchecked, and a
   * database written that way is refused later by a store that has one.
   */
  readonly integrity?: RecordIntegrity;
}

/**
 * Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests). The database
 * file is created 0600 before SQLite opens it (SQLite gives its `-wal` and `-shm` files the
 * database file's mode) and the process umask is 077 while SQLite opens it; existing files with a
 * looser mode are tightened to 0600.
 */
export function openSqliteStorage(path: string, options: StorageOptions = {}): AttestationStorage {
  let db: Database.Database;
  const onDisk = path !== '' && path !== ':memory:' && !path.startsWith('file:');
  const previousUmask = onDisk ? process.umask(0o077) : undefined;
  try {
    if (onDisk) {
      if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
      for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`])
        if (existsSync(p)) chmodSync(p, 0o600);
    }
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (cause) {
    throw new StorageError('ERR_STORAGE_BACKEND', `cannot open SQLite database ${path}`, { path }, cause);
  } finally {
    if (previousUmask !== undefined) process.umask(previousUmask);
  }
  return new SqliteStorage(db, options.integrity);
}

function wrap<T>(what: string, fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (cause) {
    if (cause instanceof StorageError) return Promise.reject(cause);
    return Promise.reject(
      new StorageError('ERR_STORAGE_BACKEND', `storage failed: ${what}`, { what }, cause),
    );
  }
}

const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const date = (v: unknown): Date => new Date(Number(v));

class SqliteStorage implements AttestationStorage {
  readonly backend = 'sqlite';
  readonly #db: Database.Database;

  /** Prepared statements by SQL text (compiled once; SQLite re-prepares them after schema changes). */
  readonly #statements = new Map<string, Database.Statement>();
  /** Audit entries waiting for this tick's batch commit, with their callers' settle functions. */
  #auditQueue: { entry: AuditEntry; resolve: () => void; reject: (err: unknown) => void }[] = [];

  readonly #integrity: RecordIntegrity | undefined;
  readonly #ledger: LedgerIntegrity | undefined;

  constructor(db: Database.Database, integrity: RecordIntegrity | undefined) {
    this.#db = db;
    this.#integrity = integrity;
    this.#ledger = integrity === undefined ? undefined : new LedgerIntegrity(integrity);
  }

  /** The whole applied-management-JWS ledger, checked against its head; returns rows and count. */
  #checkedLedger(ledger: LedgerIntegrity): { rows: Row[]; count: number } {
    const h = this.#stmt('SELECT body, mac FROM integrity_manifests WHERE kind = ?').get(LEDGER_HEAD) as
      Row | undefined;
    const count = ledger.openHead(h?.['body'], h?.['mac']);
    const rows = this.#stmt('SELECT * FROM applied_management_jws').all() as Row[];
    ledger.check(rows, count);
    return { rows, count };
  }

  /** Ledger adoption inside the migration transaction that added `seq` and `mac` to the ledger. */
  #adoptLedgerRows(ledger: LedgerIntegrity): void {
    const plan = ledger.planAdoption(this.#db.prepare('SELECT * FROM applied_management_jws').all() as Row[]);
    for (const u of plan.updates)
      this.#db
        .prepare('UPDATE applied_management_jws SET seq = ?, mac = ? WHERE jws_hash = ?')
        .run(u.seq, u.mac, u.hash);
    this.#db
      .prepare('INSERT INTO integrity_manifests (kind, body, mac) VALUES (?, ?, ?)')
      .run(plan.head.kind, plan.head.body, plan.head.mac);
  }

  /** The verified manifest of `kind` (integrity failure when missing or modified). */
  #manifest(integrity: RecordIntegrity, kind: ManifestKind): Manifest {
    const m = this.#stmt('SELECT body, mac FROM integrity_manifests WHERE kind = ?').get(kind) as
      Row | undefined;
    return integrity.openManifest(kind, m?.['body'], m?.['mac']);
  }

  #writeManifest(integrity: RecordIntegrity, kind: ManifestKind, m: Manifest): void {
    const sealed = integrity.sealManifest(kind, m);
    this.#stmt(
      `INSERT INTO integrity_manifests (kind, body, mac) VALUES (?, ?, ?)
       ON CONFLICT (kind) DO UPDATE SET body = excluded.body, mac = excluded.mac`,
    ).run(kind, sealed.body, sealed.mac);
  }

  /** Legacy adoption inside the migration transaction that added the tag columns. */
  #adoptUntaggedRows(integrity: RecordIntegrity): void {
    const rows = {} as Record<RowKind, Row[]>;
    for (const [kind, t] of Object.entries(RECORD_TABLES) as [RowKind, { table: string; key: string }][])
      rows[kind] = this.#db.prepare(`SELECT * FROM ${t.table} ORDER BY ${t.key}`).all() as Row[];
    const plan = planAdoption(integrity, rows);
    for (const u of plan.updates) {
      const t = RECORD_TABLES[u.kind];
      if (u.generation === null)
        this.#db.prepare(`UPDATE ${t.table} SET mac = ? WHERE ${t.key} = ?`).run(u.mac, u.name);
      else
        this.#db
          .prepare(`UPDATE ${t.table} SET mac = ?, generation = ? WHERE ${t.key} = ?`)
          .run(u.mac, u.generation, u.name);
    }
    for (const m of plan.manifests)
      this.#db
        .prepare('INSERT INTO integrity_manifests (kind, body, mac) VALUES (?, ?, ?)')
        .run(m.kind, m.body, m.mac);
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#statements.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Runs a state-changing write with fsync on commit. */
  #durable<T>(fn: () => T): T {
    this.#db.pragma('synchronous = FULL');
    try {
      return fn();
    } finally {
      this.#db.pragma('synchronous = NORMAL');
    }
  }

  migrate(): Promise<number> {
    return wrap('migrate', () => {
      this.#db.exec(CREATE_MIGRATIONS_TABLE);
      const applied = new Set(
        (this.#stmt('SELECT version FROM schema_migrations').all() as Row[]).map((r) => Number(r['version'])),
      );
      const newest = Math.max(0, ...applied);
      if (newest > SCHEMA_VERSION) {
        throw new StorageError(
          'ERR_STORAGE_MIGRATION',
          `database schema version ${newest} is newer than this build (${SCHEMA_VERSION})`,
        );
      }
      for (const m of MIGRATIONS) {
        if (applied.has(m.version)) continue;
        this.#db.transaction(() => {
          for (const sql of m.statements(SQLITE)) this.#db.exec(sql);
          if (m.adoptsUntaggedRows === true && this.#integrity !== undefined)
            this.#adoptUntaggedRows(this.#integrity);
          if (m.adoptsLedgerRows === true && this.#ledger !== undefined) this.#adoptLedgerRows(this.#ledger);
          this.#db
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(m.version, m.name, Date.now());
        })();
      }
      if (this.#integrity !== undefined) {
        const k = this.#stmt('SELECT body, mac FROM integrity_manifests WHERE kind = ?').get(KEK_CHECK) as
          Row | undefined;
        this.#integrity.checkKek(k?.['body'], k?.['mac']);
      }
      return SCHEMA_VERSION;
    });
  }

  listSigningKeys(): Promise<StoredSigningKey[]> {
    return wrap('list signing keys', () =>
      (this.#stmt('SELECT * FROM signing_keys ORDER BY created_at').all() as Row[]).map((r) => {
        if (this.#integrity !== undefined) verifyRow(this.#integrity, 'signing-key', r);
        return signingKeyRow(r);
      }),
    );
  }

  /** Retires every active key at `at` (re-tagging each after checking its tag). */
  #retireActiveKeys(at: number): void {
    const integrity = this.#integrity;
    if (integrity === undefined) {
      this.#db.prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL').run(at);
      return;
    }
    for (const r of this.#db.prepare('SELECT * FROM signing_keys WHERE retired_at IS NULL').all() as Row[]) {
      verifyRow(integrity, 'signing-key', r);
      const updated = { ...r, retired_at: at };
      this.#db
        .prepare('UPDATE signing_keys SET retired_at = ?, mac = ? WHERE kid = ?')
        .run(at, macRow(integrity, 'signing-key', updated), r['kid']);
    }
  }

  addSigningKeyAndRetireOthers(key: StoredSigningKey): Promise<void> {
    return wrap('add signing key', () => {
      this.#durable(() => {
        this.#db.transaction(() => {
          this.#retireActiveKeys(key.createdAt.getTime());
          const row = signingKeyColumns(key);
          this.#db
            .prepare(
              'INSERT INTO signing_keys (kid, cert_der, sealed_private_key, created_at, retired_at, mac) VALUES (?, ?, ?, ?, ?, ?)',
            )
            .run(
              row['kid'],
              row['cert_der'],
              row['sealed_private_key'],
              row['created_at'],
              row['retired_at'],
              this.#integrity === undefined ? null : macRow(this.#integrity, 'signing-key', row),
            );
        })();
      });
    });
  }

  deleteSigningKey(kid: string): Promise<void> {
    return wrap('delete signing key', () => {
      this.#durable(() => {
        this.#stmt('DELETE FROM signing_keys WHERE kid = ?').run(kid);
      });
    });
  }

  getPolicy(attestationType: string): Promise<StoredPolicy | undefined> {
    return wrap('get policy', () => {
      const r = this.#stmt('SELECT * FROM policies WHERE attestation_type = ?').get(attestationType) as
        Row | undefined;
      const integrity = this.#integrity;
      if (integrity !== undefined) {
        const manifest = this.#manifest(integrity, 'policy');
        integrity.checkAgainstManifest(
          'policy',
          attestationType,
          manifest,
          r === undefined ? undefined : Number(r['generation']),
        );
        if (r !== undefined) verifyRow(integrity, 'policy', r);
      }
      return r === undefined ? undefined : policyRow(r);
    });
  }

  setPolicy(attestationType: string, policy: StoredPolicy | undefined, audit: AuditEntry): Promise<void> {
    return wrap('set policy', () => {
      this.#durable(() => {
        this.#db.transaction(() => {
          const integrity = this.#integrity;
          const manifest = integrity === undefined ? undefined : this.#manifest(integrity, 'policy');
          if (policy === undefined) {
            this.#stmt('DELETE FROM policies WHERE attestation_type = ?').run(attestationType);
            if (integrity !== undefined && manifest !== undefined)
              this.#writeManifest(integrity, 'policy', dropFromManifest(manifest, attestationType));
          } else {
            let generation = 0;
            if (integrity !== undefined && manifest !== undefined) {
              const bumped = bumpManifest(manifest, attestationType);
              generation = bumped.generation;
              this.#writeManifest(integrity, 'policy', bumped.manifest);
            }
            const row = policyColumns(attestationType, policy, generation);
            this.#db
              .prepare(
                `INSERT INTO policies (attestation_type, generation, jws, policy_text, signer_jwk, updated_at, mac)
                 VALUES (?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (attestation_type) DO UPDATE SET generation = excluded.generation, jws = excluded.jws,
               policy_text = excluded.policy_text, signer_jwk = excluded.signer_jwk,
               updated_at = excluded.updated_at, mac = excluded.mac`,
              )
              .run(
                row['attestation_type'],
                row['generation'],
                row['jws'],
                row['policy_text'],
                row['signer_jwk'],
                row['updated_at'],
                integrity === undefined ? null : macRow(integrity, 'policy', row),
              );
          }
          this.#insertAudit(audit);
        })();
      });
    });
  }

  listPolicyCertificates(): Promise<StoredPolicyCertificate[]> {
    return wrap('list policy certificates', () =>
      this.#db.transaction(() => {
        const rows = this.#stmt('SELECT * FROM policy_certificates ORDER BY added_at').all() as Row[];
        const integrity = this.#integrity;
        if (integrity !== undefined)
          checkCertificates(integrity, rows, this.#manifest(integrity, 'policy-certificate'));
        return rows.map(certificateRow);
      })(),
    );
  }

  addPolicyCertificate(cert: StoredPolicyCertificate): Promise<void> {
    return wrap('add policy certificate', () => {
      this.#durable(() => {
        const integrity = this.#integrity;
        if (integrity === undefined) {
          this.#stmt(
            'INSERT INTO policy_certificates (thumbprint, cert_der, added_at) VALUES (?, ?, ?) ON CONFLICT (thumbprint) DO NOTHING',
          ).run(cert.thumbprint, Buffer.from(cert.certDer), cert.addedAt.getTime());
          return;
        }
        this.#db.transaction(() => {
          const manifest = this.#manifest(integrity, 'policy-certificate');
          if (manifest.entries.has(cert.thumbprint)) return;
          const bumped = bumpManifest(manifest, cert.thumbprint);
          const row = certificateColumns(cert, bumped.generation);
          this.#stmt(
            `INSERT INTO policy_certificates (thumbprint, generation, cert_der, added_at, mac) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (thumbprint) DO UPDATE SET generation = excluded.generation, cert_der = excluded.cert_der,
             added_at = excluded.added_at, mac = excluded.mac`,
          ).run(
            row['thumbprint'],
            row['generation'],
            row['cert_der'],
            row['added_at'],
            macRow(integrity, 'policy-certificate', row),
          );
          this.#writeManifest(integrity, 'policy-certificate', bumped.manifest);
        })();
      });
    });
  }

  removePolicyCertificate(thumbprint: string): Promise<'removed' | 'absent' | 'last'> {
    return wrap('remove policy certificate', () =>
      this.#durable(() =>
        this.#db.transaction((): 'removed' | 'absent' | 'last' => {
          const present = this.#db
            .prepare('SELECT 1 FROM policy_certificates WHERE thumbprint = ?')
            .get(thumbprint);
          if (present === undefined) return 'absent';
          const count = Number(
            (this.#stmt('SELECT COUNT(*) AS n FROM policy_certificates').get() as Row)['n'],
          );
          if (count <= 1) return 'last';
          this.#stmt('DELETE FROM policy_certificates WHERE thumbprint = ?').run(thumbprint);
          const integrity = this.#integrity;
          if (integrity !== undefined) {
            const manifest = this.#manifest(integrity, 'policy-certificate');
            this.#writeManifest(integrity, 'policy-certificate', dropFromManifest(manifest, thumbprint));
          }
          return 'removed';
        })(),
      ),
    );
  }

  putSecret(s: StoredSecret): Promise<void> {
    return wrap('put secret', () => {
      this.#durable(() => {
        const row = secretColumns(s);
        this.#stmt(
          `INSERT INTO secrets (name, sealed_value, release_policy, content_type, created_at, updated_at, mac)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value,
           release_policy = excluded.release_policy, content_type = excluded.content_type,
           created_at = excluded.created_at, updated_at = excluded.updated_at, mac = excluded.mac`,
        ).run(
          row['name'],
          row['sealed_value'],
          row['release_policy'],
          row['content_type'],
          row['created_at'],
          row['updated_at'],
          this.#integrity === undefined ? null : macRow(this.#integrity, 'secret', row),
        );
      });
    });
  }

  getSecret(name: string): Promise<StoredSecret | undefined> {
    return wrap('get secret', () => {
      const r = this.#stmt('SELECT * FROM secrets WHERE name = ?').get(name) as Row | undefined;
      if (r !== undefined && this.#integrity !== undefined) verifyRow(this.#integrity, 'secret', r);
      return r === undefined ? undefined : { ...secretMeta(r), sealedValue: bytes(r['sealed_value']) };
    });
  }

  listSecrets(): Promise<Omit<StoredSecret, 'sealedValue'>[]> {
    return wrap('list secrets', () =>
      (this.#stmt('SELECT * FROM secrets ORDER BY name').all() as Row[]).map((r) => {
        if (this.#integrity !== undefined) verifyRow(this.#integrity, 'secret', r);
        return secretMeta(r);
      }),
    );
  }

  deleteSecret(name: string): Promise<boolean> {
    return wrap('delete secret', () =>
      this.#durable(() => this.#stmt('DELETE FROM secrets WHERE name = ?').run(name).changes > 0),
    );
  }

  claimManagementJws(e: AppliedManagementJws): Promise<boolean> {
    const ledger = this.#ledger;
    if (ledger !== undefined)
      return wrap('record applied management JWS', () =>
        this.#durable(() =>
          this.#db.transaction(() => {
            const { rows, count } = this.#checkedLedger(ledger);
            if (rows.some((r) => r['jws_hash'] === e.hash)) return false;
            const row: Row = {
              jws_hash: e.hash,
              seq: count + 1,
              subject: e.subject,
              operation: e.operation,
              iat: e.iat,
              applied_at: e.appliedAt.getTime(),
            };
            this.#stmt(
              `INSERT INTO applied_management_jws (jws_hash, seq, subject, operation, iat, applied_at, mac)
               VALUES (?, ?, ?, ?, ?, ?, ?)`,
            ).run(e.hash, row['seq'], e.subject, e.operation, e.iat, row['applied_at'], ledger.macRow(row));
            const head = ledger.sealHead(count + 1);
            this.#stmt('UPDATE integrity_manifests SET body = ?, mac = ? WHERE kind = ?').run(
              head.body,
              head.mac,
              head.kind,
            );
            return true;
          })(),
        ),
      );
    return wrap('record applied management JWS', () =>
      this.#durable(
        () =>
          this.#stmt(
            `INSERT INTO applied_management_jws (jws_hash, subject, operation, iat, applied_at)
             VALUES (?, ?, ?, ?, ?) ON CONFLICT (jws_hash) DO NOTHING`,
          ).run(e.hash, e.subject, e.operation, e.iat, e.appliedAt.getTime()).changes > 0,
      ),
    );
  }

  latestManagementIat(subject: string): Promise<number | undefined> {
    const ledger = this.#ledger;
    if (ledger !== undefined)
      return wrap('latest management iat', () =>
        this.#db.transaction(() => latestIat(this.#checkedLedger(ledger).rows, subject))(),
      );
    return wrap('latest management iat', () => {
      const r = this.#stmt('SELECT MAX(iat) AS iat FROM applied_management_jws WHERE subject = ?').get(
        subject,
      ) as Row | undefined;
      return r === undefined || r['iat'] === null ? undefined : Number(r['iat']);
    });
  }

  /**
   * Audit appends are batched: every append made in one event-loop turn is committed in a single
   * transaction at `setImmediate`, and each caller's promise settles only after that commit. A
   * caller that awaits `appendAudit` before answering (the attest route does) therefore still
   * answers only once its line is committed — the same guarantee as one transaction per line, with
   * one WAL commit per tick instead of one per request. If the batch fails, every caller in it gets
   * the error (nothing in the batch is committed).
   */
  appendAudit(entry: AuditEntry): Promise<void> {
    if (!this.#db.open)
      return wrap('append audit', () => {
        this.#insertAudit(entry);
      });
    return new Promise<void>((resolve, reject) => {
      if (this.#auditQueue.length === 0)
        setImmediate(() => {
          this.#flushAudit();
        });
      this.#auditQueue.push({ entry, resolve, reject });
    });
  }

  #flushAudit(): void {
    const batch = this.#auditQueue;
    this.#auditQueue = [];
    if (batch.length === 0) return;
    try {
      this.#db.transaction(() => {
        for (const b of batch) this.#insertAudit(b.entry);
      })();
    } catch (cause) {
      const err =
        cause instanceof StorageError
          ? cause
          : new StorageError(
              'ERR_STORAGE_BACKEND',
              'storage failed: append audit',
              { what: 'append audit' },
              cause,
            );
      for (const b of batch) b.reject(err);
      return;
    }
    for (const b of batch) b.resolve();
  }

  listAudit(options: { limit: number; beforeId?: number }): Promise<Required<AuditEntry>[]> {
    return wrap('list audit', () =>
      (
        this.#stmt('SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?').all(
          options.beforeId ?? Number.MAX_SAFE_INTEGER,
          options.limit,
        ) as Row[]
      ).map(auditRow),
    );
  }

  close(): Promise<void> {
    return wrap('close', () => {
      if (this.#db.open) this.#flushAudit();
      if (this.#db.open) this.#db.close();
    });
  }

  #insertAudit(e: AuditEntry): void {
    this.#stmt(
      'INSERT INTO audit_log (at, action, actor, subject, decision, reason, repeat_count) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(e.at.getTime(), e.action, e.actor, e.subject, e.decision, e.reason, e.count ?? 1);
  }

  pruneAudit(r: AuditRetention): Promise<number> {
    return wrap('prune audit', () => {
      // Oldest first through the `at` index; at most `maxDeletes` rows per call.
      let deleted = this.#stmt(
        'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)',
      ).run(r.now.getTime() - r.maxAgeMs, r.maxDeletes).changes;
      const left = r.maxDeletes - deleted;
      if (left > 0) {
        const cut = this.#stmt('SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET ?').get(
          r.maxRows,
        ) as Row | undefined;
        if (cut !== undefined)
          deleted += this.#stmt(
            'DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id <= ? ORDER BY id LIMIT ?)',
          ).run(Number(cut['id']), left).changes;
      }
      return deleted;
    });
  }
}

/** The highest `iat` among the ledger `rows` of `subject`, if any. */
export function latestIat(rows: readonly Row[], subject: string): number | undefined {
  let latest: number | undefined;
  for (const r of rows) {
    if (r['subject'] !== subject || r['iat'] === null || r['iat'] === undefined) continue;
    const iat = Number(r['iat']);
    if (latest === undefined || iat > latest) latest = iat;
  }
  return latest;
}

/** Maps a policy_certificates row. */
export function certificateRow(r: Row): StoredPolicyCertificate {
  return { thumbprint: String(r['thumbprint']), certDer: bytes(r['cert_der']), addedAt: date(r['added_at']) };
}

/** The column values of a certificate about to be written. */
export function certificateColumns(c: StoredPolicyCertificate, generation: number): Row {
  return {
    thumbprint: c.thumbprint,
    generation,
    cert_der: Buffer.from(c.certDer),
    added_at: c.addedAt.getTime(),
  };
}

/** Checks every certificate row's tag and that rows and manifest list the same certificates. */
export function checkCertificates(
  integrity: RecordIntegrity,
  rows: readonly Row[],
  manifest: Manifest,
): void {
  const seen = new Set<string>();
  for (const r of rows) {
    const name = String(r['thumbprint']);
    seen.add(name);
    integrity.checkAgainstManifest('policy-certificate', name, manifest, Number(r['generation']));
    verifyRow(integrity, 'policy-certificate', r);
  }
  for (const name of manifest.entries.keys())
    if (!seen.has(name)) integrity.checkAgainstManifest('policy-certificate', name, manifest, undefined);
}

/** Maps a signing_keys row. */
export function signingKeyRow(r: Row): StoredSigningKey {
  return {
    kid: String(r['kid']),
    certDer: bytes(r['cert_der']),
    sealedPrivateKey: bytes(r['sealed_private_key']),
    createdAt: date(r['created_at']),
    retiredAt: r['retired_at'] === null ? null : date(r['retired_at']),
  };
}

/** The column values of a signing key about to be written. */
export function signingKeyColumns(key: StoredSigningKey): Row {
  return {
    kid: key.kid,
    cert_der: Buffer.from(key.certDer),
    sealed_private_key: Buffer.from(key.sealedPrivateKey),
    created_at: key.createdAt.getTime(),
    retired_at: key.retiredAt?.getTime() ?? null,
  };
}

/** Maps a policies row. */
export function policyRow(r: Row): StoredPolicy {
  return {
    attestationType: String(r['attestation_type']),
    jws: String(r['jws']),
    text: String(r['policy_text']),
    signerJwk:
      r['signer_jwk'] === null || r['signer_jwk'] === undefined
        ? null
        : (JSON.parse(r['signer_jwk'] as string) as Record<string, unknown>),
    updatedAt: date(r['updated_at']),
  };
}

/** The column values of a policy about to be written (generation filled in by the caller). */
export function policyColumns(type: string, p: StoredPolicy, generation: number): Row {
  return {
    attestation_type: type,
    generation,
    jws: p.jws,
    policy_text: p.text,
    signer_jwk: p.signerJwk === null ? null : JSON.stringify(p.signerJwk),
    updated_at: p.updatedAt.getTime(),
  };
}

/** The column values of a secret about to be written. */
export function secretColumns(s: StoredSecret): Row {
  return {
    name: s.name,
    sealed_value: Buffer.from(s.sealedValue),
    release_policy: s.releasePolicy,
    content_type: s.contentType,
    created_at: s.createdAt.getTime(),
    updated_at: s.updatedAt.getTime(),
  };
}

/** Maps a secrets row without its value. */
export function secretMeta(r: Row): Omit<StoredSecret, 'sealedValue'> {
  return {
    name: String(r['name']),
    releasePolicy: String(r['release_policy']),
    contentType: String(r['content_type']),
    createdAt: date(r['created_at']),
    updatedAt: date(r['updated_at']),
  };
}

/** Maps an audit_log row. */
export function auditRow(r: Row): Required<AuditEntry> {
  return {
    id: Number(r['id']),
    at: date(r['at']),
    action: String(r['action']),
    actor: String(r['actor']),
    subject: String(r['subject']),
    decision: String(r['decision']) as AuditEntry['decision'],
    reason: String(r['reason']),
    count: r['repeat_count'] === undefined ? 1 : Number(r['repeat_count']),
  };
}
