/**
 * The code of the enclave runtime's worker thread, as source text.
 *
 * Two layers run in the worker (`new Worker(WORKER_SOURCE, { eval: true })`):
 *
 * 1. `WORKER_SOURCE`, the trusted runtime (the analogue of an SGX SDK's tRTS and crypto library). It
 *    owns the enclave's private keys, talks to the host over the worker's message port, and creates
 *    a fresh V8 context (`node:vm`) with string code generation and WebAssembly disabled.
 * 2. `CONTEXT_SOURCE`, evaluated inside that context. It builds the global `enclave` API and gets
 *    exactly one host-realm function, `hostCall(op: string, argsJson: string) → string`, which it
 *    keeps in a closure. Everything crossing the boundary is a string (JSON, bytes as
 *    `{"$b":"<hex>"}`), so the entry module never holds an object of the worker's realm: no
 *    `require`, `process`, `import()`, `Buffer`, timers, or `Function` of the outer realm.
 *
 * The entry module (a classic script, not an ES module) is then evaluated in the context from the
 * bytes read out of the measured pages. What this does *not* give: V8 contexts and worker threads
 * are not a security boundary against hostile code or against the host, which shares the process;
 * see docs/enclaves.md ("What the runtime isolates").
 *
 * The runtime's identity ({@link ENCLAVE_RUNTIME_ID}, a hash of both sources) is written into the
 * measured manifest page, so MRENCLAVE changes when the runtime changes — as a real enclave's
 * MRENCLAVE covers its trusted runtime.
 */
import { createHash } from 'node:crypto';

