/**
 * The precompiled CLI (scripts/build.ts, what the container images run) behaves as the sources do:
 * it starts, finds the repository's files (protos, examples) from its own location, measures
 * enclaves to the same MRENCLAVE, runs the whole demo, and runs the device plugin with its node
 * update in a child process. The build refuses bundled code that would look for files next to itself.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BuildCheckError,
  EXTERNAL_PACKAGES,
  buildCli,
  dirnameUses,
  type BuildResult,
} from '../../scripts/build.ts';
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
      const standalone = join(OUT, 'quote-verify-fast.js');
      assert.ok(loaded.includes(standalone), loaded.join('\n'));
      for (const file of loaded) {
        assert.doesNotMatch(
          readFileSync(file, 'utf8'),
          /node_modules\/commander\//,
          `${file} holds commander`,
        );
      }
      // Self-contained: it imports no chunk (only Node built-ins and external packages).
      assert.doesNotMatch(readFileSync(standalone, 'utf8'), /\bfrom\s*["']\.\.?\//);
      assert.doesNotMatch(readFileSync(standalone, 'utf8'), /\bimport\(\s*["']\.\.?\//);
    },
  );

  test('container run starts from one self-contained file, without commander, as the sources do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-dist-cr-'));
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
        const standalone = join(OUT, 'container-run-fast.js');
        assert.ok(loaded.includes(standalone), loaded.join('\n'));
        for (const file of loaded) {
          assert.doesNotMatch(
            readFileSync(file, 'utf8'),
            /node_modules\/commander\//,
            `${file} holds commander`,
          );
        }
        // Nor the simulated PCS server (fastify) that other sim commands load.
        assert.doesNotMatch(readFileSync(standalone, 'utf8'), /node_modules\/fastify\//);
        assert.doesNotMatch(readFileSync(standalone, 'utf8'), /\bfrom\s*["']\.\.?\//);
        assert.doesNotMatch(readFileSync(standalone, 'utf8'), /\bimport\(\s*["']\.\.?\//);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('container run attests with the in-process simulated platform, its X.509 libraries from x509-lib.cjs', async (t) => {
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
    const standalone = readFileSync(join(OUT, 'container-run-fast.js'), 'utf8');
    assert.doesNotMatch(standalone, /node_modules\/@peculiar\//);
    assert.match(standalone, /x509-lib\.cjs/);
    // Not spawnSync: the attestation service answers from this process's event loop.
    const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((done) => {
      const child = spawn(
        process.execPath,
        [
          built.entry,
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
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'args:one --two\n');
    assert.match(r.stderr, /attested at /);
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
