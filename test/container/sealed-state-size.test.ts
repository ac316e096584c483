/**
 * Specification of the sealed state's size and failure behaviour (`runContainer`,
 * src/container/launcher.ts), against a real attestation service: state up to the documented
 * limit (MAX_SEALED_STATE_BYTES) is saved and comes back after a restart, one byte over is not
 * saved; the archive never crosses into the enclave worker (only a data key does), so its size
 * cannot exhaust the worker's heap or abort the process; a sealing failure (the enclave worker
 * gone) is ERR_CONTAINER_SEALED_STATE with the private directory wiped; state of the first format
 * (the whole archive sealed by the enclave) is still read, or refused when larger than it could
 * ever have been; a failed enclave start is ERR_CONTAINER_LAUNCH.
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  encodeAppSig,
  identityImage,
  loadManifest,
  MAX_LEGACY_SEALED_BLOB_BYTES,
  MAX_SEALED_STATE_BYTES,
  prepareApp,
  readAppSig,
} from '../../src/container/index.ts';
import { SimCpu, startEnclave, type RunningEnclave } from '../../src/sim/index.ts';
import { startService, type Started } from '../attestation/support.ts';
import { leftovers, run, scratch, signingKey, SIM_SEED, type RunRecord, type Scratch } from './support.ts';

let svc: Started;
let s: Scratch;

before(async () => {
  [svc, s] = await Promise.all([startService(), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close()]);
});

/** Reports the state it finds to $OUT; in mode fill, (re)writes big.bin with $SIZE bytes. */
const PROGRAM = `#!/bin/sh
for f in "$STATE_DIR"/*; do
  [ -f "$f" ] && echo "$(basename "$f") $(wc -c < "$f") $(cksum < "$f")" >> "$OUT"
done
if [ "$MODE" = fill ]; then
  yes 'ccnodes sealed state' | head -c "$SIZE" > "$STATE_DIR/big.bin"
fi
exit 0
`;

