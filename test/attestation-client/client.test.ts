/**
 * The attestation client against a real attestation service (the service as the CLI builds it with
 * --trust-simulated-root, real DCAP quotes from the seeded simulated deployment): attest, verify the
 * token against /certs, release a secret to the ephemeral key and open it; and every refusal.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import {
  AttestationClient,
  AttestationClientConfigError,
  AttestationJweError,
  AttestationRefusedError,
  AttestationTokenError,
  AttestationUnreachableError,
  EphemeralKey,
} from '../../src/attestation-client/index.ts';
import { putSecretAsAdmin, simQuoteBytes, startService, type Started } from '../attestation/support.ts';

const MRENCLAVE = '5a'.repeat(32);
const SECRET = 'correct horse battery staple';

let svc: Started;

before(async () => {
  svc = await startService();
  const policy = (mrenclave: string): unknown => ({
    version: '1.0.0',
    anyOf: [{ authority: svc.url, allOf: [{ claim: 'x-ms-sgx-mrenclave', equals: mrenclave }] }],
  });
  assert.equal(await putSecretAsAdmin(svc.url, 'db-password', SECRET, policy(MRENCLAVE)), 201);
  assert.equal(await putSecretAsAdmin(svc.url, 'other-app', 'not yours', policy('00'.repeat(32))), 201);
});
after(async () => {
  await svc.close();
});

/** A real quote of an enclave with MRENCLAVE whose REPORTDATA binds `key`. */
function quoteFor(key: EphemeralKey, mrEnclave = MRENCLAVE): Uint8Array {
  return simQuoteBytes({ mrEnclave, reportData: Buffer.from(key.reportData()).toString('hex') });
}

async function attested(client: AttestationClient, key = EphemeralKey.generate()): Promise<string> {
  return client.attestSgxEnclave({ quote: quoteFor(key), runtimeData: key.runtimeData() });
}

test('attest, verify the token against /certs, release the secret and open it with the ephemeral key', async () => {
  const client = new AttestationClient({ url: svc.url });
  const key = EphemeralKey.generate();
  const token = await attested(client, key);
  const verified = await client.verifyToken(token, {
    mrEnclave: MRENCLAVE.toUpperCase(),
    runtimeKey: { x: key.publicJwk['x'] ?? '', y: key.publicJwk['y'] ?? '' },
  });
  assert.equal(verified.header.alg, 'RS256');
  assert.equal(verified.claims['x-ms-sgx-mrenclave'], MRENCLAVE);
  assert.equal(verified.claims.iss, svc.url);
  const released = await client.releaseSecret('db-password', token);
  assert.equal(released.alg, 'ECDH-ES');
  assert.ok(!released.jwe.includes(Buffer.from(SECRET).toString('base64url')));
  assert.equal(Buffer.from(await key.open(released.jwe)).toString('utf8'), SECRET);
  // the same signing key, pinned, is accepted
  const pinned = new AttestationClient({ url: svc.url, pinnedKeys: [verified.signingKeySha256] });
  await pinned.verifyToken(token);
  await client.close();
  await pinned.close();
});

test('a secret whose release policy the token does not meet is refused with the service code', async () => {
  const client = new AttestationClient({ url: svc.url });
  const token = await attested(client);
  await assert.rejects(client.releaseSecret('other-app', token), (err: unknown) => {
    assert.ok(err instanceof AttestationRefusedError);
    assert.equal(err.code, 'ERR_ATTESTATION_CLIENT_REFUSED');
    assert.equal(err.status, 403);
    assert.equal(err.serviceCode, 'ERR_SECRET_POLICY_DENIED');
    return true;
  });
  await assert.rejects(client.releaseSecret('no-such-secret', token), (err: unknown) => {
    assert.ok(err instanceof AttestationRefusedError);
    assert.equal(err.status, 404);
    return true;
  });
  await client.close();
});

test('evidence the service refuses (a quote whose REPORTDATA does not bind the runtime data) is a refusal', async () => {
  const client = new AttestationClient({ url: svc.url });
  const key = EphemeralKey.generate();
  const other = EphemeralKey.generate();
  await assert.rejects(
    client.attestSgxEnclave({ quote: quoteFor(other), runtimeData: key.runtimeData() }),
    (err: unknown) => {
      assert.ok(err instanceof AttestationRefusedError);
      assert.equal(err.status, 400);
      assert.match(err.serviceCode, /^ERR_/);
      return true;
    },
  );
  await client.close();
});

