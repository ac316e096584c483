/**
 * Builds the precompiled CLI (`npm run build` → dist/ccnodes.js): what the container images run.
 *
 * The sources run directly through tsx during development (bin/ccnodes.js). tsx transpiles in a
 * loader thread, which costs a second V8 isolate (about 35 MiB resident) in every process; the node
 * daemons must stay small (issue 5: under 80 MiB idle), so the images run this build instead.
 *
 * What the build is:
 * - our code (src/**) and most of its npm dependencies bundled with esbuild into ES modules under
 *   `dist/`: one entry (dist/ccnodes.js) plus lazily loaded chunks. `import('./x-run.ts')` stays a
 *   dynamic import, so a command still loads only the modules it uses. Bundling the dependencies
 *   too saves about 10 MiB per process (one module record per file, one CommonJS wrapper each);
 * - the packages in {@link EXTERNAL_PACKAGES} stay external and load from node_modules as usual:
 *   native code, files found relative to the package (`__dirname`), or libraries loaded on demand;
 * - a guard refuses a bundle in which bundled code uses `__dirname`/`__filename` (they would point at
 *   dist/, not at the package): such a package must be added to the external list;
 * - `import.meta.url` in a source file is rewritten to that file's own location
 *   (`new URL('../src/…/x.ts', import.meta.url).href`), so paths the sources compute from it
 *   (proto/…, examples/…) resolve to the same repository files as when run from source. dist/ must
 *   therefore stay inside the repository checkout (or image) it was built from;
 * - the package entry points (src/lib/*.ts: `ccnodes/verify`, `ccnodes/enclave`, …) are build entries
 *   too (dist/lib/*.js, sharing chunks with the CLI);
 * - with `--types` (the `prepack` script, `npm run build:package`), TypeScript declarations of the
 *   entry points and of everything they export (dist/types/**, from `tsc --emitDeclarationOnly`,
 *   with the sources' `.ts` import specifiers rewritten to `.js`), which package.json `exports`
 *   names as each entry point's `types`;
 * - every output file starts with a `require` made by `createRequire` (bundled CommonJS needs one),
 *   except files whose code never names `require`: creating one costs start-up time per chunk;
 * - the modules in {@link STANDALONE_MODULES} (the start of `ccnodes quote verify` and of
 *   `ccnodes container run`) are each built
 *   into one file of their own, with everything they import, instead of into shared chunks: a
 *   command that loads one file instead of a dozen starts faster (issue 15). That file is CommonJS
 *   without comments or indentation (`<name>.cjs`), loaded by a generated ES module `<name>.js`
 *   through V8's code cache (src/cli/code-cache.ts; issue 14).
 */
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions as EsbuildOptions, type Plugin } from 'esbuild';
import { prewrapCommonJs } from '../src/cli/code-cache.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Packages loaded from node_modules at run time instead of being bundled, and why:
 * - better-sqlite3: native addon (located through `bindings`); pg-native: optional native driver;
 * - @grpc/grpc-js: loads its own .proto files (channelz) relative to its directory;
 * - pino: starts worker-thread transports from files next to it (thread-stream);
 * - @kubernetes/client-node: large and only loaded on demand, in a short-lived child process;
 * - esbuild, tsx: build/development tools, never imported by the CLI's runtime paths;
 * - undici: its index.js reads `__filename` (guarded) for its web streams; it is a dependency, so it
 *   loads from node_modules as any package would.
 */
export const EXTERNAL_PACKAGES: readonly string[] = [
  'better-sqlite3',
  'pg-native',
  '@grpc/grpc-js',
  'pino',
  '@kubernetes/client-node',
  'esbuild',
  'tsx',
  'undici',
];

/**
 * Modules built as one self-contained file each (`dist/<name>.js`), for commands whose start-up time
 * matters. The CLI's code imports them by a relative `./<name>.ts` from src/cli/ (and only from
 * there), which becomes `./<name>.js` next to the CLI's chunks. Such a module holds its own copies of
 * the modules it imports (error classes among them): it must catch and report its own errors and
 * hand back plain values only, as src/cli/quote-verify-fast.ts does.
 */