let apps = 0;
async function app(): Promise<{ dir: string; manifest: string; sigPath: string; blob: string }> {
  const dir = join(s.dir, `size-app-${++apps}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'prog.sh'), PROGRAM);
  const manifest = join(dir, 'app.yaml');
  await writeFile(
    manifest,
    JSON.stringify({
      name: `size-${apps}`,
      entrypoint: ['sh', 'prog.sh'],
      env: { passThrough: ['PATH', 'OUT', 'MODE', 'SIZE'] },
      trustedFiles: ['prog.sh'],
      sealedState: { dir: 'state', env: 'STATE_DIR' },
      attestation: { url: svc.url },
    }),
  );
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  return { dir, manifest, sigPath, blob: join(dir, 'state', 'state.sealed') };
}

/** What the program saw of its state: `name size cksum` lines. */
async function seen(out: string): Promise<string[]> {
  const text = existsSync(out) ? await readFile(out, 'utf8') : '';
  return text.split('\n').filter((l) => l !== '');
}

function ok(r: RunRecord): void {
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.sealedStateError, undefined, r.events.join('\n'));
  assert.equal(r.result?.exitCode, 0, r.events.join('\n'));
}

test('state of exactly MAX_SEALED_STATE_BYTES is saved, encrypted at rest, and comes back whole after a restart; one byte over is not saved', async () => {
  const a = await app();
  const out = join(s.dir, `seen-${apps}.txt`);
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  const fill = await run(s, {
    ...base,
    env: { OUT: out, MODE: 'fill', SIZE: String(MAX_SEALED_STATE_BYTES) },
  });
  ok(fill);
  assert.ok(fill.events.includes('sealed state saved (MRENCLAVE)'), fill.events.join('\n'));
  assert.deepEqual(await seen(out), [], 'empty the first time');
  const blob = await readFile(a.blob);
  assert.equal(blob.subarray(0, 23).toString('ascii'), 'ccnodes-sealed-state/2\n');
  assert.ok(!blob.includes('ccnodes sealed state'), 'no plaintext at rest');
  assert.ok(!blob.includes(Buffer.from('ccnodes sealed state').toString('base64').slice(0, 24)));
  assert.deepEqual(await leftovers(s), []);

  // Restart: the whole file is back.
  const back = await run(s, { ...base, env: { OUT: out, MODE: 'check' } });
  ok(back);
  assert.ok(back.events.includes('sealed state: 1 files unsealed'), back.events.join('\n'));
  const [line] = await seen(out);
  const expected = `big.bin ${MAX_SEALED_STATE_BYTES} `;
  assert.ok(line?.startsWith(expected), line);
  assert.deepEqual(await leftovers(s), []);

  // One byte over: not saved, a typed error, the blob at rest left as it was.
  const saved = await readFile(a.blob);
  const over = await run(s, {
    ...base,
    env: { OUT: join(s.dir, 'over.txt'), MODE: 'fill', SIZE: String(MAX_SEALED_STATE_BYTES + 1) },
  });
  assert.equal(over.error, undefined, over.error?.message);
  assert.equal(over.result?.exitCode, 1);
  assert.equal(over.result.sealedStateError?.code, 'ERR_CONTAINER_SEALED_STATE');
  assert.ok(
    over.events.includes(`sealed state NOT saved: sealed state exceeds ${MAX_SEALED_STATE_BYTES} bytes`),
    over.events.join('\n'),
  );
  assert.deepEqual(await readFile(a.blob), saved);
  assert.deepEqual(await leftovers(s), []);
});

test('a sealing failure (the enclave gone while the program runs) is ERR_CONTAINER_SEALED_STATE: exit 1, blob kept, private directory wiped', async () => {
  const a = await app();
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  const first = await run(s, {
    ...base,
    env: { OUT: join(s.dir, 'f1.txt'), MODE: 'fill', SIZE: '1000' },
  });
  ok(first);
  const saved = await readFile(a.blob);
  const enclaves: RunningEnclave[] = [];
  const placements: unknown[] = [];
  const r = await run(s, {
    ...base,
    env: { OUT: join(s.dir, 'f2.txt'), MODE: 'fill', SIZE: '2000' },
    testHooks: {
      startEnclave: async (options) => {
        placements.push(options.thread);
        const e = await startEnclave(options);
        enclaves.push(e);
        return e;
      },
    },
    onSpawn: () => {
      for (const e of enclaves) void e.terminate();
    },
  });
  assert.ok(enclaves.length > 0, 'the hook started the enclave');
  // The launcher's own runtime runs on the launcher's thread, with no worker thread of its own.
  assert.deepEqual([...new Set(placements)], ['host']);
  assert.equal(r.error, undefined, r.error?.message);
  assert.ok(r.events.includes('spawned'));
  assert.equal(r.result?.exitCode, 1);
  assert.equal(r.result.sealedStateError?.code, 'ERR_CONTAINER_SEALED_STATE', r.events.join('\n'));
  assert.equal(r.result.sealedStateError.details['reason'], 'ERR_ENCLAVE_RUNTIME');
  assert.ok(
    r.events.some((l) => l.startsWith('sealed state NOT saved: the enclave cannot seal the state')),
    r.events.join('\n'),
  );
  assert.deepEqual(await readFile(a.blob), saved, 'the state at rest is left as it was');
  assert.deepEqual(await leftovers(s), [], 'no private directory left');
});

test('a failed enclave start is ERR_CONTAINER_LAUNCH: the program never starts, nothing is left', async () => {
  const a = await app();
  const r = await run(s, {
    manifestPath: a.manifest,
    sigPath: a.sigPath,
    env: { OUT: join(s.dir, 'never.txt') },
    testHooks: {
      startEnclave: () => Promise.reject(Object.assign(new Error('no EPC left'), { code: 'ERR_TEST_EPC' })),
    },
  });
  assert.equal(r.error?.code, 'ERR_CONTAINER_LAUNCH', r.error?.message);
  assert.equal(r.error.details['reason'], 'ERR_TEST_EPC');
  assert.match(r.error.message, /no EPC left/);
  assert.ok(!r.events.includes('spawned'));
  assert.ok(!existsSync(join(s.dir, 'never.txt')));
  assert.deepEqual(await leftovers(s), []);
});

test('state of the first format (the archive sealed whole by the enclave) is still read; one larger than that format could hold, or tampered state, is refused before the program starts', async () => {
  const a = await app();
  const loaded = await loadManifest(a.manifest);
  const sig = await readAppSig(a.sigPath);
  const enclave = await startEnclave({
    cpu: SimCpu.fromSeed(SIM_SEED),
    image: identityImage(loaded.manifest, sig.trustedFiles),
    sigstruct: sig.sigstruct,
  });
  const out = join(s.dir, `legacy-${apps}.txt`);
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  try {
    const archive = JSON.stringify({
      format: 'ccnodes-sealed-state/1',
      files: [{ path: 'big.bin', mode: 0o600, data: Buffer.from('legacy\n').toString('base64') }],
    });
    const sealed = (await enclave.ecall(
      'seal',
      new TextEncoder().encode(archive),
      'mrenclave',
    )) as Uint8Array;
    await mkdir(join(a.dir, 'state'), { recursive: true });
    await writeFile(a.blob, sealed);
    const r = await run(s, { ...base, env: { OUT: out, MODE: 'check' } });
    ok(r);
    assert.deepEqual(
      (await seen(out)).map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['big.bin 7'],
    );
    // Saved back in the current format.
    assert.equal((await readFile(a.blob)).subarray(0, 23).toString('ascii'), 'ccnodes-sealed-state/2\n');
  } finally {
    await enclave.terminate();
  }

  const stopped = async (what: string, path: string): Promise<RunRecord> => {
    const r = await run(s, { ...base, env: { OUT: join(s.dir, 'refused.txt') } });
    assert.equal(r.error?.code, 'ERR_CONTAINER_SEALED_STATE', `${what}: ${r.error?.message ?? 'no error'}`);
    assert.equal(r.error.details['path'], path, what);
    assert.ok(!r.events.includes('spawned'), what);
    assert.deepEqual(await leftovers(s), [], what);
    return r;
  };
  // Tampered: one bit of the ciphertext, of the sealed key, or the blob cut short.
  const good = await readFile(a.blob);
  for (const [what, at] of [
    ['ciphertext', good.length - 1],
    ['sealed key', 40],
  ] as const) {
    const bad = Buffer.from(good);
    bad[at] = (bad[at] ?? 0) ^ 1;
    await writeFile(a.blob, bad);
    await stopped(what, a.blob);
  }
  await writeFile(a.blob, good.subarray(0, 30));
  await stopped('truncated', a.blob);
  // A first-format blob larger than any that format could have saved never reaches the enclave.
  await writeFile(a.blob, Buffer.alloc(MAX_LEGACY_SEALED_BLOB_BYTES + 1, 4));
  const big = await stopped('legacy too large', a.blob);
  assert.match(big.error?.message ?? '', /not of the current format/);
  assert.equal(big.error?.details['size'], MAX_LEGACY_SEALED_BLOB_BYTES + 1);
});

test('the sealing enclave refuses arguments too large for its heap with ERR_ENCLAVE_ECALL (they used to abort the whole process) and keeps working', async () => {
  const a = await app();
  const loaded = await loadManifest(a.manifest);
  const sig = await readAppSig(a.sigPath);
  const enclave = await startEnclave({
    cpu: SimCpu.fromSeed(SIM_SEED),
    image: identityImage(loaded.manifest, sig.trustedFiles),
    sigstruct: sig.sigstruct,
  });
  try {
    // 32 MiB travel as 64 Mi hex characters: on the old runtime, V8 aborted the whole process
    // (SIGABRT) parsing them in the worker, whose heap limit is 32 MB.
    await assert.rejects(enclave.ecall('seal', new Uint8Array(2 * MAX_SEALED_STATE_BYTES), 'mrenclave'), {
      code: 'ERR_ENCLAVE_ECALL',
      message: /exceed the \d+ the enclave heap can take/,
    });
    const blob = (await enclave.ecall('seal', new Uint8Array(32).fill(9), 'mrenclave')) as Uint8Array;
    assert.deepEqual(await enclave.ecall('unseal', blob), new Uint8Array(32).fill(9));
  } finally {
    await enclave.terminate();
  }
});

test('a current-format blob whose archive is malformed (a path leaving the state directory, a cut entry, bytes after the end) is ERR_CONTAINER_SEALED_STATE: nothing leaves the state directory', async () => {
  const a = await app();
  const loaded = await loadManifest(a.manifest);
  const sig = await readAppSig(a.sigPath);
  // The app's own identity seals the data key, as the launcher does.
  const enclave = await startEnclave({
    cpu: SimCpu.fromSeed(SIM_SEED),
    image: identityImage(loaded.manifest, sig.trustedFiles),
    sigstruct: sig.sigstruct,
  });
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entry = (path: string, data: string, mode = 0o600): Buffer => {
    const p = Buffer.from(path, 'utf8');
    const head = Buffer.alloc(10);
    head.writeUInt32BE(p.length, 0);
    head.writeUInt16BE(mode, 4);
    head.writeUInt32BE(Buffer.byteLength(data), 6);
    return Buffer.concat([head, p, Buffer.from(data)]);
  };
  const MAGIC = Buffer.from('ccnodes-state-archive/2\n');
  const blobOf = async (archive: Buffer): Promise<Buffer> => {
    const key = Buffer.alloc(32, 7);
    const sealedKey = (await enclave.ecall('seal', new Uint8Array(key), 'mrenclave')) as Uint8Array;
    const aad = Buffer.concat([Buffer.from('ccnodes-sealed-state/2\n'), u32(sealedKey.length), sealedKey]);
    const iv = Buffer.alloc(12, 1);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(aad);
    const body = Buffer.concat([c.update(archive), c.final()]);
    return Buffer.concat([aad, iv, c.getAuthTag(), body]);
  };
  const base = { manifestPath: a.manifest, sigPath: a.sigPath };
  await mkdir(join(a.dir, 'state'), { recursive: true });
  try {
    for (const [what, archive] of [
      ['a parent step', Buffer.concat([MAGIC, u32(1), entry('../escape', 'x')])],
      ['an absolute path', Buffer.concat([MAGIC, u32(1), entry('/tmp/escape', 'x')])],
      ['an empty step', Buffer.concat([MAGIC, u32(1), entry('a//b', 'x')])],
      ['a cut entry', Buffer.concat([MAGIC, u32(1), entry('f', 'xyz').subarray(0, 12)])],
      ['more entries announced', Buffer.concat([MAGIC, u32(2), entry('f', 'x')])],
      ['bytes after the end', Buffer.concat([MAGIC, u32(1), entry('f', 'x'), Buffer.from([0])])],
      ['another magic', Buffer.concat([Buffer.from('ccnodes-state-archive/9\n'), u32(0)])],
    ] as const) {
      await writeFile(a.blob, await blobOf(archive));
      const r = await run(s, { ...base, env: { OUT: join(s.dir, 'never.txt') } });
      assert.equal(r.error?.code, 'ERR_CONTAINER_SEALED_STATE', `${what}: ${r.error?.message ?? 'no error'}`);
      assert.ok(!r.events.includes('spawned'), what);
      assert.deepEqual(await leftovers(s), [], what);
    }
    // Well formed: read.
    await writeFile(
      a.blob,
      await blobOf(Buffer.concat([MAGIC, u32(2), entry('big.bin', 'hello'), entry('sub/x', '')])),
    );
    const out = join(s.dir, `crafted-${apps}.txt`);
    const r = await run(s, { ...base, env: { OUT: out, MODE: 'check' } });
    ok(r);
    assert.ok(r.events.includes('sealed state: 2 files unsealed'), r.events.join('\n'));
    assert.deepEqual(
      (await seen(out)).map((l) => l.split(' ').slice(0, 2).join(' ')),
      ['big.bin 5'],
    );
  } finally {
    await enclave.terminate();
  }
  assert.ok(!existsSync(join(s.privateRoot, 'escape')));
});
