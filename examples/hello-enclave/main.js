/* global enclave */
// hello-enclave entry module. It runs inside the ccnodes enclave runtime, where the only global it
// gets from ccnodes is `enclave` (no require, no process, no import). It is a classic script: it
// registers its ECALL handlers at top level.
//
// It makes an ECDSA P-256 key pair inside the enclave and binds the public key to the enclave's
// identity: REPORTDATA = SHA-256(public key, SPKI DER) followed by 32 zero bytes.
'use strict';

let key = null;

function ensureKey() {
  if (key === null) key = enclave.generateKeyPair();
  return key;
}

enclave.ecall('init', function () {
  return { publicKey: ensureKey().publicKey };
});

// Returns a REPORT for the enclave named by `targetInfo` (512 bytes), e.g. a quoting enclave.
enclave.ecall('getReport', async function (targetInfo) {
  const k = ensureKey();
  const reportData = new Uint8Array(64);
  reportData.set(enclave.sha256(k.publicKey));
  const report = await enclave.ereport(targetInfo, reportData);
  return { report: report, publicKey: k.publicKey };
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
