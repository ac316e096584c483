/**
 * PostgreSQL storage (`pg`), for more than one replica. Same schema and semantics as SQLite:
 * multi-statement writes run in one transaction; migrations take an advisory lock so replicas that
 * start together apply each version exactly once.
 */
import pg from 'pg';
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
import { CREATE_MIGRATIONS_TABLE, MIGRATIONS, POSTGRES, SCHEMA_VERSION } from './migrations.ts';
import {
  auditRow,
  certificateColumns,
  certificateRow,
  checkCertificates,
  latestIat,
  policyColumns,
  policyRow,
  secretColumns,
  secretMeta,
  signingKeyColumns,
  signingKeyRow,
  type StorageOptions,
} from './sqlite.ts';
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
const MIGRATION_LOCK = 0x63636e6f; // "ccno"

/**
 * How long a request waits for a database connection (a new one, or a free one of the pool) before
 * it fails with ERR_STORAGE_UNAVAILABLE (503): a database that is down, restarting or unreachable
 * makes requests fail fast instead of hanging.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 2000;

/** Connects a pool to `databaseUrl` (postgres://…). Call `migrate()` before use. */
export function openPostgresStorage(databaseUrl: string, options: StorageOptions = {}): AttestationStorage {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: 8,
    connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
    keepAlive: true,
  });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return new PostgresStorage(pool, options.integrity);
}

/** Node socket errors that mean the server cannot be reached. */
const UNREACHABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * True when `cause` says the database is unavailable rather than that the query failed: socket
 * errors, SQLSTATE class 08 (connection exception), 57P01-57P03 (shutting down, starting up), 53300
 * (too many connections), and pg's own connection-loss and connect-timeout errors.
 */
export function isUnavailable(cause: unknown): boolean {
  const e = cause as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (UNREACHABLE_ERRNO.has(code) || code.startsWith('08')) return true;
  if (code === '57P01' || code === '57P02' || code === '57P03' || code === '53300') return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated due to connection timeout/.test(
    message,
  );
}

/** The typed error for a failed storage call: 503 ERR_STORAGE_UNAVAILABLE or 500 ERR_STORAGE_BACKEND. */
function failure(what: string, cause: unknown): StorageError {
  if (cause instanceof StorageError) return cause;
  return isUnavailable(cause)
    ? new StorageError('ERR_STORAGE_UNAVAILABLE', `storage unavailable: ${what}`, { what }, cause)
    : new StorageError('ERR_STORAGE_BACKEND', `storage failed: ${what}`, { what }, cause);
}

const bytes = (v: unknown): Uint8Array => new Uint8Array(v as Buffer);

class PostgresStorage implements AttestationStorage {
  readonly backend = 'postgres';
  readonly #pool: pg.Pool;

  readonly #integrity: RecordIntegrity | undefined;
  readonly #ledger: LedgerIntegrity | undefined;

  constructor(pool: pg.Pool, integrity: RecordIntegrity | undefined) {
    this.#pool = pool;
    this.#integrity = integrity;
    this.#ledger = integrity === undefined ? undefined : new LedgerIntegrity(integrity);
  }