export const STANDALONE_MODULES: readonly string[] = ['quote-verify-fast', 'container-run-fast'];

/**
 * The X.509 libraries that src/sim/pki-lib.ts loads on first use (with `require`), built into one
 * CommonJS file of their own, `dist/x509-lib.cjs`, for the {@link STANDALONE_MODULES}: esbuild links
 * a bundled `require` statically, so inside a standalone file these 765 KB would be read and compiled
 * by every `container run`, even one that never builds a certificate. In a standalone file, each
 * `require('<package>')` of these becomes `require('./x509-lib.cjs')['<package>']`, read from disk
 * only when the first certificate is built (one instance of each library per process: the standalone
 * file holds no other copy). The split build (the other commands) keeps them bundled as before.
 */
export const X509_LIB_PACKAGES: readonly string[] = [
  '@peculiar/asn1-ecc',
  '@peculiar/asn1-schema',
  '@peculiar/asn1-x509',
  '@peculiar/x509',
];

/** The file {@link X509_LIB_PACKAGES} are built into, next to the standalone files. */
export const X509_LIB_FILE = 'x509-lib.cjs';

/**
 * The YAML parser (`yaml`, 168 KB of the standalone `container run` file), built into
 * `dist/yaml-lib.cjs` for the {@link STANDALONE_MODULES} as the X.509 libraries are: `container run`
 * parses no YAML while the manifest file is the one app.sig records (`manifestFile`,
 * src/container/manifest.ts), so its code is read only for a manifest changed since `prepare` (or an
 * app.sig without the record).
 */
export const YAML_LIB_PACKAGES: readonly string[] = ['yaml'];

/** The file {@link YAML_LIB_PACKAGES} are built into, next to the standalone files. */
export const YAML_LIB_FILE = 'yaml-lib.cjs';

/** The libraries a standalone file loads from a file of their own on first use: file → packages. */
const LAZY_LIBS: ReadonlyMap<string, readonly string[]> = new Map([
  [X509_LIB_FILE, X509_LIB_PACKAGES],
  [YAML_LIB_FILE, YAML_LIB_PACKAGES],
]);

