/**
 * What `npm install ccnodes` gives a user: the package is packed (`npm pack`) from a staged copy of
 * what the `prepack` script builds (precompiled JavaScript plus declarations, scripts/build.ts),
 * installed into a fresh project, and used there as a user would — every entry point imported as
 * ESM and type-checked with TypeScript against the installed declarations, the installed `ccnodes`
 * executable run without tsx, an enclave launched and a real quote verified through the package API.
 *
 * Slow (a build, `tsc` twice and an `npm install`, about a minute on a quiet machine), so it is one
 * file that does each step once; `npm install --prefer-offline` uses npm's cache, and the registry
 * only for what the cache lacks.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildCli, buildDeclarations, LIBRARY_ENTRIES } from '../../scripts/build.ts';
import { REPO_ROOT, TESTDATA_PRESENT, testdataPath } from '../support/testdata.ts';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const TSC = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const STEP_TIMEOUT = 10 * 60_000;

/** What package.json `files` ships besides the build (copied into the stage as the checkout has them). */
const STAGED = ['package.json', 'README.md', 'bin', 'proto', join('examples', 'hello-enclave')];

interface Packed {
  readonly root: string;
  readonly tarball: string;
  readonly contents: readonly string[];
  readonly project: string;
  readonly installed: string;
}

async function exec(
  cmd: string,
  args: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, [...args], { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: STEP_TIMEOUT });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** Stages the package as `prepack` leaves the checkout, packs it, installs it into a new project. */
async function packAndInstall(): Promise<Packed> {
  const root = mkdtempSync(join(tmpdir(), 'ccnodes-pack-'));
  const stage = join(root, 'stage');
  for (const p of STAGED) cpSync(join(REPO_ROOT, p), join(stage, p), { recursive: true });
  // The build the prepack script makes (dist/ with the JS and dist/types), written into the stage
  // with the checkout's source-relative URLs (urlBase) so that proto/… resolves as it does there.
  await buildCli({ outdir: join(stage, 'dist'), urlBase: join(REPO_ROOT, 'dist'), sourcemap: false });
  buildDeclarations(join(stage, 'dist'));
  const { stdout } = await exec(
    NPM,
    ['pack', '--json', '--ignore-scripts', '--pack-destination', root],
    stage,
  );
  const info = (JSON.parse(stdout) as { filename: string; files: { path: string }[] }[])[0];
  assert.ok(info !== undefined, stdout);
  const tarball = join(root, info.filename);
  const project = join(root, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'ccnodes-consumer', private: true, type: 'module' }),
  );
  // --ignore-scripts: no native add-on builds (better-sqlite3 is not needed by what this test runs).
  await exec(
    NPM,
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      '--loglevel=error',
      tarball,
    ],
    project,
  );
  return {
    root,
    tarball,
    contents: info.files.map((f) => f.path),
    project,
    installed: join(project, 'node_modules', 'ccnodes'),
  };
}

