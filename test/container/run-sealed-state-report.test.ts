/**
 * `ccnodes container run` (bin/ccnodes.js as a process) when the program ran but its sealed state
 * could not be saved: the launcher says so on stderr with the stable code
 * (`ccnodes container: ERR_CONTAINER_SEALED_STATE: <reason>`), also under `--quiet` (where it is the
 * only line the launcher writes) and under `--json` (the program has run, so stdout stays the
 * program's own: no JSON object is added to it); a clean program exit becomes 1, another exit
 * status is kept; the blob at rest is left as it was.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { encodeAppSig, loadManifest, MAX_SEALED_STATE_BYTES, prepareApp } from '../../src/container/index.ts';
import { startService, type Started } from '../attestation/support.ts';
import { scratch, signingKey, SIM_SEED, type Scratch } from './support.ts';

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'ccnodes.js');
const CODE = 'ERR_CONTAINER_SEALED_STATE';

let svc: Started;
let s: Scratch;

before(async () => {
  [svc, s] = await Promise.all([startService(), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close()]);
});

/**
 * Writes one line to stdout; in mode fill, (re)writes big.bin in its state with $SIZE bytes; in
 * mode block, replaces the directory of the sealed blob ($BLOB_DIR) by a file; exits $STATUS.
 */
const PROGRAM = `#!/bin/sh
echo "program ran"
if [ "$MODE" = fill ]; then
  yes 'ccnodes sealed state' | head -c "$SIZE" > "$STATE_DIR/big.bin"
fi
if [ "$MODE" = block ]; then
  rm -rf "$BLOB_DIR" && echo 'not a directory' > "$BLOB_DIR"
fi
exit "\${STATUS:-0}"
`;

let apps = 0;
async function app(): Promise<{ manifest: string; sigPath: string; blobDir: string; blob: string }> {
  const dir = join(s.dir, `report-app-${++apps}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'prog.sh'), PROGRAM);
  const manifest = join(dir, 'app.yaml');
  await writeFile(
    manifest,
    JSON.stringify({
      name: `report-${apps}`,
      entrypoint: ['sh', 'prog.sh'],
      env: { passThrough: ['PATH', 'MODE', 'SIZE', 'BLOB_DIR', 'STATUS'] },
      trustedFiles: ['prog.sh'],
      sealedState: { dir: 'state', env: 'STATE_DIR' },
      attestation: { url: svc.url },
    }),
  );
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  const blobDir = join(dir, 'state');
  return { manifest, sigPath, blobDir, blob: join(blobDir, 'state.sealed') };
}

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

/** `ccnodes container run <manifest> --sig <sig> --sim-seed … <flags>` with `env` for the program. */
function containerRun(
  a: { manifest: string; sigPath: string },
  flags: string[],
  env: Record<string, string>,
): Promise<Exit> {
  const child = spawn(
    process.execPath,
    [BIN, 'container', 'run', a.manifest, '--sig', a.sigPath, '--sim-seed', SIM_SEED, ...flags],
    {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: s.dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  return new Promise((r) =>
    child.on('close', (code) => {
      r({ code, out, err });
    }),
  );
}

const oversize = { MODE: 'fill', SIZE: String(MAX_SEALED_STATE_BYTES + 1) };
const OVERSIZE_LINE = `ccnodes container: ${CODE}: sealed state exceeds ${MAX_SEALED_STATE_BYTES} bytes\n`;

test('state over MAX_SEALED_STATE_BYTES: exit 1 with the code and the reason on stderr (default, --quiet, --json); the blob at rest is unchanged', async () => {
  const a = await app();
  // A first run saves some state: the blob the failed saves below must leave alone.
  const first = await containerRun(a, [], { MODE: 'fill', SIZE: '1000' });
  assert.equal(first.code, 0, first.err);
  assert.ok(!first.err.includes(CODE), first.err);
  assert.match(first.err, /sealed state saved \(MRENCLAVE\)/);
  const saved = await readFile(a.blob);

  // Default: the progress line (no code) and the line with the code.
  const plain = await containerRun(a, [], oversize);
  assert.equal(plain.code, 1, plain.err);
  assert.ok(plain.err.includes(OVERSIZE_LINE), plain.err);
  assert.match(plain.err, /ccnodes container: sealed state NOT saved: sealed state exceeds/);
  assert.equal(plain.out, 'program ran\n');
  assert.deepEqual(await readFile(a.blob), saved, 'blob unchanged');

  // --quiet: no progress lines, but this one.
  const quiet = await containerRun(a, ['--quiet'], oversize);
  assert.equal(quiet.code, 1, quiet.err);
  assert.equal(quiet.err, OVERSIZE_LINE);
  assert.equal(quiet.out, 'program ran\n');
  assert.deepEqual(await readFile(a.blob), saved, 'blob unchanged');

  // --json: the program ran, so stdout is its own; the report is on stderr as without --json.
  const json = await containerRun(a, ['--json', '--quiet'], oversize);
  assert.equal(json.code, 1, json.err);
  assert.equal(json.err, OVERSIZE_LINE);
  assert.equal(json.out, 'program ran\n');
  assert.deepEqual(await readFile(a.blob), saved, 'blob unchanged');

  // The state that was saved still comes back: the failed saves touched nothing.
  const again = await containerRun(a, [], { MODE: 'check' });
  assert.equal(again.code, 0, again.err);
  assert.match(again.err, /sealed state: 1 files unsealed/);
});

test('the blob cannot be written (its directory replaced by a file while the program runs): the code with the write error; a failing exit status is kept', async () => {
  const a = await app();
  const env = { MODE: 'block', BLOB_DIR: a.blobDir };
  const r = await containerRun(a, ['--quiet'], env);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.out, 'program ran\n');
  const lines = r.err.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, r.err);
  assert.ok(
    lines[0]?.startsWith(`ccnodes container: ${CODE}: cannot write the sealed state ${a.blob}: `),
    r.err,
  );
  assert.ok(!existsSync(a.blob));

  // The program's own failure stays its exit status; the report is printed all the same.
  const failing = await containerRun(a, ['--quiet'], { ...env, STATUS: '3' });
  assert.equal(failing.code, 3, failing.err);
  assert.match(failing.err, new RegExp(`^ccnodes container: ${CODE}: cannot write the sealed state `));
});