/** In a standalone build: each of {@link LAZY_LIBS}' packages from its file, loaded at run time. */
function lazyLibPlugin(): Plugin {
  const fileOf = new Map(
    [...LAZY_LIBS].flatMap(([file, packages]) => packages.map((p) => [p, file] as const)),
  );
  const namespace = 'ccnodes-lazy-lib';
  return {
    name: namespace,
    setup(b) {
      b.onResolve({ filter: /^(@peculiar\/|yaml$)/ }, (args) =>
        fileOf.has(args.path) && args.namespace !== namespace ? { path: args.path, namespace } : undefined,
      );
      b.onResolve({ filter: /^\.\/[a-z0-9-]+-lib\.cjs$/ }, (args) => ({ path: args.path, external: true }));
      b.onLoad({ filter: /.*/, namespace }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`./${fileOf.get(args.path) ?? ''}`)})[${JSON.stringify(args.path)}];`,
        loader: 'js',
      }));
    },
  };
}

/** The package entry points: `ccnodes/<name>` is src/lib/<name>.ts (package.json `exports`). */
export const LIBRARY_ENTRIES: readonly string[] = ['verify', 'enclave', 'ratls', 'attestation-client'];

/** Each output file gets a real `require`, which esbuild's ESM output lacks, for bundled CommonJS. */
const REQUIRE_BANNER =
  "import { createRequire as __ccnodesCreateRequire } from 'node:module'; " +
  'const require = __ccnodesCreateRequire(import.meta.url);';

/**
 * Removes {@link REQUIRE_BANNER} from an output file whose code never names `require` (most
 * chunks: only bundled CommonJS needs it). Each `createRequire` builds a CommonJS module record
 * and its node_modules search path at load time, which `ccnodes quote verify` paid once per chunk.
 * The linked source map, if any, loses the banner's (empty) first line too.
 */
export function dropUnusedRequireBanner(file: string): boolean {
  const js = readFileSync(file, 'utf8');
  if (!js.startsWith(`${REQUIRE_BANNER}\n`)) return false;
  const code = js.slice(REQUIRE_BANNER.length + 1);
  if (/\brequire\b/.test(code)) return false;
  writeFileSync(file, code);
  let map: { mappings?: unknown } | undefined;
  try {
    map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { mappings?: unknown };
  } catch {
    map = undefined; // no source map
  }
  if (map !== undefined && typeof map.mappings === 'string' && map.mappings.startsWith(';')) {
    writeFileSync(`${file}.map`, JSON.stringify({ ...map, mappings: map.mappings.slice(1) }));
  }
  return true;
}

/** Lines of code (not comments) with a dynamic `import(`, as `<line>: <text>`. */
export function dynamicImportUses(js: string): string[] {
  return js
    .split('\n')
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => /\bimport\s*\(/.test(line))
    .filter(({ line }) => !line.startsWith('*') && !line.startsWith('//') && !line.startsWith('/*'))
    .map(({ line, n }) => `${n}: ${line.slice(0, 120)}`);
}

/** Thrown when the bundle would not run as the sources do. */
export class BuildCheckError extends Error {
  readonly code = 'ERR_BUILD_CHECK';
}

/** Lines of bundled code (not comments) that use `__dirname` or `__filename`. */
export function dirnameUses(js: string): string[] {
  return js
    .split('\n')
    .map((line, i) => ({ line: line.trim(), n: i + 1 }))
    .filter(({ line }) => /\b__(dirname|filename)\b/.test(line))
    .filter(({ line }) => !line.startsWith('*') && !line.startsWith('//') && !line.startsWith('/*'))
    .map(({ line, n }) => `${n}: ${line.slice(0, 120)}`);
}

/** Options of {@link buildCli}. */
export interface BuildOptions {
  /** Output directory (default `<repo>/dist`); emptied first. */
  readonly outdir?: string;
  /** Write external source maps (`*.js.map`, default true); never inlined, so they cost no memory. */
  readonly sourcemap?: boolean;
  /** Packages left external (default {@link EXTERNAL_PACKAGES}). */
  readonly external?: readonly string[];
  /**
   * Where the output will live relative to the sources, for the `import.meta.url` rewrite (default
   * `outdir`). A package staged elsewhere (test/package) builds into `<stage>/dist` with
   * `urlBase: <repo>/dist`, so that its paths to proto/… are the same as in the checkout.
   */
  readonly urlBase?: string;
}

/** What {@link buildCli} produced. */
export interface BuildResult {
  readonly outdir: string;
  readonly entry: string;
  /** The CommonJS start (`<outdir>/ccnodes.cjs`, see {@link FAST_START_NAME}). */
  readonly fastEntry: string;
  readonly files: readonly string[];
  readonly bytes: number;
}

/** Rewrites `import.meta.url` in our sources to the source file's own URL, relative to the output. */
function sourceUrlPlugin(urlBase: string): Plugin {
  const srcRoot = join(REPO_ROOT, 'src') + sep;
  return {
    name: 'ccnodes-source-url',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        if (!args.path.startsWith(srcRoot) || !text.includes('import.meta.url')) {
          return { contents: text, loader: 'ts' };
        }
        const rel = relative(urlBase, args.path).split(sep).join('/');
        const own = `new URL(${JSON.stringify(rel)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', own), loader: 'ts' };
      });
    },
  };
}

/**
 * What `import.meta.url` becomes in a standalone (CommonJS) file: the file's own URL, which the
 * banner computes. The sources' `import.meta.url` is first rewritten by {@link sourceUrlPlugin}, so
 * paths computed from it resolve as they do from src/.
 */
