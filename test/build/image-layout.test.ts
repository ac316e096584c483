/**
 * The container images' layout, without Docker: deploy/docker/*.Dockerfile copy package.json,
 * tsconfig.json, scripts/, proto/ and src/, run `npm run build`, then delete the sources. This test
 * does the same in a temp directory (node_modules linked from the checkout) and starts both node
 * daemons from what is left, so a file the built CLI still needs at run time cannot go missing from
 * the images unnoticed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AesmClient } from '../support/aesm-client.ts';
import { KubeletPeer } from '../support/kubelet-peer.ts';
import { REPO_ROOT } from '../support/testdata.ts';

/** The files the Dockerfiles COPY into the build stage (besides package-lock.json). */
const COPIED = ['package.json', 'tsconfig.json', 'scripts', 'proto', 'src'];
/** What the Dockerfiles delete after the build. */
const REMOVED = ['src', 'scripts', 'tsconfig.json'];

function dockerfileSteps(component: string): string {
  return readFileSync(join(REPO_ROOT, 'deploy', 'docker', `${component}.Dockerfile`), 'utf8');
}

function waitForLog(child: ChildProcess, text: string, timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => {
      reject(new Error(`no "${text}" in ${timeoutMs} ms:\n${log}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString('utf8');
      if (log.includes(text)) {
        clearTimeout(timer);
        resolve(log);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${String(code)}) before "${text}":\n${log}`));
    });
  });
}

function getJson(socketPath: string, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  return exited;
}

describe('image layout (what the Dockerfiles keep)', () => {
  const app = mkdtempSync(join(tmpdir(), 'ccnodes-image-'));
  const entry = join(app, 'dist', 'ccnodes.js');

  before(() => {
    for (const component of ['attestation', 'device-plugin', 'quote-helper', 'webhook']) {
      const steps = dockerfileSteps(component);
      for (const item of COPIED.filter((i) => i !== 'package.json' && i !== 'tsconfig.json')) {
        assert.match(steps, new RegExp(`^COPY ${item} \\./${item}$`, 'm'), `${component}: COPY ${item}`);
      }
      assert.match(steps, /RUN npm run build/, component);
      assert.match(steps, /ENTRYPOINT \["\/nodejs\/bin\/node", "\/app\/dist\/ccnodes\.js"\]/, component);
    }
    for (const item of COPIED) cpSync(join(REPO_ROOT, item), join(app, item), { recursive: true });
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(app, 'node_modules'), 'dir');
    const build = spawnSync(process.execPath, ['--import', 'tsx', join(app, 'scripts', 'build.ts')], {
      cwd: app,
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(build.status, 0, build.stderr);
    for (const item of REMOVED) rmSync(join(app, item), { recursive: true, force: true });
  });
  after(() => {
    rmSync(app, { recursive: true, force: true });
  });

  test("the launcher (webhook image) warms container run's code cache in its last stage, and that works without sources", () => {
    const steps = dockerfileSteps('webhook');
    const last = steps.slice(steps.lastIndexOf('\nFROM '));
    assert.match(
      last,
      /^RUN \["\/nodejs\/bin\/node", "\/app\/dist\/ccnodes\.js", "container", "warm-cache"\]$/m,
    );
    const r = spawnSync(process.execPath, [entry, 'container', 'warm-cache', '--json'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { ok: boolean; cache: string; written: boolean };
    assert.deepEqual(
      [doc.ok, doc.cache, doc.written],
      [true, join(app, 'dist', 'container-run-fast.cjs.v8cache'), true],
    );
  });

  test('keeps no sources, and the CLI starts', () => {
    assert.equal(existsSync(join(app, 'src')), false);
    const r = spawnSync(process.execPath, [entry, 'node', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /device-plugin/);
  });

  test('the device plugin loads its gRPC API and registers with kubelet', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-image-dp-'));
    const peer = await KubeletPeer.start(dir);
    const tree = mkdtempSync(join(tmpdir(), 'ccnodes-image-dev-'));
    symlinkSync('/dev/null', join(tree, 'sgx_enclave'));
    const child = spawn(
      process.execPath,
      [entry, 'node', 'device-plugin', '--device-plugin-dir', dir, '--dev-root', tree, '--epc-mib', '64'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(async () => {
      await stop(child);
      await peer.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(tree, { recursive: true, force: true });
    });
    const epc = await Promise.race([
      peer.waitForRegistration('kubernetes.azure.com/sgx_epc_mem_in_MiB', 60_000),
      waitForLog(child, '(keeps running)').then(() => {
        throw new Error('unreachable');
      }),
    ]);
    assert.equal((await epc.waitForDevices(() => true)).length, 64);
    assert.equal(await stop(child), 0);
  });

  test('the quote helper loads its AESM schema and answers on both sockets', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-image-qh-'));
    const json = join(dir, 'json.sock');
    const child = spawn(
      process.execPath,
      [
        entry,
        'node',
        'quote-helper',
        '--provider',
        'sim',
        '--socket',
        join(dir, 'aesm.sock'),
        '--json-socket',
        json,
        '--data-dir',
        join(dir, 'data'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    t.after(async () => {
      await stop(child);
      rmSync(dir, { recursive: true, force: true });
    });
    await waitForLog(child, 'quote helper ready');
    const info = await getJson(json, '/v1/target-info');
    assert.equal(info.status, 200);
    assert.match(JSON.stringify(info.body), /[0-9a-f]{64}|[A-Za-z0-9+/]{100,}/);
    // The AESM socket decodes and encodes with proto/aesm/aesm.proto (read on the first request).
    const aesm = new AesmClient(join(dir, 'aesm.sock'));
    assert.deepEqual(await aesm.getSupportedAttKeyIdNum(), { errorCode: 0, num: 1 });
    assert.equal(await stop(child), 0);
  });
});
