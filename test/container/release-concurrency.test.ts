/**
 * An app's secrets are released side by side: through a proxy in front of a real attestation
 * service that holds each release request until all of them have arrived (or 10 s have passed),
 * the three releases of a three-secret app are in flight together and the program gets all three.
 * A failure is reported as the first one in the manifest's order, whatever order the answers come
 * in, and the program never starts; so is a released value changed on its way (the enclave cannot
 * open it). A token that fails the launcher's own check is not sent to release anything.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { encodeAppSig, loadManifest, prepareApp } from '../../src/container/index.ts';
import { ADMIN_TOKEN, startService, type Started } from '../attestation/support.ts';
import { leftovers, policyFor, run, scratch, signingKey, type Scratch } from './support.ts';

let svc: Started;
let s: Scratch;
let proxy: Awaited<ReturnType<typeof barrierProxy>>;
before(async () => {
  // The service names the proxy as its issuer (tokens are checked against the URL the launcher uses).
  proxy = await barrierProxy();
  [svc, s] = await Promise.all([startService({ publicUrl: proxy.url }), scratch()]);
});
after(async () => {
  await Promise.all([svc.close(), s.close(), proxy.close()]);
});

/**
 * A proxy to the service. Release requests are held until `expect` of them are in flight (or
 * 10 s), then forwarded; their answers are sent in the order `answerOrder` names (by secret name;
 * the others after), and the JWE released for `tamper` has one character of its ciphertext changed.
 * `maxInFlight` is the most release requests seen at once.
 */
