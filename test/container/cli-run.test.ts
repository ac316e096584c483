/**
 * `ccnodes container run` as a process (bin/ccnodes.js), as a container entrypoint runs it: the
 * program's stdio passes through, a SIGTERM sent to the launcher reaches the program, the program's
 * exit status is the launcher's; a failed check exits 1 with the code and the program never starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { putSecretAsAdmin, startService, type Started } from '../attestation/support.ts';
import { policyFor, prepareExample, scratch, SIM_SEED, type Scratch } from './support.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ccnodes.js');
const PASSWORD = 'cli-run db password';

let svc: Started;
let s: Scratch;

before(async () => {
  [svc, s] = await Promise.all([startService(), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close()]);
});

function launch(
  args: string[],
  env: Record<string, string>,
): {
  exited: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
  kill: (sig: NodeJS.Signals) => void;
} {
  const child = spawn(process.execPath, [BIN, 'container', 'run', ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: s.dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return {
    exited: new Promise((r) =>
      child.on('close', (code, signal) => {
        r({ code, signal, out, err });
      }),
    ),
    kill: (sig) => child.kill(sig),
  };
}

async function waitFor(path: string, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (existsSync(path)) {
      const t = await readFile(path, 'utf8');
      if (t !== '') return t;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${path} did not appear`);
}

test('the launcher forwards SIGTERM to the service and exits with its status; nothing leaks to its output', async () => {
  const app = await prepareExample(s, 'node-db-service');
  assert.equal(
    await putSecretAsAdmin(svc.url, 'db-password', PASSWORD, policyFor(svc.url, app.sig.mrenclave)),
    201,
  );
  const ready = join(s.dir, 'cli-ready.json');
  const p = launch(
    [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED],
    {
      READY_FILE: ready,
    },
  );
  const { port } = JSON.parse(await waitFor(ready)) as { port: number };
  const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as Record<string, unknown>;
  assert.equal(health['passwordSha256'], createHash('sha256').update(PASSWORD).digest('hex'));
  p.kill('SIGTERM');
  const r = await p.exited;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /ccnodes container: released: db-password/);
  assert.match(r.err, /db-service: SIGTERM, shutting down/, 'the signal reached the program');
  assert.ok(!(r.out + r.err).includes(PASSWORD));
});

test('a changed trusted file: exit 1, the code on stdout under --json, the program never starts', async () => {
  const app = await prepareExample(s, 'node-db-service', undefined, 'cli-changed');
  await appendFile(join(app.appDir, 'server.js'), '\n// changed\n');
  const ready = join(s.dir, 'cli-never.json');
  const r = await launch(
    [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED, '--json'],
    { READY_FILE: ready },
  ).exited;
  assert.equal(r.code, 1, r.err);
  const doc = JSON.parse(r.out) as { ok: boolean; error: { code: string; details: Record<string, unknown> } };
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED');
  assert.equal(doc.error.details['path'], 'server.js');
  assert.match(r.err, /the program was not started/);
  assert.ok(!existsSync(ready));
});
