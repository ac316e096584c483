/**
 * Enclave definitions: the JSON/YAML file a developer writes to describe an enclave (see
 * docs/enclaves.md). Parsing validates every field and fails with `EnclaveDefinitionError`
 * (`ERR_ENCLAVE_DEFINITION`) whose `details.field` names the offending field.
 *
 * The definition fixes what the hardware measures (the files, their page permissions, the thread
 * count and memory layout) and what the SECS and SIGSTRUCT carry (attributes, XFRM, MISCSELECT,
 * ISVPRODID, ISVSVN, KSS identities, debug).
 */
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import { SGX_ATTRIBUTE_FLAGS, type SgxAttributes } from '../core/index.ts';
import { EnclaveDefinitionError } from './enclave-errors.ts';

/** Page permissions of a measured file. */
export type FilePerms = 'r' | 'rw' | 'rx';

/** One measured file of the enclave. */
export interface EnclaveFileSpec {
  /** Path relative to the definition file; also the file's name inside the enclave. */
  readonly path: string;
  readonly perms: FilePerms;
}

/** Key Separation and Sharing identities (need the KSS attribute). */
export interface KssFields {
  /** ISVEXTPRODID (16 bytes). */
  readonly isvExtProdId: Uint8Array;
  /** ISVFAMILYID (16 bytes). */
  readonly isvFamilyId: Uint8Array;
  /** CONFIGID (64 bytes), set at launch, not measured. */
  readonly configId: Uint8Array;
  readonly configSvn: number;
}

/** SIGSTRUCT parameters that are not identities: masks and date. */
export interface SigningSpec {
  readonly attributeMask: SgxAttributes;
  readonly miscMask: number;
  /** `YYYY-MM-DD` or undefined (DATE 0). */
  readonly date: string | undefined;
}

/** A validated enclave definition. */
export interface EnclaveDefinition {
  readonly name: string;
  /** SECS.SIZE in bytes (a power of two). */
  readonly enclaveSize: bigint;
  /** SSA frame size in pages. */
  readonly ssaFrameSize: number;
  /** Number of TCS pages (threads). */
  readonly tcsCount: number;
  /** Unmeasured stack pages per thread. */
  readonly stackPages: number;
  /** Unmeasured heap pages. */
  readonly heapPages: number;
  readonly debug: boolean;
  /** SECS.ATTRIBUTES requested at launch (DEBUG follows `debug`; INIT is set by EINIT). */
  readonly attributes: SgxAttributes;
  readonly miscSelect: number;
  readonly isvProdId: number;
  readonly isvSvn: number;
  readonly kss: KssFields | undefined;
  /** The entry module: one of `files`, run by the enclave runtime. */
  readonly entry: string;
  readonly files: readonly EnclaveFileSpec[];
  /** ECALL names the host may call. */
  readonly ecalls: readonly string[];
  /** OCALL names the enclave may call. */
  readonly ocalls: readonly string[];
  readonly signing: SigningSpec;
}

/** Attribute flag names accepted in `attributes.flags`. */
const FLAG_NAMES: Readonly<Record<string, bigint>> = {
  MODE64BIT: SGX_ATTRIBUTE_FLAGS.MODE64BIT,
  PROVISIONKEY: SGX_ATTRIBUTE_FLAGS.PROVISIONKEY,
  EINITTOKEN_KEY: SGX_ATTRIBUTE_FLAGS.EINITTOKENKEY,
  KSS: SGX_ATTRIBUTE_FLAGS.KSS,
  AEXNOTIFY: SGX_ATTRIBUTE_FLAGS.AEXNOTIFY,
};

const TOP_KEYS = new Set([
  'name',
  'enclaveSize',
  'ssaFrameSize',
  'tcsCount',
  'stackPages',
  'heapPages',
  'debug',
  'attributes',
  'miscSelect',
  'isvProdId',
  'isvSvn',
  'kss',
  'entry',
  'files',
  'ecalls',
  'ocalls',
  'signing',
]);

function fail(field: string, message: string): EnclaveDefinitionError {
  return new EnclaveDefinitionError('ERR_ENCLAVE_DEFINITION', `${field}: ${message}`, { field });
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Obj, allowed: ReadonlySet<string>, prefix: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.has(k)) throw fail(`${prefix}${k}`, 'unknown field');
  }
}

