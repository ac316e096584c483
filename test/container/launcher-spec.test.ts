/**
 * Specification of the launcher (`runContainer`, src/container/launcher.ts) with a small shell
 * program of its own, against a real attestation service: core dumps off before anything runs
 * (or left as they are when allowed), what the program receives (secrets in its environment and as
 * 0600 files in the 0700 private directory, encrypted inputs under keys given as 32 raw bytes, 64
 * hex digits or base64, `${NAME}` expansion in argv, env.set and workingDir, extra arguments, only
 * the passed-through variables), how it ends (exit status, signal, forwarded signals, spawn
 * failure), the sealed state (files and modes back after a restart, a new directory, the size
 * bound), and the refusals that stop it before it starts. (run.test.ts runs the example programs.)
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CompactEncrypt } from 'jose';
import {
  encodeAppSig,
  identityImage,
  loadManifest,
  MAX_SEALED_STATE_BYTES,
  prepareApp,
  readAppSig,
  readCoreLimit,
} from '../../src/container/index.ts';
import { SimCpu, startEnclave } from '../../src/sim/index.ts';
import { ADMIN_TOKEN, startService, type Started } from '../attestation/support.ts';
import {
  leftovers,
  policyFor,
  run,
  scratch,
  signingKey,
  SIM_SEED,
  type RunRecord,
  type Scratch,
} from './support.ts';

let svc: Started;
let s: Scratch;
/** This process's core limit when the file started (before any run turned core dumps off). */
const initialCore = readCoreLimit();
const lowerable = initialCore !== undefined && !(initialCore.soft === 0 && initialCore.hard === 0);

before(async () => {
  [svc, s] = await Promise.all([startService(), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close()]);
});

/** The program: writes what it sees to $OUT, then exits with $EXIT_STATUS (or as $MODE says). */
const PROGRAM = `#!/bin/sh
{
  echo "argc=$#"
  for a in "$@"; do echo "arg=$a"; done
  echo "pwd=$(pwd)"
  echo "token=\${API_TOKEN-unset}"
  echo "derived=\${DERIVED-unset}"
  echo "home=\${HOME-unset}"
  echo "absent=\${ABSENT-unset}"
  echo "private=\${CCNODES_PRIVATE_DIR-unset}"
  echo "dirmode=$(stat -c %a "$CCNODES_PRIVATE_DIR")"
  if [ -f "$CCNODES_PRIVATE_DIR/keys/app.key" ]; then
    echo "keymode=$(stat -c %a "$CCNODES_PRIVATE_DIR/keys/app.key")"
    echo "key=$(cat "$CCNODES_PRIVATE_DIR/keys/app.key")"
  fi
  if [ -f "$CCNODES_PRIVATE_DIR/input.txt" ]; then echo "input=$(cat "$CCNODES_PRIVATE_DIR/input.txt")"; fi
  if [ -n "\${STATE_DIR-}" ]; then
    echo "state=$STATE_DIR"
    echo "statedir=$(stat -c %a "$STATE_DIR" 2>/dev/null || echo none)"
    for f in $(cd "$STATE_DIR" 2>/dev/null && find . -type f | sort); do
      echo "statefile=$f $(stat -c %a "$STATE_DIR/$f") $(wc -c < "$STATE_DIR/$f") $(head -c 8 "$STATE_DIR/$f" | tr -d '\\000\\n')"
    done
  fi
  grep '^Max core file size' /proc/self/limits | tr -s ' '
} > "$OUT"
case "\${MODE-}" in
  write-state)
    mkdir -p "$STATE_DIR/sub"
    echo one > "$STATE_DIR/a.txt"
    echo two > "$STATE_DIR/sub/b.txt"
    chmod 700 "$STATE_DIR/sub/b.txt"
    ;;
  mid-state)
    head -c $((64 * 1024)) /dev/zero > "$STATE_DIR/big.bin"
    ;;
  big-state)
    head -c $((16 * 1024 * 1024 - 7)) /dev/zero > "$STATE_DIR/big.bin"
    ;;
  signal)
    kill -TERM $$
    ;;
  wait-usr2)
    trap 'echo got-usr2 >> "$OUT"; exit 0' USR2
    : > "$OUT.ready"
    i=0
    while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
    exit 9
    ;;
esac
exit "\${EXIT_STATUS:-0}"
`;

