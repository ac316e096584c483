/**
 * PostgreSQL storage (`pg`), for more than one replica. Same schema and semantics as SQLite:
 * multi-statement writes run in one transaction; migrations take an advisory lock so replicas that
 * start together apply each version exactly once.
 */
import pg from 'pg';
import { StorageError } from '../errors.ts';
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS, POSTGRES, SCHEMA_VERSION } from './migrations.ts';
import { auditRow, secretMeta } from './sqlite.ts';
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
const MIGRATION_LOCK = 0x63636e6f; // "ccno"

/** Connects a pool to `databaseUrl` (postgres://…). Call `migrate()` before use. */
export function openPostgresStorage(databaseUrl: string): AttestationStorage {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 8 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresStorage(pool);
}

const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);
const date = (v: unknown): Date => new Date(Number(v));

class PostgresStorage implements AttestationStorage {
  readonly backend = 'postgres';
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async #q(what: string, sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.#pool.query(sql, params)).rows as Row[];
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_BACKEND', `storage failed: ${what}`, { what }, cause);
    }
  }

  async #tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw new StorageError('ERR_STORAGE_BACKEND', `storage unreachable: ${what}`, { what }, cause);
    }
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (cause instanceof StorageError) throw cause;
      throw new StorageError('ERR_STORAGE_BACKEND', `storage failed: ${what}`, { what }, cause);
    } finally {
      client.release();
    }
  }

  async migrate(): Promise<number> {
    await this.#tx('migrate', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await c.query(CREATE_MIGRATIONS_TABLE);
    });
    for (const m of MIGRATIONS) {
      await this.#tx(`migration ${m.version}`, async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
        const rows = (await c.query('SELECT version FROM schema_migrations')).rows as Row[];
        const applied = new Set(rows.map((r) => Number(r['version'])));
        const newest = Math.max(0, ...applied);
        if (newest > SCHEMA_VERSION) {
          throw new StorageError(
            'ERR_STORAGE_MIGRATION',
            `database schema version ${newest} is newer than this build (${SCHEMA_VERSION})`,
          );
        }
        if (applied.has(m.version)) return;
        for (const sql of m.statements(POSTGRES)) await c.query(sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
      });
    }
    return SCHEMA_VERSION;
  }

  async listSigningKeys(): Promise<StoredSigningKey[]> {
    const rows = await this.#q('list signing keys', 'SELECT * FROM signing_keys ORDER BY created_at');
    return rows.map((r) => ({
      kid: String(r['kid']),
      certDer: bytes(r['cert_der']),
      sealedPrivateKey: bytes(r['sealed_private_key']),
      createdAt: date(r['created_at']),
      retiredAt: r['retired_at'] === null ? null : date(r['retired_at']),
    }));
  }

  async addSigningKeyAndRetireOthers(key: StoredSigningKey): Promise<void> {
    await this.#tx('add signing key', async (c) => {
      await c.query('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [
        key.createdAt.getTime(),
      ]);
      await c.query(
        'INSERT INTO signing_keys (kid, cert_der, sealed_private_key, created_at, retired_at) VALUES ($1, $2, $3, $4, $5)',
        [
          key.kid,
          Buffer.from(key.certDer),
          Buffer.from(key.sealedPrivateKey),
          key.createdAt.getTime(),
          key.retiredAt?.getTime() ?? null,
        ],
      );
    });
  }

  async deleteSigningKey(kid: string): Promise<void> {
    await this.#q('delete signing key', 'DELETE FROM signing_keys WHERE kid = $1', [kid]);
  }

  async getPolicy(attestationType: string): Promise<StoredPolicy | undefined> {
    const [r] = await this.#q('get policy', 'SELECT * FROM policies WHERE attestation_type = $1', [
      attestationType,
    ]);
    if (r === undefined) return undefined;
    return {
      attestationType: String(r['attestation_type']),
      jws: String(r['jws']),
      text: String(r['policy_text']),
      signerJwk:
        r['signer_jwk'] === null ? null : (JSON.parse(r['signer_jwk'] as string) as Record<string, unknown>),
      updatedAt: date(r['updated_at']),
    };
  }

  async setPolicy(
    attestationType: string,
    policy: StoredPolicy | undefined,
    audit: AuditEntry,
  ): Promise<void> {
    await this.#tx('set policy', async (c) => {
      if (policy === undefined) {
        await c.query('DELETE FROM policies WHERE attestation_type = $1', [attestationType]);
      } else {
        await c.query(
          `INSERT INTO policies (attestation_type, jws, policy_text, signer_jwk, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (attestation_type) DO UPDATE SET jws = excluded.jws, policy_text = excluded.policy_text,
           signer_jwk = excluded.signer_jwk, updated_at = excluded.updated_at`,
          [
            attestationType,
            policy.jws,
            policy.text,
            policy.signerJwk === null ? null : JSON.stringify(policy.signerJwk),
            policy.updatedAt.getTime(),
          ],
        );
      }
      await insertAudit(c, audit);
    });
  }

  async listPolicyCertificates(): Promise<StoredPolicyCertificate[]> {
    const rows = await this.#q(
      'list policy certificates',
      'SELECT * FROM policy_certificates ORDER BY added_at',
    );
    return rows.map((r) => ({
      thumbprint: String(r['thumbprint']),
      certDer: bytes(r['cert_der']),
      addedAt: date(r['added_at']),
    }));
  }

  async addPolicyCertificate(cert: StoredPolicyCertificate): Promise<void> {
    await this.#q(
      'add policy certificate',
      'INSERT INTO policy_certificates (thumbprint, cert_der, added_at) VALUES ($1, $2, $3) ON CONFLICT (thumbprint) DO NOTHING',
      [cert.thumbprint, Buffer.from(cert.certDer), cert.addedAt.getTime()],
    );
  }

  async removePolicyCertificate(thumbprint: string): Promise<'removed' | 'absent' | 'last'> {
    return this.#tx('remove policy certificate', async (c) => {
      const rows = (await c.query('SELECT thumbprint FROM policy_certificates FOR UPDATE')).rows as Row[];
      if (!rows.some((r) => r['thumbprint'] === thumbprint)) return 'absent';
      if (rows.length <= 1) return 'last';
      await c.query('DELETE FROM policy_certificates WHERE thumbprint = $1', [thumbprint]);
      return 'removed';
    });
  }

  async putSecret(s: StoredSecret): Promise<void> {
    await this.#q(
      'put secret',
      `INSERT INTO secrets (name, sealed_value, release_policy, content_type, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value,
       release_policy = excluded.release_policy, content_type = excluded.content_type, updated_at = excluded.updated_at`,
      [
        s.name,
        Buffer.from(s.sealedValue),
        s.releasePolicy,
        s.contentType,
        s.createdAt.getTime(),
        s.updatedAt.getTime(),
      ],
    );
  }

  async getSecret(name: string): Promise<StoredSecret | undefined> {
    const [r] = await this.#q('get secret', 'SELECT * FROM secrets WHERE name = $1', [name]);
    return r === undefined ? undefined : { ...secretMeta(r), sealedValue: bytes(r['sealed_value']) };
  }

  async listSecrets(): Promise<Omit<StoredSecret, 'sealedValue'>[]> {
    const rows = await this.#q(
      'list secrets',
      'SELECT name, release_policy, content_type, created_at, updated_at FROM secrets ORDER BY name',
    );
    return rows.map(secretMeta);
  }

  async deleteSecret(name: string): Promise<boolean> {
    const rows = await this.#q('delete secret', 'DELETE FROM secrets WHERE name = $1 RETURNING name', [name]);
    return rows.length > 0;
  }

  async claimManagementJws(e: AppliedManagementJws): Promise<boolean> {
    const rows = await this.#q(
      'record applied management JWS',
      `INSERT INTO applied_management_jws (jws_hash, subject, operation, iat, applied_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jws_hash) DO NOTHING RETURNING jws_hash`,
      [e.hash, e.subject, e.operation, e.iat, e.appliedAt.getTime()],
    );
    return rows.length > 0;
  }

  async latestManagementIat(subject: string): Promise<number | undefined> {
    const [r] = await this.#q(
      'latest management iat',
      'SELECT MAX(iat) AS iat FROM applied_management_jws WHERE subject = $1',
      [subject],
    );
    return r === undefined || r['iat'] === null ? undefined : Number(r['iat']);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#tx('append audit', (c) => insertAudit(c, entry));
  }

  async listAudit(options: { limit: number; beforeId?: number }): Promise<Required<AuditEntry>[]> {
    const rows = await this.#q(
      'list audit',
      'SELECT * FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2',
      [options.beforeId ?? Number.MAX_SAFE_INTEGER, options.limit],
    );
    return rows.map(auditRow);
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

async function insertAudit(c: pg.PoolClient, e: AuditEntry): Promise<void> {
  await c.query(
    'INSERT INTO audit_log (at, action, actor, subject, decision, reason) VALUES ($1, $2, $3, $4, $5, $6)',
    [e.at.getTime(), e.action, e.actor, e.subject, e.decision, e.reason],
  );
}
