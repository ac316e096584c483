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
import { StorageError } from '../errors.ts';
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS, SCHEMA_VERSION, SQLITE } from './migrations.ts';
import type {
  AppliedManagementJws,
  AttestationStorage,
  AuditEntry,
  StoredPolicy,
  StoredPolicyCertificate,
  StoredSecret,
  StoredSigningKey,
} from './types.ts';

type Row = Record<string, unknown>;

/** Opens (creating if needed) the SQLite database at `path` (`:memory:` for tests). */
export function openSqliteStorage(path: string): AttestationStorage {
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
  } catch (cause) {
    throw new StorageError('ERR_STORAGE_BACKEND', `cannot open SQLite database ${path}`, { path }, cause);
  }
  return new SqliteStorage(db);
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

  constructor(db: Database.Database) {
    this.#db = db;
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
          this.#db
            .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
            .run(m.version, m.name, Date.now());
        })();
      }
      return SCHEMA_VERSION;
    });
  }

  listSigningKeys(): Promise<StoredSigningKey[]> {
    return wrap('list signing keys', () =>
      (this.#stmt('SELECT * FROM signing_keys ORDER BY created_at').all() as Row[]).map((r) => ({
        kid: String(r['kid']),
        certDer: bytes(r['cert_der']),
        sealedPrivateKey: bytes(r['sealed_private_key']),
        createdAt: date(r['created_at']),
        retiredAt: r['retired_at'] === null ? null : date(r['retired_at']),
      })),
    );
  }

  addSigningKeyAndRetireOthers(key: StoredSigningKey): Promise<void> {
    return wrap('add signing key', () => {
      this.#durable(() => {
        this.#db.transaction(() => {
          this.#db
            .prepare('UPDATE signing_keys SET retired_at = ? WHERE retired_at IS NULL')
            .run(key.createdAt.getTime());
          this.#db
            .prepare(
              'INSERT INTO signing_keys (kid, cert_der, sealed_private_key, created_at, retired_at) VALUES (?, ?, ?, ?, ?)',
            )
            .run(
              key.kid,
              Buffer.from(key.certDer),
              Buffer.from(key.sealedPrivateKey),
              key.createdAt.getTime(),
              key.retiredAt?.getTime() ?? null,
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
      if (r === undefined) return undefined;
      return {
        attestationType: String(r['attestation_type']),
        jws: String(r['jws']),
        text: String(r['policy_text']),
        signerJwk:
          r['signer_jwk'] === null
            ? null
            : (JSON.parse(r['signer_jwk'] as string) as Record<string, unknown>),
        updatedAt: date(r['updated_at']),
      };
    });
  }

  setPolicy(attestationType: string, policy: StoredPolicy | undefined, audit: AuditEntry): Promise<void> {
    return wrap('set policy', () => {
      this.#durable(() => {
        this.#db.transaction(() => {
          if (policy === undefined) {
            this.#stmt('DELETE FROM policies WHERE attestation_type = ?').run(attestationType);
          } else {
            this.#db
              .prepare(
                `INSERT INTO policies (attestation_type, jws, policy_text, signer_jwk, updated_at) VALUES (?, ?, ?, ?, ?)
               ON CONFLICT (attestation_type) DO UPDATE SET jws = excluded.jws, policy_text = excluded.policy_text,
               signer_jwk = excluded.signer_jwk, updated_at = excluded.updated_at`,
              )
              .run(
                attestationType,
                policy.jws,
                policy.text,
                policy.signerJwk === null ? null : JSON.stringify(policy.signerJwk),
                policy.updatedAt.getTime(),
              );
          }
          this.#insertAudit(audit);
        })();
      });
    });
  }

  listPolicyCertificates(): Promise<StoredPolicyCertificate[]> {
    return wrap('list policy certificates', () =>
      (this.#stmt('SELECT * FROM policy_certificates ORDER BY added_at').all() as Row[]).map((r) => ({
        thumbprint: String(r['thumbprint']),
        certDer: bytes(r['cert_der']),
        addedAt: date(r['added_at']),
      })),
    );
  }

  addPolicyCertificate(cert: StoredPolicyCertificate): Promise<void> {
    return wrap('add policy certificate', () => {
      this.#durable(() => {
        this.#stmt(
          'INSERT INTO policy_certificates (thumbprint, cert_der, added_at) VALUES (?, ?, ?) ON CONFLICT (thumbprint) DO NOTHING',
        ).run(cert.thumbprint, Buffer.from(cert.certDer), cert.addedAt.getTime());
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
          return 'removed';
        })(),
      ),
    );
  }

  putSecret(s: StoredSecret): Promise<void> {
    return wrap('put secret', () => {
      this.#durable(() => {
        this.#stmt(
          `INSERT INTO secrets (name, sealed_value, release_policy, content_type, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value,
           release_policy = excluded.release_policy, content_type = excluded.content_type, updated_at = excluded.updated_at`,
        ).run(
          s.name,
          Buffer.from(s.sealedValue),
          s.releasePolicy,
          s.contentType,
          s.createdAt.getTime(),
          s.updatedAt.getTime(),
        );
      });
    });
  }

  getSecret(name: string): Promise<StoredSecret | undefined> {
    return wrap('get secret', () => {
      const r = this.#stmt('SELECT * FROM secrets WHERE name = ?').get(name) as Row | undefined;
      return r === undefined ? undefined : { ...secretMeta(r), sealedValue: bytes(r['sealed_value']) };
    });
  }

  listSecrets(): Promise<Omit<StoredSecret, 'sealedValue'>[]> {
    return wrap('list secrets', () =>
      (
        this.#stmt(
          'SELECT name, release_policy, content_type, created_at, updated_at FROM secrets ORDER BY name',
        ).all() as Row[]
      ).map(secretMeta),
    );
  }

  deleteSecret(name: string): Promise<boolean> {
    return wrap('delete secret', () =>
      this.#durable(() => this.#stmt('DELETE FROM secrets WHERE name = ?').run(name).changes > 0),
    );
  }

  claimManagementJws(e: AppliedManagementJws): Promise<boolean> {
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
      'INSERT INTO audit_log (at, action, actor, subject, decision, reason) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(e.at.getTime(), e.action, e.actor, e.subject, e.decision, e.reason);
  }
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
  };
}
