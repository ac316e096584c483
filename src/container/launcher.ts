/**
 * The confidential-container launcher (`ccnodes container run`):
 *
 * 1. re-hashes every trusted file and refuses on any change (the file is named);
 * 2. turns the launcher's core dumps off (RLIMIT_CORE 0/0, which the program inherits), rebuilds
 *    the identity from the manifest and the hashes and launches it on the simulated CPU
 *    (EINIT against app.sig's SIGSTRUCT); inside it, makes an ephemeral key pair and a REPORT
 *    binding it, which the quoting enclave (AESM socket or in process) turns into a quote;
 * 3. attests (`/attest/SgxEnclave`), verifies the token against `/certs` and against this identity
 *    and key, has every declared secret released (JWE to the enclave key, opened inside the
 *    enclave), decrypts the encrypted inputs and unseals the sealed state — all in memory;
 * 4. only then writes files into a private directory (mode 0700, memory-backed under /dev/shm when
 *    it exists) and starts the unmodified program with its secrets in its environment or in that
 *    directory: stdio passed through, signals forwarded, exit status propagated;
 * 5. when the program exits, seals the state directory back, wipes the private directory and
 *    stops the enclave (an app without sealed state has its enclave stopped as soon as the secrets
 *    are open: nothing is left for it to do).
 *
 * Every failure before step 4 throws a typed error, and nothing has been written anywhere: the
 * program never starts. No secret value is logged, put in argv, or included in an error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
// The private directory is made, filled and wiped with synchronous calls (a memory-backed directory
// of a few files: microseconds each, where the thread pool's round trips cost the launch
// milliseconds); the rest reads `fs.promises` where used, so that a launch without sealed state or
// encrypted inputs does not load it.
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  promises as fsp,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { compactDecrypt } from 'jose';
import { AttestationClient, type RetryOptions } from '../attestation-client/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import { startEnclave, type RunningEnclave } from '../sim/index.ts';
import { findExecutable, turnCoreDumpsOff, type CoreDumpsOff } from './core-limit.ts';
import { ContainerLaunchError, ContainerManifestError, ContainerSigError } from './errors.ts';
import { identityImage, measureIdentity, readAppSig, trustedFilesJson, type AppSig } from './identity.ts';
import { loadManifest, type AppManifest, type LoadedManifest } from './manifest.ts';
import { openPlatform, type LaunchPlatform, type PlatformOptions } from './platform.ts';
import type { HashHelperSetting, PrestartedHashes } from '../hash-helper/index.ts';
import { checkTrustedFiles, startTrustedFileHashes } from './trusted-files.ts';

/** Name of the sealed blob inside `sealedState.dir`. */
export const SEALED_STATE_FILE = 'state.sealed';
/** Sub-directory of the private directory holding the unsealed state. */
export const SEALED_STATE_SUBDIR = 'sealed-state';
/** Largest sealed state (bytes of file content). */
export const MAX_SEALED_STATE_BYTES = 16 * 1024 * 1024;
const STATE_FORMAT = 'ccnodes-sealed-state/1';
/**
 * First bytes of a sealed-state blob of the second format: `MAGIC ‖ u32be n ‖ sealed key (n bytes)
 * ‖ IV (12) ‖ tag (16) ‖ AES-256-GCM(archive)`, the AAD being everything before the IV. The 32-byte
 * data key is fresh for every save and sealed by the enclave (its only trip through the enclave);
 * the archive itself never crosses into the enclave, whose messages are bounded by its small heap.
 * A blob of the first format (the whole archive sealed by the enclave) starts with a KEYREQUEST
 * (first byte 0x04), never with this text.
 */
const SEALED_BLOB_MAGIC = Buffer.from('ccnodes-sealed-state/2\n', 'ascii');
/** Largest sealed data key accepted in a blob of the second format (a sealed 32-byte key is ~600). */
const MAX_SEALED_KEY_BYTES = 4096;
/**
 * Largest blob of the first format that is still read (sealed by the enclave as a whole). Such
 * blobs over ~1 MiB could never be written; bigger ones are refused before reaching the enclave.
 */
export const MAX_LEGACY_SEALED_BLOB_BYTES = 1024 * 1024;