describe('the packed package, installed into a fresh project', { timeout: 3 * STEP_TIMEOUT }, () => {
  let packed: Packed | undefined;
  const got = (): Packed => {
    assert.ok(packed !== undefined, 'the package was not packed and installed');
    return packed;
  };

  before(async () => {
    packed = await packAndInstall();
  });

  after(() => {
    if (packed !== undefined) rmSync(packed.root, { recursive: true, force: true });
  });

  test('package.json: an export with types and JS for every entry point, and prepack builds them', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
      scripts: Record<string, string>;
      bin: Record<string, string>;
    };
    for (const name of LIBRARY_ENTRIES) {
      assert.deepEqual(pkg.exports[`./${name}`], {
        types: `./dist/types/lib/${name}.d.ts`,
        default: `./dist/lib/${name}.js`,
      });
    }
    assert.equal(pkg.bin['ccnodes'], 'bin/ccnodes.js');
    // Build progress goes to stderr, so that `npm pack --json` stays one JSON document on stdout.
    assert.equal(pkg.scripts['prepack'], 'npm run -s build:package 1>&2');
    assert.match(pkg.scripts['build:package'] ?? '', /scripts\/build\.ts --types$/);
  });

  test('the tarball has the precompiled build, declarations and run-time files, and no sources', () => {
    const files = new Set(got().contents);
    for (const name of LIBRARY_ENTRIES) {
      assert.ok(files.has(`dist/lib/${name}.js`), name);
      assert.ok(files.has(`dist/types/lib/${name}.d.ts`), name);
    }
    for (const f of [
      'bin/ccnodes.js',
      'dist/ccnodes.js',
      'dist/ccnodes.cjs',
      'dist/container-run-fast.cjs',
      'dist/quote-verify-fast.cjs',
      'dist/policy-worker.js',
      'dist/package.json',
      'proto/aesm/aesm.proto',
      'examples/hello-enclave/enclave.yaml',
      'package.json',
    ]) {
      assert.ok(files.has(f), f);
    }
    const unwanted = got().contents.filter(
      (f) =>
        f.startsWith('src/') ||
        f.startsWith('test/') ||
        f.startsWith('scripts/') ||
        f.endsWith('.map') ||
        f.endsWith('.v8cache'),
    );
    assert.deepEqual(unwanted, []);
    // Declarations name their siblings with .js specifiers (what a consumer's resolver looks for).
    const dts = readFileSync(join(got().installed, 'dist', 'types', 'lib', 'verify.d.ts'), 'utf8');
    assert.doesNotMatch(dts, /from '\.[^']*\.ts'/);
  });

  test('every entry point imports as ESM with its documented functions', async () => {
    const script = join(got().project, 'imports.mjs');
    writeFileSync(
      script,
      [
        'const out = {};',
        ...LIBRARY_ENTRIES.map(
          (n) => `out[${JSON.stringify(n)}] = Object.keys(await import('ccnodes/${n}')).sort();`,
        ),
        'console.log(JSON.stringify(out));',
      ].join('\n'),
    );
    const { stdout } = await exec(process.execPath, [script], got().project);
    const names = JSON.parse(stdout) as Record<string, string[]>;
    const has = (entry: string, ...fns: string[]): void => {
      for (const f of fns) assert.ok(names[entry]?.includes(f), `ccnodes/${entry} lacks ${f}`);
    };
    has('verify', 'verifyQuote', 'loadCollateral', 'decodeQuote', 'VerificationError', 'CcnodesError');
    has(
      'enclave',
      'launchEnclave',
      'loadEnclaveImage',
      'measureEnclave',
      'signEnclave',
      'sealData',
      'SimCpu',
    );
    has(
      'enclave',
      'launchTypedEnclave',
      'defineEnclaveInterface',
      't',
      'withEnclaveInterface',
      'quoteHelperOcalls',
    );
    has('ratls', 'createRatlsCertificate', 'verifyRatlsCertificate', 'createRatlsVerifier', 'CcnodesError');
    has('attestation-client', 'AttestationClient', 'openJwe', 'CcnodesError');
    // Sources are not reachable through the package (only the exports are).
    await assert.rejects(
      exec(
        process.execPath,
        ['--input-type=module', '-e', "await import('ccnodes/src/lib/verify.ts')"],
        got().project,
      ),
      /ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
  });

  test('the entry points type-check with TypeScript against the installed declarations', async () => {
    writeFileSync(
      join(got().project, 'consumer.ts'),
      `import { decodeQuote, loadCollateral, verifyQuote, VerificationError, type RawCollateral, type VerificationResult } from 'ccnodes/verify';
import { launchEnclave, sealData, type RunningEnclave } from 'ccnodes/enclave';
import { createRatlsVerifier, type RatlsExpectedIdentity } from 'ccnodes/ratls';
import { AttestationClient } from 'ccnodes/attestation-client';
import { defineEnclaveInterface, launchTypedEnclave, t } from 'ccnodes/enclave';

export async function check(quote: Uint8Array, path: string): Promise<VerificationResult> {
  const collateral: RawCollateral = await loadCollateral(path);
  const version: number = decodeQuote(quote).header.version;
  try {
    return verifyQuote(quote, collateral, { now: new Date(version) });
  } catch (e) {
    if (e instanceof VerificationError) throw new Error(e.code);
    throw e;
  }
}

export function launch(): Promise<RunningEnclave> {
  return launchEnclave({ definition: 'enclave.yaml', seed: 'seed' });
}

export const used: unknown[] = [sealData, createRatlsVerifier, AttestationClient];
export const pinned: RatlsExpectedIdentity = { mrEnclave: 'ab'.repeat(32) };

const KV = defineEnclaveInterface({
  ecalls: { put: { args: [t.string({ max: 8 }), t.bytes({ max: 8 })], result: t.u32() } },
});
export async function typed(): Promise<number> {
  const kv = await launchTypedEnclave(KV, { definition: 'enclave.yaml', seed: 's' });
  const n: number = await kv.ecalls.put('k', new Uint8Array(1));
  // @ts-expect-error the typed proxy takes (string, Uint8Array)
  await kv.ecalls.put(1, 'x');
  return n;
}

// The declarations are real types, not any: a wrong call must not compile.
// @ts-expect-error verifyQuote takes options with the verification time
verifyQuote(new Uint8Array(), {} as RawCollateral);
// @ts-expect-error loadCollateral takes a path
void loadCollateral(42);
`,
    );
    writeFileSync(
      join(got().project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(REPO_ROOT, 'node_modules', '@types')],
        },
        files: ['consumer.ts'],
      }),
    );
    await exec(process.execPath, [TSC, '-p', 'tsconfig.json'], got().project);
  });

  test('the installed ccnodes runs the precompiled build, without tsx', async () => {
    // Take tsx away: the installed executable must not need a TypeScript loader.
    rmSync(join(got().project, 'node_modules', 'tsx'), { recursive: true, force: true });
    const bin = join(got().project, 'node_modules', '.bin', 'ccnodes');
    const help = await exec(bin, ['--help'], got().project);
    assert.match(help.stdout, /^Usage: ccnodes \[options\] \[command\]/);
    assert.match(help.stdout, /quote\s+Inspect and verify/);
    const version = await exec(bin, ['--version'], got().project);
    assert.equal(version.stdout.trim(), '0.1.0');
  });

  test(
    'a real quote verifies through the installed CLI and through ccnodes/verify',
    { skip: TESTDATA_PRESENT ? false : 'shared test data absent' },
    async () => {
      const quote = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote');
      const collateral = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json');
      const now = '2025-07-19T10:01:17Z';
      const bin = join(got().project, 'node_modules', '.bin', 'ccnodes');
      const cli = await exec(
        bin,
        ['quote', 'verify', quote, '--collateral', collateral, '--now', now, '--json'],
        got().project,
      );
      assert.equal(
        (JSON.parse(cli.stdout) as { status: string }).status,
        'ConfigurationAndSWHardeningNeeded',
      );
      const script = join(got().project, 'verify.mjs');
      writeFileSync(
        script,
        `import { readFileSync } from 'node:fs';
import { loadCollateral, verifyQuote, VerificationError } from 'ccnodes/verify';
const collateral = await loadCollateral(${JSON.stringify(collateral)});
const quote = readFileSync(${JSON.stringify(quote)});
const ok = verifyQuote(quote, collateral, { now: new Date(${JSON.stringify(now)}) });
let refused = 'accepted';
try { verifyQuote(quote, collateral, { now: new Date('2030-01-01T00:00:00Z') }); }
catch (e) { refused = e instanceof VerificationError ? e.code : String(e); }
console.log(JSON.stringify({ status: ok.status, refused }));
`,
      );
      const lib = await exec(process.execPath, [script], got().project);
      assert.deepEqual(JSON.parse(lib.stdout), {
        status: 'ConfigurationAndSWHardeningNeeded',
        refused: 'ERR_VERIFY_COLLATERAL_EXPIRED',
      });
    },
  );

  test('an enclave launches, answers an ECALL and seals through ccnodes/enclave', async () => {
    const definition = join(got().installed, 'examples', 'hello-enclave', 'enclave.yaml');
    assert.ok(existsSync(definition));
    const script = join(got().project, 'enclave.mjs');
    writeFileSync(
      script,
      `import { launchEnclave } from 'ccnodes/enclave';
const e = await launchEnclave({ definition: ${JSON.stringify(definition)}, seed: 'pack-test' });
const init = await e.ecall('init');
const blob = await e.ecall('seal', new TextEncoder().encode('kept'), 'mrenclave');
const back = await e.ecall('unseal', blob);
await e.terminate();
console.log(JSON.stringify({ kty: init.jwk.kty, back: new TextDecoder().decode(back), mr: e.enclave.mrEnclave.length }));
`,
    );
    const { stdout } = await exec(process.execPath, [script], got().project);
    assert.deepEqual(JSON.parse(stdout), { kty: 'EC', back: 'kept', mr: 32 });
  });
});
