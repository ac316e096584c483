/**
 * Signing-key rotation at service start (docs/attestation.md): a service started on a data dir whose
 * active key is older than 30 days signs with a new key; the old key stays in /certs, and tokens it
 * signed stay verifiable (by relying parties and for secret release), until every such token has
 * expired; then it is deleted. A restart before 30 days keeps the key. The services share one data
 * dir and issuer and run on a test clock (`now`), which the real verifier and the simulated
 * collateral follow too.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compactDecrypt, createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWK } from 'jose';
import { createSimDcap } from '../../src/sim/index.ts';
import {
  MRENCLAVE,
  attestSgx,
  bindingFor,
  decodeJwt,
  postJson,
  putSecretAsAdmin,
  simQuoteBytes,
  startService,
  type Started,
} from './support.ts';

const DAY = 86_400_000;
const T0 = new Date('2026-03-02T10:00:00Z');
const LIFETIME_S = 3600;
const SECRET = 'rotation secret';

const dcap = createSimDcap({ seed: 'signing-key-rotation' });
let now = T0;
const clock = (): Date => now;
let dataDir: string;
let issuer: string | undefined;
let ec: Awaited<ReturnType<typeof generateKeyPair>>;
let runtime: Buffer;

/** Starts a service on the shared data dir, issuer and clock. */
async function start(): Promise<Started> {
  const s = await startService({
    sim: { dcap, now: clock },
    dataDir,
    keepDir: true,
    now: clock,
    tokenLifetimeSeconds: LIFETIME_S,
    ...(issuer === undefined ? {} : { publicUrl: issuer }),
  });
  issuer ??= s.url;
  return s;
}

async function jwks(s: Started): Promise<{ keys: (JWK & { kid: string })[] }> {
  const res = await fetch(`${s.url}/certs`);
  assert.equal(res.status, 200);
  return (await res.json()) as { keys: (JWK & { kid: string })[] };
}
const kids = async (s: Started): Promise<string[]> => (await jwks(s)).keys.map((k) => k.kid);

async function token(s: Started): Promise<string> {
  const res = await attestSgx(
    s.url,
    simQuoteBytes({ reportData: bindingFor(runtime) }, dcap),
    runtime,
    'JSON',
  );
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return String(res.body['token']);
}
const kidOf = (t: string): unknown => decodeJwt(t).header['kid'];

async function release(
  s: Started,
  t: string,
): Promise<{ status: number; code: string | null; value?: string }> {
  const res = await postJson(`${s.url}/ccnodes/v1/secrets/rotation/release`, { token: t });
  if (res.status !== 200) return { status: res.status, code: res.headers.get('x-ccnodes-error-code') };
  const { plaintext } = await compactDecrypt(String(res.body['jwe']), ec.privateKey);
  return { status: 200, code: null, value: Buffer.from(plaintext).toString() };
}

describe('signing-key rotation at start', () => {
  let k1: string;
  let oldToken: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-rotation-'));
    ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    runtime = Buffer.from(JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), use: 'enc' }] }));
  });
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('first start at T0 creates one key and signs with it', async () => {
    now = T0;
    const a = await start();
    try {
      const list = await kids(a);
      assert.equal(list.length, 1);
      k1 = list[0] ?? '';
      assert.equal(kidOf(await token(a)), k1);
      const status = await putSecretAsAdmin(a.url, 'rotation', SECRET, {
        anyOf: [{ claim: 'x-ms-sgx-mrenclave', equals: MRENCLAVE }],
      });
      assert.equal(status, 201);
    } finally {
      await a.close();
    }
  });

  test('restart 29 days later keeps the key; a running service does not rotate by itself', async () => {
    now = new Date(T0.getTime() + 29 * DAY);
    const b = await start();
    try {
      assert.deepEqual(await kids(b), [k1]);
      assert.equal(kidOf(await token(b)), k1);
      // Still running two days later: past 30 days, but rotation happens at start (or by the admin).
      now = new Date(T0.getTime() + 31 * DAY - 60_000);
      oldToken = await token(b);
      assert.equal(kidOf(oldToken), k1);
      assert.deepEqual(await kids(b), [k1]);
    } finally {
      await b.close();
    }
  });

  test('restart 31 days after the key was made: a new key signs, the old one stays published for its tokens', async () => {
    now = new Date(T0.getTime() + 31 * DAY);
    const c = await start();
    try {
      const list = await kids(c);
      assert.equal(list.length, 2);
      const [k2, retired] = list;
      assert.notEqual(k2, k1);
      assert.equal(retired, k1, 'the active key leads, the retired key follows');
      assert.equal(kidOf(await token(c)), k2);

      // The token the old key signed a minute before the restart still verifies against /certs …
      const set = createLocalJWKSet(await jwks(c));
      const { payload } = await jwtVerify(oldToken, set, { issuer: issuer ?? '', currentDate: now });
      assert.equal(payload['x-ms-sgx-mrenclave'], MRENCLAVE);
      // … and still releases secrets.
      assert.deepEqual(await release(c, oldToken), { status: 200, code: null, value: SECRET });

      // Once every token of the old key has expired, the key is deleted and its tokens are refused.
      now = new Date(T0.getTime() + 31 * DAY + LIFETIME_S * 1000 + 1000);
      assert.deepEqual(await kids(c), [k2]);
      const refused = await release(c, oldToken);
      assert.equal(refused.status, 401);
      assert.equal(refused.code, 'ERR_SECRET_TOKEN_INVALID');
    } finally {
      await c.close();
    }
  });

  test('a further restart an hour later keeps the new key (its age, not the restart, decides)', async () => {
    now = new Date(now.getTime() + 3600_000);
    const d = await start();
    try {
      const list = await kids(d);
      assert.equal(list.length, 1);
      assert.notEqual(list[0], k1);
      assert.equal(kidOf(await token(d)), list[0]);
    } finally {
      await d.close();
    }
  });
});