/** Options of {@link runContainer}. */
export interface RunContainerOptions {
  readonly manifestPath: string;
  readonly sigPath: string;
  /** Overrides `attestation.url` of the manifest. */
  readonly attestationUrl?: string;
  readonly platform: PlatformOptions;
  /** Appended to the manifest's entrypoint (not measured; never put secrets here). */
  readonly extraArgs?: readonly string[];
  /** The launcher's environment: the source of `env.passThrough`. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `inherit` (default) passes the launcher's stdio through; `pipe` lets a caller read it. */
  readonly stdio?: 'inherit' | 'pipe';
  /** Forward SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 to the program (the CLI sets it). */
  readonly forwardSignals?: boolean;
  /** Progress lines (never secrets). */
  readonly log?: (line: string) => void;
  /** Where the private directory is made (default /dev/shm when present, else the temp dir). */
  readonly privateDirRoot?: string;
  readonly retry?: RetryOptions;
  readonly timeoutMs?: number;
  /** Called with the started program (e.g. to read its piped output). */
  readonly onSpawn?: (child: ChildProcess) => void;
  /**
   * `off` (default): RLIMIT_CORE 0/0 for this process (and so the program) before the enclave is
   * launched, or fail with `ERR_CONTAINER_CORE_LIMIT`; `allow`: leave the limits as they are.
   */
  readonly coreDumps?: 'off' | 'allow';
  /** The prlimit(1) command used to turn core dumps off (default `prlimit`). */
  readonly prlimit?: string;
  /**
   * The hash helper for large trusted files (src/hash-helper): a path to `openssl`,
   * or `false` to hash every file in this process. Default: `openssl` in /usr/bin or /bin, if any.
   * The outcome never depends on it: a file it does not settle is hashed in process.
   */
  readonly hashHelper?: HashHelperSetting;
  /**
   * The helper already started on app.sig's large files ({@link prestartHashes}, e.g. by the CLI
   * before it loaded this code): used if it read this `sigPath` and hashes in the manifest's
   * directory, aborted otherwise (and in any case when the launch ends).
   */
  readonly prestartedHashes?: PrestartedHashes;
  /**
   * For tests only: replaces the simulated runtime's `startEnclave` (both starts), e.g. to make the
   * launch fail or to stop the enclave while the program runs.
   */
  readonly testHooks?: { readonly startEnclave?: typeof startEnclave };
}

/** How the program ended. */
export interface RunContainerResult {
  /** The program's exit status, or 128 + signal number when a signal ended it. */
  readonly exitCode: number;
  readonly signal: string | undefined;
  readonly mrenclave: string;
  /**
   * Set when the manifest declares sealed state and it could not be saved after the program
   * (`ERR_CONTAINER_SEALED_STATE`; the blob at rest is left as it was, a clean exit became 1).
   */
  readonly sealedStateError?: ContainerLaunchError;
}

const launchError = (
  code: ConstructorParameters<typeof ContainerLaunchError>[0],
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): ContainerLaunchError => new ContainerLaunchError(code, message, { details, cause });

/** The default root of the private directory. */
export function defaultPrivateRoot(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) return '/dev/shm';
  } catch {
    // no /dev/shm: fall back to the temp dir (documented: then it is disk-backed)
  }
  return tmpdir();
}

/** 32-byte AES key from a released secret: raw 32 bytes, or 64 hex digits, or base64(url) of 32 bytes. */
function inputKey(value: Uint8Array, secret: string): Uint8Array {
  if (value.length === 32) return value;
  const text = Buffer.from(value).toString('utf8').trim();
  if (/^[0-9a-f]{64}$/i.test(text)) return new Uint8Array(Buffer.from(text, 'hex'));
  // 43 base64 digits (258 bits, the last 2 unused) always decode to 32 bytes.
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(text)) return new Uint8Array(Buffer.from(text, 'base64url'));
  throw launchError(
    'ERR_CONTAINER_INPUT',
    `secret ${secret} is not a 256-bit key (32 bytes, 64 hex digits or base64)`,
    {
      secret,
    },
  );
}

interface StateFile {
  path: string;
  mode: number;
  data: Uint8Array;
}

/**
 * The archive of the second format (binary, inside the AES-GCM of the blob): `MAGIC ‖ u32 count`,
 * then per file `u32 path length ‖ u16 mode ‖ u32 size ‖ path (UTF-8) ‖ content`, big-endian,
 * sorted by path, nothing after the last file. (The first format was JSON with base64 contents.)
 */
const ARCHIVE_MAGIC = Buffer.from('ccnodes-state-archive/2\n', 'ascii');
const ENTRY_HEAD = 10;

/** A relative path of the archive that stays inside the state directory. */
function safeStatePath(path: string): boolean {
  return !isAbsolute(path) && !path.split('/').some((s) => s === '..' || s === '' || s === '.');
}

async function packState(dir: string): Promise<Uint8Array> {
  const files: StateFile[] = [];
  let total = 0;
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fsp.readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const full = join(dir, p);
        const data = await fsp.readFile(full);
        total += data.length;
        if (total > MAX_SEALED_STATE_BYTES)
          throw launchError(
            'ERR_CONTAINER_SEALED_STATE',
            `sealed state exceeds ${MAX_SEALED_STATE_BYTES} bytes`,
          );
        files.push({ path: p, mode: (await fsp.lstat(full)).mode & 0o700, data });
      }
    }
  };
  await walk('');
  files.sort((a, b) => (a.path < b.path ? -1 : 1));
  const count = Buffer.alloc(4);
  count.writeUInt32BE(files.length);
  const parts: Uint8Array[] = [ARCHIVE_MAGIC, count];
  for (const f of files) {
    const path = Buffer.from(f.path, 'utf8');
    const head = Buffer.alloc(ENTRY_HEAD);
    head.writeUInt32BE(path.length, 0);
    head.writeUInt16BE(f.mode, 4);
    head.writeUInt32BE(f.data.length, 6);
    parts.push(head, path, f.data);
  }
  return Buffer.concat(parts);
}

