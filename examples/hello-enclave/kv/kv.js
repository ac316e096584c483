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

// ---------------------------------------------------------------------------------------------
// RA-TLS: the enclave makes its TLS key and the quote that binds it (docs/tutorial-enclave.md, §6).
//
// The private key is a random P-256 scalar drawn from the enclave's randomness; the public key is
// computed here (plain BigInt arithmetic, not constant-time: a simulation tutorial), so the
// SubjectPublicKeyInfo the quote binds is the enclave's own work, not something the host handed in.

var P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
var N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
var G = {
  x: 0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n,
  y: 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n,
};
// DER SubjectPublicKeyInfo prefix of an uncompressed P-256 key (id-ecPublicKey, prime256v1).
var SPKI_PREFIX = enclave.fromHex('3059301306072a8648ce3d020106082a8648ce3d030107034200');

function mod(a) {
  var r = a % P;
  return r < 0n ? r + P : r;
}
function inv(a) {
  var lo = 1n,
    hi = 0n,
    low = mod(a),
    high = P;
  while (low > 1n) {
    var q = high / low;
    var nm = hi - lo * q,
      nw = high - low * q;
    hi = lo;
    high = low;
    lo = nm;
    low = nw;
  }
  return mod(lo);
}
function add(a, b) {
  if (a === null) return b;
  if (b === null) return a;
  var l;
  if (a.x === b.x) {
    if (mod(a.y + b.y) === 0n) return null;
    l = mod((3n * a.x * a.x - 3n) * inv(2n * a.y));
  } else {
    l = mod((b.y - a.y) * inv(b.x - a.x));
  }
  var x = mod(l * l - a.x - b.x);
  return { x: x, y: mod(l * (a.x - x) - a.y) };
}
function mul(k, pt) {
  var r = null;
  for (var i = 255; i >= 0; i--) {
    r = add(r, r);
    if ((k >> BigInt(i)) & 1n) r = add(r, pt);
  }
  return r;
}
function toInt(u8) {
  return BigInt('0x' + enclave.toHex(u8));
}
function to32(v) {
  return enclave.fromHex(v.toString(16).padStart(64, '0'));
}

ccnodes.ecall('tlsKey', async function () {
  var d = 0n;
  while (d === 0n || d >= N) d = toInt(await enclave.randomBytes(32));
  var q = mul(d, G);
  var spki = new Uint8Array(SPKI_PREFIX.length + 65);
  spki.set(SPKI_PREFIX, 0);
  spki[SPKI_PREFIX.length] = 4;
  spki.set(to32(q.x), SPKI_PREFIX.length + 1);
  spki.set(to32(q.y), SPKI_PREFIX.length + 33);
  // REPORTDATA as the ego (EGo / Open Enclave) RA-TLS format wants it: SHA-256(SPKI), then zeros.
  var reportData = new Uint8Array(64);
  reportData.set(await enclave.sha256(spki), 0);
  var quote = await ccnodes.getQuote(reportData);
  // SIMULATION ONLY: the private key leaves the enclave so that the host's TLS stack (Node's tls,
  // which cannot call back into the enclave to sign) can use it. On hardware, TLS terminates inside
  // the enclave and this field does not exist.
  return { spki: spki, quote: quote, privateKey: to32(d) };
});
