/**
 * The precompiled CLI (scripts/build.ts, what the container images run) behaves as the sources do:
 * it starts, finds the repository's files (protos, examples) from its own location, measures
 * enclaves to the same MRENCLAVE, runs the whole demo, and runs the device plugin with its node
 * update in a child process. The build refuses bundled code that would look for files next to itself.
 * The standalone modules are CommonJS files (`dist/<name>.cjs`) loaded through V8's code cache by a
 * generated ES module of the same name (`dist/<name>.js`); the cache is written next to them after
 * a successful run only.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  BuildCheckError,
  EXTERNAL_PACKAGES,
  STANDALONE_MODULES,
  buildCli,
  dirnameUses,
  dynamicImportUses,
  standaloneShim,
  type BuildResult,
} from '../../scripts/build.ts';
import { decodeCache } from '../../src/cli/code-cache.ts';
import { encodeAppSig, loadManifest, prepareApp } from '../../src/container/index.ts';
import { generateEnclaveSigningKey } from '../../src/sim/index.ts';
import { startService } from '../attestation/support.ts';
import { SIM_SEED } from '../container/support.ts';
import { startFakeApiServer } from '../support/fake-apiserver.ts';
import { runCapture } from '../support/cli.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { REPO_ROOT, testdataPath, testdataSkip } from '../support/testdata.ts';

const OUT = join(REPO_ROOT, '.tmp', `test-dist-${process.pid}`);
const HELLO = join(REPO_ROOT, 'examples', 'hello-enclave', 'enclave.yaml');

/** The relative module specifiers a file imports statically (`from './x'`) or dynamically (`import('./x')`). */
function relativeImports(js: string): string[] {
  return [...js.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.\.?\/[^"']*)["']/g)].map(
    (m) => m[1] ?? '',
  );
}

/**
 * A standalone module as built: one CommonJS file without commander (nor fastify), importing no
 * chunk; the ES module of the same name imports only the code-cache loader.
 */
function assertStandaloneLayout(outdir: string, name: string): void {
  const cjs = readFileSync(join(outdir, `${name}.cjs`), 'utf8');
  assert.doesNotMatch(cjs, /node_modules\/commander\//, `${name}.cjs holds commander`);
  // Nor the simulated PCS server (fastify) that other sim commands load.
  assert.doesNotMatch(cjs, /node_modules\/fastify\//, `${name}.cjs holds fastify`);
  assert.doesNotMatch(cjs, /\bfrom\s*["']\.\.?\//, `${name}.cjs imports a chunk`);
  assert.doesNotMatch(cjs, /\bimport\(\s*["']\.\.?\//, `${name}.cjs imports a chunk`);
  assert.doesNotMatch(cjs, /^\s*(import|export)\s/m, `${name}.cjs is CommonJS`);
  const shim = readFileSync(join(outdir, `${name}.js`), 'utf8');
  assert.deepEqual(relativeImports(shim), ['./code-cache.js'], `${name}.js imports only the loader`);
  assert.match(shim, new RegExp(`new URL\\("\\./${name}\\.cjs", import\\.meta\\.url\\)`));
  // The loader adds no module to the CLI's: what it imports (esbuild's runtime chunk), the entry has
  // already loaded.
  const entry = new Set(relativeImports(readFileSync(join(outdir, 'ccnodes.js'), 'utf8')));
  for (const chunk of relativeImports(readFileSync(join(outdir, 'code-cache.js'), 'utf8')))
    assert.ok(entry.has(chunk), `code-cache.js imports ${chunk}, which ccnodes.js does not`);
}

function runDist(
  entry: string,
  args: readonly string[],
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [entry, ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('dirnameUses', () => {
  test('finds __dirname/__filename in code lines and ignores comments', () => {
    const js = [
      '// uses __dirname in a comment',
      ' * program.executableDir(__dirname);',
      'const a = 1;',
      'const p = join(__dirname, "worker.js");',
      'const f = __filename;',
      'const not = my__dirname;',
    ].join('\n');
    assert.deepEqual(dirnameUses(js), [
      '4: const p = join(__dirname, "worker.js");',
      '5: const f = __filename;',
    ]);
  });

  test('is strict: a name in a string literal counts too (a regex or template with quotes cannot hide a use)', () => {
    const js = [
      "const hint = 'use __dirname here';",
      'const a = /"/g; f(__dirname, "x");',
      "const t = `it's ${__dirname} 'q'`;",
    ].join('\n');
    assert.deepEqual(dirnameUses(js), [
      "1: const hint = 'use __dirname here';",
      '2: const a = /"/g; f(__dirname, "x");',
      "3: const t = `it's ${__dirname} 'q'`;",
    ]);
  });
});

describe('dynamicImportUses', () => {
  test('finds import( in code lines, not in comments: a standalone .cjs may have none (vm.Script has no loader)', () => {
    const js = [
      '// a comment about import("x")',
      ' * import(y) in a doc comment',
      'const m = await import("./chunk.js");',
      'const n = import (spec);',
      'const ok = reimport(1);',
    ].join('\n');
    assert.deepEqual(dynamicImportUses(js), [
      '3: const m = await import("./chunk.js");',
      '4: const n = import (spec);',
    ]);
  });
});

describe('standaloneShim', () => {
  test('loads <name>.cjs next to itself through the code cache and re-exports each name', () => {
    assert.equal(
      standaloneShim('quote-verify-fast', ['runQuoteVerify', 'other']),
      [
        "// Generated by scripts/build.ts: quote-verify-fast.cjs, loaded through V8's code cache (src/cli/code-cache.ts).",
        "import { loadWithCodeCache } from './code-cache.js';",
        'const m = loadWithCodeCache(new URL("./quote-verify-fast.cjs", import.meta.url)).exports;',
        'export const runQuoteVerify = m["runQuoteVerify"];',
        'export const other = m["other"];',
        '',
      ].join('\n'),
    );
    // A default export is re-exported as the default.
    assert.match(standaloneShim('x', ['default']), /^export default m\["default"\];$/m);
  });
});

describe('precompiled CLI (dist)', () => {
  let built: BuildResult;
  before(async () => {
    built = await buildCli({ outdir: OUT, sourcemap: false });
  });
  after(() => {
    rmSync(OUT, { recursive: true, force: true });
  });

  test('starts and prints help for every area', () => {
    const r = runDist(built.entry, ['--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const area of ['attestation', 'deploy', 'enclave', 'kube', 'node', 'policy', 'quote', 'sim']) {
      assert.match(r.stdout, new RegExp(`^  ${area}\\b`, 'm'), area);
    }
    const node = runDist(built.entry, ['node', '--help']);
    assert.match(node.stdout, /patch-node/);
  });

  test('measures the sample enclave to the same MRENCLAVE as the sources', async () => {
    const fromSource = await runCapture(['enclave', 'measure', HELLO, '--json']);
    assert.equal(fromSource.code, 0, fromSource.stderr);
    const r = runDist(built.entry, ['enclave', 'measure', HELLO, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const a = JSON.parse(fromSource.stdout) as { mrEnclave: string };
    const b = JSON.parse(r.stdout) as { mrEnclave: string };
    assert.match(b.mrEnclave, /^[0-9a-f]{64}$/);
    assert.equal(b.mrEnclave, a.mrEnclave);
  });

  test('runs the whole demo (gRPC and AESM protos, SQLite, X.509, JWT, JWE)', () => {
    const r = runDist(built.entry, ['demo', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { ok: boolean };
    assert.equal(report.ok, true);
  });

  test('device plugin: registers with kubelet and patches its node from a patch-node child', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dist-dp-'));
    const api = await startFakeApiServer({
      nodes: { n1: { metadata: { name: 'n1', resourceVersion: '3' } } },
    });
    const peer = await KubeletPeer.start(dir);
    const kubeconfig = api.writeKubeconfig(join(dir, 'kubeconfig.json'));
    const child = spawn(
      process.execPath,
      [
        built.entry,
        'node',
        'device-plugin',
        '--device-plugin-dir',
        dir,
        '--simulate',
        'Standard_DC2s_v2',
        '--node-name',
        'n1',
        '--kubeconfig',
        kubeconfig,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (log += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (log += c));
    t.after(async () => {
      child.kill('SIGKILL');
      await peer.stop();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const epc = await peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', 60_000);
    assert.equal((await epc.waitForDevices(() => true)).length, 56);
    // The node PATCH (a patch-node child process) runs after registration with kubelet.
    for (const end = Date.now() + 60_000; api.patches().length < 2 && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(
      api.patches().map((p) => p.path),
      ['/api/v1/nodes/n1/status', '/api/v1/nodes/n1'],
    );
    // The daemon logs the outcome once the child has answered, which can lag the PATCHes themselves.
    for (const end = Date.now() + 60_000; !log.includes('"msg":"node patched"') && Date.now() < end;)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(log, /"msg":"node patched"/);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exited, 0, log);
  });

  test(
    'quote verify runs from one self-contained file, without commander, as the sources do',
    {
      skip: testdataSkip,
    },
    async () => {
      const args = [
        'quote',
        'verify',
        testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote'),
        '--collateral',
        testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json'),
        '--now',
        '2025-07-19T10:01:17Z',
        '--json',
      ];
      // A module-load hook lists every file the command loads.
      const hooks = `data:text/javascript,${encodeURIComponent(
        "export async function load(u, c, next) { if (u.startsWith('file:')) process._rawDebug('loaded ' + u); return next(u, c); }",
      )}`;
      const preload = `data:text/javascript,${encodeURIComponent(
        `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
      )}`;
      const r = spawnSync(process.execPath, ['--import', preload, built.entry, ...args], {
        encoding: 'utf8',
        cwd: REPO_ROOT,
        timeout: 120_000,
      });
      assert.equal(r.status, 0, r.stderr);
      const fromSource = await runCapture(args);
      assert.equal(fromSource.code, 0, fromSource.stderr);
      assert.equal(r.stdout, fromSource.stdout);
      const loaded = r.stderr
        .split('\n')
        .filter((l) => l.startsWith('loaded '))
        .map((l) => fileURLToPath(l.slice('loaded '.length)));
      // The hook sees the ES modules: the shim and its loader (the .cjs is read by the loader itself).
      assert.ok(loaded.includes(join(OUT, 'quote-verify-fast.js')), loaded.join('\n'));
      assert.ok(loaded.includes(join(OUT, 'code-cache.js')), loaded.join('\n'));
      for (const file of loaded) {
        assert.doesNotMatch(
          readFileSync(file, 'utf8'),
          /node_modules\/commander\//,
          `${file} holds commander`,
        );
      }
      // Self-contained: the .cjs imports no chunk (only Node built-ins and external packages).
      assertStandaloneLayout(OUT, 'quote-verify-fast');
    },
  );

  test('container run starts from one self-contained file, without commander, as the sources do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dist-cr-'));
    const cache = join(OUT, 'container-run-fast.cjs.v8cache');
    rmSync(cache, { force: true });
    try {
      const args = ['container', 'run', join(dir, 'missing.yaml'), '--sig', join(dir, 'app.sig')];
      const hooks = `data:text/javascript,${encodeURIComponent(
        "export async function load(u, c, next) { if (u.startsWith('file:')) process._rawDebug('loaded ' + u); return next(u, c); }",
      )}`;
      const preload = `data:text/javascript,${encodeURIComponent(
        `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
      )}`;
      for (const json of [[], ['--json']]) {
        const argv = [...args, '--sim-seed', 'dist', '--quiet', ...json];
        const r = spawnSync(process.execPath, ['--import', preload, built.entry, ...argv], {
          encoding: 'utf8',
          cwd: REPO_ROOT,
          timeout: 120_000,
        });
        const fromSource = await runCapture(argv);
        assert.equal(fromSource.code, 2, fromSource.stderr); // the manifest is missing: input error
        assert.equal(r.status, fromSource.code, r.stderr);
        assert.equal(r.stdout, fromSource.stdout);
        const lines = r.stderr.split('\n');
        assert.equal(lines.filter((l) => !l.startsWith('loaded ')).join('\n'), fromSource.stderr);
        const loaded = lines
          .filter((l) => l.startsWith('loaded '))
          .map((l) => fileURLToPath(l.slice('loaded '.length)));
        assert.ok(loaded.includes(join(OUT, 'container-run-fast.js')), loaded.join('\n'));
        assert.ok(loaded.includes(join(OUT, 'code-cache.js')), loaded.join('\n'));
        for (const file of loaded) {
          assert.doesNotMatch(
            readFileSync(file, 'utf8'),
            /node_modules\/commander\//,
            `${file} holds commander`,
          );
        }
        assertStandaloneLayout(OUT, 'container-run-fast');
        // A failed run (exit status 2) leaves no code cache behind.
        assert.equal(existsSync(cache), false, 'a failed run wrote the code cache');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('container run attests with the in-process simulated platform, its X.509 libraries from x509-lib.cjs, the YAML parser from yaml-lib.cjs only for a manifest changed since prepare', async (t) => {
    const svc = await startService();
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dist-cr-run-'));
    t.after(async () => {
      await svc.close();
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(join(dir, 'echo.sh'), 'echo "args:$*"\n');
    writeFileSync(
      join(dir, 'app.yaml'),
      'name: dist-echo\nentrypoint: [sh, echo.sh]\nenv:\n  passThrough: [PATH]\ntrustedFiles: [echo.sh]\n',
    );
    const { sig } = await prepareApp(
      await loadManifest(join(dir, 'app.yaml')),
      generateEnclaveSigningKey().privateKeyPem,
    );
    writeFileSync(join(dir, 'app.sig'), encodeAppSig(sig));
    // The standalone file holds no copy of the libraries: they come from x509-lib.cjs next to it.
    const cjs = join(OUT, 'container-run-fast.cjs');
    const standalone = readFileSync(cjs, 'utf8');
    assert.doesNotMatch(standalone, /node_modules\/@peculiar\//);
    assert.match(standalone, /x509-lib\.cjs/);
    // Nor of the YAML parser (yaml-lib.cjs): app.sig records the manifest file as prepare read it.
    assert.doesNotMatch(standalone, /node_modules\/yaml\//);
    assert.match(standalone, /yaml-lib\.cjs/);
    assert.equal(
      sig.manifestFile?.sha256,
      createHash('sha256')
        .update(readFileSync(join(dir, 'app.yaml')))
        .digest('hex'),
    );
    const cache = `${cjs}.v8cache`;
    rmSync(cache, { force: true });
    // Not spawnSync: the attestation service answers from this process's event loop.
    const run = (entry = built.entry, nodeArgs: readonly string[] = []) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
        const child = spawn(
          process.execPath,
          [
            ...nodeArgs,
            entry,
            'container',
            'run',
            join(dir, 'app.yaml'),
            '--sig',
            join(dir, 'app.sig'),
            '--attestation-url',
            svc.url,
            '--sim-seed',
            SIM_SEED,
            '--',
            'one',
            '--two',
          ],
          {
            cwd: dir,
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
        child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
        child.on('close', (status) => {
          done({ status, stdout, stderr });
        });
      });
    const r = await run();
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'args:one --two\n');
    assert.match(r.stderr, /attested at /);
    // The successful run left V8's code cache of the standalone file next to it, made from that file
    // by this Node.
    assert.ok(existsSync(cache), 'no code cache after a successful run');
    const sourceSha256 = createHash('sha256').update(readFileSync(cjs)).digest('hex');
    assert.ok('payload' in decodeCache(readFileSync(cache), sourceSha256), 'the cache matches the file');
    const written = statSync(cache);
    // The same run again, from the cache: same outcome, and the cache was used, not rewritten (an
    // atomic rewrite would be a new file).
    const again = await run();
    assert.equal(again.status, 0, again.stderr);
    assert.equal(again.stdout, r.stdout);
    assert.match(again.stderr, /attested at /);
    const reused = statSync(cache);
    assert.equal(reused.ino, written.ino, 'the cache was rewritten: V8 did not take it');
    assert.equal(reused.mtimeMs, written.mtimeMs);
    // The CommonJS start (what the images and the webhook's launcher run): the same run, the same
    // outcome, from the same standalone file and cache.
    const fast = await run(built.fastEntry);
    assert.equal(fast.status, 0, fast.stderr);
    assert.equal(fast.stdout, r.stdout);
    const sameLines = (text: string): string => text.replace(/ccnodes-cc-\w+/g, 'ccnodes-cc-…');
    assert.equal(sameLines(fast.stderr), sameLines(again.stderr));
    assert.match(fast.stderr, /attested at /);
    assert.equal(statSync(cache).ino, written.ino);
    // A launch with no sealed state or encrypted input does without `fs/promises` (and the readline
    // and watcher modules it brings): its files are read and its private directory made on the spot.
    const listFile = join(dir, 'modules.json');
    const lister = join(dir, 'list-modules.cjs');
    writeFileSync(
      lister,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listFile)}, JSON.stringify({ builtins: process.moduleLoadList, files: Object.keys(require.cache) })));\n`,
    );
    const listed = await run(built.fastEntry, ['--require', lister]);
    assert.equal(listed.status, 0, listed.stderr);
    const modules = JSON.parse(readFileSync(listFile, 'utf8')) as { builtins: string[]; files: string[] };
    assert.ok(modules.builtins.includes('NativeModule child_process'), "the list is the launch's");
    assert.ok(!modules.builtins.includes('NativeModule internal/fs/promises'), modules.builtins.join('\n'));
    // The manifest is app.sig's record: the YAML parser's file is not even read.
    assert.ok(modules.files.includes(built.fastEntry), modules.files.join('\n'));
    assert.ok(!modules.files.some((f) => f.endsWith('yaml-lib.cjs')), modules.files.join('\n'));
    // A comment added to the manifest: the file is parsed (yaml-lib.cjs), measures the same, and runs.
    writeFileSync(
      join(dir, 'app.yaml'),
      `# edited after prepare\n${readFileSync(join(dir, 'app.yaml'), 'utf8')}`,
    );
    const edited = await run(built.fastEntry, ['--require', lister]);
    assert.equal(edited.status, 0, edited.stderr);
    assert.equal(edited.stdout, r.stdout);
    const after = JSON.parse(readFileSync(listFile, 'utf8')) as { files: string[] };
    assert.ok(after.files.includes(join(OUT, 'yaml-lib.cjs')), after.files.join('\n'));
  });

  test('the CommonJS start (dist/ccnodes.cjs): container run loads no ES module; every other command line answers as dist/ccnodes.js does', () => {
    const hooks = `data:text/javascript,${encodeURIComponent(
      "export async function load(u, c, next) { if (u.startsWith('file:')) process._rawDebug('loaded ' + u); return next(u, c); }",
    )}`;
    const preload = `data:text/javascript,${encodeURIComponent(
      `import { register } from 'node:module'; register(${JSON.stringify(hooks)});`,
    )}`;
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dist-fast-'));
    try {
      // An ordinary `container run` (failing at once on a missing manifest): the same output and
      // status from both entries, and no ES module file loaded by the CommonJS one.
      const argv = [
        'container',
        'run',
        join(dir, 'missing.yaml'),
        '--sig',
        join(dir, 'app.sig'),
        '--sim-seed',
        'x',
      ];
      for (const json of [[], ['--json']]) {
        const viaMain = runDist(built.entry, [...argv, ...json]);
        const viaFast = spawnSync(
          process.execPath,
          ['--import', preload, built.fastEntry, ...argv, ...json],
          {
            encoding: 'utf8',
            cwd: REPO_ROOT,
            timeout: 120_000,
          },
        );
        assert.equal(viaMain.status, 2, viaMain.stderr);
        assert.equal(viaFast.status, viaMain.status, viaFast.stderr);
        assert.equal(viaFast.stdout, viaMain.stdout);
        const lines = viaFast.stderr.split('\n');
        // With a loader hook registered, Node hands the main script to the hooks too; nothing else.
        assert.deepEqual(
          lines
            .filter((l) => l.startsWith('loaded '))
            .map((l) => fileURLToPath(l.slice('loaded '.length)))
            .filter((f) => f !== built.fastEntry),
          [],
          'the CommonJS start loaded ES modules for container run',
        );
        assert.equal(lines.filter((l) => !l.startsWith('loaded ')).join('\n'), viaMain.stderr);
      }
      // Help, the version, another command, a bad option: handed to the ES module main.
      for (const args of [
        ['--help'],
        ['--version'],
        ['container', 'run', '--help'],
        ['container', 'run', join(dir, 'missing.yaml'), '--no-such-option'],
        ['quote', 'inspect', join(dir, 'missing.bin')],
      ]) {
        const viaMain = runDist(built.entry, args);
        const viaFast = runDist(built.fastEntry, args);
        assert.equal(viaFast.status, viaMain.status, args.join(' '));
        assert.equal(viaFast.stdout, viaMain.stdout, args.join(' '));
        assert.equal(viaFast.stderr, viaMain.stderr, args.join(' '));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("container warm-cache: one simulated launch writes container run's code cache; a second finds it current; a broken one is rewritten", () => {
    const file = join(OUT, 'container-run-fast.cjs');
    const cacheFile = `${file}.v8cache`;
    rmSync(cacheFile, { force: true });
    const first = runDist(built.entry, ['container', 'warm-cache', '--json']);
    assert.equal(first.status, 0, first.stderr);
    const doc = JSON.parse(first.stdout) as { ok: boolean; cache: string; bytes: number; written: boolean };
    assert.deepEqual([doc.ok, doc.cache, doc.written], [true, cacheFile, true]);
    // The cache is for this source, this Node, and whole.
    const bytes = readFileSync(cacheFile);
    assert.equal(doc.bytes, bytes.length);
    const decoded = decodeCache(bytes, createHash('sha256').update(readFileSync(file)).digest('hex'));
    assert.ok(
      'payload' in decoded && decoded.payload.length > 100_000,
      JSON.stringify(decoded).slice(0, 200),
    );
    // Through the CommonJS start as well: the cache is there and valid, so nothing is written.
    const second = runDist(built.fastEntry, ['container', 'warm-cache']);
    assert.equal(second.status, 0, second.stderr);
    assert.match(second.stdout, /^code cache already current: /);
    assert.deepEqual(readFileSync(cacheFile), bytes);
    // A cache for another source (one bit of its header's source hash flipped) is rewritten.
    const stale = Buffer.from(bytes);
    const at = stale.indexOf('"source":"') + '"source":"'.length;
    stale[at] = stale[at] === 0x30 ? 0x31 : 0x30;
    writeFileSync(cacheFile, stale);
    const third = runDist(built.entry, ['container', 'warm-cache', '--json']);
    assert.equal(third.status, 0, third.stderr);
    assert.equal((JSON.parse(third.stdout) as { written: boolean }).written, true);
    const again = decodeCache(
      readFileSync(cacheFile),
      createHash('sha256').update(readFileSync(file)).digest('hex'),
    );
    assert.ok('payload' in again, 'the rewritten cache is for this source again');
  });

  test('container warm-cache fails with exit 1 and ERR_CONTAINER_WARM_CACHE when the launch fails', () => {
    // A standalone file that does not load: the launch (through the CommonJS start, which then
    // hands the command line to the ES module main, whose shim loads it too) fails.
    const file = join(OUT, 'container-run-fast.cjs');
    const saved = readFileSync(file);
    try {
      writeFileSync(file, 'throw new Error("broken on purpose");\n');
      const r = runDist(built.entry, ['container', 'warm-cache', '--json']);
      assert.equal(r.status, 1, r.stderr);
      const doc = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; details: { step: string } } };
      assert.deepEqual(
        [doc.ok, doc.error.code, doc.error.details.step],
        [false, 'ERR_CONTAINER_WARM_CACHE', 'launch'],
      );
    } finally {
      writeFileSync(file, saved);
    }
  });

  test('each standalone module is one CommonJS file whose shim re-exports exactly what its source exports', async () => {
    for (const name of STANDALONE_MODULES) {
      assertStandaloneLayout(OUT, name);
      const source = (await import(
        pathToFileURL(join(REPO_ROOT, 'src', 'cli', `${name}.ts`)).href
      )) as Record<string, unknown>;
      const shim = readFileSync(join(OUT, `${name}.js`), 'utf8');
      const names = [...shim.matchAll(/^export const (\w+) = m\["(\w+)"\];$/gm)].map((m) => {
        assert.equal(m[1], m[2]);
        return m[1];
      });
      assert.deepEqual(names.sort(), Object.keys(source).sort(), name);
    }
  });

  test('refuses a bundle whose code would load files relative to itself', async () => {
    mkdirSync(join(REPO_ROOT, '.tmp'), { recursive: true });
    const out = mkdtempSync(join(REPO_ROOT, '.tmp', 'test-dist-guard-'));
    try {
      await assert.rejects(
        buildCli({ outdir: out, sourcemap: false, external: EXTERNAL_PACKAGES.filter((p) => p !== 'pino') }),
        (err: unknown) =>
          err instanceof BuildCheckError &&
          /uses __dirname\/__filename in bundled code/.test(err.message) &&
          /worker\.js/.test(err.message),
      );
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