/** The files of a second-format archive; throws on anything malformed. */
function unpackArchive(bytes: Buffer): StateFile[] {
  const fail = (what: string, at: number): never => {
    throw new Error(`sealed state archive: ${what} at byte ${at}`);
  };
  if (!bytes.subarray(0, ARCHIVE_MAGIC.length).equals(ARCHIVE_MAGIC)) fail('not a state archive', 0);
  let at = ARCHIVE_MAGIC.length;
  if (bytes.length < at + 4) fail('truncated file count', at);
  const count = bytes.readUInt32BE(at);
  at += 4;
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const files: StateFile[] = [];
  for (let i = 0; i < count; i++) {
    if (bytes.length < at + ENTRY_HEAD) fail(`truncated entry ${i}`, at);
    const pathLength = bytes.readUInt32BE(at);
    const mode = bytes.readUInt16BE(at + 4);
    const size = bytes.readUInt32BE(at + 6);
    const start = at + ENTRY_HEAD;
    if (bytes.length - start < pathLength + size) fail(`truncated entry ${i}`, at);
    let path = '';
    try {
      path = utf8.decode(bytes.subarray(start, start + pathLength));
    } catch {
      fail(`entry ${i}: path not UTF-8`, start);
    }
    if (!safeStatePath(path)) fail(`entry ${i}: path leaves the state directory`, start);
    files.push({
      path,
      mode: mode & 0o700,
      data: bytes.subarray(start + pathLength, start + pathLength + size),
    });
    at = start + pathLength + size;
  }
  if (at !== bytes.length) fail('bytes after the last entry', at);
  return files;
}

/** The files of a first-format archive (JSON, base64 contents). */
function unpackState(bytes: Uint8Array): StateFile[] {
  const o = JSON.parse(Buffer.from(bytes).toString('utf8')) as { format?: unknown; files?: unknown };
  if (o.format !== STATE_FORMAT || !Array.isArray(o.files)) throw new Error('not a sealed state archive');
  return (o.files as { path?: unknown; mode?: unknown; data?: unknown }[]).map((f) => {
    if (typeof f.path !== 'string' || !safeStatePath(f.path) || typeof f.data !== 'string')
      throw new Error('bad entry in the sealed state archive');
    return {
      path: f.path,
      mode: typeof f.mode === 'number' ? f.mode & 0o700 : 0o600,
      data: Buffer.from(f.data, 'base64'),
    };
  });
}

/** Seals an archive (second format): a fresh data key sealed by the enclave, the archive under it. */
async function sealState(enclave: RunningEnclave, archive: Uint8Array, policy: string): Promise<Uint8Array> {
  const key = randomBytes(32);
  try {
    const sealedKey = (await enclave.ecall('seal', new Uint8Array(key), policy)) as Uint8Array;
    const length = Buffer.alloc(4);
    length.writeUInt32BE(sealedKey.length);
    const aad = Buffer.concat([SEALED_BLOB_MAGIC, length, sealedKey]);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    const body = Buffer.concat([cipher.update(archive), cipher.final()]);
    return new Uint8Array(Buffer.concat([aad, iv, cipher.getAuthTag(), body]));
  } finally {
    key.fill(0);
  }
}

/**
 * The archive of a sealed-state blob of either format. Only the data key (second format) or a
 * first-format blob of at most {@link MAX_LEGACY_SEALED_BLOB_BYTES} is given to the enclave.
 */
async function unsealState(enclave: RunningEnclave, blob: Buffer, path: string): Promise<StateFile[]> {
  const head = SEALED_BLOB_MAGIC.length;
  if (!blob.subarray(0, head).equals(SEALED_BLOB_MAGIC)) {
    if (blob.length > MAX_LEGACY_SEALED_BLOB_BYTES)
      throw launchError(
        'ERR_CONTAINER_SEALED_STATE',
        `sealed state ${path}: ${blob.length} bytes, not of the current format (${SEALED_BLOB_MAGIC.toString('ascii').trim()}) and larger than the ${MAX_LEGACY_SEALED_BLOB_BYTES} bytes read in the first format`,
        { path, size: blob.length },
      );
    return unpackState((await enclave.ecall('unseal', new Uint8Array(blob))) as Uint8Array);
  }
  const n = blob.length >= head + 4 ? blob.readUInt32BE(head) : 0;
  if (n === 0 || n > MAX_SEALED_KEY_BYTES || blob.length < head + 4 + n + 12 + 16)
    throw new Error('malformed sealed state header');
  const aad = blob.subarray(0, head + 4 + n);
  const key = (await enclave.ecall('unseal', new Uint8Array(aad.subarray(head + 4)))) as Uint8Array;
  if (key.length !== 32) throw new Error('the sealed data key is not 32 bytes');
  const rest = blob.subarray(head + 4 + n);
  const decipher = createDecipheriv('aes-256-gcm', key, rest.subarray(0, 12));
  decipher.setAAD(aad);
  decipher.setAuthTag(rest.subarray(12, 28));
  try {
    return unpackArchive(Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]));
  } finally {
    key.fill(0);
  }
}

