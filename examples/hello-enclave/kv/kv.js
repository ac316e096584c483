/* global ccnodes, enclave */
// The tutorial's key-value enclave. It runs with the typed interface of interface.ts: the prelude
// before this file defines `ccnodes` and checks every argument and result against the interface.
//
// The whole store is sealed to this enclave (MRENCLAVE policy) after each change and given to the
// host through the `persist` OCALL; on start the host hands the last blob back to `open`.
'use strict';

var AD = enclave.utf8Encode('ccnodes-kv/1');
var store = new Map();

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function snapshot() {
  var entries = {};
  store.forEach(function (v, k) {
    entries[k] = enclave.toHex(v);
  });
  return enclave.utf8Encode(JSON.stringify(entries));
}

ccnodes.ecall('open', async function (sealed) {
  store = new Map();
  if (sealed !== null) {
    var out = await ccnodes.unseal(sealed);
    if (!sameBytes(out.additionalData, AD)) throw new Error('not a ccnodes-kv/1 store');
    var entries = JSON.parse(enclave.utf8Decode(out.plaintext));
    Object.keys(entries).forEach(function (k) {
      store.set(k, enclave.fromHex(entries[k]));
    });
  }
  return store.size;
});

ccnodes.ecall('put', async function (key, value) {
  store.set(key, value);
  var blob = await ccnodes.seal(snapshot(), { policy: 'mrenclave', additionalData: AD });
  await ccnodes.ocall('persist', blob);
});

ccnodes.ecall('get', function (key) {
  return store.has(key) ? store.get(key) : null;
});

ccnodes.ecall('keys', function () {
  return Array.from(store.keys()).sort();
});
