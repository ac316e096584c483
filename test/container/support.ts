/**
 * Test support for confidential containers: copies of the examples in a temp dir, prepared with
 * one signing key per test file, run by the launcher against a real attestation service
 * (test/attestation/support.ts) whose simulated DCAP deployment is the launcher's in-process
 * platform (same seed).
 */
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import {
  encodeAppSig,
  loadManifest,
  prepareApp,
  runContainer,
  type AppSig,
  type RunContainerOptions,
  type RunContainerResult,
} from '../../src/container/index.ts';
import { generateEnclaveSigningKey } from '../../src/sim/index.ts';

/** The seed of test/attestation/support.ts's simulated DCAP deployment (what the service trusts). */
export const SIM_SEED = 'ccnodes-attestation-test-support';

export const EXAMPLES = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'examples',
  'confidential-containers',
);

let key: string | undefined;
/** One RSA-3072 e=3 signing key per test process. */
export function signingKey(): string {
  key ??= generateEnclaveSigningKey().privateKeyPem;
  return key;
}

/** A scratch directory removed by {@link Scratch.close}. */
export interface Scratch {
  readonly dir: string;
  /** Private-directory root given to the launcher: must be empty after every run. */
  readonly privateRoot: string;
  close(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'ccnodes-cc-test-'));
  const privateRoot = join(dir, 'private-root');
  await cp(EXAMPLES, join(dir, 'examples'), { recursive: true });
  const { mkdir } = await import('node:fs/promises');
  await mkdir(privateRoot, { mode: 0o700 });
  return { dir, privateRoot, close: () => rm(dir, { recursive: true, force: true }) };
}

/** Prepares `<dir>/examples/<name>/app.yaml` into `<dir>/<name>.sig`; returns the sig and paths. */
export async function prepareExample(
  s: Scratch,
  name: string,
  signer: string = signingKey(),
  sigName: string = name,
): Promise<{ sig: AppSig; manifest: string; sigPath: string; appDir: string }> {
  const appDir = join(s.dir, 'examples', name);
  const manifest = join(appDir, 'app.yaml');
  const { sig } = await prepareApp(await loadManifest(manifest), signer);
  const sigPath = join(s.dir, `${sigName}.sig`);
  await writeFile(sigPath, encodeAppSig(sig));
  return { sig, manifest, sigPath, appDir };
}

/** A release policy pinning `mrenclave` at the service `authority`. */
export function policyFor(authority: string, mrenclave: string): unknown {
  return {
    version: '1.0.0',
    anyOf: [{ authority, allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: mrenclave }] }],
  };
}

/** What a run showed: its result or error, the launcher's log and the program's output, in order. */
export interface RunRecord {
  readonly result?: RunContainerResult;
  readonly error?: { code: string; message: string; details: Record<string, unknown> };
  /** Launcher log lines and `program: <line>` lines of the program's stderr, in arrival order. */
  readonly events: string[];
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs with the in-process platform of {@link SIM_SEED}, program output piped, few fast retries. */
export async function run(
  s: Scratch,
  o: Omit<RunContainerOptions, 'platform' | 'env'> & {
    env?: Record<string, string>;
    platform?: RunContainerOptions['platform'];
  },
): Promise<RunRecord> {
  const events: string[] = [];
  let stdout = '';
  let stderr = '';
  let result: RunContainerResult | undefined;
  let error: RunRecord['error'];
  try {
    result = await runContainer({
      privateDirRoot: s.privateRoot,
      retry: { attempts: 2, baseDelayMs: 10 },
      ...o,
      platform: o.platform ?? { simSeed: SIM_SEED },
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...(o.env ?? {}) },
      stdio: 'pipe',
      log: (line) => {
        events.push(line);
      },
      onSpawn: (child: ChildProcess) => {
        events.push('spawned');
        child.stdout?.on('data', (b: Buffer) => {
          stdout += b.toString();
        });
        child.stderr?.on('data', (b: Buffer) => {
          stderr += b.toString();
          for (const l of b.toString().split('\n')) if (l !== '') events.push(`program: ${l}`);
        });
        o.onSpawn?.(child);
      },
    });
  } catch (err) {
    const e = err as { code?: string; message?: string; details?: Record<string, unknown> };
    if (typeof e.code !== 'string') throw err;
    error = { code: e.code, message: e.message ?? '', details: e.details ?? {} };
  }
  return {
    ...(result === undefined ? {} : { result }),
    ...(error === undefined ? {} : { error }),
    events,
    stdout,
    stderr,
  };
}

/** Entries left in the private-directory root (must be none after a run). */
export async function leftovers(s: Scratch): Promise<string[]> {
  return readdir(s.privateRoot);
}