interface AppOptions {
  readonly secrets?: unknown[];
  readonly encryptedInputs?: unknown[];
  readonly sealedState?: unknown;
  readonly entrypoint?: string[];
  readonly workingDir?: string;
  readonly set?: Record<string, string>;
  readonly url?: boolean;
}

let apps = 0;
/** An app directory with PROGRAM and a JSON manifest, prepared; its secrets' policies pin it. */
async function app(
  o: AppOptions = {},
): Promise<{ dir: string; manifest: string; sigPath: string; mrenclave: string }> {
  const dir = join(s.dir, `app-${++apps}`);
  await mkdir(join(dir, 'work'), { recursive: true });
  await writeFile(join(dir, 'prog.sh'), PROGRAM);
  const manifest = join(dir, 'app.yaml');
  await writeFile(
    manifest,
    JSON.stringify({
      name: `spec-${apps}`,
      entrypoint: o.entrypoint ?? ['sh', 'prog.sh'],
      ...(o.workingDir === undefined ? {} : { workingDir: o.workingDir }),
      env: { passThrough: ['PATH', 'OUT', 'EXIT_STATUS', 'MODE', 'ABSENT'], set: o.set ?? {} },
      trustedFiles: ['prog.sh'],
      secrets: o.secrets ?? [],
      encryptedInputs: o.encryptedInputs ?? [],
      ...(o.sealedState === undefined ? {} : { sealedState: o.sealedState }),
      ...(o.url === false ? {} : { attestation: { url: svc.url } }),
    }),
  );
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  return { dir, manifest, sigPath, mrenclave: sig.mrenclave };
}