test('token checks: signature, issuer, pinned key, expected MRENCLAVE and runtime key each refuse', async () => {
  const client = new AttestationClient({ url: svc.url });
  const key = EphemeralKey.generate();
  const token = await attested(client, key);
  const [h, p, s] = token.split('.') as [string, string, string];
  const check = async (c: AttestationClient, t: string, expectCheck: string, expect = {}): Promise<void> => {
    await assert.rejects(c.verifyToken(t, expect), (err: unknown) => {
      assert.ok(err instanceof AttestationTokenError, String(err));
      assert.equal(err.details['check'], expectCheck);
      return true;
    });
  };
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
  claims['x-ms-sgx-mrenclave'] = '00'.repeat(32);
  await check(client, `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`, 'signature');
  await check(client, `${h}.${p}.${s.slice(0, -4)}AAAA`, 'signature');
  await check(client, token, 'x-ms-sgx-mrenclave', { mrEnclave: '00'.repeat(32) });
  await check(client, token, 'x-ms-runtime', { runtimeKey: EphemeralKey.generate().publicJwk });
  const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', kid: 'x' })).toString('base64url');
  await check(client, `${noneHeader}.${p}.`, 'alg');
  const wrongIssuer = new AttestationClient({ url: svc.url, issuer: 'https://elsewhere.example' });
  await check(wrongIssuer, token, 'claims');
  const pinnedOther = new AttestationClient({ url: svc.url, pinnedKeys: ['ab'.repeat(32)] });
  await check(pinnedOther, token, 'pinned-key');
  await Promise.all([client.close(), wrongIssuer.close(), pinnedOther.close()]);
});

test('a JWE released to one key cannot be opened with another', async () => {
  const client = new AttestationClient({ url: svc.url });
  const token = await attested(client);
  const released = await client.releaseSecret('db-password', token);
  await assert.rejects(EphemeralKey.generate().open(released.jwe), AttestationJweError);
  await client.close();
});

test('an unreachable service is retried a bounded number of times with exponential backoff, then refused', async () => {
  // A port that was just free: nothing listens on it.
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => {
    probe.close(() => {
      r();
    });
  });
  const delays: number[] = [];
  const client = new AttestationClient({
    url: `http://127.0.0.1:${port}`,
    retry: { attempts: 5, baseDelayMs: 100, maxDelayMs: 300 },
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
  });
  await assert.rejects(
    client.attestSgxEnclave({ quote: new Uint8Array(8), runtimeData: new Uint8Array(2) }),
    (err: unknown) => {
      assert.ok(err instanceof AttestationUnreachableError);
      assert.equal(err.details['attempts'], 5);
      return true;
    },
  );
  assert.deepEqual(delays, [100, 200, 300, 300]);
  await client.close();
});

test('503 answers are retried and count as unreachable; other errors are not retried', async () => {
  let hits = 0;
  let status = 503;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'X_CODE', message: 'no' } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const client = new AttestationClient({ url, retry: { attempts: 3, baseDelayMs: 1 } });
  await assert.rejects(client.releaseSecret('s', 'a.b.c'), AttestationUnreachableError);
  assert.equal(hits, 3);
  status = 401;
  hits = 0;
  await assert.rejects(client.releaseSecret('s', 'a.b.c'), (err: unknown) => {
    assert.ok(err instanceof AttestationRefusedError);
    assert.equal(err.serviceCode, 'X_CODE');
    return true;
  });
  assert.equal(hits, 1);
  await client.close();
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
});

test('unusable options are typed errors naming the field', () => {
  const field = (o: ConstructorParameters<typeof AttestationClient>[0]): unknown => {
    try {
      new AttestationClient(o);
    } catch (err) {
      assert.ok(err instanceof AttestationClientConfigError);
      return err.details['field'];
    }
    return undefined;
  };
  assert.equal(field({ url: 'ftp://x' }), 'url');
  assert.equal(field({ url: 'not a url' }), 'url');
  assert.equal(field({ url: 'http://u:p@x' }), 'url');
  assert.equal(field({ url: 'http://x', ca: 'nope' }), 'ca');
  assert.equal(field({ url: 'http://x', pinnedKeys: ['abc'] }), 'pinnedKeys[0]');
  assert.equal(field({ url: 'http://x', retry: { attempts: 0 } }), 'retry.attempts');
});

test('https: the configured CA is the trust for the service certificate; without it the TLS failure is refused', async () => {
  const { createServer: createHttpsServer } = await import('node:https');
  const { selfSignedPem } = await import('../attestation/support.ts');
  const tls = await selfSignedPem({ cn: 'attestation.test', ipSan: '127.0.0.1' });
  const server = createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;
  const trusted = new AttestationClient({ url, ca: tls.certPem });
  assert.equal((await trusted.certs()).size, 0);
  const untrusted = new AttestationClient({ url, retry: { attempts: 2, baseDelayMs: 1 } });
  await assert.rejects(untrusted.certs(), AttestationUnreachableError);
  const other = await selfSignedPem({ cn: 'someone else', ipSan: '127.0.0.1' });
  const wrongCa = new AttestationClient({ url, ca: other.certPem, retry: { attempts: 1 } });
  await assert.rejects(wrongCa.certs(), AttestationUnreachableError);
  await Promise.all([trusted.close(), untrusted.close(), wrongCa.close()]);
  await new Promise<void>((r) => {
    server.close(() => {
      r();
    });
  });
});
