/**
 * Versioned schema migrations, shared by SQLite and PostgreSQL. Each migration is applied in its own
 * transaction together with its row in `schema_migrations`, so a crash never leaves a half-applied
 * version. Never edit a shipped migration; append a new one.
 */

/** SQL dialect differences we need: binary and auto-increment column types. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  readonly bytes: string;
  readonly serialPk: string;
}

export const SQLITE: Dialect = {
  name: 'sqlite',
  bytes: 'BLOB',
  serialPk: 'INTEGER PRIMARY KEY AUTOINCREMENT',
};
export const POSTGRES: Dialect = { name: 'postgres', bytes: 'BYTEA', serialPk: 'BIGSERIAL PRIMARY KEY' };

/** One schema step. Times are stored as BIGINT milliseconds since the epoch in both dialects. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  statements(d: Dialect): string[];
  /**
   * Set on the migration that introduced record integrity tags: in the same transaction, the
   * backend tags every existing row with the KEK-derived MAC key and writes the manifests
   * (`integrity.ts`, `planAdoption`). Untagged rows are never adopted afterwards.
   */
  readonly adoptsUntaggedRows?: true;
  /**
   * Set on the migration that added integrity to the applied-management-JWS ledger: in the same
   * transaction, the backend numbers and tags the existing ledger rows and writes the ledger head
   * (`integrity.ts`, `LedgerIntegrity.planAdoption`).
   */
  readonly adoptsLedgerRows?: true;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    statements: (d) => [
      `CREATE TABLE signing_keys (
         kid TEXT PRIMARY KEY,
         cert_der ${d.bytes} NOT NULL,
         sealed_private_key ${d.bytes} NOT NULL,
         created_at BIGINT NOT NULL,
         retired_at BIGINT
       )`,
      `CREATE TABLE policies (
         attestation_type TEXT PRIMARY KEY,
         jws TEXT NOT NULL,
         policy_text TEXT NOT NULL,
         signer_jwk TEXT,
         updated_at BIGINT NOT NULL
       )`,
      `CREATE TABLE policy_certificates (
         thumbprint TEXT PRIMARY KEY,
         cert_der ${d.bytes} NOT NULL,
         added_at BIGINT NOT NULL
       )`,
      `CREATE TABLE secrets (
         name TEXT PRIMARY KEY,
         sealed_value ${d.bytes} NOT NULL,
         release_policy TEXT NOT NULL,
         content_type TEXT NOT NULL,
         created_at BIGINT NOT NULL,
         updated_at BIGINT NOT NULL
       )`,
      `CREATE TABLE audit_log (
         id ${d.serialPk},
         at BIGINT NOT NULL,
         action TEXT NOT NULL,
         actor TEXT NOT NULL,
         subject TEXT NOT NULL,
         decision TEXT NOT NULL,
         reason TEXT NOT NULL
       )`,
      `CREATE INDEX audit_log_at ON audit_log (at)`,
    ],
  },
  {
    version: 2,
    name: 'applied management JWS ledger',
    // Isolated mode: a signed policy/certificate change authorizes one change, once. `jws_hash` is
    // the replay key of each applied body; `subject` is the attestation type (or `certificates`);
    // `iat` (seconds, when the body carried one) is the per-subject high-water mark.
    statements: () => [
      `CREATE TABLE applied_management_jws (
         jws_hash TEXT PRIMARY KEY,
         subject TEXT NOT NULL,
         operation TEXT NOT NULL,
         iat BIGINT,
         applied_at BIGINT NOT NULL
       )`,
      `CREATE INDEX applied_management_jws_subject ON applied_management_jws (subject, iat)`,
    ],
  },
  {
    version: 3,
    name: 'record integrity tags and manifests',
    adoptsUntaggedRows: true,
    statements: (d) => [
      `ALTER TABLE policies ADD COLUMN generation BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE policies ADD COLUMN mac ${d.bytes}`,
      `ALTER TABLE policy_certificates ADD COLUMN generation BIGINT NOT NULL DEFAULT 0`,
      `ALTER TABLE policy_certificates ADD COLUMN mac ${d.bytes}`,
      `ALTER TABLE secrets ADD COLUMN mac ${d.bytes}`,
      `ALTER TABLE signing_keys ADD COLUMN mac ${d.bytes}`,
      `CREATE TABLE integrity_manifests (
         kind TEXT PRIMARY KEY,
         body TEXT NOT NULL,
         mac ${d.bytes} NOT NULL
       )`,
    ],
  },
  {
    version: 4,
    name: 'audit repeat counts',
    // `repeat_count` > 1: one line stands for that many identical failures (same action, actor,
    // subject, decision, reason) aggregated within the sampling window.
    statements: () => [`ALTER TABLE audit_log ADD COLUMN repeat_count BIGINT NOT NULL DEFAULT 1`],
  },
  {
    version: 5,
    name: 'applied management JWS ledger integrity',
    // Each ledger row gets its sequence number (1, 2, …) and a tag over it and its columns; the
    // MAC'd ledger head (`integrity_manifests`, kind `management-jws`) holds the row count, so a
    // deleted, edited or inserted row is refused instead of making a captured body replayable.
    adoptsLedgerRows: true,
    statements: (d) => [
      `ALTER TABLE applied_management_jws ADD COLUMN seq BIGINT`,
      `ALTER TABLE applied_management_jws ADD COLUMN mac ${d.bytes}`,
    ],
  },
];

/** Highest version this build knows. */
export const SCHEMA_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;
