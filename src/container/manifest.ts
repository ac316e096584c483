/**
 * The app manifest of a confidential container (docs/confidential-containers.md): what program
 * runs, with which environment, which files are trusted, which secrets it receives after
 * attestation and where, and which attestation service it trusts. YAML or JSON; the schema is
 * strict (unknown fields are refused) and every error names the field.
 *
 * {@link canonicalManifest} gives the deterministic JSON text that is measured into the identity.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, resolve } from 'node:path';
import type * as Yaml from 'yaml';
import { ContainerManifestError } from './errors.ts';
import { readSmallFile, readSmallTextFile } from './small-file.ts';

/** Format tag of the canonical manifest (measured). */
export const MANIFEST_FORMAT = 'ccnodes-container-manifest/1';

/** How a secret reaches the program: an environment variable or a file in the private directory. */
export type SecretTarget =
  | { readonly name: string; readonly env: string; readonly file?: undefined }
  | { readonly name: string; readonly file: string; readonly env?: undefined };

/** A file stored encrypted (compact JWE, `dir` + A256GCM) and decrypted only after attestation. */
export interface EncryptedInput {
  /** The encrypted file, relative to the manifest. */
  readonly path: string;
  /** Name of the secret (at the attestation service) holding the 256-bit key. */
  readonly keySecret: string;
  /** Where the plaintext appears, relative to the private directory. */
  readonly file: string;
}

/** Sealing policy of the sealed state directory. */
export type SealPolicy = 'MRENCLAVE' | 'MRSIGNER';

/** The sealed state directory. */
export interface SealedState {
  /** Directory (relative to the manifest, or absolute) holding the sealed blob at rest. */
  readonly dir: string;
  readonly policy: SealPolicy;
  /** Environment variable that gets the plaintext directory's path (default `CCNODES_SEALED_STATE_DIR`). */
  readonly env: string;
}

/** Trust in the attestation service. */
export interface AttestationSettings {
  /** Base URL (not measured: `--attestation-url` may point at a replica; trust is `ca`/`pinnedKeys`). */
  readonly url: string | undefined;
  /** PEM CA for https (given inline or as a path relative to the manifest; the PEM text is measured). */
  readonly ca: string | undefined;
  /** SHA-256 (hex) of token signing keys' SubjectPublicKeyInfo to accept (measured). */
  readonly pinnedKeys: readonly string[] | undefined;
}

/** A validated app manifest. */
export interface AppManifest {
  /** App name: 1–48 characters of [A-Za-z0-9._-]. */
  readonly name: string;
  /** argv of the program (argv[0] looked up in PATH when it has no slash). */
  readonly entrypoint: readonly string[];
  /** Working directory, relative to the manifest or absolute (default: the manifest's directory). */
  readonly workingDir: string;
  readonly env: { readonly passThrough: readonly string[]; readonly set: Readonly<Record<string, string>> };
  /** Paths or globs (`*`, `?`, `**`) relative to the manifest. */
  readonly trustedFiles: readonly string[];
  readonly secrets: readonly SecretTarget[];
  readonly encryptedInputs: readonly EncryptedInput[];
  readonly sealedState: SealedState | undefined;
  readonly attestation: AttestationSettings;
  readonly isvProdId: number;
  readonly isvSvn: number;
  /** EPC size hint in MiB (1–65536; default 64): the enclave size is the next power of two. */
  readonly epcMiB: number;
}

/**
 * A manifest file as read: the SHA-256 of its bytes and its content as a JSON value (what the YAML or
 * JSON text parses to, before validation). `container prepare` records it in app.sig
 * (`manifestFile`), so that `container run` need not parse the YAML again while the file's bytes
 * are the same: see {@link loadManifest}.
 */
export interface ManifestFileRecord {
  /** SHA-256 (lower-case hex) of the file's bytes. */
  readonly sha256: string;
  /** The parsed content (JSON values only). */
  readonly document: unknown;
}