const STANDALONE_URL_NAME = '__ccnodesImportMetaUrl';
const STANDALONE_BANNER = `const ${STANDALONE_URL_NAME} = require('node:url').pathToFileURL(__filename).href;`;

/** The names a standalone module's source exports (an unbundled esbuild pass reads them). */
async function exportNames(name: string): Promise<string[]> {
  const r = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: [join(REPO_ROOT, 'src', 'cli', `${name}.ts`)],
    bundle: false,
    write: false,
    format: 'esm',
    platform: 'node',
    outdir: join(REPO_ROOT, '.tmp', 'export-names'),
    metafile: true,
    logLevel: 'silent',
  });
  return Object.values(r.metafile.outputs).flatMap((o) => o.exports);
}

/**
 * The ES module `dist/<name>.js` of a standalone module: loads `<name>.cjs` through the code cache
 * (src/cli/code-cache.ts, built to dist/code-cache.js) and re-exports its exports by name, so that
 * the CLI's `import('./<name>.ts')` (left to `./<name>.js` by {@link standaloneImportsPlugin}) gets
 * the module it would get from the sources.
 */
export function standaloneShim(name: string, exports: readonly string[]): string {
  return [
    `// Generated by scripts/build.ts: ${name}.cjs, loaded through V8's code cache (src/cli/code-cache.ts).`,
    "import { loadWithCodeCache } from './code-cache.js';",
    `const m = loadWithCodeCache(new URL(${JSON.stringify(`./${name}.cjs`)}, import.meta.url)).exports;`,
    ...exports.map((e) =>
      e === 'default' ? 'export default m["default"];' : `export const ${e} = m[${JSON.stringify(e)}];`,
    ),
    '',
  ].join('\n');
}

/**
 * The CommonJS start of the CLI, `dist/ccnodes.cjs` (src/bin/fast-start.ts): `container run` and
 * `quote verify` start from it without Node's ES module loader; it hands every other command line
 * to `dist/ccnodes.js`. What the images and the webhook's launcher run for `container run`.
 */
export const FAST_START_NAME = 'ccnodes';

/** Leaves the CLI's imports of {@link STANDALONE_MODULES} to the files the second build writes. */
function standaloneImportsPlugin(): Plugin {
  const cliDir = join(REPO_ROOT, 'src', 'cli');
  return {
    name: 'ccnodes-standalone-imports',
    setup(b) {
      b.onResolve({ filter: /^\.\/[\w-]+\.ts$/ }, (args) => {
        const name = args.path.slice(2, -3);
        if (args.resolveDir !== cliDir || !STANDALONE_MODULES.includes(name)) return undefined;
        return { path: `./${name}.js`, external: true };
      });
    },
  };
}

