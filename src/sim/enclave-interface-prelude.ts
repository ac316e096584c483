/**
 * The enclave side of a typed enclave interface: trusted code prepended to the enclave's entry
 * module (so it is measured with it), the analogue of the trusted bridge Intel's edger8r generates
 * from an EDL file. It defines one global, `ccnodes`, for enclave code:
 *
 * - `ccnodes.ecall(name, fn)` registers a declared ECALL's handler; the arguments arriving from the
 *   host are checked against the interface before `fn` runs, and `fn`'s result before it leaves;
 * - `ccnodes.ocall(name, ...args)` calls a declared OCALL, checking the arguments before they leave
 *   and the host's result when it comes back;
 * - one-liners: `ccnodes.seal(data, { policy, additionalData })`, `ccnodes.unseal(blob)`,
 *   `ccnodes.getReport(targetInfo, reportData?)`, `ccnodes.getQuote(reportData)` (through the
 *   {@link QUOTE_OCALLS}, which the host serves from the node's quote helper or a simulated
 *   platform) and `ccnodes.attest(runtimeData)` (through {@link ATTEST_OCALLS}, which the host serves
 *   with an attestation client).
 *
 * A refusal throws an error whose `code` is `ERR_ENCLAVE_CALL_UNKNOWN`, `ERR_ENCLAVE_CALL_TYPE` or
 * `ERR_ENCLAVE_CALL_SIZE`, as on the host side (enclave-interface.ts).
 */
import { encodeTargetInfo, REPORT_BODY_SIZE } from '../core/index.ts';
import type { SimCpu } from './cpu.ts';
import type { EnclaveImage } from './enclave-definition.ts';
import { EnclaveInterfaceError } from './enclave-errors.ts';
import { t, type EnclaveInterface, type InterfaceSpec, interfaceJson } from './enclave-interface.ts';
import {
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  type SimPlatform,
} from './platform.ts';

/** OCALLs behind `ccnodes.getQuote()`: the quoting enclave's TARGETINFO, then a quote for a REPORT. */
export const QUOTE_OCALLS = {
  ccnodes_qe_target_info: { args: [], result: t.bytes({ length: 512 }) },
  ccnodes_quote: { args: [t.bytes({ length: 432 })], result: t.bytes({ max: 65536 }) },
} as const;

/** The OCALL behind `ccnodes.attest()`: quote and runtime data to the attestation service, token back. */
export const ATTEST_OCALLS = {
  ccnodes_attest: {
    args: [t.bytes({ max: 65536 }), t.bytes({ max: 65536 })],
    result: t.string({ max: 65536 }),
  },
} as const;