async function barrierProxy(): Promise<{
  url: string;
  expect: (n: number, answerOrder?: readonly string[], tamper?: string) => void;
  /** Answer `/certs` with no key (the token cannot be checked) while releases go through. */
  hideKeys: (hide: boolean) => void;
  readonly maxInFlight: number;
  /** Release requests forwarded since `expect`. */
  readonly releases: number;
  close: () => Promise<void>;
}> {
  let expected = 1;
  let order: readonly string[] = [];
  let tampered: string | undefined;
  let hidden = false;
  let releases = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let held: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const releaseAll = (): void => {
    clearTimeout(timer);
    timer = undefined;
    const go = held;
    held = [];
    for (const g of go) g();
  };
  const forward = async (method: string, url: string, body: Buffer): Promise<Response> =>
    fetch(`${svc.url}${url}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body.length === 0 ? {} : { body }),
    });
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const url = req.url ?? '';
        const release = /^\/ccnodes\/v1\/secrets\/([^/]+)\/release$/.exec(url.split('?')[0] ?? '');
        if (release !== null) {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise<void>((go) => {
            held.push(go);
            if (held.length >= expected) releaseAll();
            else timer ??= setTimeout(releaseAll, 10_000);
          });
        }
        if (hidden && url.split('?')[0] === '/certs') {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
          return;
        }
        if (release !== null) releases++;
        const answer = await forward(req.method ?? 'GET', url, Buffer.concat(chunks));
        let bytes = Buffer.from(await answer.arrayBuffer());
        if (release !== null) {
          const name = decodeURIComponent(release[1] ?? '');
          if (name === tampered && answer.ok) {
            const doc = JSON.parse(bytes.toString('utf8')) as { jwe: string };
            const parts = doc.jwe.split('.');
            const c = parts[3] ?? '';
            parts[3] = `${c.slice(0, -1)}${c.endsWith('A') ? 'B' : 'A'}`;
            bytes = Buffer.from(JSON.stringify({ ...doc, jwe: parts.join('.') }));
          }
          // Answer in the requested order: wait for the names listed before this one.
          const rank = order.indexOf(name);
          if (rank > 0) await new Promise((r) => setTimeout(r, 200 * rank));
          inFlight--;
        }
        const headers: Record<string, string> = {};
        answer.headers.forEach((v, k) => {
          if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection') headers[k] = v;
        });
        res.writeHead(answer.status, headers).end(bytes);
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    expect: (n, answerOrder = [], tamper) => {
      expected = n;
      order = answerOrder;
      tampered = tamper;
      maxInFlight = 0;
      releases = 0;
    },
    hideKeys: (hide) => {
      hidden = hide;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    get releases() {
      return releases;
    },
    close: async () => {
      releaseAll();
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
/**
 * An app with secrets `names` (each in an environment variable `S_<i>`) whose program prints them;
 * the secrets in `denied` are stored for another identity (their release policy is not met).
 */
async function app(
  names: readonly string[],
  denied: readonly string[] = [],
): Promise<{ manifest: string; sigPath: string }> {
  const dir = join(s.dir, `release-${++apps}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'prog.sh'), names.map((_, i) => `printf '%s\\n' "$S_${i}"\n`).join(''));
  const manifest = join(dir, 'app.json');
  await writeFile(
    manifest,
    JSON.stringify({
      name: `release-${apps}`,
      entrypoint: ['sh', 'prog.sh'],
      env: { passThrough: ['PATH'] },
      trustedFiles: ['prog.sh'],
      secrets: names.map((name, i) => ({ name, env: `S_${i}` })),
    }),
  );
  const { sig } = await prepareApp(await loadManifest(manifest), signingKey());
  const sigPath = join(dir, 'app.sig');
  await writeFile(sigPath, encodeAppSig(sig));
  for (const name of names) {
    const res = await fetch(`${svc.url}/ccnodes/v1/secrets/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({
        value: Buffer.from(`value of ${name}`).toString('base64'),
        contentType: 'text/plain',
        releasePolicy: policyFor(proxy.url, denied.includes(name) ? 'ab'.repeat(32) : sig.mrenclave),
      }),
    });
    await res.arrayBuffer();
    assert.equal(res.status, 201);
  }
  return { manifest, sigPath };
}

test('three secrets: their releases are in flight together, and the program gets all three', async () => {
  const names = ['alpha', 'bravo', 'charlie'].map((n) => `${n}-${apps + 1}`);
  const a = await app(names);
  proxy.expect(3);
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.result?.exitCode, 0);
  assert.equal(proxy.maxInFlight, 3, 'all three release requests were pending at once');
  assert.equal(r.stdout, names.map((n) => `value of ${n}\n`).join(''));
  assert.ok(r.events.includes(`released: ${names.join(', ')}`), r.events.join('\n'));
});

test('two refusals answered last-first: the first in the manifest is reported; the program never starts', async () => {
  const names = ['one', 'two', 'three'].map((n) => `${n}-${apps + 1}`);
  const [, second, third] = names as [string, string, string];
  const a = await app(names, [second, third]);
  // The third's refusal arrives before the second's.
  proxy.expect(3, [third, second]);
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_ATTESTATION_CLIENT_REFUSED', r.error?.message);
  assert.match(r.error.message, new RegExp(`release ${second}`));
  assert.ok(!r.events.includes('spawned'), 'the program was not started');
  assert.equal(r.stdout, '');
  assert.deepEqual(await leftovers(s), [], 'no private directory left');
});

test('a released value changed on the way (the last secret, answered first) is ERR_CONTAINER_ATTESTATION naming it; the program never starts', async () => {
  const names = ['red', 'green', 'blue'].map((n) => `${n}-${apps + 1}`);
  const [, , third] = names as [string, string, string];
  const a = await app(names);
  proxy.expect(3, [third], third);
  const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
  assert.equal(r.error?.code, 'ERR_CONTAINER_ATTESTATION', r.error?.message);
  assert.equal(r.error.details['secret'], third);
  assert.match(r.error.message, new RegExp(`secret ${third}: the enclave cannot open the released value`));
  assert.ok(!r.events.includes('spawned'), 'the program was not started');
  for (const n of names) assert.ok(!`${r.error.message}\n${r.events.join('\n')}`.includes(`value of ${n}`));
  assert.deepEqual(await leftovers(s), [], 'no private directory left');
});

test("a token that fails the launcher's check: no release is asked for, nothing is opened, the program never starts", async () => {
  // The releases would be granted (the service's own token, the policy met); only the launcher's
  // check fails, as it does for a key that is not pinned. The service is not sent the requests.
  const names = ['north', 'south'].map((n) => `${n}-${apps + 1}`);
  const a = await app(names);
  proxy.expect(2);
  proxy.hideKeys(true);
  try {
    const r = await run(s, { manifestPath: a.manifest, sigPath: a.sigPath, attestationUrl: proxy.url });
    assert.equal(r.error?.code, 'ERR_ATTESTATION_CLIENT_TOKEN', r.error?.message);
    assert.equal(r.error.details['check'], 'kid');
    assert.equal(proxy.releases, 0, 'no release request reached the service');
    assert.ok(!r.events.includes('spawned'), 'the program was not started');
    assert.ok(!r.events.some((e) => e.startsWith('released:')), r.events.join('\n'));
    assert.deepEqual(await leftovers(s), [], 'no private directory left');
  } finally {
    proxy.hideKeys(false);
  }
});