/** Bundles src/bin/ccnodes.ts into `outdir`. Throws esbuild's error (with file:line) on failure. */
export async function buildCli(options: BuildOptions = {}): Promise<BuildResult> {
  const outdir = resolve(options.outdir ?? join(REPO_ROOT, 'dist'));
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const common: EsbuildOptions & { metafile: true } = {
    absWorkingDir: REPO_ROOT,
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    external: [...(options.external ?? EXTERNAL_PACKAGES)],
    banner: { js: REQUIRE_BANNER },
    tsconfig: join(REPO_ROOT, 'tsconfig.json'),
    sourcemap: options.sourcemap === false ? false : 'linked',
    metafile: true,
    logLevel: 'silent',
  };
  const main = await build({
    ...common,
    entryPoints: {
      ccnodes: join(REPO_ROOT, 'src', 'bin', 'ccnodes.ts'),
      // The attestation service's policy evaluation worker thread (src/attestation/policy-pool.ts).
      'policy-worker': join(REPO_ROOT, 'src', 'attestation', 'policy-worker.ts'),
      // The loader of the standalone modules (see standaloneShim).
      'code-cache': join(REPO_ROOT, 'src', 'cli', 'code-cache.ts'),
      ...Object.fromEntries(
        LIBRARY_ENTRIES.map((n) => [`lib/${n}`, join(REPO_ROOT, 'src', 'lib', `${n}.ts`)]),
      ),
    },
    splitting: true,
    chunkNames: '[name]-[hash]',
    plugins: [sourceUrlPlugin(resolve(options.urlBase ?? outdir)), standaloneImportsPlugin()],
  });
  // Without splitting: each standalone module is one CommonJS file (a dynamic import inside would be
  // inlined), loaded through V8's code cache by a generated ES module of the same name (see
  // {@link standaloneShim}).
  const standalone = await build({
    ...common,
    entryPoints: Object.fromEntries(
      STANDALONE_MODULES.map((n) => [n, join(REPO_ROOT, 'src', 'cli', `${n}.ts`)]),
    ),
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    // Without comments and indentation (identifiers and code unchanged): 40 % less text to read,
    // hash and decode at every start (12 ms less CPU per `container run` on the bench machine).
    minifyWhitespace: true,
    define: { 'import.meta.url': STANDALONE_URL_NAME },
    banner: { js: STANDALONE_BANNER },
    splitting: false,
    plugins: [sourceUrlPlugin(resolve(options.urlBase ?? outdir)), lazyLibPlugin()],
  });
  for (const name of STANDALONE_MODULES) {
    const cjs = join(outdir, `${name}.cjs`);
    // vm.Script (src/cli/code-cache.ts) is given no loader for import(): there must be none.
    const dynamic = dynamicImportUses(readFileSync(cjs, 'utf8'));
    if (dynamic.length > 0)
      throw new BuildCheckError(
        `${relative(REPO_ROOT, cjs)} uses import() (a standalone module is loaded with vm.Script, which has no module loader):\n  ${dynamic.join('\n  ')}`,
      );
    writeFileSync(join(outdir, `${name}.js`), standaloneShim(name, await exportNames(name)));
  }
  // The CommonJS start (src/bin/fast-start.ts → dist/ccnodes.cjs): its `import.meta.url` is its own
  // file's URL (no source rewrite: it only names files next to itself), and the ES module main it
  // hands other command lines to stays a dynamic import.
  const fastStart = await build({
    ...common,
    entryPoints: { [FAST_START_NAME]: join(REPO_ROOT, 'src', 'bin', 'fast-start.ts') },
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    define: { 'import.meta.url': STANDALONE_URL_NAME },
    banner: { js: STANDALONE_BANNER },
    splitting: false,
  });
  const { outdir: _outdir, ...single } = common;
  const lazyLibs = [];
  for (const [file, packages] of LAZY_LIBS)
    lazyLibs.push(
      await build({
        ...single,
        outfile: join(outdir, file),
        format: 'cjs',
        banner: {},
        stdin: {
          contents: `module.exports = {\n${packages.map((n) => `  ${JSON.stringify(n)}: require(${JSON.stringify(n)}),\n`).join('')}};\n`,
          resolveDir: REPO_ROOT,
          sourcefile: file.replace(/\.cjs$/, '.js'),
          loader: 'js',
        },
      }),
    );
  const outputs = [
    ...Object.entries(main.metafile.outputs),
    ...Object.entries(standalone.metafile.outputs),
    ...Object.entries(fastStart.metafile.outputs),
    ...lazyLibs.flatMap((l) => Object.entries(l.metafile.outputs)),
  ];
  for (const file of outputs.map(([f]) => f).filter((f) => f.endsWith('.js') || f.endsWith('.cjs'))) {
    dropUnusedRequireBanner(resolve(REPO_ROOT, file));
    // The standalone banner's own __filename is the CommonJS wrapper's, as meant.
    const uses = dirnameUses(readFileSync(resolve(REPO_ROOT, file), 'utf8').replace(STANDALONE_BANNER, ''));
    if (uses.length > 0) {
      throw new BuildCheckError(
        `${file} uses __dirname/__filename in bundled code (add its package to EXTERNAL_PACKAGES in ` +
          `scripts/build.ts):\n  ${uses.join('\n  ')}`,
      );
    }
  }
  // The standalone modules, checked above as esbuild wrote them, are written already wrapped as
  // their loader wraps them, so that they are compiled without a copy (src/cli/code-cache.ts).
  for (const name of STANDALONE_MODULES) {
    const cjs = join(outdir, `${name}.cjs`);
    writeFileSync(cjs, prewrapCommonJs(readFileSync(cjs, 'utf8')));
  }
  // So that Node treats dist/*.js as ES modules even where no package.json with "type" is above.
  writeFileSync(join(outdir, 'package.json'), '{ "type": "module" }\n');
  return {
    outdir,
    entry: join(outdir, 'ccnodes.js'),
    fastEntry: join(outdir, `${FAST_START_NAME}.cjs`),
    files: outputs.map(([file]) => relative(REPO_ROOT, resolve(REPO_ROOT, file))),
    bytes: outputs.reduce((sum, [, o]) => sum + o.bytes, 0),
  };
}