/** A manifest with where it was read from. */
export interface LoadedManifest {
  readonly manifest: AppManifest;
  /** Absolute path of the manifest file. */
  readonly path: string;
  /** Its directory: the base of relative paths. */
  readonly baseDir: string;
  /**
   * The file's bytes' SHA-256 and parsed content ({@link loadManifest} sets it; absent in a
   * LoadedManifest built otherwise).
   */
  readonly file?: ManifestFileRecord;
  /** True when the content was taken from {@link LoadManifestOptions.recorded} rather than parsed. */
  readonly fromRecord?: boolean;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(field: string, message: string): ContainerManifestError {
  return new ContainerManifestError('ERR_CONTAINER_MANIFEST', `${field}: ${message}`, { details: { field } });
}

function checkKeys(o: Obj, allowed: readonly string[], prefix: string): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) throw fail(`${prefix}${k}`, 'unknown field');
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const SECRET_NAME = /^[A-Za-z0-9._-]{1,128}$/;
/** Variables the launcher sets itself. */
const RESERVED_ENV = new Set(['CCNODES_PRIVATE_DIR']);

function str(v: unknown, field: string, max = 4096): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || v.includes('\0'))
    throw fail(field, `must be a non-empty string of at most ${max} characters`);
  return v;
}

/** A relative path without `..`, empty segments or a leading slash. */
function relPath(v: unknown, field: string, globs = false): string {
  const p = str(v, field, 1024);
  if (isAbsolute(p) || p.split('/').some((s) => s === '..' || s === '') || p.includes('\\'))
    throw fail(field, `${JSON.stringify(p)} must be a relative path without "..", "\\" or empty segments`);
  if (!globs && /[*?[\]{}]/.test(p))
    throw fail(field, `${JSON.stringify(p)} must not contain glob characters`);
  if (globs && /[[\]{}]/.test(p)) throw fail(field, 'only the glob characters *, ? and ** are supported');
  return p;
}

function envName(v: unknown, field: string): string {
  if (typeof v !== 'string' || !ENV_NAME.test(v)) throw fail(field, 'must be an environment variable name');
  if (RESERVED_ENV.has(v)) throw fail(field, `${v} is set by the launcher`);
  return v;
}

