/**
 * Which public key a released secret is encrypted to (`enclaveKey`, secrets.ts): the first usable
 * JWK of the token's `x-ms-runtime` (a JWKS `{keys:[…]}`, a bare JWK, or `{jwk:{…}}`), else of the
 * Binary runtime data when that holds such JSON (`x-ms-sgx-ehd`). Usable means: for encryption
 * (`use` absent or `enc`; `key_ops`, when given, allowing encrypt/wrapKey/deriveKey), RSA with a
 * modulus of at least 2048 bits, or EC on P-256/384/521 with both coordinates. No usable key is
 * ERR_SECRET_NO_ENCLAVE_KEY. (Whether a secret's value really opens with the chosen key is shown
 * end to end in secret-release.test.ts and secret-key-use.test.ts.)
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretReleaseError, enclaveKey } from '../../src/attestation/index.ts';

/** base64url of 256 bytes (2048 bits) is 342 characters. */
const RSA = { kty: 'RSA', n: 'n'.repeat(342), e: 'AQAB' };
const EC = { kty: 'EC', crv: 'P-256', x: 'xx', y: 'yy' };

const ehd = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function noKey(claims: Record<string, unknown>): void {
  assert.throws(
    () => enclaveKey(claims),
    (e: unknown) => e instanceof SecretReleaseError && e.code === 'ERR_SECRET_NO_ENCLAVE_KEY',
  );
}

describe('where the enclave key is found', () => {
  test('a JWKS in x-ms-runtime: the first usable key, skipping entries that are not keys', () => {
    const sig = { ...EC, use: 'sig' };
    assert.deepEqual(enclaveKey({ 'x-ms-runtime': { keys: [null, 'k', sig, RSA, EC] } }), RSA);
  });

  test('a bare JWK as x-ms-runtime', () => {
    assert.deepEqual(enclaveKey({ 'x-ms-runtime': EC }), EC);
  });

  test('a JWK under "jwk" in x-ms-runtime', () => {
    assert.deepEqual(enclaveKey({ 'x-ms-runtime': { jwk: RSA } }), RSA);
    noKey({ 'x-ms-runtime': { jwk: 'not a key' } });
  });

  test('Binary runtime data holding a JWKS (x-ms-sgx-ehd) when x-ms-runtime has no keys', () => {
    assert.deepEqual(enclaveKey({ 'x-ms-sgx-ehd': ehd({ keys: [EC] }) }), EC);
    assert.deepEqual(enclaveKey({ 'x-ms-runtime': { other: 1 }, 'x-ms-sgx-ehd': ehd(RSA) }), RSA);
  });

  test('keys in x-ms-runtime win over keys in x-ms-sgx-ehd', () => {
    assert.deepEqual(
      enclaveKey({ 'x-ms-runtime': { keys: [EC] }, 'x-ms-sgx-ehd': ehd({ keys: [RSA] }) }),
      EC,
    );
  });

  test('Binary runtime data that is not JSON, or no runtime data at all, carries no key', () => {
    noKey({ 'x-ms-sgx-ehd': Buffer.from([0xff, 0x00, 0x7b]).toString('base64url') });
    noKey({});
    noKey({ 'x-ms-runtime': 'text' });
  });
});

describe('which keys are usable for encrypting a secret', () => {
  test('use "sig" is never used; use "enc" is', () => {
    noKey({ 'x-ms-runtime': { ...RSA, use: 'sig' } });
    assert.deepEqual(enclaveKey({ 'x-ms-runtime': { ...RSA, use: 'enc' } }), { ...RSA, use: 'enc' });
  });

  test('key_ops must allow encrypt, wrapKey or deriveKey', () => {
    noKey({ 'x-ms-runtime': { ...EC, key_ops: ['verify', 'sign'] } });
    for (const op of ['encrypt', 'wrapKey', 'deriveKey']) {
      const k = { ...EC, key_ops: ['verify', op] };
      assert.deepEqual(enclaveKey({ 'x-ms-runtime': k }), k, op);
    }
  });

  test('RSA needs n and e, and a modulus of at least 2048 bits', () => {
    noKey({ 'x-ms-runtime': { ...RSA, n: 'n'.repeat(341) } });
    noKey({ 'x-ms-runtime': { kty: 'RSA', n: RSA.n } });
    noKey({ 'x-ms-runtime': { kty: 'RSA', e: 'AQAB' } });
  });

  test('EC needs P-256, P-384 or P-521 and both coordinates', () => {
    for (const crv of ['P-384', 'P-521']) {
      assert.deepEqual(enclaveKey({ 'x-ms-runtime': { ...EC, crv } }), { ...EC, crv });
    }
    noKey({ 'x-ms-runtime': { ...EC, crv: 'P-192' } });
    noKey({ 'x-ms-runtime': { ...EC, crv: 'secp256k1' } });
    noKey({ 'x-ms-runtime': { kty: 'EC', crv: 'P-256', x: 'xx' } });
    noKey({ 'x-ms-runtime': { kty: 'EC', crv: 'P-256', y: 'yy' } });
  });

  test('other key types (symmetric, OKP) are not used', () => {
    noKey({ 'x-ms-runtime': { kty: 'oct', k: 'secret' } });
    noKey({ 'x-ms-runtime': { kty: 'OKP', crv: 'X25519', x: 'xx' } });
  });
});
