/**
 * Attack: with write access to the database but not the KEK, move a validly tagged record to
 * another name — the permissive OpenEnclave policy row (tag included) copied onto SgxEnclave, a
 * permissive release policy (tag included) copied from one secret onto another. The tag covers the
 * record kind and name, so the moved record is refused (`ERR_STORAGE_INTEGRITY`, 500) and counted.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportJWK, generateKeyPair } from 'jose';
import { ADMIN_TOKEN, MRENCLAVE, bindingFor, postJson, simQuote } from '../attestation/support.ts';
import {
  DENY_ALL,
  PERMIT_ALL,
  attest,
  backends,
  integrityFailures,
  setPolicy,
  stopBackends,
} from './db-tamper-support.ts';

after(stopBackends);

const releasePolicy = (authority: string, mrenclave: string): unknown => ({
  version: '1.0.0',
  anyOf: [{ authority, allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: mrenclave }] }],
});

for (const backend of await backends()) {
  describe(`records moved between names (${backend.name})`, { skip: backend.skip }, () => {
    test('the OpenEnclave policy row copied onto SgxEnclave is refused', async () => {
      const t = await backend.start();
      try {
        await setPolicy(t.s.url, 'SgxEnclave', DENY_ALL);
        await setPolicy(t.s.url, 'OpenEnclave', PERMIT_ALL);
        assert.equal((await attest(t.s.url)).status, 400);
        const [oe] = await t.sql('SELECT * FROM policies WHERE attestation_type = ?', ['OpenEnclave']);
        assert.ok(oe !== undefined);
        await t.sql(
          'UPDATE policies SET jws = ?, policy_text = ?, generation = ?, updated_at = ?, mac = ? WHERE attestation_type = ?',
          [oe['jws'], oe['policy_text'], oe['generation'], oe['updated_at'], oe['mac'], 'SgxEnclave'],
        );
        const r = await attest(t.s.url);
        assert.equal(r.status, 500);
        assert.equal(r.code, 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'policy'), 1);
      } finally {
        await t.close();
      }
    });

    test("one secret's permissive release policy copied onto another secret is refused", async () => {
      const t = await backend.start();
      try {
        const put = async (name: string, mrenclave: string): Promise<void> => {
          const res = await fetch(`${t.s.url}/ccnodes/v1/secrets/${name}`, {
            method: 'PUT',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
            body: JSON.stringify({
              value: Buffer.from(`value of ${name}`).toString('base64'),
              contentType: 'text/plain',
              releasePolicy: releasePolicy(t.s.url, mrenclave),
            }),
          });
          assert.equal(res.status, 201, await res.text());
        };
        await put('guarded', 'cc'.repeat(32)); // another enclave only
        await put('open', MRENCLAVE); // the enclave the test quotes come from
        const ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
        const runtime = Buffer.from(JSON.stringify(await exportJWK(ec.publicKey)));
        const release = (name: string) =>
          postJson(`${t.s.url}/ccnodes/v1/secrets/${name}/release`, {
            quote: simQuote({ reportData: bindingFor(runtime) }),
            runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
          });
        assert.equal((await release('guarded')).status, 403, 'the guarded secret is refused to this enclave');
        const [open] = await t.sql('SELECT * FROM secrets WHERE name = ?', ['open']);
        assert.ok(open !== undefined);
        await t.sql('UPDATE secrets SET release_policy = ?, mac = ? WHERE name = ?', [
          open['release_policy'],
          open['mac'],
          'guarded',
        ]);
        const r = await release('guarded');
        assert.equal(r.status, 500, JSON.stringify(r.body));
        assert.equal(r.headers.get('x-ccnodes-error-code'), 'ERR_STORAGE_INTEGRITY');
        assert.equal(await integrityFailures(t.s.url, 'secret'), 1);
      } finally {
        await t.close();
      }
    });
  });
}