function intField(v: unknown, field: string, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    throw fail(field, `must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  return v;
}

function list(v: unknown, field: string, required = false): unknown[] {
  if (v === undefined && !required) return [];
  if (!Array.isArray(v)) throw fail(field, 'must be a list');
  return v;
}

function parseEnv(v: unknown): AppManifest['env'] {
  if (v === undefined) return { passThrough: [], set: {} };
  if (!isObj(v)) throw fail('env', 'must be an object { passThrough, set }');
  checkKeys(v, ['passThrough', 'set'], 'env.');
  const passThrough = list(v['passThrough'], 'env.passThrough').map((n, i) =>
    envName(n, `env.passThrough[${i}]`),
  );
  const setRaw = v['set'] ?? {};
  if (!isObj(setRaw)) throw fail('env.set', 'must be an object of NAME: "value"');
  const set: Record<string, string> = {};
  for (const [k, val] of Object.entries(setRaw)) {
    envName(k, `env.set.${k}`);
    if (typeof val !== 'string' || val.includes('\0')) throw fail(`env.set.${k}`, 'must be a string');
    set[k] = val;
  }
  return { passThrough: unique(passThrough, 'env.passThrough'), set };
}

function unique(xs: string[], field: string): string[] {
  const seen = new Set<string>();
  xs.forEach((x, i) => {
    if (seen.has(x)) throw fail(`${field}[${i}]`, `duplicate ${JSON.stringify(x)}`);
    seen.add(x);
  });
  return xs;
}

function parseSecrets(v: unknown): SecretTarget[] {
  return list(v, 'secrets').map((s, i) => {
    const f = `secrets[${i}]`;
    if (!isObj(s)) throw fail(f, 'must be { name, env } or { name, file }');
    checkKeys(s, ['name', 'env', 'file'], `${f}.`);
    const name = s['name'];
    if (typeof name !== 'string' || !SECRET_NAME.test(name))
      throw fail(`${f}.name`, 'must be 1-128 characters of [A-Za-z0-9._-]');
    if ((s['env'] === undefined) === (s['file'] === undefined))
      throw fail(f, 'needs exactly one of env or file');
    return s['env'] !== undefined
      ? { name, env: envName(s['env'], `${f}.env`) }
      : { name, file: relPath(s['file'], `${f}.file`) };
  });
}

function parseInputs(v: unknown): EncryptedInput[] {
  return list(v, 'encryptedInputs').map((s, i) => {
    const f = `encryptedInputs[${i}]`;
    if (!isObj(s)) throw fail(f, 'must be { path, keySecret, file }');
    checkKeys(s, ['path', 'keySecret', 'file'], `${f}.`);
    const keySecret = s['keySecret'];
    if (typeof keySecret !== 'string' || !SECRET_NAME.test(keySecret))
      throw fail(`${f}.keySecret`, 'must be a secret name: 1-128 characters of [A-Za-z0-9._-]');
    return { path: relPath(s['path'], `${f}.path`), keySecret, file: relPath(s['file'], `${f}.file`) };
  });
}

function parseSealed(v: unknown): SealedState | undefined {
  if (v === undefined) return undefined;
  if (!isObj(v)) throw fail('sealedState', 'must be an object { dir, policy, env }');
  checkKeys(v, ['dir', 'policy', 'env'], 'sealedState.');
  const policy = v['policy'] ?? 'MRENCLAVE';
  if (policy !== 'MRENCLAVE' && policy !== 'MRSIGNER')
    throw fail('sealedState.policy', `must be "MRENCLAVE" or "MRSIGNER", got ${JSON.stringify(policy)}`);
  const dir = str(v['dir'], 'sealedState.dir', 1024);
  return {
    dir,
    policy,
    env: v['env'] === undefined ? 'CCNODES_SEALED_STATE_DIR' : envName(v['env'], 'sealedState.env'),
  };
}

function parseAttestation(v: unknown): {
  url: string | undefined;
  ca: string | undefined;
  pinnedKeys: string[] | undefined;
} {
  if (v === undefined) return { url: undefined, ca: undefined, pinnedKeys: undefined };
  if (!isObj(v)) throw fail('attestation', 'must be an object { url, ca, pinnedKeys }');
  checkKeys(v, ['url', 'ca', 'pinnedKeys'], 'attestation.');
  let url: string | undefined;
  if (v['url'] !== undefined) {
    url = str(v['url'], 'attestation.url');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw fail('attestation.url', `not a URL: ${JSON.stringify(url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw fail('attestation.url', 'must be http:// or https://');
  }
  const ca = v['ca'] === undefined ? undefined : str(v['ca'], 'attestation.ca', 65536);
  let pinnedKeys: string[] | undefined;
  if (v['pinnedKeys'] !== undefined) {
    pinnedKeys = list(v['pinnedKeys'], 'attestation.pinnedKeys').map((k, i) => {
      if (typeof k !== 'string' || !/^[0-9a-f]{64}$/i.test(k))
        throw fail(
          `attestation.pinnedKeys[${i}]`,
          'must be 64 hex digits (SHA-256 of a SubjectPublicKeyInfo)',
        );
      return k.toLowerCase();
    });
    if (pinnedKeys.length === 0) throw fail('attestation.pinnedKeys', 'must not be empty when given');
  }
  return { url, ca, pinnedKeys };
}

const TOP = [
  'name',
  'entrypoint',
  'workingDir',
  'env',
  'trustedFiles',
  'secrets',
  'encryptedInputs',
  'sealedState',
  'attestation',
  'isvProdId',
  'isvSvn',
  'epcMiB',
];

/**
 * Validates a parsed manifest object. `ca` is returned as given (inline PEM or a path); see
 * {@link loadManifest} for resolving it.
 * @throws ContainerManifestError `ERR_CONTAINER_MANIFEST` naming the field.
 */
export function validateManifest(input: unknown): AppManifest {
  if (!isObj(input)) throw fail('(root)', 'must be an object');
  checkKeys(input, TOP, '');
  const name = input['name'];
  if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,47}$/.test(name))
    throw fail('name', 'must be 1-48 characters of [A-Za-z0-9._-], starting with a letter or digit');
  const entrypoint = list(input['entrypoint'], 'entrypoint', true).map((a, i) => str(a, `entrypoint[${i}]`));
  if (entrypoint.length === 0) throw fail('entrypoint', 'must name the program (argv[0])');
  if (entrypoint.length > 256) throw fail('entrypoint', 'at most 256 arguments');
  const workingDir = input['workingDir'] === undefined ? '.' : str(input['workingDir'], 'workingDir', 1024);
  const trustedFiles = unique(
    list(input['trustedFiles'], 'trustedFiles', true).map((p, i) => relPath(p, `trustedFiles[${i}]`, true)),
    'trustedFiles',
  );
  if (trustedFiles.length === 0) throw fail('trustedFiles', "must list at least the program's own files");
  const env = parseEnv(input['env']);
  const secrets = parseSecrets(input['secrets']);
  const encryptedInputs = parseInputs(input['encryptedInputs']);
  const sealedState = parseSealed(input['sealedState']);
  // One name, one destination: no variable or private file is written twice.
  const envTargets = new Map<string, string>(Object.keys(env.set).map((k) => [k, `env.set.${k}`]));
  const fileTargets = new Map<string, string>();
  secrets.forEach((s, i) => {
    const [map, key, field] =
      s.env !== undefined
        ? [envTargets, s.env, `secrets[${i}].env`]
        : [fileTargets, s.file, `secrets[${i}].file`];
    const prior = map.get(key);
    if (prior !== undefined) throw fail(field, `${JSON.stringify(key)} is already the target of ${prior}`);
    map.set(key, field);
  });
  encryptedInputs.forEach((e, i) => {
    const prior = fileTargets.get(e.file);
    if (prior !== undefined)
      throw fail(`encryptedInputs[${i}].file`, `${JSON.stringify(e.file)} is already the target of ${prior}`);
    fileTargets.set(e.file, `encryptedInputs[${i}].file`);
  });
  for (const f of fileTargets.keys()) {
    if (f === 'sealed-state' || f.startsWith('sealed-state/'))
      throw fail(fileTargets.get(f) ?? 'secrets', '"sealed-state" in the private directory is reserved');
  }
  if (sealedState !== undefined && envTargets.has(sealedState.env))
    throw fail(
      'sealedState.env',
      `${sealedState.env} is already the target of ${envTargets.get(sealedState.env) ?? ''}`,
    );
  return {
    name,
    entrypoint,
    workingDir,
    env,
    trustedFiles,
    secrets,
    encryptedInputs,
    sealedState,
    attestation: parseAttestation(input['attestation']),
    isvProdId: intField(input['isvProdId'], 'isvProdId', 0, 0, 0xffff),
    isvSvn: intField(input['isvSvn'], 'isvSvn', 0, 0, 0xffff),
    epcMiB: intField(input['epcMiB'], 'epcMiB', 64, 1, 65536),
  };
}

