/** Implementation of `container.ts`'s commands, loaded only when one of them runs. */
import { readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import {
  checkTrustedFiles,
  ContainerManifestError,
  ContainerSigError,
  ContainerTrustedFileError,
  DEFAULT_AESM_SOCKET,
  encodeAppSig,
  gramineManifest,
  loadManifest,
  measureIdentity,
  prepareApp,
  readAppSig,
  releasePolicyFor,
  runContainer,
  defaultHashHelper,
  hashHelperMode,
  type AppSig,
  type LoadedManifest,
  type PrestartedHashes,
} from '../container/index.ts';
import { isCcnodesError, type CcnodesError } from '../errors/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { defaultSimDataDir } from './sim-data-dir.ts';

interface JsonFlag {
  json?: boolean;
}
export interface PrepareFlags extends JsonFlag {
  key: string;
  output: string;
}
export type InspectFlags = JsonFlag;
export type VerifyFlags = JsonFlag;
export interface RunFlags extends JsonFlag {
  sig: string;
  attestationUrl?: string;
  aesmSocket?: string;
  dataDir?: string;
  simSeed?: string;
  simPlatform?: string;
  retries: string;
  quiet?: boolean;
  allowCoreDumps?: boolean;
  hashHelper?: string;
}
export interface GramineFlags {
  output?: string;
  libosEntrypoint?: string;
}

const emitJson = (ctx: CliContext, value: unknown): void => {
  ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
};

/** Bad input (manifest, unreadable trusted file, signing key): exit 2. */
function isInputError(err: unknown): err is CcnodesError {
  return (
    err instanceof ContainerManifestError ||
    (err instanceof ContainerTrustedFileError && err.code === 'ERR_CONTAINER_TRUSTED_FILE') ||
    (err instanceof ContainerSigError && err.code === 'ERR_CONTAINER_SIGNING_KEY')
  );
}

/** Reports a typed failure: exit 2 for bad input, 1 for a failed check; JSON with --json. */
function failure(ctx: CliContext, flags: JsonFlag, what: string, err: unknown): void {
  if (!isCcnodesError(err)) throw err;
  if (flags.json === true) emitJson(ctx, { ok: false, error: err.toJSON() });
  ctx.stderr(`ccnodes container ${what}: ${err.message} (${err.code})\n`);
  ctx.exitCode = isInputError(err) ? EXIT.USAGE : EXIT.CHECK_FAILED;
}

const abs = (ctx: CliContext, p: string): string => (isAbsolute(p) ? p : resolve(ctx.cwd, p));

function identityRows(sig: AppSig): [string, string][] {
  return [
    ['name', sig.name],
    ['mrenclave', sig.mrenclave],
    ['mrsigner', sig.mrsigner],
    ['isvprodid', String(sig.isvProdId)],
    ['isvsvn', String(sig.isvSvn)],
    ['manifest sha256', sig.manifestSha256],
    ['runtime', sig.runtime],
    ['trusted files', String(sig.trustedFiles.length)],
    [
      'manifest file',
      sig.manifestFile === undefined
        ? 'not recorded (parsed at every start)'
        : `sha256 ${sig.manifestFile.sha256} (recorded: not parsed while unchanged)`,
    ],
  ];
}

/**
 * How the manifest file compares with app.sig's record of it: the launcher uses the record
 * (`as-recorded`) or parses the file (`changed`, `not-recorded`).
 */
function manifestFileState(sig: AppSig, loaded: LoadedManifest): 'as-recorded' | 'changed' | 'not-recorded' {
  if (sig.manifestFile === undefined) return 'not-recorded';
  return sig.manifestFile.sha256 === loaded.file?.sha256 ? 'as-recorded' : 'changed';
}

function table(rows: readonly (readonly [string, string])[]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}

/** `container prepare`. */
export async function prepareCommand(ctx: CliContext, path: string, flags: PrepareFlags): Promise<void> {
  let key: string;
  try {
    key = await readFile(abs(ctx, flags.key), 'utf8');
  } catch (cause) {
    throw new IoError(`cannot read --key ${flags.key}: ${(cause as Error).message}`, {
      details: { path: flags.key },
      cause,
    });
  }
  let prepared;
  let url: string | undefined;
  try {
    const loaded = await loadManifest(abs(ctx, path));
    url = loaded.manifest.attestation.url;
    prepared = await prepareApp(loaded, key);
  } catch (err) {
    failure(ctx, flags, 'prepare', err);
    return;
  }
  const { sig } = prepared;
  try {
    await writeFile(abs(ctx, flags.output), encodeAppSig(sig));
  } catch (cause) {
    throw new IoError(`cannot write ${flags.output}: ${(cause as Error).message}`, {
      details: { path: flags.output },
      cause,
    });
  }
  const releasePolicy = releasePolicyFor(sig, url?.replace(/\/+$/, ''));
  if (flags.json === true) {
    emitJson(ctx, {
      ok: true,
      sig: flags.output,
      name: sig.name,
      mrenclave: sig.mrenclave,
      mrsigner: sig.mrsigner,
      isvProdId: sig.isvProdId,
      isvSvn: sig.isvSvn,
      manifestSha256: sig.manifestSha256,
      trustedFiles: sig.trustedFiles,
      releasePolicy,
    });
    return;
  }
  ctx.stdout(table(identityRows(sig)));
  ctx.stdout(
    `wrote ${flags.output}\nrelease policy for this app's secrets (PUT /ccnodes/v1/secrets/{name}):\n${JSON.stringify(releasePolicy, null, 2)}\n`,
  );
}

/** `container inspect`. */
export async function inspectCommand(ctx: CliContext, path: string, flags: InspectFlags): Promise<void> {
  let sig: AppSig;
  try {
    sig = await readAppSig(abs(ctx, path));
  } catch (err) {
    failure(ctx, flags, 'inspect', err);
    return;
  }
  if (flags.json === true) {
    emitJson(ctx, {
      ok: true,
      name: sig.name,
      mrenclave: sig.mrenclave,
      mrsigner: sig.mrsigner,
      isvProdId: sig.isvProdId,
      isvSvn: sig.isvSvn,
      manifestSha256: sig.manifestSha256,
      runtime: sig.runtime,
      trustedFiles: sig.trustedFiles,
      manifestFile: sig.manifestFile === undefined ? null : { sha256: sig.manifestFile.sha256 },
      signature: 'verified',
    });
    return;
  }
  ctx.stdout(table([...identityRows(sig), ['signature', 'verified (RSA-3072, e = 3)']]));
  for (const f of sig.trustedFiles)
    ctx.stdout(`  ${f.sha256}  ${f.size.toString().padStart(10)}  ${f.path}\n`);
}

/** `container verify`. */
export async function verifyCommand(
  ctx: CliContext,
  manifest: string,
  sigPath: string,
  flags: VerifyFlags,
): Promise<void> {
  try {
    const loaded = await loadManifest(abs(ctx, manifest));
    const sig = await readAppSig(abs(ctx, sigPath));
    const hashes = await checkTrustedFiles(loaded.baseDir, loaded.manifest.trustedFiles, sig.trustedFiles);
    const mrenclave = measureIdentity(loaded.manifest, hashes);
    if (mrenclave !== sig.mrenclave)
      throw new ContainerSigError(
        'ERR_CONTAINER_IDENTITY_MISMATCH',
        `${manifest} measures to MRENCLAVE ${mrenclave}, ${sigPath} was signed for ${sig.mrenclave}`,
        {
          details: { expected: sig.mrenclave, actual: mrenclave },
        },
      );
    const manifestFile = manifestFileState(sig, loaded);
    if (flags.json === true)
      emitJson(ctx, { ok: true, mrenclave, trustedFiles: hashes.length, manifestFile });
    else
      ctx.stdout(
        `verified: ${hashes.length} trusted files unchanged, mrenclave ${mrenclave}\n` +
          (manifestFile === 'as-recorded'
            ? ''
            : `note: ${
                manifestFile === 'changed'
                  ? `${manifest} is not the file prepare read (the same identity)`
                  : `${sigPath} does not record the manifest file`
              }: container run parses it at every start; run prepare again to record it\n`),
      );
  } catch (err) {
    failure(ctx, flags, 'verify', err);
  }
}

/** `container run`. */
export async function runCommand(
  ctx: CliContext,
  manifest: string,
  args: string[],
  flags: RunFlags,
  prestarted?: PrestartedHashes,
): Promise<void> {
  const retries = Number(flags.retries);
  if (!Number.isInteger(retries) || retries < 1 || retries > 10)
    throw new UsageError(`--retries: an integer in 1..10, got ${flags.retries}`, { option: '--retries' });
  const helperMode = hashHelperMode(flags.hashHelper, ctx.env);
  if ('error' in helperMode) throw new UsageError(helperMode.error, { option: helperMode.option });
  let aesmSocket = flags.aesmSocket === undefined ? undefined : abs(ctx, flags.aesmSocket);
  // SGX_AESM_ADDR (any value) is how an app on an SGX node asks for out-of-process quoting.
  if (aesmSocket === undefined && ctx.env.SGX_AESM_ADDR !== undefined && ctx.env.SGX_AESM_ADDR !== '')
    aesmSocket = DEFAULT_AESM_SOCKET;
  let platform: { simSeed: string } | { dataDir: string };
  if (flags.simSeed !== undefined) {
    if (flags.simSeed === '') throw new UsageError('--sim-seed: must not be empty', { option: '--sim-seed' });
    platform = { simSeed: flags.simSeed };
  } else {
    const dir = flags.dataDir ?? defaultSimDataDir(ctx.env);
    if (dir === undefined)
      throw new UsageError('no --data-dir or --sim-seed, and neither CCNODES_DATA_DIR nor HOME is set', {
        option: '--data-dir',
      });
    platform = { dataDir: abs(ctx, dir) };
  }
  const log =
    flags.quiet === true
      ? undefined
      : (line: string): void => {
          ctx.stderr(`ccnodes container: ${line}\n`);
        };
  let result;
  // Whatever the outcome, nothing is left to do once runContainer returns.
  ctx.exitWhenDone?.();
  try {
    result = await runContainer({
      manifestPath: abs(ctx, manifest),
      sigPath: abs(ctx, flags.sig),
      ...(flags.attestationUrl === undefined ? {} : { attestationUrl: flags.attestationUrl }),
      platform: {
        ...platform,
        ...(aesmSocket === undefined ? {} : { aesmSocket }),
        ...(flags.simPlatform === undefined ? {} : { simPlatform: flags.simPlatform }),
      },
      extraArgs: args,
      env: ctx.env,
      forwardSignals: true,
      hashHelper: helperMode.mode === 'off' ? false : defaultHashHelper({}),
      ...(prestarted === undefined ? {} : { prestartedHashes: prestarted }),
      retry: { attempts: retries },
      ...(flags.allowCoreDumps === true ? { coreDumps: 'allow' as const } : {}),
      ...(log === undefined ? {} : { log }),
    });
  } catch (err) {
    failure(ctx, flags, 'run', err);
    if (isCcnodesError(err)) ctx.stderr('ccnodes container: the program was not started\n');
    return;
  }
  // The program ran, but its sealed state was not saved: say so with the stable code (also under
  // --quiet; the progress line above has no code). stdout stays the program's own.
  const sealed = result.sealedStateError;
  if (sealed !== undefined) ctx.stderr(`ccnodes container: ${sealed.code}: ${sealed.message}\n`);
  ctx.exitCode = result.exitCode;
}

/** `container gramine-manifest`. */
export async function gramineCommand(ctx: CliContext, path: string, flags: GramineFlags): Promise<void> {
  let text: string;
  try {
    const loaded = await loadManifest(abs(ctx, path));
    text = await gramineManifest(
      loaded,
      flags.libosEntrypoint === undefined ? {} : { libosEntrypoint: flags.libosEntrypoint },
    );
  } catch (err) {
    failure(ctx, {}, 'gramine-manifest', err);
    return;
  }
  if (flags.output === undefined) ctx.stdout(text);
  else {
    try {
      await writeFile(abs(ctx, flags.output), text);
    } catch (cause) {
      throw new IoError(`cannot write ${flags.output}: ${(cause as Error).message}`, {
        details: { path: flags.output },
        cause,
      });
    }
  }
}
