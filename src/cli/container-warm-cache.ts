/**
 * `ccnodes container warm-cache`: one simulated launch through this CLI's own `container run`, in
 * a child process, so that the precompiled CLI writes the V8 code cache of its standalone
 * `container run` file (`dist/container-run-fast.cjs.v8cache`, src/cli/code-cache.ts) with the
 * Node binary that runs it. For images: a pod's launcher starts from a fresh copy of the image's
 * files, so it has a code cache only if the image was built with one (docs/confidential-containers.md).
 *
 * The launch is a real one against the demo's services (simulated PCS, attestation service and
 * the quote helper on its AESM socket, all in this process): a small app whose program is this
 * Node binary, a YAML manifest, one trusted file and one secret. It quotes through the AESM socket, as a pod on a
 * ccnodes node does, and leaves core dumps as they are (`--allow-core-dumps`: an image may have no
 * prlimit). Everything it makes is in a temporary directory, removed at the end.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import {
  ContainerLaunchError,
  encodeAppSig,
  loadManifest,
  prepareApp,
  releasePolicyFor,
} from '../container/index.ts';
import { generateEnclaveSigningKey } from '../sim/index.ts';
import { runChild } from './child-process.ts';
import type { CliContext, SelfCommand } from './context.ts';
import { startDemoStack } from './demo-stack.ts';
import { putStackSecret } from './stack-secret.ts';
import { UsageError } from './errors.ts';

export interface WarmCacheFlags {
  json?: boolean;
}

/** The standalone file whose cache is warmed, and its cache. */
const STANDALONE = 'container-run-fast.cjs';

/** Longest the warm-up launch may take. */
const LAUNCH_TIMEOUT_MS = 60_000;

/**
 * The directory of the precompiled CLI that `self` runs: its entry's directory when that is
 * `dist/ccnodes.js` or `dist/ccnodes.cjs`, or `../dist` from the package's `bin/ccnodes.js`.
 * @throws UsageError when `self` runs the TypeScript sources (a checkout), which have no cache.
 */
export function precompiledDir(self: SelfCommand): string {
  const entry = self.args.at(-1) ?? '';
  const dir = dirname(entry);
  if (basename(entry) === 'ccnodes.js' && basename(dir) === 'bin') {
    if (existsSync(join(dir, '..', 'src', 'bin', 'ccnodes.ts')))
      throw new UsageError(
        'container warm-cache: this ccnodes runs from the TypeScript sources (a checkout), which have no code cache; build the CLI (npm run build) and run dist/ccnodes.js',
      );
    return join(dir, '..', 'dist');
  }
  return dir;
}