function writePrivate(root: string, rel: string, data: Uint8Array, mode = 0o600): void {
  const full = join(root, rel);
  mkdirSync(dirname(full), { recursive: true, mode: 0o700 });
  writeFileSync(full, data, { mode: mode | 0o400, flag: 'wx' });
}

function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(
    /\$\{(CCNODES_PRIVATE_DIR|[A-Za-z_][A-Za-z0-9_]*)\}/g,
    (m, name: string) => vars[name] ?? m,
  );
}

const showLimit = (v: number): string => (v === Infinity ? 'unlimited' : String(v));

/** A promise's value, or its rejection as an Error value (never an unhandled rejection). */
function settle<T>(p: Promise<T>): Promise<T | Error> {
  return p.catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
}

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** Release requests in flight at once for one launch. */
export const RELEASE_CONCURRENCY = 8;

/**
 * `fn` over `items`, in order, with at most `limit` calls pending at once. Returns the outcomes in
 * `items`' order up to the first rejection (calls already made run to their end; none is started
 * after a rejection, so the outcomes after it may be missing).
 */
async function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const out: PromiseSettledResult<R>[] = [];
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < items.length && !failed; i = next++) {
      try {
        out[i] = { status: 'fulfilled', value: await fn(items[i] as T) };
      } catch (reason) {
        out[i] = { status: 'rejected', reason };
        failed = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}

/**
 * The launcher's enclave runs on the launcher's own thread (`startEnclave`'s `thread: 'host'`): its
 * code is the launcher runtime that ships with ccnodes (LAUNCHER_RUNTIME, measured into every app's
 * identity), not code an app brings, so it needs no worker of its own to be stopped in; and a
 * worker's start-up (~45 ms of CPU on the bench machine, a fifth of a launch's) is saved. Its isolation is
 * the runtime's V8 context, as in a worker (docs/enclaves.md).
 */
const ENCLAVE_THREAD = 'host';

/**
 * Runs an app under attestation (see the module doc). Resolves with the program's exit status once
 * it has ended and the private directory is wiped.
 * @throws ContainerTrustedFileError, ContainerSigError, ContainerManifestError, ContainerLaunchError,
 *   and the attestation client's errors (`ERR_ATTESTATION_CLIENT_*`) — the program then never started.
 */
export async function runContainer(o: RunContainerOptions): Promise<RunContainerResult> {
  // Core dumps off first: prlimit's fork() costs the launcher in proportion to the memory it has
  // mapped then (and each page it writes afterwards faults once), so it runs before anything else.
  // Awaited before the enclave (and its key) exists; the outcome is kept as a value so that an
  // earlier failure leaves no unhandled rejection.
  const coreOff: Promise<CoreDumpsOff | undefined | Error> = settle(
    o.coreDumps === 'allow'
      ? Promise.resolve(undefined)
      : turnCoreDumpsOff(o.prlimit === undefined ? {} : { prlimit: o.prlimit }),
  );
  // Ends the hashing of app.sig's list started early, should the launch stop before it is used.
  const hashing = new AbortController();
  // The helper started before this code was loaded is ended with it, and at once if it hashes
  // another app.sig's files (startTrustedFileHashes checks the manifest's directory).
  const prestarted = o.prestartedHashes;
  if (prestarted !== undefined) {
    hashing.signal.addEventListener('abort', prestarted.abort, { once: true });
    if (prestarted.sigPath !== resolve(o.sigPath)) prestarted.abort();
  }
  try {
    return await runWithHashing(o, hashing.signal, coreOff);
  } finally {
    hashing.abort();
  }
}

async function runWithHashing(
  o: RunContainerOptions,
  hashingSignal: AbortSignal,
  coreOff: Promise<CoreDumpsOff | undefined | Error>,
): Promise<RunContainerResult> {
  const log = o.log ?? ((): void => undefined);
  // The platform and the quoting enclave's TARGETINFO (for an AESM socket: four round trips) hold
  // no secret and do not depend on the files: fetched while the files are hashed, but their errors
  // are reported only after the checks, in the order of the steps.
  const platformOpen = openPlatform(o.platform);
  const platformReady = settle(
    platformOpen.then(async (platform) => ({ platform, target: await platform.quoteTarget() })),
  );
  // app.sig is read alongside the manifest, and the files it lists start hashing at once (in 256 KiB
  // chunks between the launcher's other steps); the check below compares them with what the
  // manifest's patterns expand to. A manifest error is still reported before an app.sig error.
  const sigRead = settle(readAppSig(o.sigPath));
  const started = sigRead.then((s) =>
    s instanceof Error
      ? undefined
      : startTrustedFileHashes(
          dirname(resolve(o.manifestPath)),
          s.trustedFiles.map((f) => f.path),
          hashingSignal,
          {
            sizes: new Map(s.trustedFiles.map((f) => [f.path, f.size])),
            ...(o.hashHelper === undefined ? {} : { helper: o.hashHelper }),
            ...(o.prestartedHashes?.sigPath === resolve(o.sigPath) ? { prestarted: o.prestartedHashes } : {}),
          },
        ),
  );
  // The manifest as app.sig records it when the file's bytes are those prepare read (no YAML parse);
  // otherwise, or without a readable app.sig, parsed from the file. Either way it is validated here
  // and measured below against the SIGSTRUCT.
  const sig = await sigRead;
  const loaded = await loadManifest(
    o.manifestPath,
    sig instanceof Error || sig.manifestFile === undefined ? {} : { recorded: sig.manifestFile },
  );
  const m: AppManifest = loaded.manifest;
  if (sig instanceof Error) throw sig;
  // The enclave is started early, from the trusted-file hashes app.sig lists, so that its EINIT,
  // key and quote overlap the re-hashing. It is used only if the re-hashed files give the identity it
  // was initialised with (checked below); any failure before that terminates it. Like the enclave
  // started after the checks, it waits for core dumps to be off, and holds no secret until `init`.
  const early = settle(
    (async () => {
      const coreFailed = await coreOff;
      if (coreFailed instanceof Error) throw coreFailed;
      const platform = await platformOpen;
      return (o.testHooks?.startEnclave ?? startEnclave)({
        cpu: platform.cpu,
        image: identityImage(m, sig.trustedFiles),
        sigstruct: sig.sigstruct,
        thread: ENCLAVE_THREAD,
      });
    })(),
  );
  // The attestation client is made as soon as the manifest gives the service's URL, and fetches the
  // service's token keys (`/certs`, public) while the files are hashed, so that the token is verified
  // without waiting for them. A client that cannot be made (e.g. a bad CA) is reported where it is
  // used, after the checks, as the other steps' errors are.
  const url = o.attestationUrl ?? m.attestation.url;
  let client: AttestationClient | Error | undefined;
  if (url !== undefined) {
    try {
      client = attestationClient(o, m, url, log);
      client.prefetchCerts();
    } catch (err) {
      client = err instanceof Error ? err : new Error(String(err));
    }
  }
  // The early enclave's key pair and quote, made while the files are re-hashed: neither is a secret
  // nor leaves the launcher before the checks below pass (the quote is sent to the attestation
  // service only for an adopted enclave). Errors are kept as values and surface where the quote is used.
  const earlyQuote = settle(
    early.then(async (e) => {
      if (e instanceof Error) throw e;
      // The key pair is made while the quoting enclave's target is still being fetched.
      const key = settle(enclaveKey(e));
      const ready = await platformReady;
      if (ready instanceof Error) throw ready;
      return quoteFrom(e, ready.platform, ready.target, key);
    }),
  );
  try {
    return await launch(
      o,
      log,
      loaded,
      sig,
      (await started) ?? new Map(),
      coreOff,
      platformReady,
      early,
      earlyQuote,
      client,
    );
  } finally {
    if (client instanceof AttestationClient) void client.close();
    // Not adopted, or adopted and already terminated by `launch`: terminating twice is harmless.
    void early.then(async (e) => {
      if (!(e instanceof Error)) await e.terminate();
    });
  }
}

function attestationClient(
  o: RunContainerOptions,
  m: AppManifest,
  url: string,
  log: (line: string) => void,
): AttestationClient {
  return new AttestationClient({
    url,
    ...(m.attestation.ca === undefined ? {} : { ca: m.attestation.ca }),
    ...(m.attestation.pinnedKeys === undefined ? {} : { pinnedKeys: m.attestation.pinnedKeys }),
    ...(o.retry === undefined ? {} : { retry: o.retry }),
    ...(o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }),
    onRetry: (attempt, delay, reason) => {
      log(`attestation service: ${reason}; attempt ${attempt} in ${delay} ms`);
    },
  });
}

