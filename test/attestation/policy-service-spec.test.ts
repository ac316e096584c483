/**
 * Specification of the policy service's management rules, driven through HTTP of the service as
 * `createAttestationService` starts it (SQLite in a temporary data directory):
 *  - a management JWS's `nbf`, `exp` and `iat` are checked against the service clock with exactly
 *    60 s of tolerated skew (boundaries included);
 *  - in isolated mode a body older (`iat`) than the latest change of its subject is refused; the
 *    high-water mark is the larger of the applied-JWS ledger and the `iat` inside the stored
 *    policy's own JWS (which matters when an instance moves from AAD to isolated mode: unsigned
 *    admin changes are never recorded in the ledger);
 *  - policy management certificates: only in isolated mode; an add writes its audit line; the last
 *    signer can never be removed, even when another replica removes the other signer between this
 *    request's check and its removal;
 *  - the JWS body of `certificates:add|:remove`: a JSON string literal or a raw JWS, a payload
 *    naming the certificate under any of MAA's claim names, and every malformed payload refused
 *    with `ERR_ATTEST_POLICY_JWS` (never a 500).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createPrivateKey } from 'node:crypto';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { defaultPolicyFor } from '../../src/policy/index.ts';
import { ADMIN_TOKEN, decodeJwt, startService, type Started } from './support.ts';
import {
  currentPolicyText,
  newSigner,
  permissivePolicy,
  policyPayload,
  putSignedPolicy,
  resetPolicy,
  signedJws,
  startIsolated,
  type HttpOutcome,
  type Signer,
} from '../security/policy-support.ts';

const API = 'api-version=2022-08-01';
const SKEW = 60;

/** A management JWS signed by `signer` over the exact payload bytes given (any JSON, or not JSON). */
async function signedRaw(signer: Signer, payload: string): Promise<string> {
  return new CompactSign(new TextEncoder().encode(payload))
    .setProtectedHeader({ alg: signer.alg, x5c: [Buffer.from(signer.certDer).toString('base64')] })
    .sign(createPrivateKey(signer.keyPem));
}

/** An unsigned (`alg: none`) policy JWS carrying `extra` claims next to the policy. */
function unsignedPolicy(text: string, extra: Record<string, unknown> = {}): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${b64({ alg: 'none' })}.${b64(policyPayload(text, extra))}.`;
}

async function outcome(res: Response): Promise<HttpOutcome> {
  const text = await res.text();
  return {
    status: res.status,
    code: res.headers.get('x-ccnodes-error-code') ?? undefined,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}

/** A management request with the admin bearer (AAD mode) and a text/plain JWS body. */
async function asAdmin(url: string, method: 'PUT' | 'POST', path: string, jws: string): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}${path}?${API}`, {
      method,
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: jws,
    }),
  );
}

/** `POST /certificates:{verb}` with `body` sent as is under `contentType`. */
async function certificates(
  url: string,
  verb: 'add' | 'remove',
  body: string,
  contentType = 'application/json',
): Promise<HttpOutcome> {
  return outcome(
    await fetch(`${url}/certificates:${verb}?${API}`, {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    }),
  );
}

/** `certificates:add|:remove` the way the SDK sends it: the JWS as a JSON string literal. */
function changeSigner(url: string, verb: 'add' | 'remove', jws: string): Promise<HttpOutcome> {
  return certificates(url, verb, JSON.stringify(jws));
}

/** The payload naming `cert` as the certificate to add or remove. */
function certPayload(cert: Signer, claim = 'policyCertificate'): Record<string, unknown> {
  return {
    [claim]: {
      kty: cert.alg === 'ES256' ? 'EC' : 'RSA',
      x5c: [Buffer.from(cert.certDer).toString('base64')],
    },
  };
}

/** The thumbprints of the registered signers, from the anonymous `GET /certificates` token. */
async function registered(url: string): Promise<string[]> {
  const res = await fetch(`${url}/certificates?${API}`);
  const { token } = (await res.json()) as { token: string };
  const keys = (decodeJwt(token).payload['x-ms-policy-certificates'] as { keys: { kid: string }[] }).keys;
  return keys.map((k) => k.kid).sort();
}

