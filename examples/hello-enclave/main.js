/* global enclave */
// hello-enclave entry module. It runs inside the ccnodes enclave runtime, where the only global it
// gets from ccnodes is `enclave` (no require, no process, no import). It is a classic script: it
// registers its ECALL handlers at top level.
//
// It makes a P-256 key pair inside the enclave and binds the public key to the enclave's identity
// the way Microsoft Azure Attestation expects: runtimeData = UTF-8 JSON {"keys":[<public JWK>]},
// REPORTDATA = SHA-256(runtimeData) followed by 32 zero bytes. A verifier that checks the quote and
// then SHA-256(runtimeData) knows the key lives in this enclave, and can encrypt secrets to it.
'use strict';

let key = null;

function ensureKey() {
  if (key === null) key = enclave.generateKeyPair();
  return key;
}

function runtimeData() {
  const jwk = ensureKey().jwk;
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, use: 'enc' };
  return enclave.utf8Encode(JSON.stringify({ keys: [publicJwk] }));
}

enclave.ecall('init', function () {
  const k = ensureKey();
  return { jwk: k.jwk, publicKey: k.publicKey };
});

// A REPORT for the enclave named by `targetInfo` (512 bytes), e.g. the quoting enclave, with
// REPORTDATA = SHA-256(runtimeData) ‖ 32 zero bytes.
enclave.ecall('getReport', async function (targetInfo) {
  const data = runtimeData();
  const reportData = new Uint8Array(64);
  reportData.set(enclave.sha256(data));
  const report = await enclave.ereport(targetInfo, reportData);
  return { report: report, runtimeData: data, publicKey: ensureKey().publicKey };
});

// Opens a secret released to this enclave's key (compact JWE, ECDH-ES + A256GCM).
enclave.ecall('openSecret', function (jwe) {
  return enclave.decryptJwe(ensureKey().keyId, jwe);
});

enclave.ecall('sign', function (data) {
  return enclave.sign(ensureKey().keyId, data);
});

enclave.ecall('seal', function (plaintext, policy) {
  return enclave.seal(plaintext, { policy: policy || 'mrenclave' });
});

enclave.ecall('unseal', async function (blob) {
  const out = await enclave.unseal(blob);
  return out.plaintext;
});