  /** Ledger adoption inside the migration transaction that added `seq` and `mac` to the ledger. */
  async #adoptLedgerRows(c: pg.PoolClient, ledger: LedgerIntegrity): Promise<void> {
    const plan = ledger.planAdoption((await c.query('SELECT * FROM applied_management_jws')).rows as Row[]);
    for (const u of plan.updates)
      await c.query('UPDATE applied_management_jws SET seq = $1, mac = $2 WHERE jws_hash = $3', [
        u.seq,
        u.mac,
        u.hash,
      ]);
    await c.query('INSERT INTO integrity_manifests (kind, body, mac) VALUES ($1, $2, $3)', [
      plan.head.kind,
      plan.head.body,
      plan.head.mac,
    ]);
  }

  /** The verified manifest of `kind`, row-locked until the transaction ends. */
  async #lockManifest(c: pg.PoolClient, integrity: RecordIntegrity, kind: ManifestKind): Promise<Manifest> {
    const [m] = (
      await c.query('SELECT body, mac FROM integrity_manifests WHERE kind = $1 FOR UPDATE', [kind])
    ).rows as Row[];
    return integrity.openManifest(kind, m?.['body'], m?.['mac']);
  }

  async #writeManifest(
    c: pg.PoolClient,
    integrity: RecordIntegrity,
    kind: ManifestKind,
    m: Manifest,
  ): Promise<void> {
    const sealed = integrity.sealManifest(kind, m);
    await c.query(
      `INSERT INTO integrity_manifests (kind, body, mac) VALUES ($1, $2, $3)
       ON CONFLICT (kind) DO UPDATE SET body = excluded.body, mac = excluded.mac`,
      [kind, sealed.body, sealed.mac],
    );
  }

  /** Legacy adoption inside the migration transaction that added the tag columns. */
  async #adoptUntaggedRows(c: pg.PoolClient, integrity: RecordIntegrity): Promise<void> {
    const rows = {} as Record<RowKind, Row[]>;
    for (const [kind, t] of Object.entries(RECORD_TABLES) as [RowKind, { table: string; key: string }][])
      rows[kind] = (await c.query(`SELECT * FROM ${t.table} ORDER BY ${t.key}`)).rows as Row[];
    const plan = planAdoption(integrity, rows);
    for (const u of plan.updates) {
      const t = RECORD_TABLES[u.kind];
      if (u.generation === null)
        await c.query(`UPDATE ${t.table} SET mac = $1 WHERE ${t.key} = $2`, [u.mac, u.name]);
      else
        await c.query(`UPDATE ${t.table} SET mac = $1, generation = $2 WHERE ${t.key} = $3`, [
          u.mac,
          u.generation,
          u.name,
        ]);
    }
    for (const m of plan.manifests)
      await c.query('INSERT INTO integrity_manifests (kind, body, mac) VALUES ($1, $2, $3)', [
        m.kind,
        m.body,
        m.mac,
      ]);
  }

  async #q(what: string, sql: string, params: unknown[] = []): Promise<Row[]> {
    try {
      return (await this.#pool.query(sql, params)).rows as Row[];
    } catch (cause) {
      throw failure(what, cause);
    }
  }

  async #tx<T>(what: string, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (cause) {
      throw failure(what, cause);
    }
    // A checked-out client has no pool listener: without this one, the server ending the session
    // (shutdown, restart, network loss) between two statements is an unhandled 'error' event that
    // kills the process. The statement in progress fails on its own; the client is discarded below.
    let broken: unknown;
    const onError = (err: unknown): void => {
      broken = err;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const out = await fn(client);
      await client.query('COMMIT');
      return out;
    } catch (cause) {
      if (broken === undefined && !isUnavailable(cause))
        await client.query('ROLLBACK').catch(() => undefined);
      else broken ??= cause;
      throw failure(what, broken !== undefined && !(cause instanceof StorageError) ? broken : cause);
    } finally {
      client.off('error', onError);
      client.release(broken === undefined ? undefined : (broken as Error));
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
        if (m.adoptsUntaggedRows === true && this.#integrity !== undefined)
          await this.#adoptUntaggedRows(c, this.#integrity);
        if (m.adoptsLedgerRows === true && this.#ledger !== undefined)
          await this.#adoptLedgerRows(c, this.#ledger);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
      });
    }
    if (this.#integrity !== undefined) {
      const [k] = await this.#q('check KEK', 'SELECT body, mac FROM integrity_manifests WHERE kind = $1', [
        KEK_CHECK,
      ]);
      this.#integrity.checkKek(k?.['body'], k?.['mac']);
    }
    return SCHEMA_VERSION;
  }

  async listSigningKeys(): Promise<StoredSigningKey[]> {
    const rows = await this.#q('list signing keys', 'SELECT * FROM signing_keys ORDER BY created_at');
    return rows.map((r) => {
      if (this.#integrity !== undefined) verifyRow(this.#integrity, 'signing-key', r);
      return signingKeyRow(r);
    });
  }

  async addSigningKeyAndRetireOthers(key: StoredSigningKey): Promise<void> {
    await this.#tx('add signing key', async (c) => {
      const at = key.createdAt.getTime();
      const integrity = this.#integrity;
      if (integrity === undefined) {
        await c.query('UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL', [at]);
      } else {
        const active = (await c.query('SELECT * FROM signing_keys WHERE retired_at IS NULL FOR UPDATE'))
          .rows as Row[];
        for (const r of active) {
          verifyRow(integrity, 'signing-key', r);
          await c.query('UPDATE signing_keys SET retired_at = $1, mac = $2 WHERE kid = $3', [
            at,
            macRow(integrity, 'signing-key', { ...r, retired_at: at }),
            r['kid'],
          ]);
        }
      }
      const row = signingKeyColumns(key);
      await c.query(
        'INSERT INTO signing_keys (kid, cert_der, sealed_private_key, created_at, retired_at, mac) VALUES ($1, $2, $3, $4, $5, $6)',
        [
          row['kid'],
          row['cert_der'],
          row['sealed_private_key'],
          row['created_at'],
          row['retired_at'],
          integrity === undefined ? null : macRow(integrity, 'signing-key', row),
        ],
      );
    });
  }

  async deleteSigningKey(kid: string): Promise<void> {
    await this.#q('delete signing key', 'DELETE FROM signing_keys WHERE kid = $1', [kid]);
  }

  async getPolicy(attestationType: string): Promise<StoredPolicy | undefined> {
    const integrity = this.#integrity;
    if (integrity === undefined) {
      const [r] = await this.#q('get policy', 'SELECT * FROM policies WHERE attestation_type = $1', [
        attestationType,
      ]);
      return r === undefined ? undefined : policyRow(r);
    }
    // Row and manifest in one statement: one snapshot, so a concurrent write on another replica
    // cannot pair a new manifest with an old row.
    const [j] = await this.#q(
      'get policy',
      `SELECT m.body AS manifest_body, m.mac AS manifest_mac, p.*
       FROM (SELECT 1) AS one
       LEFT JOIN integrity_manifests m ON m.kind = 'policy'
       LEFT JOIN policies p ON p.attestation_type = $1`,
      [attestationType],
    );
    const manifest = integrity.openManifest('policy', j?.['manifest_body'], j?.['manifest_mac']);
    const r = j === undefined || j['attestation_type'] === null ? undefined : j;
    integrity.checkAgainstManifest(
      'policy',
      attestationType,
      manifest,
      r === undefined ? undefined : Number(r['generation']),
    );
    if (r === undefined) return undefined;
    verifyRow(integrity, 'policy', r);
    return policyRow(r);
  }

  async setPolicy(
    attestationType: string,
    policy: StoredPolicy | undefined,
    audit: AuditEntry,
  ): Promise<void> {
    await this.#tx('set policy', async (c) => {
      const integrity = this.#integrity;
      const manifest = integrity === undefined ? undefined : await this.#lockManifest(c, integrity, 'policy');
      if (policy === undefined) {
        await c.query('DELETE FROM policies WHERE attestation_type = $1', [attestationType]);
        if (integrity !== undefined && manifest !== undefined)
          await this.#writeManifest(c, integrity, 'policy', dropFromManifest(manifest, attestationType));
      } else {
        let generation = 0;
        if (integrity !== undefined && manifest !== undefined) {
          const bumped = bumpManifest(manifest, attestationType);
          generation = bumped.generation;
          await this.#writeManifest(c, integrity, 'policy', bumped.manifest);
        }
        const row = policyColumns(attestationType, policy, generation);
        await c.query(
          `INSERT INTO policies (attestation_type, generation, jws, policy_text, signer_jwk, updated_at, mac)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (attestation_type) DO UPDATE SET generation = excluded.generation, jws = excluded.jws,
           policy_text = excluded.policy_text, signer_jwk = excluded.signer_jwk,
           updated_at = excluded.updated_at, mac = excluded.mac`,
          [
            row['attestation_type'],
            row['generation'],
            row['jws'],
            row['policy_text'],
            row['signer_jwk'],
            row['updated_at'],
            integrity === undefined ? null : macRow(integrity, 'policy', row),
          ],
        );
      }
      await insertAudit(c, audit);
    });
  }

  async listPolicyCertificates(): Promise<StoredPolicyCertificate[]> {
    const integrity = this.#integrity;
    if (integrity === undefined) {
      const rows = await this.#q(
        'list policy certificates',
        'SELECT * FROM policy_certificates ORDER BY added_at',
      );
      return rows.map(certificateRow);
    }
    const joined = await this.#q(
      'list policy certificates',
      `SELECT m.body AS manifest_body, m.mac AS manifest_mac, c.*
       FROM (SELECT 1) AS one
       LEFT JOIN integrity_manifests m ON m.kind = 'policy-certificate'
       LEFT JOIN policy_certificates c ON true
       ORDER BY c.added_at`,
    );
    const first = joined[0];
    const manifest = integrity.openManifest(
      'policy-certificate',
      first?.['manifest_body'],
      first?.['manifest_mac'],
    );
    const rows = joined.filter((r) => r['thumbprint'] !== null);
    checkCertificates(integrity, rows, manifest);
    return rows.map(certificateRow);
  }

  async addPolicyCertificate(cert: StoredPolicyCertificate): Promise<void> {
    const integrity = this.#integrity;
    if (integrity === undefined) {
      await this.#q(
        'add policy certificate',
        'INSERT INTO policy_certificates (thumbprint, cert_der, added_at) VALUES ($1, $2, $3) ON CONFLICT (thumbprint) DO NOTHING',
        [cert.thumbprint, Buffer.from(cert.certDer), cert.addedAt.getTime()],
      );
      return;
    }
    await this.#tx('add policy certificate', async (c) => {
      const manifest = await this.#lockManifest(c, integrity, 'policy-certificate');
      if (manifest.entries.has(cert.thumbprint)) return;
      const bumped = bumpManifest(manifest, cert.thumbprint);
      const row = certificateColumns(cert, bumped.generation);
      await c.query(
        `INSERT INTO policy_certificates (thumbprint, generation, cert_der, added_at, mac) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (thumbprint) DO UPDATE SET generation = excluded.generation, cert_der = excluded.cert_der,
         added_at = excluded.added_at, mac = excluded.mac`,
        [
          row['thumbprint'],
          row['generation'],
          row['cert_der'],
          row['added_at'],
          macRow(integrity, 'policy-certificate', row),
        ],
      );
      await this.#writeManifest(c, integrity, 'policy-certificate', bumped.manifest);
    });
  }

  async removePolicyCertificate(thumbprint: string): Promise<'removed' | 'absent' | 'last'> {
    return this.#tx('remove policy certificate', async (c) => {
      const integrity = this.#integrity;
      const manifest =
        integrity === undefined ? undefined : await this.#lockManifest(c, integrity, 'policy-certificate');
      const rows = (await c.query('SELECT thumbprint FROM policy_certificates FOR UPDATE')).rows as Row[];
      if (!rows.some((r) => r['thumbprint'] === thumbprint)) return 'absent';
      if (rows.length <= 1) return 'last';
      await c.query('DELETE FROM policy_certificates WHERE thumbprint = $1', [thumbprint]);
      if (integrity !== undefined && manifest !== undefined)
        await this.#writeManifest(c, integrity, 'policy-certificate', dropFromManifest(manifest, thumbprint));
      return 'removed';
    });
  }

  async putSecret(s: StoredSecret): Promise<void> {
    const row = secretColumns(s);
    await this.#q(
      'put secret',
      `INSERT INTO secrets (name, sealed_value, release_policy, content_type, created_at, updated_at, mac)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET sealed_value = excluded.sealed_value,
       release_policy = excluded.release_policy, content_type = excluded.content_type,
       created_at = excluded.created_at, updated_at = excluded.updated_at, mac = excluded.mac`,
      [
        row['name'],
        row['sealed_value'],
        row['release_policy'],
        row['content_type'],
        row['created_at'],
        row['updated_at'],
        this.#integrity === undefined ? null : macRow(this.#integrity, 'secret', row),
      ],
    );
  }

  async getSecret(name: string): Promise<StoredSecret | undefined> {
    const [r] = await this.#q('get secret', 'SELECT * FROM secrets WHERE name = $1', [name]);
    if (r !== undefined && this.#integrity !== undefined) verifyRow(this.#integrity, 'secret', r);
    return r === undefined ? undefined : { ...secretMeta(r), sealedValue: bytes(r['sealed_value']) };
  }

  async listSecrets(): Promise<Omit<StoredSecret, 'sealedValue'>[]> {
    const rows = await this.#q('list secrets', 'SELECT * FROM secrets ORDER BY name');
    return rows.map((r) => {
      if (this.#integrity !== undefined) verifyRow(this.#integrity, 'secret', r);
      return secretMeta(r);
    });
  }

  async deleteSecret(name: string): Promise<boolean> {
    const rows = await this.#q('delete secret', 'DELETE FROM secrets WHERE name = $1 RETURNING name', [name]);
    return rows.length > 0;
  }

  async claimManagementJws(e: AppliedManagementJws): Promise<boolean> {
    const ledger = this.#ledger;
    if (ledger !== undefined)
      // The head row lock serializes claims across replicas; the rows are read after it is held.
      return this.#tx('record applied management JWS', async (c) => {
        const [h] = (
          await c.query('SELECT body, mac FROM integrity_manifests WHERE kind = $1 FOR UPDATE', [LEDGER_HEAD])
        ).rows as Row[];
        const count = ledger.openHead(h?.['body'], h?.['mac']);
        const rows = (await c.query('SELECT * FROM applied_management_jws')).rows as Row[];
        ledger.check(rows, count);
        if (rows.some((r) => r['jws_hash'] === e.hash)) return false;
        const row: Row = {
          jws_hash: e.hash,
          seq: count + 1,
          subject: e.subject,
          operation: e.operation,
          iat: e.iat,
          applied_at: e.appliedAt.getTime(),
        };
        await c.query(
          `INSERT INTO applied_management_jws (jws_hash, seq, subject, operation, iat, applied_at, mac)
           VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [e.hash, row['seq'], e.subject, e.operation, e.iat, row['applied_at'], ledger.macRow(row)],
        );
        const head = ledger.sealHead(count + 1);
        await c.query('UPDATE integrity_manifests SET body = $1, mac = $2 WHERE kind = $3', [
          head.body,
          head.mac,
          head.kind,
        ]);
        return true;
      });
    const rows = await this.#q(
      'record applied management JWS',
      `INSERT INTO applied_management_jws (jws_hash, subject, operation, iat, applied_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (jws_hash) DO NOTHING RETURNING jws_hash`,
      [e.hash, e.subject, e.operation, e.iat, e.appliedAt.getTime()],
    );
    return rows.length > 0;
  }

  async latestManagementIat(subject: string): Promise<number | undefined> {
    const ledger = this.#ledger;
    if (ledger !== undefined) {
      // Head and rows in one statement: one snapshot.
      const joined = await this.#q(
        'latest management iat',
        `SELECT m.body AS head_body, m.mac AS head_mac, l.*
         FROM (SELECT 1) AS one
         LEFT JOIN integrity_manifests m ON m.kind = '${LEDGER_HEAD}'
         LEFT JOIN applied_management_jws l ON true`,
      );
      const count = ledger.openHead(joined[0]?.['head_body'], joined[0]?.['head_mac']);
      const rows = joined.filter((r) => r['jws_hash'] !== null);
      ledger.check(rows, count);
      return latestIat(rows, subject);
    }
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

  async pruneAudit(r: AuditRetention): Promise<number> {
    const byAge = await this.#q(
      'prune audit',
      `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2)
       RETURNING id`,
      [r.now.getTime() - r.maxAgeMs, r.maxDeletes],
    );
    let deleted = byAge.length;
    const left = r.maxDeletes - deleted;
    if (left > 0) {
      const [cut] = await this.#q(
        'prune audit',
        'SELECT id FROM audit_log ORDER BY id DESC LIMIT 1 OFFSET $1',
        [r.maxRows],
      );
      if (cut !== undefined) {
        const byCount = await this.#q(
          'prune audit',
          `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE id <= $1 ORDER BY id LIMIT $2)
           RETURNING id`,
          [Number(cut['id']), left],
        );
        deleted += byCount.length;
      }
    }
    return deleted;
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
    'INSERT INTO audit_log (at, action, actor, subject, decision, reason, repeat_count) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [e.at.getTime(), e.action, e.actor, e.subject, e.decision, e.reason, e.count ?? 1],
  );
}