function intField(o: Obj, key: string, field: string, def: number, min: number, max: number): number {
  const v = o[key];
  if (v === undefined) return def;
  const n = typeof v === 'string' && /^(0x[0-9a-f]+|\d+)$/i.test(v.trim()) ? Number(v.trim()) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw fail(field, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return n;
}

function u64Field(v: unknown, field: string, def: bigint): bigint {
  if (v === undefined) return def;
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) n = BigInt(v);
  if (typeof v === 'string' && /^(0x[0-9a-f]{1,16}|\d{1,20})$/i.test(v.trim())) n = BigInt(v.trim());
  if (n === undefined || n > 0xffffffffffffffffn) {
    throw fail(field, `must be a 64-bit unsigned integer (number or "0x…" string), got ${JSON.stringify(v)}`);
  }
  return n;
}

const SIZE_UNITS: Readonly<Record<string, bigint>> = { '': 1n, K: 1024n, M: 1024n ** 2n, G: 1024n ** 3n };

/** Parses `1048576`, `"1M"`, `"256K"`, `"4G"`. */
function sizeField(v: unknown, field: string): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) n = BigInt(v);
  if (typeof v === 'string') {
    const m = /^(\d+)\s*([KMG]?)$/i.exec(v.trim());
    if (m !== null) n = BigInt(m[1] ?? '0') * (SIZE_UNITS[(m[2] ?? '').toUpperCase()] ?? 1n);
  }
  if (n === undefined)
    throw fail(field, `must be a size in bytes or a string like "1M", got ${JSON.stringify(v)}`);
  if (n < 8192n || (n & (n - 1n)) !== 0n || n > 1n << 40n) {
    throw fail(field, `must be a power of two between 8K and 1T, got ${n}`);
  }
  return n;
}

function hexBytes(v: unknown, field: string, size: number): Uint8Array {
  if (v === undefined) return new Uint8Array(size);
  if (typeof v !== 'string' || !/^(0x)?[0-9a-f]*$/i.test(v) || v.replace(/^0x/i, '').length > size * 2) {
    throw fail(field, `must be a hex string of at most ${size} bytes`);
  }
  const h = v.replace(/^0x/i, '');
  if (h.length % 2 !== 0) throw fail(field, 'hex string has an odd number of digits');
  const out = new Uint8Array(size);
  out.set(Buffer.from(h, 'hex'));
  return out;
}

function nameList(v: unknown, field: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw fail(field, 'must be a list of names');
  const seen = new Set<string>();
  return v.map((x, i) => {
    if (typeof x !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(x)) {
      throw fail(`${field}[${i}]`, 'must be an identifier ([A-Za-z_][A-Za-z0-9_]*)');
    }
    if (seen.has(x)) throw fail(`${field}[${i}]`, `duplicate name "${x}"`);
    seen.add(x);
    return x;
  });
}

function filePath(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 255)
    throw fail(field, 'must be a non-empty path');
  if (isAbsolute(v) || v.split(/[\\/]/).some((p) => p === '..' || p === '') || v.includes('\0')) {
    throw fail(field, `"${v}" must be a relative path without ".." or empty segments`);
  }
  return v;
}

function parseFiles(v: unknown): EnclaveFileSpec[] {
  if (!Array.isArray(v) || v.length === 0) throw fail('files', 'must be a non-empty list');
  const seen = new Set<string>();
  return v.map((f, i) => {
    const field = `files[${i}]`;
    let spec: EnclaveFileSpec;
    if (typeof f === 'string') spec = { path: filePath(f, field), perms: 'r' };
    else if (isObj(f)) {
      checkKeys(f, new Set(['path', 'perms']), `${field}.`);
      const perms = f['perms'] ?? 'r';
      if (perms !== 'r' && perms !== 'rw' && perms !== 'rx') {
        throw fail(`${field}.perms`, `must be "r", "rw" or "rx", got ${JSON.stringify(perms)}`);
      }
      spec = { path: filePath(f['path'], `${field}.path`), perms };
    } else throw fail(field, 'must be a path string or { path, perms }');
    if (seen.has(spec.path)) throw fail(field, `duplicate file "${spec.path}"`);
    seen.add(spec.path);
    return spec;
  });
}