let yamlLib: typeof Yaml | undefined;

/**
 * Parses YAML text with the `yaml` package, loaded on the first YAML text rather than at import
 * time (JSON needs none of it, nor a manifest taken from app.sig's record): a bundled `require` in
 * the build (in the standalone `container run` file, a `require` of dist/yaml-lib.cjs: see
 * scripts/build.ts), `createRequire` from the sources (as in the simulation's src/sim/pki-lib.ts).
 */
function parseYaml(text: string): unknown {
  yamlLib ??=
    typeof require === 'function'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- bundled, initialised here
        (require('yaml') as typeof Yaml)
      : (createRequire(import.meta.url)('yaml') as typeof Yaml);
  return yamlLib.parse(text);
}

/**
 * Parses manifest text into its document (not validated): JSON when it starts with `{` (or `format`
 * says so), else YAML.
 * @throws ContainerManifestError `ERR_CONTAINER_MANIFEST_SYNTAX`.
 */
export function parseManifestDocument(text: string, format?: 'json' | 'yaml'): unknown {
  try {
    return format === 'json' || (format === undefined && text.trimStart().startsWith('{'))
      ? JSON.parse(text)
      : parseYaml(text);
  } catch (cause) {
    throw new ContainerManifestError(
      'ERR_CONTAINER_MANIFEST_SYNTAX',
      `app manifest is not valid ${format ?? 'JSON/YAML'}: ${(cause as Error).message}`,
      { details: { field: '(root)' }, cause },
    );
  }
}

/** Parses and validates manifest text: JSON when it starts with `{` (or `format` says so), else YAML. */
export function parseManifest(text: string, format?: 'json' | 'yaml'): AppManifest {
  return validateManifest(parseManifestDocument(text, format));
}

/** Largest manifest file read (a Kubernetes ConfigMap, where the webhook's manifests live, holds 1 MiB). */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** Largest `attestation.ca` file read. */
export const MAX_CA_FILE_BYTES = 1024 * 1024;