/** The thumbprint a certificate change answered with. */
function thumbprintOf(r: HttpOutcome): string {
  return decodeJwt(String(r.body['token'])).payload['x-ms-certificate-thumbprint'] as string;
}

/** The outcome (`IsPresent` / `IsAbsent`) a certificate change answered with. */
function result(r: HttpOutcome): string {
  return decodeJwt(String(r.body['token'])).payload['x-ms-policycertificates-result'] as string;
}

/** The thumbprint the service lists a signer under (SHA-1 of the DER, hex, as MAA's kid). */
function thumbOf(signer: Signer): string {
  return createHash('sha1').update(signer.certDer).digest('hex').toUpperCase();
}

describe('the default policy follows the service mode', () => {
  test('production mode serves the production default, simulation mode the simulation default', async () => {
    const production = await startService({ simulationMode: false });
    const simulation = await startService({ simulationMode: true });
    try {
      assert.notEqual(
        defaultPolicyFor('SgxEnclave', 'production'),
        defaultPolicyFor('SgxEnclave', 'simulation'),
      );
      for (const type of ['SgxEnclave', 'OpenEnclave'] as const) {
        assert.equal(
          await currentPolicyText(production.url, type),
          defaultPolicyFor(type, 'production'),
          type,
        );
        assert.equal(
          await currentPolicyText(simulation.url, type),
          defaultPolicyFor(type, 'simulation'),
          type,
        );
      }
    } finally {
      await Promise.all([production.close(), simulation.close()]);
    }
  });
});

describe('management JWS times: exactly 60 s of skew, boundaries included', () => {
  // A fixed service clock, so that the boundaries are exact whatever the machine's load.
  const fixed = new Date(Math.floor(Date.now() / 1000) * 1000);
  const nowS = fixed.getTime() / 1000;
  let s: Started;
  let signer: Signer;
  before(async () => {
    signer = await newSigner('time boundary signer');
    s = await startIsolated([signer], { now: () => fixed });
  });
  after(() => s.close());

  test('nbf = now + 60 s is accepted; nbf = now + 61 s is refused', async () => {
    const ok = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('nbf+60'), {
      nbf: nowS + SKEW,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const late = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('nbf+61'), {
      nbf: nowS + SKEW + 1,
    });
    assert.equal(late.status, 400);
    assert.equal(late.code, 'ERR_ATTEST_POLICY_JWS_TIME');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), permissivePolicy('nbf+60'));
  });

  test('exp = now - 60 s is accepted; exp = now - 61 s is refused', async () => {
    const ok = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('exp-60'), {
      exp: nowS - SKEW,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const expired = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('exp-61'), {
      exp: nowS - SKEW - 1,
    });
    assert.equal(expired.status, 400);
    assert.equal(expired.code, 'ERR_ATTEST_POLICY_JWS_TIME');
    assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), permissivePolicy('exp-60'));
  });

  test('iat = now + 61 s is refused; iat = now + 60 s is accepted', async () => {
    const future = await putSignedPolicy(s.url, 'OpenEnclave', signer, permissivePolicy('iat+61'), {
      iat: nowS + SKEW + 1,
    });
    assert.equal(future.status, 400);
    assert.equal(future.code, 'ERR_ATTEST_POLICY_JWS_TIME');
    const ok = await putSignedPolicy(s.url, 'OpenEnclave', signer, permissivePolicy('iat+60'), {
      iat: nowS + SKEW,
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });
});