/** The enclave's ephemeral key (created in it by `init`), its report over that key, and the quote. */
interface EnclaveQuote {
  readonly jwk: Record<string, string>;
  readonly runtimeData: Uint8Array;
  readonly quote: Uint8Array;
}

/** Has the enclave create its ephemeral key pair (`init`); the public key as a JWK. */
async function enclaveKey(enclave: RunningEnclave): Promise<Record<string, string>> {
  return ((await enclave.ecall('init')) as { jwk: Record<string, string> }).jwk;
}

/**
 * The enclave's key (`init`, unless `key` is that call's outcome already), its report targeted at
 * the quoting enclave, and the quote.
 */
async function quoteFrom(
  enclave: RunningEnclave,
  platform: LaunchPlatform,
  target: Uint8Array,
  key?: Promise<Record<string, string> | Error>,
): Promise<EnclaveQuote> {
  const jwk = key === undefined ? await enclaveKey(enclave) : await key;
  if (jwk instanceof Error) throw jwk;
  const { report, runtimeData } = (await enclave.ecall('getReport', target)) as {
    report: Uint8Array;
    runtimeData: Uint8Array;
  };
  return { jwk, runtimeData, quote: await platform.quote(report) };
}

async function launch(
  o: RunContainerOptions,
  log: (line: string) => void,
  loaded: LoadedManifest,
  sig: AppSig,
  started: ReadonlyMap<string, Promise<{ sha256: string; size: number } | undefined>>,
  coreOff: Promise<CoreDumpsOff | undefined | Error>,
  platformReady: Promise<{ platform: LaunchPlatform; target: Uint8Array } | Error>,
  early: Promise<RunningEnclave | Error>,
  earlyQuote: Promise<EnclaveQuote | Error>,
  earlyClient: AttestationClient | Error | undefined,
): Promise<RunContainerResult> {
  const m: AppManifest = loaded.manifest;

  // 1. Trusted files, then the identity they and the manifest give.
  const hashes = await checkTrustedFiles(loaded.baseDir, m.trustedFiles, sig.trustedFiles, { started });
  log(`trusted files: ${hashes.length} unchanged`);
  // When the early enclave started, its EINIT has measured the identity of app.sig's file list and
  // found it signed: a re-hashed list with the same text measures the same, and is not measured
  // again. Otherwise (or with any difference, e.g. a list naming a path twice) it is.
  const earlyUp = await early;
  const mrenclave =
    !(earlyUp instanceof Error) &&
    Buffer.from(earlyUp.enclave.mrEnclave).toString('hex') === sig.mrenclave &&
    trustedFilesJson(hashes) === trustedFilesJson(sig.trustedFiles)
      ? sig.mrenclave
      : measureIdentity(m, hashes);
  if (mrenclave !== sig.mrenclave)
    throw new ContainerSigError(
      'ERR_CONTAINER_IDENTITY_MISMATCH',
      `the manifest ${o.manifestPath} measures to MRENCLAVE ${mrenclave}, app.sig was signed for ${sig.mrenclave}`,
      { details: { expected: sig.mrenclave, actual: mrenclave } },
    );
  if (earlyClient === undefined)
    throw new ContainerManifestError(
      'ERR_CONTAINER_MANIFEST',
      'attestation.url: no attestation service (set it or pass --attestation-url)',
      {
        details: { field: 'attestation.url' },
      },
    );

  // 2. Core dumps off, then launch and quote.
  const cores = await coreOff;
  if (cores instanceof Error) throw cores;
  log(
    cores === undefined
      ? 'core dumps: left as they are (allowed)'
      : cores.programPrefix === undefined
        ? 'core dumps: off (RLIMIT_CORE 0/0)'
        : `core dumps: off (RLIMIT_CORE 0/${showLimit(cores.limit.hard)}; the program starts under prlimit at 0/0)`,
  );
  const ready = await platformReady;
  if (ready instanceof Error) throw ready;
  const { platform, target } = ready;
  let enclave: RunningEnclave;
  try {
    // Adopted only when its measured identity is the one the re-hashed files give; otherwise (or
    // when the early start failed) the enclave is started again from the re-hashed files, so the
    // outcome is that of starting it here.
    if (!(earlyUp instanceof Error) && Buffer.from(earlyUp.enclave.mrEnclave).toString('hex') === mrenclave)
      enclave = earlyUp;
    else
      enclave = await (o.testHooks?.startEnclave ?? startEnclave)({
        cpu: platform.cpu,
        image: identityImage(m, hashes),
        sigstruct: sig.sigstruct,
        thread: ENCLAVE_THREAD,
      });
  } catch (cause) {
    throw launchError(
      'ERR_CONTAINER_LAUNCH',
      `launch refused: ${(cause as Error).message}`,
      {
        reason: (cause as { code?: string }).code,
      },
      cause,
    );
  }
  if (earlyClient instanceof Error) throw earlyClient;
  const client = earlyClient;
  let privateDir: string | undefined;
  try {
    log(`launched ${m.name} on the simulated CPU (EINIT ok), mrenclave ${mrenclave}`);
    // The adopted early enclave was quoted while the files were hashed; one started here is now.
    let quoted: EnclaveQuote | Error;
    if (enclave === earlyUp) quoted = await earlyQuote;
    else quoted = await quoteFrom(enclave, platform, target);
    if (quoted instanceof Error) throw quoted;
    const { jwk, runtimeData, quote } = quoted;
    log(`quote: ${quote.length} bytes (${platform.quoting})`);

    // 3. Attest, verify, release, open — in memory.
    const token = await client.attestSgxEnclave({ quote, runtimeData, runtimeDataType: 'JSON' });
    const verified = await client.verifyToken(token, {
      mrEnclave: sig.mrenclave,
      mrSigner: sig.mrsigner,
      runtimeKey: { x: jwk['x'] ?? '', y: jwk['y'] ?? '' },
    });
    log(`attested at ${client.baseUrl}: token verified (kid ${verified.header.kid})`);
    const names = [
      ...new Set([...m.secrets.map((s) => s.name), ...m.encryptedInputs.map((e) => e.keySecret)]),
    ];
    // The secrets are asked for together (at most RELEASE_CONCURRENCY at once: the service answers
    // them side by side), each opened inside the enclave as it arrives; the first failure in the
    // manifest's order is the one reported, as if they had been asked for one by one.
    const opened = await mapSettled(names, RELEASE_CONCURRENCY, async (name) => {
      const released = await client.releaseSecret(name, token);
      try {
        return (await enclave.ecall('openSecret', released.jwe)) as Uint8Array;
      } catch (cause) {
        throw launchError(
          'ERR_CONTAINER_ATTESTATION',
          `secret ${name}: the enclave cannot open the released value`,
          { secret: name },
          cause,
        );
      }
    });
    const values = new Map<string, Uint8Array>();
    for (const [i, name] of names.entries()) {
      const r = opened[i];
      if (r === undefined) break; // not asked for: only after a failure, which was thrown already
      if (r.status === 'rejected') throw r.reason;
      values.set(name, r.value);
    }
    if (names.length > 0) log(`released: ${names.join(', ')}`);
    const secretEnv: Record<string, string> = {};
    for (const s of m.secrets) {
      if (s.env === undefined) continue;
      const text = Buffer.from(values.get(s.name) ?? new Uint8Array(0)).toString('utf8');
      if (text.includes('\0') || Buffer.from(text, 'utf8').length !== (values.get(s.name)?.length ?? 0))
        throw launchError(
          'ERR_CONTAINER_ATTESTATION',
          `secret ${s.name} is not UTF-8 text without NUL; deliver it as a file`,
          {
            secret: s.name,
          },
        );
      secretEnv[s.env] = text;
    }
    const inputs: { file: string; data: Uint8Array }[] = [];
    for (const [i, e] of m.encryptedInputs.entries()) {
      let jwe: string;
      try {
        jwe = (await fsp.readFile(resolve(loaded.baseDir, e.path), 'utf8')).trim();
      } catch (cause) {
        throw launchError(
          'ERR_CONTAINER_INPUT',
          `encryptedInputs[${i}]: cannot read ${e.path}`,
          { path: e.path },
          cause,
        );
      }
      try {
        const { plaintext } = await compactDecrypt(
          jwe,
          inputKey(values.get(e.keySecret) ?? new Uint8Array(0), e.keySecret),
          {
            keyManagementAlgorithms: ['dir'],
            contentEncryptionAlgorithms: ['A256GCM'],
          },
        );
        inputs.push({ file: e.file, data: plaintext });
      } catch (cause) {
        if (isCcnodesError(cause)) throw cause;
        throw launchError(
          'ERR_CONTAINER_INPUT',
          `encryptedInputs[${i}]: ${e.path} does not decrypt with ${e.keySecret}`,
          { path: e.path },
          cause,
        );
      }
    }
    let state: StateFile[] = [];
    const sealedBlob =
      m.sealedState === undefined
        ? undefined
        : join(resolve(loaded.baseDir, m.sealedState.dir), SEALED_STATE_FILE);
    if (sealedBlob !== undefined && existsSync(sealedBlob)) {
      try {
        state = await unsealState(enclave, await fsp.readFile(sealedBlob), sealedBlob);
      } catch (cause) {
        if (cause instanceof ContainerLaunchError) throw cause;
        throw launchError(
          'ERR_CONTAINER_SEALED_STATE',
          `sealed state ${sealedBlob} does not unseal for this identity`,
          { path: sealedBlob },
          cause,
        );
      }
      log(`sealed state: ${state.length} files unsealed`);
    }

    // Past this point the attestation service is not called again, and the enclave is needed only to
    // seal the state back after the program: without sealed state both are let go now (the
    // enclave's keys with it), before the program starts.
    if (m.sealedState === undefined) void settle(Promise.all([enclave.terminate(), client.close()]));

    // 4. Private directory, then the program.
    try {
      privateDir = mkdtempSync(join(o.privateDirRoot ?? defaultPrivateRoot(), 'ccnodes-cc-'));
      chmodSync(privateDir, 0o700);
      for (const s of m.secrets)
        if (s.file !== undefined) writePrivate(privateDir, s.file, values.get(s.name) ?? new Uint8Array(0));
      for (const f of inputs) writePrivate(privateDir, f.file, f.data);
      if (m.sealedState !== undefined) {
        mkdirSync(join(privateDir, SEALED_STATE_SUBDIR), { mode: 0o700 });
        for (const f of state)
          writePrivate(join(privateDir, SEALED_STATE_SUBDIR), f.path, f.data, f.mode | 0o600);
      }
    } catch (cause) {
      throw launchError(
        'ERR_CONTAINER_PRIVATE_DIR',
        `cannot prepare the private directory: ${(cause as Error).message}`,
        {},
        cause,
      );
    }
    log(`private directory ${privateDir} (0700)`);
    const vars: Record<string, string> = { CCNODES_PRIVATE_DIR: privateDir };
    if (m.sealedState !== undefined) vars[m.sealedState.env] = join(privateDir, SEALED_STATE_SUBDIR);
    // `${NAME}` in argv, env.set and workingDir expands from the program's non-secret environment
    // (passed-through and set variables, the private and sealed-state paths), never from secrets.
    const plain: Record<string, string> = {};
    for (const n of m.env.passThrough) {
      const v = o.env[n];
      if (v !== undefined) plain[n] = v;
    }
    Object.assign(plain, vars);
    for (const [k, v] of Object.entries(m.env.set)) plain[k] = substitute(v, { ...plain, ...vars });
    const env: Record<string, string> = { ...plain, ...vars, ...secretEnv };
    const argv = [...m.entrypoint, ...(o.extraArgs ?? [])].map((a) => substitute(a, plain));
    const cwd = resolve(loaded.baseDir, substitute(m.workingDir, plain));
    const result = await spawnProgram(argv, cwd, env, o, log, cores?.programPrefix);

    // 5. Seal the state back.
    let exitCode = result.exitCode;
    let sealedStateError: ContainerLaunchError | undefined;
    if (sealedBlob !== undefined && m.sealedState !== undefined) {
      try {
        const packed = await packState(join(privateDir, SEALED_STATE_SUBDIR));
        let blob: Uint8Array;
        try {
          blob = await sealState(enclave, packed, m.sealedState.policy.toLowerCase());
        } catch (cause) {
          throw launchError(
            'ERR_CONTAINER_SEALED_STATE',
            `the enclave cannot seal the state: ${(cause as Error).message}`,
            { path: sealedBlob, reason: (cause as { code?: string }).code },
            cause,
          );
        }
        await fsp.mkdir(dirname(sealedBlob), { recursive: true, mode: 0o700 });
        const tmp = `${sealedBlob}.${process.pid}.tmp`;
        await fsp.writeFile(tmp, blob, { mode: 0o600 });
        await fsp.rename(tmp, sealedBlob);
        log(`sealed state saved (${m.sealedState.policy})`);
      } catch (err) {
        sealedStateError =
          err instanceof ContainerLaunchError
            ? err
            : launchError(
                'ERR_CONTAINER_SEALED_STATE',
                `cannot write the sealed state ${sealedBlob}: ${(err as Error).message}`,
                { path: sealedBlob },
                err,
              );
        log(`sealed state NOT saved: ${sealedStateError.message}`);
        if (exitCode === 0) exitCode = 1;
      }
    }
    return {
      exitCode,
      signal: result.signal,
      mrenclave,
      ...(sealedStateError === undefined ? {} : { sealedStateError }),
    };
  } finally {
    const ended = Promise.all([enclave.terminate(), client.close()]);
    try {
      if (privateDir !== undefined) rmSync(privateDir, { recursive: true, force: true });
    } finally {
      await ended;
    }
  }
}

