/**
 * `ccnodes container run` as a process (bin/ccnodes.js), as a container entrypoint runs it: the
 * program's stdio passes through, a SIGTERM sent to the launcher reaches the program, the program's
 * exit status is the launcher's; a failed check exits 1 with the code and the program never starts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { putSecretAsAdmin, startService, type Started } from '../attestation/support.ts';
import {
  encodeAppSig,
  findExecutable,
  loadManifest,
  prepareApp,
  readCoreLimit,
} from '../../src/container/index.ts';
import { policyFor, prepareExample, scratch, signingKey, SIM_SEED, type Scratch } from './support.ts';

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
  /** The launcher's RLIMIT_CORE at its start (`soft:hard`, prlimit's syntax), set by prlimit's exec. */
  coreLimit?: string,
): {
  exited: Promise<{ code: number | null; signal: string | null; out: string; err: string }>;
  kill: (sig: NodeJS.Signals) => void;
} {
  const node = [process.execPath, BIN, 'container', 'run', ...args];
  const [command = '', ...rest] =
    coreLimit === undefined ? node : [PRLIMIT, `--core=${coreLimit}`, '--', ...node];
  const child = spawn(command, rest, {
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

test('--hash-helper or CCNODES_HASH_HELPER other than auto or off: exit 2 naming it, the program never starts', async () => {
  const app = await prepareExample(s, 'node-db-service', undefined, 'cli-hash-helper');
  const args = [
    app.manifest,
    '--sig',
    app.sigPath,
    '--attestation-url',
    svc.url,
    '--sim-seed',
    SIM_SEED,
    '--json',
  ];
  const ready = join(s.dir, 'cli-hash-helper-never.json');
  const r = await launch(args, { READY_FILE: ready, CCNODES_HASH_HELPER: '/tmp/my-openssl' }).exited;
  assert.equal(r.code, 2, r.err);
  const doc = JSON.parse(r.out) as { ok: boolean; error: { code: string; message: string } };
  assert.equal(doc.ok, false);
  assert.equal(doc.error.code, 'ERR_USAGE');
  assert.match(doc.error.message, /CCNODES_HASH_HELPER: auto or off, got "\/tmp\/my-openssl"/);
  assert.ok(!existsSync(ready));
  // The flag is read first, and named when it is the bad one.
  const flagged = await launch([...args, '--hash-helper', 'fast'], {
    READY_FILE: ready,
    CCNODES_HASH_HELPER: 'off',
  }).exited;
  assert.equal(flagged.code, 2, flagged.err);
  assert.match(
    (JSON.parse(flagged.out) as { error: { message: string } }).error.message,
    /^--hash-helper: auto or off, got "fast"/,
  );
  assert.ok(!existsSync(ready));
});

/** An app whose program reports its parent (the launcher) and the core-dump limits of both. */
async function limitsApp(name: string): Promise<{ manifest: string; sigPath: string }> {
  const appDir = join(s.dir, name);
  await mkdir(appDir, { recursive: true });
  await writeFile(
    join(appDir, 'limits.sh'),
    [
      'echo "parent: $(tr "\\0" " " < /proc/$PPID/cmdline)"',
      "grep '^Max core file size' /proc/$PPID/limits | sed 's/^/launcher: /'",
      "grep '^Max core file size' /proc/$$/limits | sed 's/^/program: /'",
      'echo "launcher coredump_filter: $(cat /proc/$PPID/coredump_filter)"',
      'echo "program coredump_filter: $(cat /proc/$$/coredump_filter)"',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(appDir, 'app.yaml'),
    [
      'name: limits',
      'entrypoint: [sh, limits.sh]',
      'env:',
      '  passThrough: [PATH]',
      'trustedFiles: [limits.sh]',
      '',
    ].join('\n'),
  );
  const manifest = join(appDir, 'app.yaml');
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(s.dir, `${name}.sig`);
  await writeFile(sigPath, encodeAppSig(sig));
  return { manifest, sigPath };
}

/** The core limit pair (`<soft> <hard>`) on the line of `who` in the program's output. */
function coreLine(out: string, who: 'launcher' | 'program'): string {
  const m = new RegExp(`^${who}: Max core file size\\s+(\\S+)\\s+(\\S+)`, 'm').exec(out);
  assert.ok(m !== null, `no ${who} core limit in ${JSON.stringify(out)}`);
  return `${m[1] ?? ''} ${m[2] ?? ''}`;
}

/** prlimit(1) of this machine, to start a launcher at a given core limit. */
const PRLIMIT = ((): string => {
  const found = findExecutable('prlimit', process.env.PATH ?? '/usr/bin:/bin');
  return 'path' in found ? found.path : 'prlimit';
})();

/** A directory with the commands limits.sh needs, and no prlimit. */
async function shOnlyBin(): Promise<string> {
  const bin = join(s.dir, 'sh-only-bin');
  await mkdir(bin, { recursive: true });
  for (const c of ['sh', 'tr', 'grep', 'sed', 'cat']) {
    const found = findExecutable(c, process.env.PATH ?? '/usr/bin:/bin');
    assert.ok('path' in found, c);
    if (!existsSync(join(bin, c))) await symlink(found.path, join(bin, c));
  }
  return bin;
}

/** Whether this process may start a child at RLIMIT_CORE `unlimited` (its hard limit is). */
const canRaise = readCoreLimit()?.hard === Infinity;

test('the launcher turns its core dumps off (RLIMIT_CORE 0/0) before the program runs, and the program inherits it', async (t) => {
  if (!canRaise) {
    t.skip('this process cannot start a child with core dumps allowed (its hard limit is not unlimited)');
    return;
  }
  const app = await limitsApp('limits-off');
  // Started with core dumps allowed (soft and hard unlimited): the launcher runs prlimit on itself.
  const r = await launch(
    [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED],
    {},
    'unlimited:unlimited',
  ).exited;
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^parent: \S*node\S* \S*ccnodes\.js container run /m, 'the parent is the launcher');
  assert.equal(coreLine(r.out, 'launcher'), '0 0');
  assert.equal(coreLine(r.out, 'program'), '0 0');
  assert.match(r.out, /^launcher coredump_filter: 0+$/m, 'no mapping in any core of the launcher');
  assert.match(r.out, /^program coredump_filter: 0+$/m, 'nor of the program');
  assert.match(r.err, /core dumps: off \(RLIMIT_CORE 0\/0\)/);
});

test('a launcher whose soft limit is 0 already: no prlimit on itself; the program is exec-ed through prlimit at 0/0', async (t) => {
  if (!canRaise) {
    t.skip('this process cannot start a child with a hard limit above 0');
    return;
  }
  const app = await limitsApp('limits-soft-zero');
  const r = await launch(
    [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED],
    {},
    '0:unlimited',
  ).exited;
  assert.equal(r.code, 0, r.err);
  // prlimit exec-ed the program in place: its parent is the launcher itself, not a prlimit process.
  assert.match(r.out, /^parent: \S*node\S* \S*ccnodes\.js container run /m, 'the parent is the launcher');
  assert.equal(coreLine(r.out, 'launcher'), '0 unlimited');
  assert.equal(coreLine(r.out, 'program'), '0 0');
  assert.match(r.out, /^launcher coredump_filter: 0+$/m);
  assert.match(r.out, /^program coredump_filter: 0+$/m);
  assert.match(
    r.err,
    /core dumps: off \(RLIMIT_CORE 0\/unlimited; the program starts under prlimit at 0\/0\)/,
  );
});

test('a launcher started at 0/0 needs no prlimit at all (none in PATH)', async () => {
  const app = await limitsApp('limits-zero');
  const r = await launch(
    [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED],
    // PATH for the program only: a prlimit, were one needed, would not be found.
    { PATH: await shOnlyBin() },
    '0:0',
  ).exited;
  assert.equal(r.code, 0, r.err);
  assert.equal(coreLine(r.out, 'launcher'), '0 0');
  assert.equal(coreLine(r.out, 'program'), '0 0');
  assert.match(r.err, /core dumps: off \(RLIMIT_CORE 0\/0\)/);
});

test('--allow-core-dumps leaves the limit as the launcher got it', async (t) => {
  const mine = readCoreLimit();
  if (mine === undefined || (mine.soft === 0 && mine.hard === 0)) {
    t.skip('this process already runs with RLIMIT_CORE 0/0 (nothing to leave as it is)');
    return;
  }
  const app = await limitsApp('limits-allowed');
  const r = await launch(
    [
      app.manifest,
      '--sig',
      app.sigPath,
      '--attestation-url',
      svc.url,
      '--sim-seed',
      SIM_SEED,
      '--allow-core-dumps',
      // Accepted by the command line (the app's files are hashed in the launcher either way).
      '--hash-helper',
      'off',
    ],
    {},
  ).exited;
  assert.equal(r.code, 0, r.err);
  const show = (v: number): string => (v === Infinity ? 'unlimited' : String(v));
  assert.equal(coreLine(r.out, 'launcher'), `${show(mine.soft)} ${show(mine.hard)}`);
});

test('no prlimit to turn core dumps off: exit 1, ERR_CONTAINER_CORE_LIMIT, the program never starts', async (t) => {
  const mine = readCoreLimit();
  if (mine === undefined || (mine.soft === 0 && mine.hard === 0)) {
    t.skip('this process already runs with RLIMIT_CORE 0/0, which the launcher inherits (no prlimit needed)');
    return;
  }
  const app = await limitsApp('limits-no-prlimit');
  // As this process is, and (where it can) started at unlimited/unlimited and at 0/unlimited: the
  // launcher needs prlimit either for itself or to start the program.
  for (const limit of canRaise ? [undefined, 'unlimited:unlimited', '0:unlimited'] : [undefined]) {
    const r = await launch(
      [app.manifest, '--sig', app.sigPath, '--attestation-url', svc.url, '--sim-seed', SIM_SEED, '--json'],
      { PATH: await shOnlyBin() },
      limit,
    ).exited;
    assert.equal(r.code, 1, r.err);
    const doc = JSON.parse(r.out) as {
      ok: boolean;
      error: { code: string; details: Record<string, unknown> };
    };
    assert.equal(doc.error.code, 'ERR_CONTAINER_CORE_LIMIT', String(limit));
    assert.equal(doc.error.details['step'], 'prlimit');
    assert.ok(!r.out.includes('parent:'), 'the program did not run');
    assert.match(r.err, /the program was not started/);
  }
});
