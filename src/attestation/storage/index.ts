/** Storage backends of the attestation service, chosen by URL. */
import { join } from 'node:path';
import { AttestConfigError } from '../errors.ts';
import { openPostgresStorage } from './postgres.ts';
import { openSqliteStorage } from './sqlite.ts';
import type { AttestationStorage } from './types.ts';

export type * from './types.ts';
export { openSqliteStorage } from './sqlite.ts';
export { openPostgresStorage } from './postgres.ts';
export { SCHEMA_VERSION } from './migrations.ts';

/**
 * Opens storage: PostgreSQL for a `postgres://`/`postgresql://` URL, SQLite for `sqlite:<path>`,
 * and SQLite at `<dataDir>/attestation.db` when no URL is given. Runs migrations before returning.
 */
export async function openStorage(options: {
  dataDir: string;
  databaseUrl?: string;
}): Promise<AttestationStorage> {
  const url = options.databaseUrl;
  let storage: AttestationStorage;
  if (url === undefined) storage = openSqliteStorage(join(options.dataDir, 'attestation.db'));
  else if (/^postgres(ql)?:\/\//.test(url)) storage = openPostgresStorage(url);
  else if (url.startsWith('sqlite:')) storage = openSqliteStorage(url.slice('sqlite:'.length));
  else throw new AttestConfigError('database URL must start with postgres://, postgresql:// or sqlite:');
  try {
    await storage.migrate();
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
  return storage;
}