/**
 * The record of `loaded`'s file that `container prepare` keeps in app.sig (`manifestFile`), or
 * undefined when there is none to keep: no `file`, a document whose JSON is larger than
 * {@link MAX_MANIFEST_BYTES}, or one that JSON does not carry unchanged (the validated manifest of
 * the document read back from its JSON must be the file's own, `attestation.url` included).
 */
export function manifestFileRecord(loaded: LoadedManifest): ManifestFileRecord | undefined {
  const file = loaded.file;
  if (file === undefined) return undefined;
  try {
    const json = JSON.stringify(file.document);
    if (typeof json !== 'string' || Buffer.byteLength(json) > MAX_MANIFEST_BYTES) return undefined;
    const document: unknown = JSON.parse(json);
    if (JSON.stringify(validateManifest(document)) !== JSON.stringify(validateManifest(file.document)))
      return undefined;
    return { sha256: file.sha256, document };
  } catch {
    return undefined;
  }
}

/** Options of {@link loadManifest}. */
export interface LoadManifestOptions {
  /**
   * What `container prepare` read (app.sig's `manifestFile`): when the file's bytes have its SHA-256,
   * its document is validated instead of parsing the text again (the YAML parser is then not loaded
   * at all). Otherwise the file is parsed as without it. Nothing is trusted on this record's word:
   * the manifest that results is validated like any other, and the launcher measures it against
   * the SIGSTRUCT.
   */
  readonly recorded?: ManifestFileRecord;
}

/**
 * Reads and validates a manifest file (a regular file of at most {@link MAX_MANIFEST_BYTES}). An
 * `attestation.ca` that is not inline PEM is read as a file relative to the manifest (at most
 * {@link MAX_CA_FILE_BYTES}) and replaced by its PEM text. The result's `file` has the SHA-256 of
 * the bytes read and their parsed content.
 * @throws ContainerManifestError.
 */
export function loadManifest(path: string, options: LoadManifestOptions = {}): Promise<LoadedManifest> {
  // Read and parsed on the spot (a rejection, not a throw, on failure): see small-file.ts.
  return new Promise((resolveLoaded) => {
    resolveLoaded(loadManifestNow(path, options.recorded));
  });
}

function loadManifestNow(path: string, recorded: ManifestFileRecord | undefined): LoadedManifest {
  const full = resolve(path);
  let bytes: Buffer;
  try {
    bytes = readSmallFile(full, MAX_MANIFEST_BYTES);
  } catch (cause) {
    throw new ContainerManifestError(
      'ERR_CONTAINER_MANIFEST_IO',
      `cannot read app manifest ${path}: ${(cause as Error).message}`,
      {
        details: { path },
        cause,
      },
    );
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fromRecord = recorded !== undefined && recorded.sha256 === sha256;
  const document = fromRecord
    ? recorded.document
    : parseManifestDocument(bytes.toString('utf8'), full.endsWith('.json') ? 'json' : 'yaml');
  const parsed = validateManifest(document);
  const baseDir = dirname(full);
  let manifest = parsed;
  const ca = parsed.attestation.ca;
  if (ca !== undefined && !ca.includes('-----BEGIN')) {
    let pem: string;
    try {
      pem = readSmallTextFile(resolve(baseDir, ca), MAX_CA_FILE_BYTES);
    } catch (cause) {
      throw new ContainerManifestError(
        'ERR_CONTAINER_MANIFEST_IO',
        `attestation.ca: cannot read ${ca}: ${(cause as Error).message}`,
        {
          details: { field: 'attestation.ca', path: ca },
          cause,
        },
      );
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----'))
      throw fail('attestation.ca', `${ca} holds no PEM certificate`);
    manifest = { ...parsed, attestation: { ...parsed.attestation, ca: pem } };
  } else if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw fail('attestation.ca', 'inline PEM must be a certificate');
  }
  return { manifest, path: full, baseDir, file: { sha256, document }, fromRecord };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) if (v[k] !== undefined) out[k] = sortKeys(v[k]);
    return out;
  }
  return v;
}

/**
 * The measured form of a manifest: JSON with sorted keys and no whitespace, every field with its
 * default filled in, `attestation.url` left out (see {@link AttestationSettings.url}).
 */
export function canonicalManifest(m: AppManifest): string {
  const { url: _url, ...trust } = m.attestation;
  return JSON.stringify(sortKeys({ format: MANIFEST_FORMAT, ...m, attestation: trust }));
}