/** Evaluated inside the enclave's V8 context; its completion value is the factory. */
export const CONTEXT_SOURCE = String.raw`(function (hostCall, configJson) {
  'use strict';
  var HEX = '0123456789abcdef';
  function toHex(u8) {
    if (!(u8 instanceof Uint8Array)) throw new TypeError('expected a Uint8Array');
    var s = '';
    for (var i = 0; i < u8.length; i++) s += HEX[u8[i] >> 4] + HEX[u8[i] & 15];
    return s;
  }
  function fromHex(h) {
    if (typeof h !== 'string' || h.length % 2 !== 0 || /[^0-9a-fA-F]/.test(h)) throw new TypeError('expected a hex string');
    var out = new Uint8Array(h.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(2 * i, 2), 16);
    return out;
  }
  function enc(v) {
    return JSON.stringify(v, function (k, x) { return x instanceof Uint8Array ? { $b: toHex(x) } : x; });
  }
  function dec(s) {
    return JSON.parse(s, function (k, x) {
      if (x !== null && typeof x === 'object' && !Array.isArray(x) && typeof x.$b === 'string' && Object.keys(x).length === 1) return fromHex(x.$b);
      return x;
    });
  }
  function mkErr(e) {
    var err = new Error(String(e && e.message));
    err.code = String(e && e.code);
    return err;
  }
  var config = dec(configJson);
  var pending = new Map();
  function call(op, args) {
    var r = dec(hostCall(op, enc(args === undefined ? null : args)));
    if (r.pending !== undefined) {
      return new Promise(function (resolve, reject) { pending.set(r.pending, { resolve: resolve, reject: reject }); });
    }
    if (!r.ok) throw mkErr(r.error);
    return r.value;
  }
  function bytes(x, what) {
    if (!(x instanceof Uint8Array)) throw new TypeError(what + ' must be a Uint8Array');
    return x;
  }
  var ecalls = new Map();
  var enclave = Object.freeze({
    /** Registers the handler of a declared ECALL. */
    ecall: function (name, fn) {
      if (config.ecalls.indexOf(name) < 0) throw mkErr({ code: 'ERR_ENCLAVE_ECALL', message: 'ECALL ' + name + ' is not declared in the enclave definition' });
      if (typeof fn !== 'function') throw new TypeError('ECALL handler must be a function');
      ecalls.set(name, fn);
    },
    /** Calls a declared OCALL on the host; resolves to its result. */
    ocall: function (name) {
      if (config.ocalls.indexOf(name) < 0) return Promise.reject(mkErr({ code: 'ERR_ENCLAVE_ECALL', message: 'OCALL ' + name + ' is not declared in the enclave definition' }));
      return call('ocall', { name: name, args: Array.prototype.slice.call(arguments, 1) });
    },
    /** EREPORT: resolves to the 432-byte REPORT for the target (512-byte TARGETINFO). */
    ereport: function (targetInfo, reportData) {
      return call('ereport', { targetInfo: bytes(targetInfo, 'targetInfo'), reportData: reportData === undefined ? new Uint8Array(64) : bytes(reportData, 'reportData') });
    },
    /** Resolves to this enclave's 512-byte TARGETINFO. */
    targetInfo: function () { return call('targetInfo', null); },
    /** Checks a REPORT meant for this enclave; resolves to its decoded fields, rejects if the MAC is wrong. */
    verifyReport: function (report) { return call('verifyReport', { report: bytes(report, 'report') }); },
    /** EGETKEY with a 512-byte KEYREQUEST; resolves to the 16-byte key. */
    egetkey: function (keyRequest) { return call('egetkey', { keyRequest: bytes(keyRequest, 'keyRequest') }); },
    /** Seals data (SGX SDK blob layout); policy "mrsigner" (default) or "mrenclave". */
    seal: function (plaintext, options) {
      var o = options || {};
      return call('seal', { plaintext: bytes(plaintext, 'plaintext'), policy: o.policy || 'mrsigner', additionalData: o.additionalData === undefined ? new Uint8Array(0) : bytes(o.additionalData, 'additionalData') });
    },
    /** Unseals a blob; resolves to { plaintext, additionalData }. */
    unseal: function (blob) { return call('unseal', { blob: bytes(blob, 'blob') }); },
    /** Cryptographically random bytes. */
    randomBytes: function (n) { return call('randomBytes', { n: n }); },
    /** SHA-256 digest (32 bytes). */
    sha256: function (data) { return call('sha256', { data: bytes(data, 'data') }); },
    /** Makes a P-256 key pair kept inside the enclave runtime: { keyId, publicKey (SPKI DER), jwk (public) }. */
    generateKeyPair: function () { return call('generateKeyPair', null); },
    /** Decrypts a compact JWE (alg ECDH-ES, enc A128GCM/A256GCM) addressed to a key made by generateKeyPair. */
    decryptJwe: function (keyId, jwe) { return call('decryptJwe', { keyId: keyId, jwe: String(jwe) }); },
    /** ECDSA P-256 / SHA-256 signature (raw r||s, 64 bytes) with a key made by generateKeyPair. */
    sign: function (keyId, data) { return call('sign', { keyId: keyId, data: bytes(data, 'data') }); },
    /** This enclave's identity: { mrEnclave, mrSigner, isvProdId, isvSvn, debug }. */
    identity: function () { return call('identity', null); },
    utf8Encode: function (s) { return call('utf8Encode', { s: String(s) }); },
    utf8Decode: function (b) { return call('utf8Decode', { data: bytes(b, 'data') }); },
    toHex: toHex,
    fromHex: fromHex,
    /** Debug output to the host's log. */
    log: function () { call('log', { text: Array.prototype.map.call(arguments, String).join(' ') }); }
  });
  Object.defineProperty(globalThis, 'enclave', { value: enclave, enumerable: true });
  function settle(id, result) {
    var payload;
    try { payload = enc(result); } catch (e) {
      payload = enc({ id: id, ok: false, error: { code: 'ERR_ENCLAVE_ECALL', message: 'ECALL result is not transferable: ' + String(e && e.message) } });
    }
    hostCall('ecall-result', payload);
  }
  return Object.freeze({
    resolve: function (id, payload) {
      var p = pending.get(id);
      if (p === undefined) return;
      pending.delete(id);
      var r;
      try { r = dec(payload); } catch (e) { p.reject(e); return; }
      if (r.ok) p.resolve(r.value); else p.reject(mkErr(r.error));
    },
    callEcall: function (id, name, argsJson) {
      var fn = ecalls.get(name);
      var p = fn === undefined
        ? Promise.reject(mkErr({ code: 'ERR_ENCLAVE_ECALL', message: 'ECALL ' + name + ' has no handler in the enclave' }))
        : new Promise(function (resolve) { resolve(fn.apply(undefined, dec(argsJson))); });
      p.then(
        function (v) { settle(id, { id: id, ok: true, value: v === undefined ? null : v }); },
        function (e) {
          settle(id, { id: id, ok: false, error: { code: e && typeof e.code === 'string' ? e.code : 'ERR_ENCLAVE_RUNTIME', message: String(e && e.message !== undefined ? e.message : e) } });
        });
    }
  });
})`;