/** `container warm-cache`. */
export async function warmCacheCommand(ctx: CliContext, flags: WarmCacheFlags): Promise<void> {
  const self = ctx.self;
  if (self === undefined)
    throw new UsageError(
      'container warm-cache runs as the ccnodes executable (it starts container run in a child process)',
    );
  const dist = precompiledDir(self);
  const file = join(dist, STANDALONE);
  if (!existsSync(file))
    throw new UsageError(`container warm-cache: no ${STANDALONE} in ${dist} (is this the precompiled CLI?)`, {
      path: file,
    });
  const cacheFile = `${file}.v8cache`;
  const before = await stat(cacheFile).catch(() => undefined);
  const progress = (line: string): void => {
    if (flags.json !== true) ctx.stderr(`ccnodes container warm-cache: ${line}\n`);
  };

  const dir = await mkdtemp(join(tmpdir(), 'ccnodes-warm-cache-'));
  try {
    progress('starting the simulated services');
    let stack: Awaited<ReturnType<typeof startDemoStack>>;
    try {
      stack = await startDemoStack();
    } catch (cause) {
      throw new ContainerLaunchError(
        'ERR_CONTAINER_WARM_CACHE',
        `the simulated services did not start: ${(cause as Error).message}`,
        { details: { step: 'services' }, cause },
      );
    }
    try {
      // A small app: one 1 MiB trusted file (the hashing runs as in any launch) and one secret.
      const app = join(dir, 'app');
      await mkdir(app, { recursive: true });
      await writeFile(join(app, 'data.bin'), Buffer.alloc(1024 * 1024, 0x5a));
      // YAML, as most manifests are: the parser's code is then in the cache too.
      const manifest = join(app, 'app.yaml');
      await writeFile(
        manifest,
        [
          'name: warm-cache',
          'entrypoint:',
          `  - ${JSON.stringify(process.execPath)}`,
          '  - -e',
          `  - "process.exit(process.env.WARM_SECRET === 'warm-cache' ? 0 : 3)"`,
          'trustedFiles: [data.bin]',
          'secrets:',
          '  - name: warm-cache',
          '    env: WARM_SECRET',
          'attestation:',
          `  url: ${JSON.stringify(stack.attestationUrl)}`,
          '',
        ].join('\n'),
      );
      progress('preparing a small app');
      const { sig } = await prepareApp(
        await loadManifest(manifest),
        generateEnclaveSigningKey().privateKeyPem,
      );
      const sigPath = join(dir, 'app.sig');
      await writeFile(sigPath, encodeAppSig(sig));
      const status = await putStackSecret(
        stack,
        'warm-cache',
        'warm-cache',
        'text/plain',
        releasePolicyFor(sig, stack.attestation.issuer),
      );
      if (status < 200 || status > 299)
        throw new ContainerLaunchError(
          'ERR_CONTAINER_WARM_CACHE',
          `storing the warm-up secret: HTTP ${status}`,
          {
            details: { step: 'secret' },
          },
        );

      progress(`running container run once through ${self.args.at(-1) ?? self.command}`);
      const r = await runChild(
        self.command,
        [
          ...self.args,
          'container',
          'run',
          manifest,
          '--sig',
          sigPath,
          '--sim-seed',
          stack.seed,
          '--aesm-socket',
          stack.aesmSocket,
          '--allow-core-dumps',
          '--quiet',
        ],
        {
          env: { PATH: ctx.env.PATH ?? '/usr/bin:/bin' },
          timeoutMs: LAUNCH_TIMEOUT_MS,
          outputCap: 64 * 1024,
        },
      ).catch((cause: unknown) => {
        throw new ContainerLaunchError(
          'ERR_CONTAINER_WARM_CACHE',
          `the warm-up launch could not be started: ${(cause as Error).message}`,
          { details: { step: 'launch' }, cause },
        );
      });
      if (r.code !== 0)
        throw new ContainerLaunchError(
          'ERR_CONTAINER_WARM_CACHE',
          `the warm-up launch failed (${r.timedOut ? `no end within ${LAUNCH_TIMEOUT_MS / 1000} s` : r.signal === null ? `exit ${String(r.code)}` : `signal ${r.signal}`}): ${`${r.stdout}\n${r.stderr}`.trim().split('\n').slice(-3).join(' | ')}`,
          { details: { step: 'launch', exitCode: r.code, signal: r.signal } },
        );
    } finally {
      await stack.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const after = await stat(cacheFile).catch(() => undefined);
  if (after === undefined)
    throw new ContainerLaunchError(
      'ERR_CONTAINER_WARM_CACHE',
      `the warm-up launch ran but no code cache was written in ${dist} (is the directory writable?)`,
      { details: { step: 'cache', path: cacheFile } },
    );
  const written = before === undefined || after.mtimeMs !== before.mtimeMs || after.size !== before.size;
  if (flags.json === true)
    ctx.stdout(`${JSON.stringify({ ok: true, cache: cacheFile, bytes: after.size, written }, null, 2)}\n`);
  else
    ctx.stdout(
      written
        ? `code cache written: ${cacheFile} (${Math.round(after.size / 1024)} KiB)\n`
        : `code cache already current: ${cacheFile} (${Math.round(after.size / 1024)} KiB)\n`,
    );
}