const PRELUDE_BODY = String.raw`
  'use strict';
  var E = enclave;
  function err(code, message) { var e = new Error(message); e.code = code; return e; }
  function utf8Length(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c < 0x80) n += 1;
      else if (c < 0x800) n += 2;
      else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) { n += 4; i++; }
      else n += 3;
    }
    return n;
  }
  function isJson(v) {
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
    if (typeof v === 'number') return isFinite(v);
    if (Array.isArray(v)) return v.every(isJson);
    if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.keys(v).every(function (k) { return isJson(v[k]); });
    }
    return false;
  }
  function check(type, v, path, at) {
    function fail(size, why) {
      throw err(size ? 'ERR_ENCLAVE_CALL_SIZE' : 'ERR_ENCLAVE_CALL_TYPE', at + ' ' + path + ' (in the enclave): ' + why);
    }
    switch (type.kind) {
      case 'u32': if (typeof v !== 'number' || v % 1 !== 0 || v < 0 || v > 4294967295) fail(false, 'expected an integer in 0..4294967295'); return v;
      case 'i32': if (typeof v !== 'number' || v % 1 !== 0 || v < -2147483648 || v > 2147483647) fail(false, 'expected an integer in -2147483648..2147483647'); return v;
      case 'bool': if (typeof v !== 'boolean') fail(false, 'expected a boolean'); return v;
      case 'string':
        if (typeof v !== 'string') fail(false, 'expected a string');
        if (utf8Length(v) > type.max) fail(true, utf8Length(v) + ' UTF-8 bytes, more than the declared ' + type.max);
        return v;
      case 'bytes':
        if (!(v instanceof Uint8Array)) fail(false, 'expected bytes (a Uint8Array)');
        if (type.length !== undefined && v.length !== type.length) fail(v.length > type.length, v.length + ' bytes, expected exactly ' + type.length);
        if (v.length > type.max) fail(true, v.length + ' bytes, more than the declared ' + type.max);
        return v;
      case 'json': {
        if (v === undefined || !isJson(v)) fail(false, 'expected a JSON value');
        var size = utf8Length(JSON.stringify(v));
        if (size > type.max) fail(true, size + ' bytes of JSON, more than the declared ' + type.max);
        return v;
      }
      case 'void': if (v !== undefined && v !== null) fail(false, 'expected no value'); return null;
      case 'optional': return v === undefined || v === null ? null : check(type.of, v, path, at);
      case 'array':
        if (!Array.isArray(v)) fail(false, 'expected an array');
        if (v.length > type.max) fail(true, v.length + ' elements, more than the declared ' + type.max);
        return v.map(function (x, i) { return check(type.of, x, path + '[' + i + ']', at); });
      case 'struct': {
        if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) fail(false, 'expected an object');
        var out = {};
        Object.keys(v).forEach(function (k) { if (!Object.prototype.hasOwnProperty.call(type.fields, k)) fail(false, 'unexpected field ' + k); });
        Object.keys(type.fields).forEach(function (k) { out[k] = check(type.fields[k], v[k], path + '.' + k, at); });
        return out;
      }
    }
    fail(false, 'unknown type');
  }
  function checkArgs(spec, args, at) {
    if (args.length !== spec.args.length) throw err('ERR_ENCLAVE_CALL_TYPE', at + ' (in the enclave): ' + args.length + ' arguments, expected ' + spec.args.length);
    return spec.args.map(function (type, i) { return check(type, args[i], 'argument ' + (i + 1), at); });
  }
  function own(o, k) { return Object.prototype.hasOwnProperty.call(o, k); }
  function ocall(name) {
    var args = Array.prototype.slice.call(arguments, 1);
    return new Promise(function (resolve) {
      if (!own(IFACE.ocalls, name)) throw err('ERR_ENCLAVE_CALL_UNKNOWN', 'ocall ' + name + ' is not declared in the enclave interface');
      var spec = IFACE.ocalls[name];
      var checked = checkArgs(spec, args, 'ocall ' + name);
      resolve(E.ocall.apply(undefined, [name].concat(checked)).then(function (r) {
        return check(spec.result, r, 'result', 'ocall ' + name);
      }));
    });
  }
  function ecall(name, fn) {
    if (!own(IFACE.ecalls, name)) throw err('ERR_ENCLAVE_CALL_UNKNOWN', 'ecall ' + name + ' is not declared in the enclave interface');
    if (typeof fn !== 'function') throw new TypeError('ECALL handler must be a function');
    var spec = IFACE.ecalls[name];
    E.ecall(name, function () {
      var checked = checkArgs(spec, Array.prototype.slice.call(arguments), 'ecall ' + name);
      return Promise.resolve(fn.apply(undefined, checked)).then(function (r) {
        return check(spec.result, r, 'result', 'ecall ' + name);
      });
    });
  }
  function getReport(targetInfo, reportData) { return E.ereport(targetInfo, reportData); }
  function getQuote(reportData) {
    return ocall('ccnodes_qe_target_info').then(function (ti) { return E.ereport(ti, reportData); })
      .then(function (report) { return ocall('ccnodes_quote', report); });
  }
  function attest(runtimeData) {
    var rd = new Uint8Array(64);
    rd.set(E.sha256(runtimeData));
    return getQuote(rd).then(function (quote) { return ocall('ccnodes_attest', quote, runtimeData); });
  }
  Object.defineProperty(globalThis, 'ccnodes', {
    enumerable: true,
    value: Object.freeze({
      ecall: ecall,
      ocall: ocall,
      seal: function (data, options) { return E.seal(data, options); },
      unseal: function (blob) { return E.unseal(blob); },
      getReport: getReport,
      getQuote: getQuote,
      attest: attest,
      interface: IFACE
    })
  });
`;

/** The prelude's source text for `iface` (an expression statement; deterministic, so measurable). */
export function enclavePrelude(iface: EnclaveInterface<InterfaceSpec>): string {
  return `// ccnodes typed enclave interface (generated; measured with the entry module)\n(function (IFACE) {${PRELUDE_BODY}})(${interfaceJson(iface)});\n`;
}

/**
 * The image with the prelude of `iface` prepended to its entry module. MRENCLAVE is that of the
 * returned image (measure it with `measureEnclave(withEnclaveInterface(image, iface))`).
 */
export function withEnclaveInterface(
  image: EnclaveImage,
  iface: EnclaveInterface<InterfaceSpec>,
): EnclaveImage {
  const entry = image.definition.entry;
  const bytes = image.files.get(entry);
  if (bytes === undefined) {
    throw new EnclaveInterfaceError('ERR_ENCLAVE_INTERFACE', `entry module ${entry} is not in the image`, {
      field: 'entry',
    });
  }
  const files = new Map(image.files);
  files.set(entry, new Uint8Array(Buffer.concat([Buffer.from(enclavePrelude(iface), 'utf8'), bytes])));
  return { definition: image.definition, files };
}

/**
 * Host handlers of {@link QUOTE_OCALLS} on a simulated platform: a simulated quoting enclave on `cpu`
 * (it checks each REPORT's MAC with its report key, as the quote helper's sim provider does) and
 * quotes signed by `platform`'s attestation key. Spread into the OCALL handlers of
 * `startTypedEnclave`.
 */
export function simQuoteOcalls(
  cpu: SimCpu,
  platform: SimPlatform,
): {
  ccnodes_qe_target_info: () => Uint8Array;
  ccnodes_quote: (report: Uint8Array) => Uint8Array;
} {
  const qe = cpu.launchArchitectural({
    mrEnclave: SIM_QE_MRENCLAVE,
    mrSigner: SIM_QE_MRSIGNER,
    attributes: SIM_QE_ATTRIBUTES,
    isvProdId: SIM_QE_ISVPRODID,
  });
  const targetInfo = encodeTargetInfo(qe.targetInfo());
  return {
    ccnodes_qe_target_info: () => targetInfo,
    ccnodes_quote: (report) => {
      cpu.verifyReport(qe, report);
      return platform.quote(report.subarray(0, REPORT_BODY_SIZE));
    },
  };
}