/** Stores a secret (any bytes) released only to `mrenclave`. */
async function putSecret(name: string, value: Uint8Array | string, mrenclave: string): Promise<void> {
  const res = await fetch(`${svc.url}/ccnodes/v1/secrets/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      value: Buffer.from(value).toString('base64'),
      contentType: 'application/octet-stream',
      releasePolicy: policyFor(svc.url, mrenclave),
    }),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201);
}

/** The program's report as key=value lines (repeated keys collected). */
async function report(path: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const line of (await readFile(path, 'utf8')).split('\n')) {
    const i = line.indexOf('=');
    const k = i < 0 ? line : line.slice(0, i);
    if (k === '') continue;
    out.set(k, [...(out.get(k) ?? []), i < 0 ? '' : line.slice(i + 1)]);
  }
  return out;
}

/** Stopped before the program ran: the code, no spawn, nothing left in the private root. */
async function assertStopped(r: RunRecord, code: string): Promise<void> {
  assert.equal(r.error?.code, code, `${r.error?.message ?? 'no error'}\n${r.events.join('\n')}`);
  assert.ok(!r.events.includes('spawned'), 'the program was not started');
  assert.deepEqual(await leftovers(s), [], 'no private directory left');
}

const INPUT = 'confidential input\n';
const encrypt = (key: Uint8Array): Promise<string> =>
  new CompactEncrypt(new TextEncoder().encode(INPUT))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
    .encrypt(key);

// Order matters: these run while this process's core limit is still what it got, and the last one
// lowers it to 0/0 for good.
test(
  'core dumps: left as they are when allowed; otherwise turned off before the program runs, or the launch fails',
  { skip: !lowerable },
  async (t) => {
    const a = await app();
    const out = join(a.dir, 'core.txt');
    const base = { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } };
    await t.test('allowed: no prlimit is run, the program gets the limit the launcher got', async () => {
      const r = await run(s, { ...base, coreDumps: 'allow', prlimit: join(s.dir, 'no-such-prlimit') });
      assert.equal(r.error, undefined, r.error?.message);
      assert.ok(r.events.includes('core dumps: left as they are (allowed)'), r.events.join('\n'));
      assert.notDeepEqual(readCoreLimit(), { soft: 0, hard: 0 });
      assert.match(await readFile(out, 'utf8'), /^Max core file size \S+ \S+ bytes/m);
      assert.doesNotMatch(
        await readFile(out, 'utf8'),
        /^Max core file size 0 0 bytes/m,
        'the program got no 0/0 limit',
      );
    });
    await t.test('no prlimit: ERR_CONTAINER_CORE_LIMIT, the program never starts', async () => {
      await rm(out, { force: true });
      const r = await run(s, { ...base, prlimit: join(s.dir, 'no-such-prlimit') });
      await assertStopped(r, 'ERR_CONTAINER_CORE_LIMIT');
      assert.ok(!existsSync(out));
    });
    await t.test(
      'default: the program runs at RLIMIT_CORE 0/0 (inherited, or set by prlimit at its exec when the soft limit was 0 already)',
      async () => {
        const before = readCoreLimit();
        const r = await run(s, base);
        assert.equal(r.error, undefined, r.error?.message);
        if (before?.soft === 0) {
          // No prlimit on this process: its limit stays; the program gets 0/0 from prlimit.
          const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
          assert.ok(
            r.events.includes(
              `core dumps: off (RLIMIT_CORE 0/${hard}; the program starts under prlimit at 0/0)`,
            ),
            r.events.join('\n'),
          );
          assert.deepEqual(readCoreLimit(), before);
        } else {
          assert.ok(r.events.includes('core dumps: off (RLIMIT_CORE 0/0)'), r.events.join('\n'));
          assert.deepEqual(readCoreLimit(), { soft: 0, hard: 0 });
        }
        assert.match(await readFile(out, 'utf8'), /^Max core file size 0 0 bytes/m);
      },
    );
  },
);

test('the program gets its secrets, inputs and expanded arguments in a private 0700 directory; only then it starts', async () => {
  const key = createHash('sha256').update('launcher spec input key').digest();
  const a = await app({
    entrypoint: ['sh', '${APP_DIR}/prog.sh', 'dir=${CCNODES_PRIVATE_DIR}', 'keep=${NOPE}', 'path=${PATH}'],
    workingDir: '${CCNODES_PRIVATE_DIR}',
    set: { APP_DIR: '', DERIVED: 'at ${CCNODES_PRIVATE_DIR}/x and ${OUT}' },
    secrets: [
      { name: 'spec-token', env: 'API_TOKEN' },
      { name: 'spec-file', file: 'keys/app.key' },
    ],
    encryptedInputs: [{ path: 'input.jwe', keySecret: 'spec-input-key', file: 'input.txt' }],
  });
  // APP_DIR is not known before prepare: set it now (env.set is measured, so prepare again).
  const m = JSON.parse(await readFile(a.manifest, 'utf8')) as { env: { set: Record<string, string> } };
  m.env.set['APP_DIR'] = a.dir;
  await writeFile(a.manifest, JSON.stringify(m));
  const { sig } = await prepareApp(await loadManifest(a.manifest), signingKey());
  await writeFile(a.sigPath, encodeAppSig(sig));
  await writeFile(join(a.dir, 'input.jwe'), await encrypt(key));
  await putSecret('spec-token', 'token-value-1', sig.mrenclave);
  await putSecret('spec-file', 'file-secret-2', sig.mrenclave);
  await putSecret('spec-input-key', key.toString('hex'), sig.mrenclave);
  const out = join(s.dir, 'deliver.txt');
  const r = await run(s, {
    manifestPath: a.manifest,
    sigPath: a.sigPath,
    extraArgs: ['extra ${PATH}', 'last'],
    env: { OUT: out, EXIT_STATUS: '5', HOME: '/home/nobody' },
  });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 5);
  assert.equal(r.result.signal, undefined);
  assert.equal(r.result.mrenclave, sig.mrenclave);
  const got = await report(out);
  const priv = got.get('private')?.[0] ?? '';
  assert.ok(priv.startsWith(join(s.privateRoot, 'ccnodes-cc-')), priv);
  const PATH = process.env['PATH'] ?? '/usr/bin:/bin';
  assert.deepEqual(got.get('arg'), [`dir=${priv}`, 'keep=${NOPE}', `path=${PATH}`, `extra ${PATH}`, 'last']);
  assert.deepEqual(got.get('argc'), ['5']);
  assert.deepEqual(got.get('pwd'), [priv]);
  assert.deepEqual(got.get('token'), ['token-value-1']);
  assert.deepEqual(got.get('derived'), [`at ${priv}/x and ${out}`]);
  assert.deepEqual(got.get('home'), ['unset'], 'only passed-through variables');
  assert.deepEqual(got.get('absent'), ['unset'], 'a passed-through variable the launcher lacks stays unset');
  assert.deepEqual(got.get('dirmode'), ['700']);
  assert.deepEqual(got.get('keymode'), ['600']);
  assert.deepEqual(got.get('key'), ['file-secret-2']);
  assert.deepEqual(got.get('input'), [INPUT.trim()]);
  const at = (p: string): number => r.events.findIndex((e) => e.startsWith(p));
  assert.ok(at('trusted files: 1 unchanged') >= 0, r.events.join('\n'));
  assert.ok(at('released: spec-token, spec-file, spec-input-key') > at('attested'));
  assert.ok(at(`private directory ${priv} (0700)`) > at('released'));
  assert.ok(at('spawned') > at('private directory'));
  assert.ok(at('starting sh') > at('private directory'), r.events.join('\n'));
  assert.ok(r.events.includes('program exited: status 5'), r.events.join('\n'));
  assert.deepEqual(await leftovers(s), [], 'the private directory is wiped');
});

test('encrypted-input keys: 32 raw bytes, 64 hex digits (any case), base64url or base64 of 32 bytes; anything else is ERR_CONTAINER_INPUT', async () => {
  const a = await app({
    secrets: [{ name: 'k-file', file: 'k' }],
    encryptedInputs: [{ path: 'in.jwe', keySecret: 'k-input', file: 'input.txt' }],
  });
  const key = createHash('sha256').update('another input key').digest();
  await writeFile(join(a.dir, 'in.jwe'), await encrypt(key));
  await putSecret('k-file', 'x', a.mrenclave);
  const out = join(s.dir, 'keys.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } };
  for (const [form, value] of [
    ['raw', key],
    ['HEX', key.toString('hex').toUpperCase()],
    ['base64url', key.toString('base64url')],
    ['base64', `${key.toString('base64')}\n`],
  ] as const) {
    await putSecret('k-input', value, a.mrenclave);
    await rm(out, { force: true });
    const r = await run(s, base);
    assert.equal(r.error, undefined, `${form}: ${r.error?.message ?? ''}`);
    assert.deepEqual((await report(out)).get('input'), [INPUT.trim()], form);
  }
  for (const [form, value] of [
    ['31 raw bytes', key.subarray(1)],
    ['63 hex digits', key.toString('hex').slice(1)],
    ['base64 of 31 bytes', key.subarray(1).toString('base64url')],
    ['base64 of 33 bytes', Buffer.concat([key, Buffer.from([1])]).toString('base64')],
  ] as const) {
    await putSecret('k-input', value, a.mrenclave);
    const r = await run(s, base);
    await assertStopped(r, 'ERR_CONTAINER_INPUT');
    assert.equal(r.error?.details['secret'], 'k-input', form);
  }
  // A 256-bit key that is not the one the input was encrypted under.
  await putSecret('k-input', createHash('sha256').update('wrong').digest(), a.mrenclave);
  const wrong = await run(s, base);
  await assertStopped(wrong, 'ERR_CONTAINER_INPUT');
  assert.equal(wrong.error?.details['path'], 'in.jwe');
  // The input file missing.
  await putSecret('k-input', key, a.mrenclave);
  await rm(join(a.dir, 'in.jwe'));
  const missing = await run(s, base);
  await assertStopped(missing, 'ERR_CONTAINER_INPUT');
  assert.equal(missing.error?.details['path'], 'in.jwe');
  assert.match(missing.error.message, /encryptedInputs\[0\]: cannot read in\.jwe/);
});

test('a secret delivered in the environment must be UTF-8 text without NUL (else ERR_CONTAINER_ATTESTATION); as a file any bytes go', async () => {
  const a = await app({ secrets: [{ name: 'env-secret', env: 'API_TOKEN' }] });
  const out = join(s.dir, 'env-secret.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } };
  for (const value of [Buffer.from('a\0b'), Buffer.from([0x61, 0xff, 0x62])]) {
    await putSecret('env-secret', value, a.mrenclave);
    const r = await run(s, base);
    await assertStopped(r, 'ERR_CONTAINER_ATTESTATION');
    assert.equal(r.error?.details['secret'], 'env-secret');
  }
  await putSecret('env-secret', 'grüße', a.mrenclave);
  const ok = await run(s, base);
  assert.equal(ok.error, undefined, ok.error?.message);
  assert.deepEqual((await report(out)).get('token'), ['grüße']);
  const f = await app({ secrets: [{ name: 'bin-secret', file: 'keys/app.key' }] });
  await putSecret('bin-secret', Buffer.from([0x61, 0, 0xff]), f.mrenclave);
  const binary = await run(s, { manifestPath: f.manifest, sigPath: f.sigPath, env: { OUT: out } });
  assert.equal(binary.error, undefined, binary.error?.message);
});

test('no attestation service named: ERR_CONTAINER_MANIFEST naming attestation.url; the option supplies one', async () => {
  const a = await app({ url: false });
  const out = join(s.dir, 'no-url.txt');
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } });
  await assertStopped(r, 'ERR_CONTAINER_MANIFEST');
  assert.equal(r.error?.details['field'], 'attestation.url');
  const ok = await run(s, {
    manifestPath: a.manifest,
    sigPath: a.sigPath,
    attestationUrl: svc.url,
    env: { OUT: out },
  });
  assert.equal(ok.error, undefined, ok.error?.message);
  assert.ok(ok.events.some((e) => e.startsWith(`attested at ${svc.url}`)));
});

test('how the program ends: a signal is 128 + its number; a program that cannot start is ERR_CONTAINER_SPAWN; forwarded signals reach it', async () => {
  const a = await app();
  const out = join(s.dir, 'end.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  const killed = await run(s, { ...base, env: { OUT: out, MODE: 'signal' } });
  assert.equal(killed.error, undefined, killed.error?.message);
  assert.equal(killed.result?.exitCode, 128 + 15);
  assert.equal(killed.result.signal, 'SIGTERM');
  assert.ok(killed.events.includes('program exited: signal SIGTERM'), killed.events.join('\n'));
  assert.deepEqual(await leftovers(s), []);

  const missing = await app({ entrypoint: [join(s.dir, 'no-such-program')] });
  const spawnFailed = await run(s, {
    manifestPath: missing.manifest,
    sigPath: missing.sigPath,
    env: { OUT: out },
  });
  assert.equal(spawnFailed.error?.code, 'ERR_CONTAINER_SPAWN');
  assert.equal(spawnFailed.error.details['program'], join(s.dir, 'no-such-program'));
  assert.match(spawnFailed.error.message, /: ENOENT$/);
  assert.deepEqual(await leftovers(s), [], 'the private directory is wiped');
  // A file that is there but not executable, and a name not in PATH: the same error, with the
  // reason, whether or not the program is started through prlimit (core-limit.ts).
  await writeFile(join(s.dir, 'not-executable'), 'echo never\n', { mode: 0o644 });
  for (const [entrypoint, reason] of [
    [join(s.dir, 'not-executable'), 'EACCES'],
    ['no-such-program-in-path', 'ENOENT'],
  ] as const) {
    const bad = await app({ entrypoint: [entrypoint] });
    const r = await run(s, { manifestPath: bad.manifest, sigPath: bad.sigPath, env: { OUT: out } });
    assert.equal(r.error?.code, 'ERR_CONTAINER_SPAWN', entrypoint);
    assert.equal(r.error.message, `cannot start ${entrypoint}: ${reason}`);
    assert.ok(!r.events.includes('spawned'), r.events.join('\n'));
    assert.deepEqual(await leftovers(s), []);
  }

  // Forwarded: SIGUSR2 sent to this process reaches the program (a listener of our own keeps the
  // default action, termination, away from the test process in any case).
  const keep = (): void => undefined;
  process.on('SIGUSR2', keep);
  const listeners = process.listenerCount('SIGUSR2');
  try {
    await rm(out, { force: true });
    const r = await run(s, {
      ...base,
      env: { OUT: out, MODE: 'wait-usr2' },
      forwardSignals: true,
      onSpawn: () => {
        void (async () => {
          for (let i = 0; i < 600 && !existsSync(`${out}.ready`); i++)
            await new Promise((w) => setTimeout(w, 50));
          process.kill(process.pid, 'SIGUSR2');
        })();
      },
    });
    assert.equal(r.error, undefined, r.error?.message);
    assert.equal(r.result?.exitCode, 0);
    assert.match(await readFile(out, 'utf8'), /got-usr2/);
    assert.equal(process.listenerCount('SIGUSR2'), listeners, 'the forwarding handlers are removed');
    // Not forwarded unless asked: no handler is added while it runs.
    let during = -1;
    const plain = await run(s, {
      ...base,
      env: { OUT: out, EXIT_STATUS: '0' },
      onSpawn: () => {
        during = process.listenerCount('SIGUSR2');
      },
    });
    assert.equal(plain.error, undefined);
    assert.equal(during, listeners);
  } finally {
    process.off('SIGUSR2', keep);
  }
});

test('sealed state: files and modes come back after a restart, into a directory made on first save; 64 KiB is saved, one byte over 16 MiB is not', async () => {
  const a = await app({ sealedState: { dir: 'var/state', env: 'STATE_DIR' } });
  const out = join(s.dir, 'state.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  const blob = join(a.dir, 'var', 'state', 'state.sealed');
  const first = await run(s, { ...base, env: { OUT: out, MODE: 'write-state' } });
  assert.equal(first.error, undefined, first.error?.message);
  assert.equal(first.result?.exitCode, 0);
  assert.ok(first.events.includes('sealed state saved (MRENCLAVE)'), first.events.join('\n'));
  assert.ok(existsSync(blob));
  const empty = await report(out);
  assert.deepEqual(empty.get('statedir'), ['700'], 'the state directory exists, private, before any state');
  assert.deepEqual(empty.get('statefile'), undefined, 'empty the first time');
  // Restart; the program adds a 64 KiB file: saved. (State up to the 16 MiB limit is specified in
  // test/container/sealed-state-size.test.ts.)
  const second = await run(s, { ...base, env: { OUT: out, MODE: 'mid-state' } });
  assert.equal(second.error, undefined, second.error?.message);
  assert.equal(second.result?.exitCode, 0, second.events.join('\n'));
  const got = await report(out);
  assert.ok(got.get('state')?.[0]?.endsWith('/sealed-state'));
  assert.deepEqual(got.get('statefile'), ['./a.txt 600 4 one', './sub/b.txt 700 4 two']);
  assert.ok(second.events.includes('sealed state: 2 files unsealed'), second.events.join('\n'));
  assert.ok(second.events.includes('sealed state saved (MRENCLAVE)'), second.events.join('\n'));
  const saved = await readFile(blob);
  // big.bin grown to bring the state one byte over 16 MiB: not saved (the blob is left as it was); a clean exit becomes 1, another
  // status is kept.
  for (const [status, want] of [
    ['0', 1],
    ['3', 3],
  ] as const) {
    const big = await run(s, { ...base, env: { OUT: out, MODE: 'big-state', EXIT_STATUS: status } });
    assert.equal(big.error, undefined, big.error?.message);
    assert.equal(big.result?.exitCode, want);
    assert.ok(
      big.events.includes(`sealed state NOT saved: sealed state exceeds ${16 * 1024 * 1024} bytes`),
      big.events.join('\n'),
    );
    assert.ok(big.events.includes('sealed state: 3 files unsealed'), big.events.join('\n'));
    assert.deepEqual(await readFile(blob), saved);
  }
  assert.equal(MAX_SEALED_STATE_BYTES, 16 * 1024 * 1024);
  assert.deepEqual(await leftovers(s), []);
});

test('a sealed state that unseals but is not a well-formed archive is ERR_CONTAINER_SEALED_STATE: no entry may leave the state directory', async () => {
  const a = await app({ sealedState: { dir: 'state', env: 'STATE_DIR' } });
  const loaded = await loadManifest(a.manifest);
  const sig = await readAppSig(a.sigPath);
  // The app's own identity seals what the launcher will then unseal.
  const enclave = await startEnclave({
    cpu: SimCpu.fromSeed(SIM_SEED),
    image: identityImage(loaded.manifest, sig.trustedFiles),
    sigstruct: sig.sigstruct,
  });
  const blob = join(a.dir, 'state', 'state.sealed');
  const out = join(s.dir, 'forged.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } };
  const seal = async (archive: unknown): Promise<void> => {
    const bytes = typeof archive === 'string' ? archive : JSON.stringify(archive);
    const sealed = (await enclave.ecall('seal', new TextEncoder().encode(bytes), 'mrenclave')) as Uint8Array;
    await mkdir(join(a.dir, 'state'), { recursive: true });
    await writeFile(blob, sealed);
  };
  const FORMAT = 'ccnodes-sealed-state/1';
  const entry = (o: Record<string, unknown>): unknown => ({
    format: FORMAT,
    files: [{ path: 'f', mode: 384, data: '', ...o }],
  });
  try {
    for (const [what, archive] of [
      ['not JSON', 'not json'],
      ['another format', { format: 'other/1', files: [] }],
      ['files not a list', { format: FORMAT, files: {} }],
      ['no files', { format: FORMAT }],
      ['a parent step', entry({ path: '../escape' })],
      ['a parent step inside', entry({ path: 'a/../../escape' })],
      ['an absolute path', entry({ path: '/tmp/escape' })],
      ['an empty step', entry({ path: 'a//b' })],
      ['a dot step', entry({ path: './a' })],
      ['a path that is no string', entry({ path: 7 })],
      ['data that is no string', entry({ data: 5 })],
    ] as const) {
      await seal(archive);
      await rm(out, { force: true });
      const r = await run(s, base);
      await assertStopped(r, 'ERR_CONTAINER_SEALED_STATE');
      assert.equal(r.error?.details['path'], blob, what);
      assert.ok(!existsSync(out), what);
    }
    // Well formed: the files arrive with their modes (owner bits, 0600 at least; 0600 when absent or
    // not a number).
    await seal({
      format: FORMAT,
      files: [
        { path: 'x/run.sh', mode: 0o100, data: Buffer.from('#!').toString('base64') },
        { path: 'plain', data: Buffer.from('hello').toString('base64') },
        { path: 'text-mode', mode: '448', data: Buffer.from('t').toString('base64') },
      ],
    });
    const r = await run(s, base);
    assert.equal(r.error, undefined, r.error?.message);
    assert.deepEqual((await report(out)).get('statefile'), [
      './plain 600 5 hello',
      './text-mode 600 1 t',
      './x/run.sh 700 2 #!',
    ]);
  } finally {
    await enclave.terminate();
  }
});

test('before the program: an AESM socket that does not exist is ERR_CONTAINER_QUOTE; a private-directory root that does not exist is ERR_CONTAINER_PRIVATE_DIR', async () => {
  const a = await app();
  const out = join(s.dir, 'early.txt');
  const base = { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: out } };
  const socket = join(s.dir, 'no-aesm.socket');
  const quote = await run(s, { ...base, platform: { simSeed: SIM_SEED, aesmSocket: socket } });
  await assertStopped(quote, 'ERR_CONTAINER_QUOTE');
  assert.equal(quote.error?.details['socketPath'], socket);
  const priv = await run(s, { ...base, privateDirRoot: join(s.dir, 'no-such-root') });
  await assertStopped(priv, 'ERR_CONTAINER_PRIVATE_DIR');
  assert.ok(!existsSync(out));
});

test("the attestation client's connections are closed when the launcher is done", async () => {
  const a = await app();
  const server = svc.service.app.server;
  const opened: Socket[] = [];
  const onConnection = (c: Socket): void => {
    opened.push(c);
  };
  server.on('connection', onConnection);
  let r: RunRecord;
  try {
    r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, env: { OUT: join(s.dir, 'conn.txt') } });
  } finally {
    server.off('connection', onConnection);
  }
  assert.equal(r.error, undefined, r.error?.message);
  assert.ok(opened.length > 0);
  // Generous: the keep-alive timeout of the service is over a minute.
  for (let i = 0; i < 100 && opened.some((c) => !c.destroyed); i++)
    await new Promise((w) => setTimeout(w, 50));
  assert.deepEqual(
    opened.map((c) => c.destroyed),
    opened.map(() => true),
  );
});
