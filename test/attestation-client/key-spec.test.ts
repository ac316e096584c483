/**
 * Specification of the workload's ephemeral key (src/attestation-client/key.ts) and the client's
 * error classes: the runtime data and REPORTDATA that bind the key, and opening a secret released
 * to it (compact JWE, ECDH-ES). (Also the mutation-testing spec of key.ts and errors.ts.)
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { CompactEncrypt, importJWK } from 'jose';
import {
  AttestationClientConfigError,
  AttestationJweError,
  AttestationRefusedError,
  AttestationResponseError,
  AttestationTokenError,
  AttestationUnreachableError,
  EphemeralKey,
  openJwe,
  reportDataFor,
  runtimeDataFor,
} from '../../src/attestation-client/index.ts';

test('runtime data is UTF-8 JSON {"keys":[jwk]}; REPORTDATA is its SHA-256 followed by 32 zero bytes', () => {
  const jwk = { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy', use: 'enc' };
  const data = runtimeDataFor(jwk);
  assert.equal(
    Buffer.from(data).toString('utf8'),
    '{"keys":[{"kty":"EC","crv":"P-256","x":"xx","y":"yy","use":"enc"}]}',
  );
  const rd = reportDataFor(data);
  assert.equal(rd.length, 64);
  assert.deepEqual(Buffer.from(rd.subarray(0, 32)), createHash('sha256').update(data).digest());
  assert.deepEqual(Buffer.from(rd.subarray(32)), Buffer.alloc(32));
});

test('an ephemeral key publishes only its public P-256 members, marked for encryption, and binds them', () => {
  const key = EphemeralKey.generate();
  assert.deepEqual(Object.keys(key.publicJwk).sort(), ['crv', 'kty', 'use', 'x', 'y']);
  assert.equal(key.publicJwk['kty'], 'EC');
  assert.equal(key.publicJwk['crv'], 'P-256');
  assert.equal(key.publicJwk['use'], 'enc');
  assert.ok(Object.isFrozen(key.publicJwk));
  assert.deepEqual(key.runtimeData(), runtimeDataFor(key.publicJwk));
  assert.deepEqual(key.reportData(), reportDataFor(key.runtimeData()));
  assert.notDeepEqual(EphemeralKey.generate().publicJwk, key.publicJwk);
});

async function jweTo(publicJwk: Readonly<Record<string, string>>, enc = 'A256GCM'): Promise<string> {
  const pub = await importJWK(
    { kty: 'EC', crv: 'P-256', x: publicJwk['x'] ?? '', y: publicJwk['y'] ?? '' },
    'ECDH-ES',
  );
  return new CompactEncrypt(Buffer.from('the secret'))
    .setProtectedHeader({ alg: 'ECDH-ES', enc })
    .encrypt(pub);
}

test('a JWE released to the key opens (A256GCM and A128GCM); to another key, or malformed, it is ERR_ATTESTATION_CLIENT_JWE', async () => {
  const key = EphemeralKey.generate();
  assert.equal(Buffer.from(await key.open(await jweTo(key.publicJwk))).toString(), 'the secret');
  assert.equal(Buffer.from(await key.open(await jweTo(key.publicJwk, 'A128GCM'))).toString(), 'the secret');
  const other = await jweTo(EphemeralKey.generate().publicJwk);
  for (const jwe of [other, 'a.b.c.d.e', '']) {
    await assert.rejects(key.open(jwe), (err: unknown) => {
      assert.ok(err instanceof AttestationJweError, String(err));
      assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_JWE');
      assert.ok(err.cause instanceof Error);
      return true;
    });
  }
  // openJwe with a private key of the right curve but the wrong pair is refused the same way.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await assert.rejects(openJwe(await jweTo(key.publicJwk), privateKey), AttestationJweError);
});

test('the error classes carry their stable codes, details and, for refusals, the status and service code', () => {
  const opts = { details: { field: 'x' } };
  const cases: [Error & { code: string; details: Readonly<Record<string, unknown>> }, string][] = [
    [new AttestationClientConfigError('m', opts), 'ERR_ATTESTATION_CLIENT_CONFIG'],
    [new AttestationUnreachableError('m', opts), 'ERR_ATTESTATION_CLIENT_UNREACHABLE'],
    [new AttestationResponseError('m', opts), 'ERR_ATTESTATION_CLIENT_RESPONSE'],
    [new AttestationTokenError('m', opts), 'ERR_ATTESTATION_CLIENT_TOKEN'],
    [new AttestationJweError('m', opts), 'ERR_ATTESTATION_CLIENT_JWE'],
  ];
  for (const [err, code] of cases) {
    assert.equal(err.code, code);
    assert.equal(err.message, 'm');
    assert.equal(err.details['field'], 'x');
  }
  const refused = new AttestationRefusedError('m', 403, 'ERR_SECRET_POLICY_DENIED', opts);
  assert.equal(refused.code, 'ERR_ATTESTATION_CLIENT_REFUSED');
  assert.equal(refused.status, 403);
  assert.equal(refused.serviceCode, 'ERR_SECRET_POLICY_DENIED');
  assert.equal(refused.details['field'], 'x');
  assert.equal(refused.details['status'], 403);
  assert.equal(refused.details['serviceCode'], 'ERR_SECRET_POLICY_DENIED');
});