describe('the iat high-water mark: the ledger and the stored policy JWS, across AAD -> isolated', () => {
  // One reference time for the whole scenario; the offsets (minutes) dwarf the seconds it takes.
  const T = Math.floor(Date.now() / 1000);
  let dir: string;
  let signer: Signer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-policy-spec-'));
    signer = await newSigner('high-water signer');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const ledgerRows = (subject: string): number => {
    const db = new Database(join(dir, 'attestation.db'), { readonly: true });
    try {
      const row = db
        .prepare('SELECT count(*) AS n FROM applied_management_jws WHERE subject = ?')
        .get(subject) as { n: number };
      return row.n;
    } finally {
      db.close();
    }
  };

  test('AAD mode: signed bodies are recorded in the ledger, unsigned admin bodies are not', async () => {
    const aad = await startService({ dataDir: dir, keepDir: true });
    try {
      // SgxEnclave: a signed change (iat T - 3000), then an unsigned one with a later iat (T - 1000).
      const signed = await signedJws(
        signer,
        policyPayload(permissivePolicy('aad-signed'), { iat: T - 3000 }),
      );
      assert.equal((await asAdmin(aad.url, 'PUT', '/policies/SgxEnclave', signed)).status, 200);
      const unsigned = unsignedPolicy(permissivePolicy('aad-unsigned'), { iat: T - 1000 });
      const r = await asAdmin(aad.url, 'PUT', '/policies/SgxEnclave', unsigned);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(ledgerRows('SgxEnclave'), 1, 'only the signed body is in the ledger');
      // OpenEnclave: an unsigned change with a recent iat, then an unsigned reset: nothing remains.
      const oe = unsignedPolicy(permissivePolicy('aad-oe'), { iat: T - 10 });
      assert.equal((await asAdmin(aad.url, 'PUT', '/policies/OpenEnclave', oe)).status, 200);
      const reset = `${Buffer.from('{"alg":"none"}').toString('base64url')}..`;
      const rr = await asAdmin(aad.url, 'POST', '/policies/OpenEnclave:reset', reset);
      assert.equal(rr.status, 200, JSON.stringify(rr.body));
      assert.equal(ledgerRows('OpenEnclave'), 0);
    } finally {
      await aad.close();
    }
  });

  test('isolated mode after AAD: the stored policy JWS iat counts when newer than the ledger', async () => {
    const s = await startIsolated([signer], { dataDir: dir, keepDir: true });
    try {
      // Ledger: T - 3000 (the signed AAD body); stored policy JWS: T - 1000 (the unsigned one).
      const between = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('between'), {
        iat: T - 2000,
      });
      assert.equal(between.status, 400, JSON.stringify(between.body));
      assert.equal(between.code, 'ERR_ATTEST_POLICY_ROLLBACK');
      assert.equal(await currentPolicyText(s.url, 'SgxEnclave'), permissivePolicy('aad-unsigned'));
      // The same iat as the mark is not older: applied.
      const same = await putSignedPolicy(s.url, 'SgxEnclave', signer, permissivePolicy('same'), {
        iat: T - 1000,
      });
      assert.equal(same.status, 200, JSON.stringify(same.body));
      // OpenEnclave's unsigned change was reset and never recorded: no mark, an old body applies.
      const old = await putSignedPolicy(s.url, 'OpenEnclave', signer, permissivePolicy('oe-old'), {
        iat: T - 5000,
      });
      assert.equal(old.status, 200, JSON.stringify(old.body));
    } finally {
      await s.close();
    }
  });

  test('after a restart and a reset, the ledger alone still refuses an older body', async () => {
    const s = await startIsolated([signer], { dataDir: dir, keepDir: true });
    try {
      const reset = await resetPolicy(s.url, 'SgxEnclave', await signedJws(signer, { iat: T - 500 }));
      assert.equal(reset.status, 200, JSON.stringify(reset.body));
    } finally {
      await s.close();
    }
    const again = await startIsolated([signer], { dataDir: dir, keepDir: true });
    try {
      // No stored policy any more: the mark (T - 500) comes from the ledger.
      const older = await putSignedPolicy(again.url, 'SgxEnclave', signer, permissivePolicy('older'), {
        iat: T - 900,
      });
      assert.equal(older.code, 'ERR_ATTEST_POLICY_ROLLBACK');
      const newer = await putSignedPolicy(again.url, 'SgxEnclave', signer, permissivePolicy('newer'), {
        iat: T - 100,
      });
      assert.equal(newer.status, 200, JSON.stringify(newer.body));
    } finally {
      await again.close();
    }
  });
});