/** Evaluated as the worker thread's main script (CommonJS, `eval: true`). */
export const WORKER_SOURCE = String.raw`'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const vm = require('node:vm');
const crypto = require('node:crypto');

const keys = new Map();
let nextKey = 1;
let nextPending = 1;
const b = (u8) => ({ $b: Buffer.from(u8).toString('hex') });
const ub = (x, what) => {
  if (x === null || typeof x !== 'object' || typeof x.$b !== 'string' || !/^([0-9a-f]{2})*$/.test(x.$b)) throw new TypeError(what + ' must be bytes');
  return Buffer.from(x.$b, 'hex');
};
const ok = (value) => JSON.stringify({ ok: true, value: value === undefined ? null : value });
const ASYNC = new Set(['ereport', 'targetInfo', 'verifyReport', 'egetkey', 'seal', 'unseal', 'ocall']);

// Compact JWE with alg ECDH-ES (direct key agreement) and enc A128GCM/A256GCM (RFC 7516, RFC 7518 §4.6).
function decryptJwe(privateKey, compact) {
  const parts = compact.split('.');
  if (parts.length !== 5 || parts[1] !== '') throw new TypeError('decryptJwe: not a compact ECDH-ES JWE');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  const bits = header.enc === 'A256GCM' ? 256 : header.enc === 'A128GCM' ? 128 : 0;
  if (header.alg !== 'ECDH-ES' || bits === 0 || header.zip !== undefined) throw new TypeError('decryptJwe: only alg ECDH-ES with enc A128GCM/A256GCM');
  const epk = crypto.createPublicKey({ key: { kty: header.epk.kty, crv: header.epk.crv, x: header.epk.x, y: header.epk.y }, format: 'jwk' });
  const z = crypto.diffieHellman({ privateKey, publicKey: epk });
  const lp = (buf) => { const l = Buffer.alloc(4); l.writeUInt32BE(buf.length); return Buffer.concat([l, buf]); };
  const apu = header.apu === undefined ? Buffer.alloc(0) : Buffer.from(header.apu, 'base64url');
  const apv = header.apv === undefined ? Buffer.alloc(0) : Buffer.from(header.apv, 'base64url');
  const supp = Buffer.alloc(4);
  supp.writeUInt32BE(bits);
  const round = Buffer.from([0, 0, 0, 1]);
  const cek = crypto.createHash('sha256').update(Buffer.concat([round, z, lp(Buffer.from(header.enc, 'ascii')), lp(apu), lp(apv), supp])).digest().subarray(0, bits / 8);
  const decipher = crypto.createDecipheriv('aes-' + bits + '-gcm', cek, Buffer.from(parts[2], 'base64url'));
  decipher.setAAD(Buffer.from(parts[0], 'ascii'));
  decipher.setAuthTag(Buffer.from(parts[4], 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(parts[3], 'base64url')), decipher.final()]);
}

function hostCall(op, argsJson) {
  try {
    if (typeof op !== 'string' || typeof argsJson !== 'string') throw new TypeError('bad enclave call');
    if (ASYNC.has(op)) {
      const id = nextPending++;
      parentPort.postMessage({ type: 'op', id, op, args: argsJson });
      return JSON.stringify({ pending: id });
    }
    const args = JSON.parse(argsJson);
    switch (op) {
      case 'randomBytes': {
        if (!Number.isInteger(args.n) || args.n < 0 || args.n > 65536) throw new RangeError('randomBytes: n must be 0..65536');
        return ok(b(crypto.randomBytes(args.n)));
      }
      case 'sha256':
        return ok(b(crypto.createHash('sha256').update(ub(args.data, 'data')).digest()));
      case 'generateKeyPair': {
        const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const keyId = nextKey++;
        keys.set(keyId, privateKey);
        const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
        return ok({ keyId, publicKey: b(publicKey.export({ type: 'spki', format: 'der' })), jwk: { kty, crv, x, y } });
      }
      case 'sign': {
        const key = keys.get(args.keyId);
        if (key === undefined) throw new RangeError('sign: unknown keyId');
        return ok(b(crypto.sign('sha256', ub(args.data, 'data'), { key, dsaEncoding: 'ieee-p1363' })));
      }
      case 'decryptJwe': {
        const key = keys.get(args.keyId);
        if (key === undefined) throw new RangeError('decryptJwe: unknown keyId');
        return ok(b(decryptJwe(key, String(args.jwe))));
      }
      case 'identity':
        return JSON.stringify({ ok: true, value: JSON.parse(workerData.identity) });
      case 'utf8Encode':
        return ok(b(Buffer.from(String(args.s), 'utf8')));
      case 'utf8Decode':
        return ok(new TextDecoder('utf-8', { fatal: true }).decode(ub(args.data, 'data')));
      case 'log':
        parentPort.postMessage({ type: 'log', text: String(args.text) });
        return ok(null);
      case 'ecall-result':
        parentPort.postMessage({ type: 'ecall-result', payload: argsJson });
        return ok(null);
      default:
        throw new TypeError('unknown enclave operation ' + op);
    }
  } catch (e) {
    return JSON.stringify({ ok: false, error: { code: (e && typeof e.code === 'string') ? e.code : 'ERR_ENCLAVE_RUNTIME', message: String(e && e.message) } });
  }
}

const context = vm.createContext(Object.create(null), {
  name: 'ccnodes-enclave',
  codeGeneration: { strings: false, wasm: false },
});
const factory = vm.runInContext(workerData.contextSource, context, { filename: 'ccnodes:enclave-runtime' });
const api = factory(hostCall, workerData.config);
try {
  vm.runInContext(workerData.entrySource, context, { filename: 'enclave:' + workerData.entryName });
  parentPort.postMessage({ type: 'ready' });
} catch (e) {
  parentPort.postMessage({ type: 'failed', message: String(e && e.stack ? e.stack : e) });
}
parentPort.on('message', (m) => {
  if (m.type === 'ecall') api.callEcall(m.id, m.name, m.args);
  else if (m.type === 'op-result') api.resolve(m.id, m.payload);
});
`;

