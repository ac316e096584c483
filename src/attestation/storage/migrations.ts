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
];

/** Highest version this build knows. */
export const SCHEMA_VERSION: number = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);

export const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL
)`;