describe('policy management certificates', () => {
  test('AAD mode refuses certificates:add and :remove (ERR_ATTEST_NOT_ISOLATED), registers nothing', async () => {
    const s = await startService();
    try {
      const signer = await newSigner('aad signer');
      const other = await newSigner('aad other');
      for (const verb of ['add', 'remove'] as const) {
        const r = await changeSigner(s.url, verb, await signedJws(signer, certPayload(other)));
        assert.equal(r.status, 400, `${verb}: ${JSON.stringify(r.body)}`);
        assert.equal(r.code, 'ERR_ATTEST_NOT_ISOLATED', verb);
      }
      assert.deepEqual(await s.service.storage.listPolicyCertificates(), []);
    } finally {
      await s.close();
    }
  });

  describe('isolated mode', () => {
    let s: Started;
    let a: Signer;
    let b: Signer;
    before(async () => {
      a = await newSigner('signer A');
      b = await newSigner('signer B', true);
      s = await startIsolated([a]);
    });
    after(() => s.close());

    const auditLines = async (): Promise<Record<string, unknown>[]> => {
      const res = await fetch(`${s.url}/ccnodes/v1/audit?limit=1000`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      return ((await res.json()) as { entries: Record<string, unknown>[] }).entries;
    };

    test('an added certificate is registered and its audit line written', async () => {
      const r = await changeSigner(s.url, 'add', await signedJws(a, certPayload(b)));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const thumb = thumbprintOf(r);
      assert.equal(thumb, thumbOf(b));
      assert.equal(result(r), 'IsPresent');
      assert.deepEqual(await registered(s.url), [thumbOf(a), thumbOf(b)].sort());
      const entries = await auditLines();
      const line = entries.find((e) => e['action'] === 'cert-add' && e['subject'] === thumb);
      assert.ok(line, `no cert-add audit line for ${thumb}: ${JSON.stringify(entries)}`);
      assert.equal(line['decision'], 'allow');
      assert.equal(line['reason'], 'added');
    });

    test('a removal answers IsAbsent and writes its audit line, also for a certificate not registered', async () => {
      // (An RS256 body is deterministic: without the jti this would be the add body, a replay.)
      const removed = await changeSigner(
        s.url,
        'remove',
        await signedJws(a, { ...certPayload(b), jti: 'remove B' }),
      );
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      const thumb = thumbprintOf(removed);
      assert.equal(result(removed), 'IsAbsent');
      assert.deepEqual(await registered(s.url), [thumbOf(a)]);
      // B is gone; with A alone registered, removing B again is not "removing the last signer".
      const again = await changeSigner(
        s.url,
        'remove',
        await signedJws(a, { ...certPayload(b), jti: 'again' }),
      );
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(result(again), 'IsAbsent');
      const lines = (await auditLines()).filter(
        (e) => e['action'] === 'cert-remove' && e['subject'] === thumb,
      );
      assert.deepEqual(lines.map((e) => e['reason']).sort(), ['absent', 'removed']);
    });

    test('removing the last signer is refused before its body is spent', async () => {
      const removeA = await signedJws(a, { ...certPayload(a), jti: 'remove A' });
      const refused = await changeSigner(s.url, 'remove', removeA);
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.code, 'ERR_ATTEST_CERT_LAST_SIGNER');
      assert.deepEqual(await registered(s.url), [thumbOf(a)]);
      // Once B is registered again, the very same body applies (it was not recorded as applied).
      const addB = await changeSigner(
        s.url,
        'add',
        await signedJws(a, { ...certPayload(b), jti: 'B again' }),
      );
      assert.equal(addB.status, 200, JSON.stringify(addB.body));
      const applied = await changeSigner(s.url, 'remove', removeA);
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.deepEqual(await registered(s.url), [thumbOf(b)]);
      // Back to A and B for the next case.
      assert.equal((await changeSigner(s.url, 'add', await signedJws(b, certPayload(a)))).status, 200);
    });

    test('the last signer cannot be removed, even when another replica removed the other one meanwhile', async () => {
      const both = await registered(s.url);
      assert.equal(both.length, 2);
      // Another replica on the same database removes B (its request signed by A) after this
      // request checked that two signers remain, and before this request removes A.
      const storage = s.service.storage;
      const remove = storage.removePolicyCertificate.bind(storage);
      const thumbB = (await storage.listPolicyCertificates()).find((c) =>
        Buffer.from(c.certDer).equals(Buffer.from(b.certDer)),
      )?.thumbprint;
      assert.ok(thumbB !== undefined);
      let raced = false;
      storage.removePolicyCertificate = async (thumbprint) => {
        if (!raced) {
          raced = true;
          assert.equal(await remove(thumbB), 'removed');
        }
        return remove(thumbprint);
      };
      try {
        const r = await changeSigner(s.url, 'remove', await signedJws(b, certPayload(a)));
        assert.ok(raced, 'the removal reached the storage');
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(r.code, 'ERR_ATTEST_CERT_LAST_SIGNER');
      } finally {
        storage.removePolicyCertificate = remove;
      }
      const left = await registered(s.url);
      assert.deepEqual(left, [thumbOf(a)]);
      // A (the only one left) still signs, and removing it directly is refused too.
      const direct = await changeSigner(
        s.url,
        'remove',
        await signedJws(a, { ...certPayload(a), jti: 'direct' }),
      );
      assert.equal(direct.code, 'ERR_ATTEST_CERT_LAST_SIGNER');
      assert.deepEqual(await registered(s.url), left);
    });
  });
});

