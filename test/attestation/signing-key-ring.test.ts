/**
 * The signing key ring re-read from storage (src/attestation/signing-keys.ts, `refresh`, which
 * `/certs` runs at every request): keys that have not changed keep their parsed forms — the same
 * public KeyObject, published JWK and active private KeyObject — so that the service does not
 * re-parse certificates and re-import the private key at each `/certs`; a rotation made by another
 * replica sharing the storage is picked up at the next refresh; expired retired keys are pruned.
 * Storage is an in-memory stand-in holding the same records the SQL stores hold.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { randomBytes, sign, verify } from 'node:crypto';
import { test } from 'node:test';
import { KeyEncryptionKey } from '../../src/attestation/kek.ts';
import { SigningKeyRing } from '../../src/attestation/signing-keys.ts';
import type { AttestationStorage, StoredSigningKey } from '../../src/attestation/storage/index.ts';

const HOUR = 3_600_000;

/** The three signing-key methods of the storage interface, over an array. */
function memoryStorage(): { storage: AttestationStorage; rows: StoredSigningKey[]; reads: () => number } {
  let rows: StoredSigningKey[] = [];
  let reads = 0;
  const storage = {
    listSigningKeys: () => {
      reads++;
      return Promise.resolve(rows.map((r) => ({ ...r })));
    },
    addSigningKeyAndRetireOthers: (key: StoredSigningKey) => {
      rows = [...rows.map((r) => (r.retiredAt === null ? { ...r, retiredAt: key.createdAt } : r)), key];
      return Promise.resolve();
    },
    deleteSigningKey: (kid: string) => {
      rows = rows.filter((r) => r.kid !== kid);
      return Promise.resolve();
    },
  } as unknown as AttestationStorage;
  return {
    storage,
    get rows() {
      return rows;
    },
    reads: () => reads,
  };
}

test('refresh keeps the parsed keys of unchanged records, picks up another replica’s rotation, prunes expired keys', async () => {
  let now = new Date('2026-05-01T00:00:00Z');
  const mem = memoryStorage();
  const kek = new KeyEncryptionKey(randomBytes(32));
  const options = {
    storage: mem.storage,
    kek,
    issuer: 'https://ring.test',
    tokenLifetimeSeconds: 3600,
    now: () => now,
  };
  const a = await SigningKeyRing.open(options);
  const b = await SigningKeyRing.open(options); // a second replica: same storage, same key
  const first = a.active;
  assert.equal(b.active.kid, first.kid);
  const publicKey = a.publicKey(first.kid);
  assert.ok(publicKey !== undefined);

  // Nothing changed: the same objects after any number of refreshes, and storage was read each time.
  const readsBefore = mem.reads();
  for (let i = 0; i < 3; i++) await a.refresh();
  assert.equal(mem.reads(), readsBefore + 3);
  assert.equal(a.active, first);
  assert.equal(a.active.privateKey, first.privateKey);
  assert.equal(a.publicKey(first.kid), publicKey);
  assert.deepEqual(
    a.jwks().keys.map((k) => k.kid),
    [first.kid],
  );

  // The other replica rotates; this one sees it at its next refresh and signs with the new key.
  now = new Date(now.getTime() + HOUR / 2);
  const second = await b.rotate();
  await a.refresh();
  assert.equal(a.active.kid, second);
  assert.notEqual(a.active.privateKey, first.privateKey);
  assert.deepEqual(
    a.jwks().keys.map((k) => k.kid),
    [second, first.kid],
  );
  // The retired key is still the same object, and the new key's public key matches its private key.
  assert.equal(a.publicKey(first.kid), publicKey);
  const data = Buffer.from('signed by the new key');
  const newPublic = a.publicKey(second);
  assert.ok(newPublic !== undefined);
  assert.ok(verify('sha256', data, newPublic, sign('sha256', data, a.active.privateKey)));

  // Once every token the retired key signed has expired, it is deleted and no longer published.
  now = new Date(now.getTime() + HOUR + 1000);
  await a.refresh();
  assert.deepEqual(
    a.jwks().keys.map((k) => k.kid),
    [second],
  );
  assert.equal(a.publicKey(first.kid), undefined);
  assert.deepEqual(
    mem.rows.map((r) => r.kid),
    [second],
  );
});

test('a record whose certificate changed under the same kid is parsed again', async () => {
  const mem = memoryStorage();
  const kek = new KeyEncryptionKey(randomBytes(32));
  const options = { storage: mem.storage, kek, issuer: 'https://ring.test', tokenLifetimeSeconds: 3600 };
  const ring = await SigningKeyRing.open(options);
  const other = await SigningKeyRing.open({ ...options, storage: memoryStorage().storage });
  const kid = ring.active.kid;
  const before = ring.publicKey(kid);
  // Put the other ring's certificate and sealed key under this kid (storage integrity is the
  // stores' job; the ring must not serve a key it parsed from other bytes).
  const foreign = other.active;
  const row = mem.rows[0];
  assert.ok(row !== undefined);
  mem.rows[0] = {
    ...row,
    certDer: foreign.certDer,
    sealedPrivateKey: kek.seal(
      foreign.privateKey.export({ format: 'der', type: 'pkcs8' }),
      `signing-key:${kid}`,
    ),
  };
  await ring.refresh();
  assert.notEqual(ring.publicKey(kid), before);
  assert.deepEqual(Buffer.from(ring.jwks().keys[0]?.x5c[0] ?? '', 'base64'), Buffer.from(foreign.certDer));
  const data = Buffer.from('x');
  const pub = ring.publicKey(kid);
  assert.ok(pub !== undefined);
  assert.ok(verify('sha256', data, pub, sign('sha256', data, ring.active.privateKey)));
});
