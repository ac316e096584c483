/**
 * Upgrade path of release-policy attestation types: a secret stored by a build from before release
 * policies stated `attestationTypes` (schema version 1, no integrity tags, the release policy JSON
 * exactly as the caller sent it) is adopted by the upgrade (migration 3 tags it) and then accepts
 * tokens of the SgxEnclave policy only, as docs/attestation.md says: an SgxEnclave token releases
 * it, an OpenEnclave token of the same enclave is refused with ERR_SECRET_ATTESTATION_TYPE.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { compactDecrypt } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateKekFile } from '../../src/attestation/kek.ts';
import { MIGRATIONS, SQLITE } from '../../src/attestation/storage/migrations.ts';
import {
  MRENCLAVE,
  bindingFor,
  decodeJwt,
  simQuote,
  simQuoteBytes,
  startService,
} from '../attestation/support.ts';
import { attest, enclaveRuntime, oeReport, releaseSecret } from './policy-support.ts';

const NAME = 'legacy-secret';
const VALUE = 'stored by the previous build';
/** The release policy as the previous build stored it: the caller's JSON, no attestationTypes. */
const LEGACY_RELEASE_POLICY = JSON.stringify({
  anyOf: [{ allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE }] }],
});

/**
 * A data directory as the build before this change left it: its KEK file and a schema-version-1
 * database holding one secret, sealed under that KEK and written as that build wrote it.
 */
function legacyDataDir(): string {
  const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-legacy-secret-'));
  const kek = loadOrCreateKekFile(dataDir);
  const db = new Database(join(dataDir, 'attestation.db'));
  db.exec(
    'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= 1)) {
    for (const sql of m.statements(SQLITE)) db.exec(sql);
    db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, Date.now());
  }
  const now = Date.now();
  db.prepare(
    'INSERT INTO secrets (name, sealed_value, release_policy, content_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(
    NAME,
    Buffer.from(kek.seal(Buffer.from(VALUE), `secret:${NAME}`)),
    LEGACY_RELEASE_POLICY,
    'text/plain',
    now,
    now,
  );
  db.close();
  return dataDir;
}

test('a secret stored before attestationTypes existed is released to SgxEnclave tokens only', async () => {
  const dataDir = legacyDataDir();
  try {
    const s = await startService({ dataDir, keepDir: true });
    try {
      const enclave = await enclaveRuntime();
      const runtimeData = { data: enclave.runtime.toString('base64url'), dataType: 'JSON' };

      // The legacy row was adopted as it was: its release policy still has no attestationTypes.
      const list = await fetch(`${s.url}/ccnodes/v1/secrets`, {
        headers: { authorization: 'Bearer admin-secret-token-for-tests' },
      });
      const { secrets } = (await list.json()) as { secrets: { name: string; releasePolicy: unknown }[] };
      const stored = secrets.find((x) => x.name === NAME)?.releasePolicy as
        Record<string, unknown> | undefined;
      assert.ok(stored !== undefined, 'the legacy secret is listed');
      assert.equal(stored['attestationTypes'], undefined);

      const oe = await attest(s.url, 'OpenEnclave', {
        report: Buffer.from(oeReport(simQuoteBytes({ reportData: bindingFor(enclave.runtime) }))).toString(
          'base64url',
        ),
        runtimeData,
      });
      assert.equal(oe.status, 200, JSON.stringify(oe.body));
      const oeToken = String(oe.body['token']);
      assert.equal(decodeJwt(oeToken).payload['x-ccnodes-attestation-type'], 'OpenEnclave');
      const refused = await releaseSecret(s.url, NAME, { token: oeToken });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));
      assert.equal(refused.code, 'ERR_SECRET_ATTESTATION_TYPE');

      const sgx = await attest(s.url, 'SgxEnclave', {
        quote: simQuote({ reportData: bindingFor(enclave.runtime) }),
        runtimeData,
      });
      assert.equal(sgx.status, 200, JSON.stringify(sgx.body));
      const released = await releaseSecret(s.url, NAME, { token: String(sgx.body['token']) });
      assert.equal(released.status, 200, JSON.stringify(released.body));
      const { plaintext } = await compactDecrypt(String(released.body['jwe']), enclave.privateKey);
      assert.equal(Buffer.from(plaintext).toString(), VALUE);
    } finally {
      await s.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