/** Relative `.ts` module specifiers of a declaration file, rewritten to `.js` (what a consumer resolves). */
export function jsSpecifiers(dts: string): string {
  return dts.replace(
    /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g,
    (_m, head: string, path: string, tail: string) => `${head}${path}.js${tail}`,
  );
}

/**
 * Emits TypeScript declarations for the package entry points (and everything they reach) into
 * `<outdir>/types`, mirroring src/ (`types/lib/verify.d.ts`, …). Runs the repository's `tsc` with a
 * temporary tsconfig extending ours; throws {@link BuildCheckError} with tsc's output on failure.
 */
export function buildDeclarations(outdir: string): { dir: string; files: number } {
  const dir = join(resolve(outdir), 'types');
  rmSync(dir, { recursive: true, force: true });
  // Inside the checkout, so that `types: ["node"]` resolves from its node_modules.
  mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
  const work = mkdtempSync(join(REPO_ROOT, '.tmp', 'dts-'));
  try {
    const tsconfig = join(work, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        extends: join(REPO_ROOT, 'tsconfig.json'),
        compilerOptions: {
          noEmit: false,
          declaration: true,
          emitDeclarationOnly: true,
          rootDir: join(REPO_ROOT, 'src'),
          outDir: dir,
        },
        include: [],
        files: LIBRARY_ENTRIES.map((n) => join(REPO_ROOT, 'src', 'lib', `${n}.ts`)),
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', tsconfig], { cwd: REPO_ROOT, encoding: 'utf8' });
    if (r.status !== 0) {
      throw new BuildCheckError(`tsc --emitDeclarationOnly failed:\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  let files = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.d.ts')) {
        writeFileSync(p, jsSpecifiers(readFileSync(p, 'utf8')));
        files++;
      }
    }
  };
  walk(dir);
  return { dir, files };
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf('--outdir');
  const outdir = outIndex > 0 ? process.argv[outIndex + 1] : undefined;
  try {
    const started = Date.now();
    const r = await buildCli(outdir === undefined ? {} : { outdir });
    const js = r.files.filter((f) => f.endsWith('.js')).length;
    process.stdout.write(
      `built ${relative(process.cwd(), r.entry) || r.entry}: ${js} modules, ` +
        `${(r.bytes / 1024).toFixed(0)} KiB with maps, in ${Date.now() - started} ms\n`,
    );
    if (process.argv.includes('--types')) {
      const t = Date.now();
      const d = buildDeclarations(r.outdir);
      process.stdout.write(
        `declarations ${relative(process.cwd(), d.dir) || d.dir}: ${d.files} files, in ${Date.now() - t} ms\n`,
      );
    }
  } catch (err) {
    process.stderr.write(`build failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
