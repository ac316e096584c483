/**
 * What the launcher asks of the attestation service, seen through a recording proxy in front of a
 * real one: with unchanged files, one attestation and then the secret's release, after the files
 * are verified; with a changed trusted file, its own error, no secret requested and nothing
 * written, even while the service refuses (no retries left running); and a signed file list that
 * names a path twice is measured again and refused, though its EINIT succeeds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  defaultHashHelper,
  encodeAppSig,
  identityImage,
  loadManifest,
  prepareApp,
  prestartHashes,
  readAppSig,
  type PrestartedHashes,
} from '../../src/container/index.ts';
import { signEnclave } from '../../src/sim/index.ts';
import { ADMIN_TOKEN, startService, type Started } from '../attestation/support.ts';
import { leftovers, policyFor, run, scratch, signingKey, type Scratch } from './support.ts';

let svc: Started;
let s: Scratch;
let proxy: Awaited<ReturnType<typeof recordingProxy>>;
before(async () => {
  // The service names the proxy as its issuer (tokens are checked against the URL the launcher uses).
  proxy = await recordingProxy();
  [svc, s] = await Promise.all([startService({ publicUrl: proxy.url }), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close(), proxy.close()]);
});

/** A proxy to the service that records `METHOD /path` of each request; `refuse` makes it answer 503. */
async function recordingProxy(): Promise<{
  url: string;
  seen: string[];
  /** Forgets what was seen and answers normally again. */
  reset: () => void;
  refuse: (on: boolean) => void;
  close: () => Promise<void>;
}> {
  const seen: string[] = [];
  let refusing = false;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    seen.push(`${req.method ?? '?'} ${path}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (refusing) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      void (async () => {
        const body = Buffer.concat(chunks);
        const answer = await fetch(`${svc.url}${req.url ?? ''}`, {
          method: req.method ?? 'GET',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          ...(body.length === 0 ? {} : { body }),
        });
        const headers: Record<string, string> = {};
        answer.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') headers[k] = v;
        });
        res.writeHead(answer.status, headers).end(Buffer.from(await answer.arrayBuffer()));
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    reset: () => {
      seen.length = 0;
      refusing = false;
    },
    refuse: (on) => {
      refusing = on;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => {
        server.close(() => {
          r();
        });
      });
    },
  };
}

let apps = 0;
/** An app whose program prints its secret's hash; the secret is stored for its identity. */
async function app(): Promise<{ dir: string; manifest: string; sigPath: string }> {
  const dir = join(s.dir, `checks-${++apps}`);
  await mkdir(join(dir, 'data'), { recursive: true });
  await writeFile(join(dir, 'prog.sh'), 'printf "%s" "$SECRET" | sha256sum\n');
  for (let i = 0; i < 4; i++) await writeFile(join(dir, 'data', `f${i}.bin`), Buffer.alloc(256 * 1024, i));
  const manifest = join(dir, 'app.json');
  await writeFile(
    manifest,
    JSON.stringify({
      name: `ahead-${apps}`,
      entrypoint: ['sh', 'prog.sh'],
      env: { passThrough: ['PATH'] },
      trustedFiles: ['prog.sh', 'data/*.bin'],
      secrets: [{ name: `ahead-secret-${apps}`, env: 'SECRET' }],
    }),
  );
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  const res = await fetch(`${svc.url}/ccnodes/v1/secrets/ahead-secret-${apps}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({
      value: Buffer.from(`value-${apps}`).toString('base64'),
      contentType: 'text/plain',
      releasePolicy: policyFor(proxy.url, sig.mrenclave),
    }),
  });
  await res.arrayBuffer();
  assert.equal(res.status, 201);
  return { dir, manifest, sigPath };
}

const releases = (seen: readonly string[]): string[] => seen.filter((r) => r.endsWith('/release'));

test('unchanged files: attested, then the secret released after the files are verified', async () => {
  const a = await app();
  proxy.reset();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 0);
  const want = createHash('sha256').update(`value-${apps}`).digest('hex');
  assert.match(r.stdout, new RegExp(`^${want} `));
  const at = (p: string): number => r.events.findIndex((e) => e.startsWith(p));
  assert.ok(at('trusted files: 5 unchanged') >= 0, r.events.join('\n'));
  assert.ok(at('released:') > at('trusted files'), r.events.join('\n'));
  assert.ok(at('released:') > at('attested at'), r.events.join('\n'));
  const attest = proxy.seen.indexOf('POST /attest/SgxEnclave');
  assert.ok(attest >= 0, proxy.seen.join('\n'));
  assert.deepEqual(releases(proxy.seen), [`POST /ccnodes/v1/secrets/ahead-secret-${apps}/release`]);
  assert.ok(proxy.seen.indexOf(releases(proxy.seen)[0] ?? '') > attest);
});