function parseAttributes(v: unknown, debug: boolean): { attributes: SgxAttributes; kssFlag: boolean } {
  const o = v ?? {};
  if (!isObj(o)) throw fail('attributes', 'must be an object { flags, xfrm }');
  checkKeys(o, new Set(['flags', 'xfrm']), 'attributes.');
  const names = o['flags'] ?? ['MODE64BIT'];
  if (!Array.isArray(names))
    throw fail('attributes.flags', `must be a list of flag names (${Object.keys(FLAG_NAMES).join(', ')})`);
  let flags = debug ? SGX_ATTRIBUTE_FLAGS.DEBUG : 0n;
  names.forEach((n, i) => {
    const bit = typeof n === 'string' ? FLAG_NAMES[n] : undefined;
    if (bit === undefined) {
      throw fail(
        `attributes.flags[${i}]`,
        `unknown or not settable flag ${JSON.stringify(n)} (allowed: ${Object.keys(FLAG_NAMES).join(', ')}; DEBUG comes from "debug", INIT from EINIT)`,
      );
    }
    flags |= bit;
  });
  const xfrm = u64Field(o['xfrm'], 'attributes.xfrm', 0x3n);
  if ((xfrm & 0x3n) !== 0x3n) throw fail('attributes.xfrm', 'must include x87 and SSE (0x3)');
  return { attributes: { flags, xfrm }, kssFlag: (flags & SGX_ATTRIBUTE_FLAGS.KSS) !== 0n };
}

function parseKss(v: unknown, kssFlag: boolean): KssFields | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw fail('kss', 'must be an object');
  if (!kssFlag) throw fail('kss', 'KSS identity fields need "KSS" in attributes.flags');
  checkKeys(v, new Set(['isvExtProdId', 'isvFamilyId', 'configId', 'configSvn']), 'kss.');
  return {
    isvExtProdId: hexBytes(v['isvExtProdId'], 'kss.isvExtProdId', 16),
    isvFamilyId: hexBytes(v['isvFamilyId'], 'kss.isvFamilyId', 16),
    configId: hexBytes(v['configId'], 'kss.configId', 64),
    configSvn: intField(v, 'configSvn', 'kss.configSvn', 0, 0, 0xffff),
  };
}

/** Default SIGSTRUCT masks: every flag but DEBUG enforced, XFRM mask as Gramine, all MISCSELECT bits. */
export const DEFAULT_SIGNING: SigningSpec = {
  attributeMask: { flags: 0xfffffffffffffffdn, xfrm: 0xfffffffffff9ff1bn },
  miscMask: 0xffffffff,
  date: undefined,
};

function parseSigning(v: unknown): SigningSpec {
  if (v === undefined) return DEFAULT_SIGNING;
  if (!isObj(v)) throw fail('signing', 'must be an object');
  checkKeys(v, new Set(['attributeMask', 'miscMask', 'date']), 'signing.');
  const mask = v['attributeMask'] ?? {};
  if (!isObj(mask)) throw fail('signing.attributeMask', 'must be an object { flags, xfrm }');
  checkKeys(mask, new Set(['flags', 'xfrm']), 'signing.attributeMask.');
  const date = v['date'];
  if (
    date !== undefined &&
    (typeof date !== 'string' || !/^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/.test(date))
  ) {
    throw fail('signing.date', 'must be a YYYY-MM-DD string');
  }
  return {
    attributeMask: {
      flags: u64Field(mask['flags'], 'signing.attributeMask.flags', DEFAULT_SIGNING.attributeMask.flags),
      xfrm: u64Field(mask['xfrm'], 'signing.attributeMask.xfrm', DEFAULT_SIGNING.attributeMask.xfrm),
    },
    miscMask: Number(
      u64Field(v['miscMask'], 'signing.miscMask', BigInt(DEFAULT_SIGNING.miscMask)) & 0xffffffffn,
    ),
    date,
  };
}

