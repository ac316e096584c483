/**
 * Attack: someone who can write the database (a shared PostgreSQL, the SQLite file) but does not
 * hold the KEK loosens the stored attestation policy — edits the row, deletes it (so the service
 * would fall back to the default policy), or puts back an older, validly tagged row. Every variant
 * must be refused: the attestation that needs the policy fails closed with `ERR_STORAGE_INTEGRITY`
 * (500), and `ccnodes_attestation_integrity_failures_total{kind="policy"}` counts it.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DENY_ALL,
  PERMIT_ALL,
  attest,
  backends,
  integrityFailures,
  policyJws,
  setPolicy,
  stopBackends,
} from './db-tamper-support.ts';

after(stopBackends);

for (const backend of await backends()) {
  describe(`stored policy tampering (${backend.name})`, { skip: backend.skip }, () => {
    test('an edited policy row (deny-all rewritten to permit-all) is refused, not enforced', async () => {
      const t = await backend.start();
      try {
        await setPolicy(t.s.url, 'SgxEnclave', DENY_ALL);
        assert.equal((await attest(t.s.url)).status, 400, 'the strict policy denies');
        await t.sql('UPDATE policies SET jws = ?, policy_text = ? WHERE attestation_type = ?', [
          policyJws(PERMIT_ALL),
          PERMIT_ALL,
          'SgxEnclave',
        ]);
        const r = await attest(t.s.url);
        assert.equal(r.status, 500);
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'policy'), 1);
        // The policy read endpoint refuses it as well; nothing serves the tampered text.
        const get = await fetch(`${t.s.url}/policies/SgxEnclave?api-version=2020-10-01`);
        assert.equal(get.status, 500);
        assert.equal(get.headers.get('x-ccnodes-error-code'), 'ERR_STORAGE_INTEGRITY');
      } finally {
        await t.close();
      }
    });

    test('a deleted policy row does not fall back to the (permissive) default policy', async () => {
      const t = await backend.start();
      try {
        await setPolicy(t.s.url, 'SgxEnclave', DENY_ALL);
        assert.equal((await attest(t.s.url)).status, 400);
        await t.sql('DELETE FROM policies WHERE attestation_type = ?', ['SgxEnclave']);
        const r = await attest(t.s.url);
        assert.equal(r.status, 500, 'the simulation default policy would have issued a token');
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
        assert.ok((await integrityFailures(t.s.url, 'policy')) >= 1);
      } finally {
        await t.close();
      }
    });

    test('an older validly tagged row put back (rollback of one policy) is refused', async () => {
      const t = await backend.start();
      try {
        await setPolicy(t.s.url, 'SgxEnclave', PERMIT_ALL);
        const [old] = await t.sql('SELECT * FROM policies WHERE attestation_type = ?', ['SgxEnclave']);
        assert.ok(old !== undefined);
        await setPolicy(t.s.url, 'SgxEnclave', DENY_ALL);
        assert.equal((await attest(t.s.url)).status, 400);
        await t.sql(
          'UPDATE policies SET jws = ?, policy_text = ?, generation = ?, updated_at = ?, mac = ? WHERE attestation_type = ?',
          [old['jws'], old['policy_text'], old['generation'], old['updated_at'], old['mac'], 'SgxEnclave'],
        );
        const r = await attest(t.s.url);
        assert.equal(r.status, 500);
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
      } finally {
        await t.close();
      }
    });

    test('a permissive policy inserted for a type that had none is refused', async () => {
      const t = await backend.start();
      try {
        await setPolicy(t.s.url, 'OpenEnclave', DENY_ALL);
        const [row] = await t.sql('SELECT * FROM policies WHERE attestation_type = ?', ['OpenEnclave']);
        assert.ok(row !== undefined);
        await t.sql(
          'INSERT INTO policies (attestation_type, jws, policy_text, signer_jwk, updated_at) VALUES (?, ?, ?, ?, ?)',
          ['SgxEnclave', policyJws(PERMIT_ALL), PERMIT_ALL, null, Date.now()],
        );
        const r = await attest(t.s.url);
        assert.equal(r.status, 500);
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
      } finally {
        await t.close();
      }
    });
  });
}