describe('certificates:add|:remove bodies', () => {
  let s: Started;
  let a: Signer;
  before(async () => {
    a = await newSigner('body signer');
    s = await startIsolated([a]);
  });
  after(() => s.close());

  test('the JWS may come as a JSON string literal in a text/plain body, or raw', async () => {
    const c = await newSigner('literal');
    const literal = await certificates(
      s.url,
      'add',
      JSON.stringify(await signedJws(a, certPayload(c))),
      'text/plain',
    );
    assert.equal(literal.status, 200, JSON.stringify(literal.body));
    const d = await newSigner('raw');
    const raw = await certificates(s.url, 'add', await signedJws(a, certPayload(d)), 'text/plain');
    assert.equal(raw.status, 200, JSON.stringify(raw.body));
    assert.equal((await registered(s.url)).length, 3);
    const broken = await certificates(s.url, 'add', `"${await signedJws(a, certPayload(c))}`, 'text/plain');
    assert.equal(broken.status, 400);
    assert.equal(broken.code, 'ERR_ATTEST_POLICY_JWS');
  });

  test("the certificate may be named under each of MAA's claim names", async () => {
    for (const claim of ['x-ms-policyCertificate', 'maa-policyCertificate', 'aas-policyCertificate']) {
      const c = await newSigner(`claim ${claim}`);
      const r = await changeSigner(s.url, 'add', await signedJws(a, certPayload(c, claim)));
      assert.equal(r.status, 200, `${claim}: ${JSON.stringify(r.body)}`);
      assert.ok((await registered(s.url)).includes(thumbprintOf(r)), claim);
    }
  });

  test('malformed payloads are refused with ERR_ATTEST_POLICY_JWS (400, never a 500)', async () => {
    const der = Buffer.from(a.certDer).toString('base64');
    const cases: [string, string][] = [
      ['payload not JSON', 'not json'],
      ['payload a JSON array', '[]'],
      ['payload null', 'null'],
      ['no certificate claim', '{"other":{"x5c":["AAAA"]}}'],
      ['no x5c', '{"policyCertificate":{"kty":"RSA"}}'],
      ['x5c a string', JSON.stringify({ policyCertificate: { x5c: der } })],
      ['x5c an object', '{"policyCertificate":{"x5c":{"0":"AAAA"}}}'],
      ['x5c empty', '{"policyCertificate":{"x5c":[]}}'],
      ['x5c[0] a number', '{"policyCertificate":{"x5c":[123]}}'],
      ['x5c[0] not DER', '{"policyCertificate":{"x5c":["AAAA"]}}'],
    ];
    const before = await registered(s.url);
    for (const verb of ['add', 'remove'] as const) {
      for (const [name, payload] of cases) {
        const r = await changeSigner(s.url, verb, await signedRaw(a, payload));
        assert.equal(r.status, 400, `${verb} ${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.code, 'ERR_ATTEST_POLICY_JWS', `${verb} ${name}`);
      }
    }
    assert.deepEqual(await registered(s.url), before);
  });
});