/** Validates a parsed definition object (from JSON or YAML). */
export function validateEnclaveDefinition(input: unknown): EnclaveDefinition {
  if (!isObj(input)) throw fail('(root)', 'an enclave definition must be an object');
  checkKeys(input, TOP_KEYS, '');
  const name = input['name'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw fail('name', 'must be 1-64 characters of [A-Za-z0-9._-]');
  }
  if (input['enclaveSize'] === undefined) throw fail('enclaveSize', 'is required');
  const enclaveSize = sizeField(input['enclaveSize'], 'enclaveSize');
  const debugRaw = input['debug'] ?? true;
  if (typeof debugRaw !== 'boolean') throw fail('debug', 'must be true or false');
  const { attributes, kssFlag } = parseAttributes(input['attributes'], debugRaw);
  const files = parseFiles(input['files']);
  const entry = filePath(input['entry'], 'entry');
  if (!files.some((f) => f.path === entry)) throw fail('entry', `"${entry}" is not one of "files"`);
  const ecalls = nameList(input['ecalls'], 'ecalls');
  const ocalls = nameList(input['ocalls'], 'ocalls');
  return {
    name,
    enclaveSize,
    ssaFrameSize: intField(input, 'ssaFrameSize', 'ssaFrameSize', 1, 1, 16),
    tcsCount: intField(input, 'tcsCount', 'tcsCount', 1, 1, 256),
    stackPages: intField(input, 'stackPages', 'stackPages', 4, 1, 4096),
    heapPages: intField(input, 'heapPages', 'heapPages', 16, 0, 1 << 20),
    debug: debugRaw,
    attributes,
    miscSelect: intField(input, 'miscSelect', 'miscSelect', 0, 0, 0xffffffff),
    isvProdId: intField(input, 'isvProdId', 'isvProdId', 0, 0, 0xffff),
    isvSvn: intField(input, 'isvSvn', 'isvSvn', 0, 0, 0xffff),
    kss: parseKss(input['kss'], kssFlag),
    entry,
    files,
    ecalls,
    ocalls,
    signing: parseSigning(input['signing']),
  };
}

let yamlLib: typeof Yaml | undefined;

/**
 * Parses YAML text with the `yaml` package, loaded on the first YAML text rather than at import
 * time (JSON needs none of it): a bundled `require` in the build, `createRequire` from the sources
 * (as in pki-lib.ts).
 */
function parseYaml(text: string): unknown {
  yamlLib ??=
    typeof require === 'function'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- bundled, initialised here
        (require('yaml') as typeof Yaml)
      : (createRequire(import.meta.url)('yaml') as typeof Yaml);
  return yamlLib.parse(text);
}

/** Parses definition text: JSON when `format` is `json` (or the text starts with `{`), else YAML. */
export function parseEnclaveDefinition(text: string, format?: 'json' | 'yaml'): EnclaveDefinition {
  let raw: unknown;
  try {
    raw =
      format === 'json' || (format === undefined && text.trimStart().startsWith('{'))
        ? JSON.parse(text)
        : parseYaml(text);
  } catch (cause) {
    throw new EnclaveDefinitionError(
      'ERR_ENCLAVE_DEFINITION_SYNTAX',
      `enclave definition is not valid ${format ?? 'JSON/YAML'}: ${(cause as Error).message}`,
      { field: '(root)' },
      cause,
    );
  }
  return validateEnclaveDefinition(raw);
}

/** A definition plus the bytes of its files: everything needed to lay out and measure the enclave. */
export interface EnclaveImage {
  readonly definition: EnclaveDefinition;
  /** File bytes by `EnclaveFileSpec.path`. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** Builds an image from a definition and in-memory file contents (every declared file must be given). */
export function enclaveImage(
  definition: EnclaveDefinition,
  files: Readonly<Record<string, Uint8Array | string>>,
): EnclaveImage {
  const map = new Map<string, Uint8Array>();
  for (const f of definition.files) {
    const v = files[f.path];
    if (v === undefined) {
      throw new EnclaveDefinitionError('ERR_ENCLAVE_FILE', `files: no content given for "${f.path}"`, {
        field: 'files',
        path: f.path,
      });
    }
    map.set(f.path, typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'utf8')) : v);
  }
  return { definition, files: map };
}

/**
 * Reads a definition file (`.json`, `.yaml`, `.yml`) and the files it names (relative to the
 * definition's directory).
 */
export async function loadEnclaveImage(definitionPath: string): Promise<EnclaveImage> {
  let text: string;
  try {
    text = await readFile(definitionPath, 'utf8');
  } catch (cause) {
    throw new EnclaveDefinitionError(
      'ERR_ENCLAVE_FILE',
      `cannot read enclave definition ${definitionPath}: ${(cause as Error).message}`,
      {
        path: definitionPath,
      },
      cause,
    );
  }
  const definition = parseEnclaveDefinition(text, definitionPath.endsWith('.json') ? 'json' : 'yaml');
  const base = dirname(resolve(definitionPath));
  const files: Record<string, Uint8Array> = {};
  for (const f of definition.files) {
    const p = resolve(base, f.path);
    try {
      files[f.path] = new Uint8Array(await readFile(p));
    } catch (cause) {
      throw new EnclaveDefinitionError(
        'ERR_ENCLAVE_FILE',
        `files: cannot read "${f.path}" (${p}): ${(cause as Error).message}`,
        {
          field: 'files',
          path: f.path,
        },
        cause,
      );
    }
  }
  return enclaveImage(definition, files);
}