async function spawnProgram(
  argv: readonly string[],
  cwd: string,
  env: Record<string, string>,
  o: RunContainerOptions,
  log: (line: string) => void,
  prefix: readonly string[] | undefined,
): Promise<{ exitCode: number; signal: string | undefined }> {
  const [cmd = '', ...args] = argv;
  log(`starting ${cmd}`);
  // Through prlimit (see core-limit.ts), the program is looked up here first, as execvp(3) in the
  // child will (its PATH, its working directory): one not found is the same ERR_CONTAINER_SPAWN as
  // without prlimit, instead of prlimit's exit status 127.
  if (prefix !== undefined) {
    const found = findExecutable(cmd, env['PATH'] ?? '/usr/bin:/bin', cwd);
    if ('error' in found)
      throw launchError('ERR_CONTAINER_SPAWN', `cannot start ${cmd}: ${found.error}`, { program: cmd });
  }
  const [command = cmd, ...before] = prefix ?? [];
  const child = spawn(command, prefix === undefined ? args : [...before, cmd, ...args], {
    cwd,
    env,
    stdio: o.stdio ?? 'inherit',
  });
  const forward = (sig: NodeJS.Signals) => (): void => {
    child.kill(sig);
  };
  const handlers = o.forwardSignals === true ? FORWARDED.map((s) => [s, forward(s)] as const) : [];
  for (const [s, h] of handlers) process.on(s, h);
  o.onSpawn?.(child);
  try {
    return await new Promise((resolveExit, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        reject(
          launchError(
            'ERR_CONTAINER_SPAWN',
            `cannot start ${cmd}: ${err.code ?? err.message}`,
            { program: cmd },
            err,
          ),
        );
      });
      child.once('close', (code, signal) => {
        const exitCode = code ?? 128 + (signal === null ? 0 : osConstants.signals[signal]);
        log(`program exited: ${signal === null ? `status ${code ?? '?'}` : `signal ${signal}`}`);
        resolveExit({ exitCode, signal: signal ?? undefined });
      });
    });
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}