test('a changed trusted file: its own error, no secret requested, nothing written', async () => {
  const a = await app();
  await writeFile(join(a.dir, 'data', 'f2.bin'), Buffer.alloc(256 * 1024, 9));
  proxy.reset();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED', r.events.join('\n'));
  assert.equal(r.error.details['path'], 'data/f2.bin');
  assert.ok(!r.events.includes('spawned'));
  assert.ok(!r.events.some((e) => e.startsWith('released')));
  // The run has ended: whatever the attestation was doing is over, and no release was asked for.
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(releases(proxy.seen), [], proxy.seen.join('\n'));
  // The quote made while the files were hashed was never sent: the service saw no attestation
  // (only, at most, the public /certs fetched ahead).
  assert.deepEqual(
    proxy.seen.filter((x) => x !== 'GET /certs'),
    [],
    proxy.seen.join('\n'),
  );
  assert.deepEqual(await leftovers(s), []);
});

test('a changed trusted file while the service refuses: the file error, and the retries end with it', async () => {
  const a = await app();
  await writeFile(join(a.dir, 'prog.sh'), 'echo tampered\n');
  proxy.reset();
  proxy.refuse(true);
  const t = performance.now();
  const r = await run(s, {
    manifestPath: a.manifest,
    sigPath: a.sigPath,
    attestationUrl: proxy.url,
    // Unchecked, these retries would go on for 0.3 + 0.6 + 1.2 s after the first refusal.
    retry: { attempts: 4, baseDelayMs: 300, maxDelayMs: 1200 },
  });
  assert.equal(r.error?.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED', r.events.join('\n'));
  assert.equal(r.error.details['path'], 'prog.sh');
  assert.ok(performance.now() - t < 20_000);
  await new Promise((resolve) => setTimeout(resolve, 2_500));
  const attempts = proxy.seen.filter((x) => x === 'POST /attest/SgxEnclave').length;
  assert.ok(attempts <= 1, `${attempts} attestation attempts after the file was found changed`);
  assert.deepEqual(releases(proxy.seen), []);
  assert.deepEqual(await leftovers(s), []);
});

test('a signed file list naming a path twice is measured again and refused (the early EINIT does not vouch for it)', async () => {
  const a = await app();
  const loaded = await loadManifest(a.manifest);
  const { sig } = await prepareApp(loaded, signingKey());
  // The signer lists prog.sh twice, once with a hash the file does not have; the tree matches the
  // other entry. EINIT of this list succeeds (it is what was signed), but the files as checked
  // measure differently, so the launch must stop.
  const prog = sig.trustedFiles.find((f) => f.path === 'prog.sh');
  assert.ok(prog !== undefined);
  const listed = [{ ...prog, sha256: '00'.repeat(32) }, ...sig.trustedFiles];
  const signed = signEnclave(identityImage(loaded.manifest, listed), signingKey());
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  await writeFile(
    a.sigPath,
    encodeAppSig({
      ...sig,
      mrenclave: hex(signed.mrEnclave),
      mrsigner: hex(signed.mrSigner),
      trustedFiles: listed,
      sigstruct: signed.bytes,
    }),
  );
  proxy.reset();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_CONTAINER_IDENTITY_MISMATCH', r.events.join('\n'));
  assert.ok(!r.events.includes('spawned'));
  assert.deepEqual(releases(proxy.seen), []);
});

test("app.sig's record of the manifest rewritten to run another program: measured, refused, nothing asked of the service", async () => {
  const a = await app();
  const sig = JSON.parse(await readFile(a.sigPath, 'utf8')) as {
    manifestFile: { sha256: string; document: Record<string, unknown> };
  };
  // Whoever can write app.sig can rewrite the record and keep the SHA-256 of the file as it is.
  assert.equal(
    sig.manifestFile.sha256,
    createHash('sha256')
      .update(await readFile(a.manifest))
      .digest('hex'),
  );
  sig.manifestFile.document['entrypoint'] = ['sh', '-c', 'echo "$SECRET" > stolen.txt'];
  await writeFile(a.sigPath, JSON.stringify(sig));
  proxy.reset();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  // The manifest the launcher would run is measured against the SIGSTRUCT, whatever it came from.
  assert.equal(r.error?.code, 'ERR_CONTAINER_IDENTITY_MISMATCH', r.events.join('\n'));
  assert.ok(!r.events.includes('spawned'));
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(
    proxy.seen.filter((x) => x !== 'GET /certs'),
    [],
    proxy.seen.join('\n'),
  );
  assert.deepEqual(await leftovers(s), []);
});

test("a manifest changed since prepare is read from the file, not from app.sig's record of it", async () => {
  const a = await app();
  // Same program, another argument: a measured change, so the launch must stop, though app.sig
  // still records the manifest as it was.
  const m = JSON.parse(await readFile(a.manifest, 'utf8')) as Record<string, unknown>;
  await writeFile(a.manifest, JSON.stringify({ ...m, entrypoint: ['sh', 'prog.sh', 'extra'] }));
  proxy.reset();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_CONTAINER_IDENTITY_MISMATCH', r.events.join('\n'));
  assert.ok(!r.events.includes('spawned'));
  assert.deepEqual(releases(proxy.seen), []);
  // Reformatted, the same manifest: parsed from the file, it measures the same and runs.
  await writeFile(a.manifest, JSON.stringify(m, null, 2));
  const again = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(again.error, undefined, again.error?.message);
  assert.equal(again.result?.exitCode, 0);
});

/** A stand-in for hashes started before the launcher, claiming every file has its recorded digest. */
function claimingUnchanged(
  baseDir: string,
  sigPath: string,
  recorded: readonly { path: string; sha256: string; size: number }[],
): PrestartedHashes & { aborted: () => boolean } {
  let aborted = false;
  return {
    baseDir,
    sigPath,
    hashes: new Map(recorded.map((f) => [f.path, Promise.resolve({ sha256: f.sha256, size: f.size })])),
    abort: () => {
      aborted = true;
    },
    aborted: () => aborted,
  };
}

test('hashes started for another app.sig or another directory are not taken: a changed file is still refused, and they are aborted', async () => {
  const a = await app();
  const recorded = (await readAppSig(a.sigPath)).trustedFiles;
  await writeFile(join(a.dir, 'data', 'f1.bin'), Buffer.alloc(256 * 1024, 9));
  for (const prestarted of [
    claimingUnchanged(join(a.dir, 'data'), a.sigPath, recorded),
    claimingUnchanged(a.dir, join(a.dir, 'other.sig'), recorded),
  ]) {
    const r = await run(s, {
      manifestPath: a.manifest,
      sigPath: a.sigPath,
      attestationUrl: proxy.url,
      prestartedHashes: prestarted,
    });
    assert.equal(r.error?.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED', r.events.join('\n'));
    assert.equal(r.error.details['path'], 'data/f1.bin');
    assert.ok(prestarted.aborted());
  }
});

test('a trusted file replaced by a huge sparse file is refused without reading it (one byte past its recorded size)', async () => {
  const a = await app();
  const path = join(a.dir, 'data', 'f3.bin');
  await writeFile(path, '');
  await truncate(path, 64 * 1024 ** 3); // 64 GiB of holes: minutes to read and hash
  const t = performance.now();
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_CONTAINER_TRUSTED_FILE_CHANGED', r.events.join('\n'));
  assert.equal(r.error.details['path'], 'data/f3.bin');
  assert.equal(r.error.details['change'], 'modified');
  assert.ok(performance.now() - t < 10_000, `${Math.round(performance.now() - t)} ms`);
});

test('the helper started before the launcher (prestartHashes) is the one used: one child, the launch succeeds', async (t) => {
  const openssl = defaultHashHelper({});
  if (openssl === false) {
    t.skip('no openssl in /usr/bin or /bin');
    return;
  }
  const a = await app();
  const log = join(a.dir, 'helper.log');
  const wrapper = join(a.dir, 'helper.sh');
  await writeFile(wrapper, `#!/bin/sh\necho "$@" >> ${log}\nexec ${openssl} "$@"\n`, { mode: 0o755 });
  const prestarted = prestartHashes(a.manifest, a.sigPath, wrapper);
  assert.deepEqual(
    [...(prestarted?.hashes.keys() ?? [])],
    ['data/f0.bin', 'data/f1.bin', 'data/f2.bin', 'data/f3.bin'],
  );
  const r = await run(s, {
    manifestPath: a.manifest,
    sigPath: a.sigPath,
    attestationUrl: proxy.url,
    hashHelper: wrapper,
    ...(prestarted === undefined ? {} : { prestartedHashes: prestarted }),
  });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 0);
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), [
    'dgst -sha256 -r /dev/fd/3 /dev/fd/4 /dev/fd/5 /dev/fd/6',
  ]);
});