/**
 * What a worker thread is started with (`new Worker(WORKER_BOOT_SOURCE, { eval: true })`). It waits
 * for one message `{ type: 'start', workerData }` and only then runs {@link WORKER_SOURCE} — the same
 * text, the one the runtime id covers — with that `workerData` in place of the worker's own (the
 * only difference: `require('node:worker_threads')` inside it gives the port and the data sent).
 *
 * Until that message the worker holds nothing of any enclave, so it can be started before its
 * enclave exists: Node's worker start-up (tens of milliseconds) then overlaps the host's own work
 * (see `prestartEnclaveWorker` in runtime.ts).
 */
export const WORKER_BOOT_SOURCE = `'use strict';
const bootThreads = require('node:worker_threads');
bootThreads.parentPort.once('message', (start) => {
  const startData = start !== null && typeof start === 'object' && start.type === 'start' ? start.workerData : undefined;
  if (startData === undefined) {
    bootThreads.parentPort.postMessage({ type: 'failed', message: 'the enclave worker expected a start message' });
    return;
  }
  const enclaveRequire = (id) =>
    id === 'node:worker_threads' ? { parentPort: bootThreads.parentPort, workerData: startData } : require(id);
  (function (require) {
${WORKER_SOURCE}
  })(enclaveRequire);
});
`;

/**
 * Identity of this runtime version: written into every enclave's measured manifest page.
 * `ccnodes-sim-js/1` plus the first 16 bytes of SHA-256 over both sources.
 */
export const ENCLAVE_RUNTIME_ID = `ccnodes-sim-js/1+${createHash('sha256')
  .update(WORKER_SOURCE)
  .update('\0')
  .update(CONTEXT_SOURCE)
  .digest('hex')
  .slice(0, 32)}`;
