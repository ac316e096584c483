/**
 * Secret release: storage (admin only, sealed at rest), release against a fresh token or inline
 * evidence whose runtime data carries the enclave key, JWE to that key (RSA-OAEP-256 / ECDH-ES),
 * and every refusal (forged, expired, draft token, policy mismatch, missing key, unknown secret).
 * Evidence is real quotes from simulated platforms checked by the real DCAP verifier (support.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import Database from 'better-sqlite3';
import { compactDecrypt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { join } from 'node:path';
import {
  ADMIN_TOKEN,
  MRENCLAVE,
  bindingFor,
  postJson,
  simQuote,
  startService,
  type SimEvidence,
  type Started,
} from './support.ts';

const SECRET = 'the database password';
const policy = {
  version: '1.0.0',
  anyOf: [
    {
      authority: 'AUTHORITY',
      allOf: [
        { claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE },
        { claim: 'x-ms-sgx-is-debuggable', equals: false },
        { claim: 'x-ms-sgx-svn', greaterOrEquals: 2 },
      ],
    },
  ],
};

describe('secret release', () => {
  let s: Started;
  let rsa: Awaited<ReturnType<typeof generateKeyPair>>;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;
  before(async () => {
    s = await startService({ releaseTokenMaxAgeSeconds: 600 });
    rsa = await generateKeyPair('RSA-OAEP-256', { extractable: true });
    ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    const body = {
      value: Buffer.from(SECRET).toString('base64'),
      contentType: 'text/plain',
      releasePolicy: { ...policy, anyOf: [{ ...policy.anyOf[0], authority: s.url }] },
    };
    const put = (auth?: string) =>
      fetch(`${s.url}/ccnodes/v1/secrets/db-password`, {
        method: 'PUT',
        headers: {
          'content-type': 'application/json',
          ...(auth === undefined ? {} : { authorization: auth }),
        },
        body: JSON.stringify(body),
      });
    assert.equal((await put()).status, 401);
    assert.equal((await put('Bearer not-the-token')).status, 401);
    assert.equal((await put(`Bearer ${ADMIN_TOKEN}`)).status, 201);
  });
  after(() => s.close());

  async function tokenFor(runtime: Buffer, evidence: SimEvidence = {}): Promise<string> {
    const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
      quote: simQuote({ reportData: bindingFor(runtime), ...evidence }),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return String(res.body['token']);
  }
  const release = (body: unknown) => postJson(`${s.url}/ccnodes/v1/secrets/db-password/release`, body);

  test('releases to the RSA key bound in runtime data (token path); only that key opens it', async () => {
    const runtime = Buffer.from(
      JSON.stringify({ keys: [{ ...(await exportJWK(rsa.publicKey)), kid: 'enclave-rsa', use: 'enc' }] }),
    );
    const res = await release({ token: await tokenFor(runtime) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['alg'], 'RSA-OAEP-256');
    const { plaintext, protectedHeader } = await compactDecrypt(String(res.body['jwe']), rsa.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
    assert.equal(protectedHeader.kid, 'enclave-rsa');
    const other = await generateKeyPair('RSA-OAEP-256');
    await assert.rejects(compactDecrypt(String(res.body['jwe']), other.privateKey));
  });

  test('releases to an EC key with inline evidence (quote path), ECDH-ES', async () => {
    const runtime = Buffer.from(JSON.stringify(await exportJWK(ec.publicKey)));
    const res = await release({
      quote: simQuote({ reportData: bindingFor(runtime) }),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body['alg'], 'ECDH-ES');
    const { plaintext } = await compactDecrypt(String(res.body['jwe']), ec.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), SECRET);
  });

  const refusals: { name: string; body: () => Promise<unknown>; status: number; code: string }[] = [
    {
      name: 'claims fail the release policy (other enclave)',
      body: async () => ({
        token: await tokenFor(Buffer.from(JSON.stringify(await exportJWK(ec.publicKey))), {
          mrEnclave: 'cc'.repeat(32),
        }),
      }),
      status: 403,
      code: 'ERR_SECRET_POLICY_DENIED',
    },
    {
      name: 'claims fail the release policy (svn too low)',
      body: async () => ({
        token: await tokenFor(Buffer.from(JSON.stringify(await exportJWK(ec.publicKey))), { isvSvn: 1 }),
      }),
      status: 403,
      code: 'ERR_SECRET_POLICY_DENIED',
    },
    {
      name: 'forged token (signed by another key with our kid)',
      body: async () => {
        const real = await tokenFor(Buffer.from('{}'));
        const header = JSON.parse(Buffer.from(real.split('.')[0] ?? '', 'base64url').toString()) as Record<
          string,
          string
        >;
        const payload = JSON.parse(Buffer.from(real.split('.')[1] ?? '', 'base64url').toString()) as Record<
          string,
          unknown
        >;
        const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        return {
          token: await new SignJWT(payload)
            .setProtectedHeader({ alg: 'RS256', kid: header['kid'] ?? '', typ: 'JWT' })
            .sign(privateKey),
        };
      },
      status: 401,
      code: 'ERR_SECRET_TOKEN_INVALID',
    },
    {
      name: 'tampered token payload',
      body: async () => {
        const [h, p, sig] = (
          await tokenFor(Buffer.from(JSON.stringify(await exportJWK(ec.publicKey))), {
            mrEnclave: 'cc'.repeat(32),
          })
        ).split('.');
        const payload = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
        payload['x-ms-sgx-mrenclave'] = MRENCLAVE;
        return {
          token: `${h ?? ''}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig ?? ''}`,
        };
      },
      status: 401,
      code: 'ERR_SECRET_TOKEN_INVALID',
    },
    {
      name: 'draft-policy (unsigned) token',
      body: async () => {
        const runtime = Buffer.from(JSON.stringify(await exportJWK(ec.publicKey)));
        const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
          quote: simQuote({ reportData: bindingFor(runtime) }),
          runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
          draftPolicyForAttestation: 'version=1.0; authorizationrules{=>permit();}; issuancerules{};',
        });
        return { token: String(res.body['token']) };
      },
      status: 401,
      code: 'ERR_SECRET_TOKEN_INVALID',
    },
    {
      name: 'draft policy on the inline evidence path',
      body: async () => {
        const runtime = Buffer.from(JSON.stringify(await exportJWK(ec.publicKey)));
        return {
          quote: simQuote({ reportData: bindingFor(runtime), mrEnclave: 'cc'.repeat(32) }),
          runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
          draftPolicyForAttestation:
            'version=1.0; authorizationrules{=>permit();}; issuancerules{ => issue(type="x-ms-sgx-mrenclave", value="x"); };',
        };
      },
      status: 400,
      code: 'ERR_ATTEST_BAD_REQUEST',
    },
    {
      name: 'no enclave key in runtime data',
      body: async () => ({ token: await tokenFor(Buffer.from('{"hello":"world"}')) }),
      status: 400,
      code: 'ERR_SECRET_NO_ENCLAVE_KEY',
    },
    {
      name: 'garbage token',
      body: () => Promise.resolve({ token: 'a.b.c' }),
      status: 401,
      code: 'ERR_SECRET_TOKEN_INVALID',
    },
    {
      name: 'neither token nor quote',
      body: () => Promise.resolve({}),
      status: 400,
      code: 'ERR_ATTEST_BAD_REQUEST',
    },
  ];
  for (const r of refusals) {
    test(`refuses: ${r.name}`, async () => {
      const res = await release(await r.body());
      assert.equal(res.status, r.status, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-ccnodes-error-code'), r.code);
      assert.equal(res.body['jwe'], undefined);
    });
  }

  test('unknown secret is 404', async () => {
    const res = await postJson(`${s.url}/ccnodes/v1/secrets/nope/release`, {
      token: await tokenFor(Buffer.from('{}')),
    });
    assert.equal(res.status, 404);
  });

  test('a release policy that is not valid is refused at PUT', async () => {
    const res = await fetch(`${s.url}/ccnodes/v1/secrets/bad`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ value: 'AAAA', releasePolicy: { anyOf: [{ claim: 'x', between: 1 }] } }),
    });
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_RELEASE_POLICY');
  });

  test('the secret is sealed at rest: its plaintext is nowhere in the database file', () => {
    const db = new Database(join(s.dataDir, 'attestation.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT sealed_value FROM secrets WHERE name = ?').get('db-password') as {
        sealed_value: Buffer;
      };
      assert.ok(!row.sealed_value.includes(Buffer.from(SECRET)));
      const keys = db.prepare('SELECT sealed_private_key FROM signing_keys').all() as {
        sealed_private_key: Buffer;
      }[];
      for (const k of keys) assert.ok(!k.sealed_private_key.includes(Buffer.from('-----BEGIN')));
    } finally {
      db.close();
    }
  });

  test('every release decision is audited', async () => {
    const res = await fetch(`${s.url}/ccnodes/v1/audit?limit=1000`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const entries = (
      (await res.json()) as { entries: { action: string; decision: string; reason: string }[] }
    ).entries;
    assert.ok(entries.some((e) => e.action === 'secret-release' && e.decision === 'allow'));
    assert.ok(
      entries.some(
        (e) =>
          e.action === 'secret-release' &&
          e.decision === 'deny' &&
          e.reason.includes('ERR_SECRET_POLICY_DENIED'),
      ),
    );
  });
});

describe('secret release: expired tokens', () => {
  test('a token past its exp (or older than the release max age) is refused', async () => {
    let now = new Date();
    const s = await startService({
      now: () => now,
      tokenLifetimeSeconds: 3600,
      releaseTokenMaxAgeSeconds: 600,
    });
    try {
      const rsa = await generateKeyPair('RSA-OAEP-256', { extractable: true });
      await fetch(`${s.url}/ccnodes/v1/secrets/k`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: JSON.stringify({
          value: 'AAAA',
          releasePolicy: { anyOf: [{ claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE }] },
        }),
      });
      const runtime = Buffer.from(JSON.stringify(await exportJWK(rsa.publicKey)));
      const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
        quote: simQuote({ reportData: bindingFor(runtime) }),
        runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
      });
      const token = String(res.body['token']);
      assert.equal((await postJson(`${s.url}/ccnodes/v1/secrets/k/release`, { token })).status, 200);
      now = new Date(now.getTime() + 601_000);
      const stale = await postJson(`${s.url}/ccnodes/v1/secrets/k/release`, { token });
      assert.equal(stale.status, 401, 'older than the release max age');
      now = new Date(now.getTime() + 3600_000);
      const expired = await postJson(`${s.url}/ccnodes/v1/secrets/k/release`, { token });
      assert.equal(expired.status, 401);
      assert.equal(expired.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_TOKEN_INVALID');
    } finally {
      await s.close();
    }
  });
});
