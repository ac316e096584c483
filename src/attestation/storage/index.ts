/** Storage backends of the attestation service, chosen by URL. */
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AttestConfigError } from '../errors.ts';
import { RecordIntegrity } from './integrity.ts';
import { openPostgresStorage } from './postgres.ts';
import { openSqliteStorage } from './sqlite.ts';
import type { AttestationStorage } from './types.ts';

export type * from './types.ts';
export { openSqliteStorage } from './sqlite.ts';
export { openPostgresStorage } from './postgres.ts';
export { SCHEMA_VERSION } from './migrations.ts';
export { RecordIntegrity, RECORD_MAC_INFO, type IntegrityFailure, type RecordKind } from './integrity.ts';
export type { StorageOptions } from './sqlite.ts';
export {
  AuditRetentionRunner,
  AuditSampler,
  DEFAULT_AUDIT_AGGREGATE_WINDOW_MS,
  DEFAULT_AUDIT_MAX_AGE_MS,
  DEFAULT_AUDIT_MAX_ROWS,
  DEFAULT_AUDIT_PRUNE_INTERVAL_MS,
} from './audit.ts';

/**
 * Creates the data directory 0700, or checks an existing one: group or world access (any of mode
 * 077) is refused with `ERR_ATTEST_CONFIG` naming the path, the mode and the override, unless
 * `allowInsecure` — then the directory is used as it is and a warning text is returned for the log.
 */
export function prepareDataDir(dir: string, allowInsecure: boolean): { warning?: string } {
  let created = false;
  try {
    created = mkdirSync(dir, { recursive: true, mode: 0o700 }) !== undefined;
  } catch (cause) {
    throw new AttestConfigError(`cannot create data directory ${dir}: ${(cause as Error).message}`, {
      field: 'data-dir',
      path: dir,
    });
  }
  if (created) chmodSync(dir, 0o700); // mkdir's mode is filtered by the umask
  const mode = statSync(dir).mode & 0o777;
  if ((mode & 0o077) === 0) return {};
  const text = `data directory ${dir} is accessible by group or others (mode ${mode.toString(8).padStart(4, '0')})`;
  if (!allowInsecure) {
    throw new AttestConfigError(`${text}; chmod 700 it, or pass --allow-insecure-data-dir to use it anyway`, {
      field: 'data-dir',
      path: dir,
      mode: mode.toString(8),
    });
  }
  return { warning: `${text}; used anyway (--allow-insecure-data-dir)` };
}

/**
 * Opens storage: PostgreSQL for a `postgres://`/`postgresql://` URL, SQLite for `sqlite:<path>`,
 * and SQLite at `<dataDir>/attestation.db` when no URL is given. Runs migrations before returning.
 */
export async function openStorage(options: {
  dataDir: string;
  databaseUrl?: string;
  /** Tags and checks every trusted record (required: the service never runs without). */
  integrity: RecordIntegrity;
}): Promise<AttestationStorage> {
  const url = options.databaseUrl;
  const o = { integrity: options.integrity };
  let storage: AttestationStorage;
  if (url === undefined) storage = openSqliteStorage(join(options.dataDir, 'attestation.db'), o);
  else if (/^postgres(ql)?:\/\//.test(url)) storage = openPostgresStorage(url, o);
  else if (url.startsWith('sqlite:')) storage = openSqliteStorage(url.slice('sqlite:'.length), o);
  else throw new AttestConfigError('database URL must start with postgres://, postgresql:// or sqlite:');
  try {
    await storage.migrate();
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
  return storage;
}
