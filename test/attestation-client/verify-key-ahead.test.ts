/**
 * The client makes the token's verification key ready while an attestation request is in flight
 * (src/attestation-client/client.ts, `#prepareVerifyKeys`): the keys of `/certs` already fetched,
 * or being fetched, are imported for RS256 before the service answers, so that verifyToken does
 * not first load Web Crypto and import the key. It never fetches `/certs` for that, and each key
 * is imported once. A scripted service holds the attestation answer until the key is imported
 * (or 3 s have passed), so a client that does not prepare the key fails the first test.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, beforeEach, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { SignJWT } from 'jose';
import { AttestationClient, PREPARED_VERIFY_KEYS } from '../../src/attestation-client/index.ts';

const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

let server: Server;
let url: string;
let key: KeyObject;
let certDer: Uint8Array;
/** What happened, in order: requests seen, SPKI imports, answers sent. */
let events: string[];
/** Resolves the pending attestation answer (set while one waits). */
let imported: (() => void) | undefined;
/** Extra certificates `/certs` lists before the signing one (hostile-service test). */
let extraCerts = 0;

const subtle = webcrypto.subtle;
const realImportKey = subtle.importKey.bind(subtle);

before(async () => {
  const keys = await subtle.generateKey(RSA, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=ahead',
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    keys,
    signingAlgorithm: RSA,
  });
  certDer = new Uint8Array(cert.rawData);
  key = createPrivateKey({
    key: Buffer.from(await subtle.exportKey('pkcs8', keys.privateKey)),
    format: 'der',
    type: 'pkcs8',
  });
  // Every SPKI import (the client's, since the test makes none) is recorded.
  (subtle as { importKey: typeof subtle.importKey }).importKey = ((
    ...args: Parameters<typeof subtle.importKey>
  ) => {
    if (args[0] === 'spki') {
      events.push('import spki');
      imported?.();
    }
    return realImportKey(...args);
  }) as typeof subtle.importKey;
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      events.push(`${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`);
      const send = (body: unknown): void => {
        events.push(`answer ${(req.url ?? '').split('?')[0] ?? ''}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.url === '/certs') {
        const x5c = [Buffer.from(certDer).toString('base64')];
        send({
          keys: [
            ...Array.from({ length: extraCerts }, (_, i) => ({ kty: 'RSA', kid: `extra-${i}`, x5c })),
            { kty: 'RSA', kid: 'k1', x5c },
          ],
        });
        return;
      }
      void (async () => {
        const token = await new SignJWT({ 'x-ms-sgx-mrenclave': 'aa'.repeat(32) })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setIssuer(url)
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
        // Held until the client has imported the key, or 3 s.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 3000);
          imported = () => {
            clearTimeout(timer);
            resolve();
          };
          if (events.includes('import spki')) imported();
        });
        imported = undefined;
        send({ token });
      })();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(async () => {
  (subtle as { importKey: typeof subtle.importKey }).importKey = realImportKey;
  await new Promise<void>((r) =>
    server.close(() => {
      r();
    }),
  );
});

beforeEach(() => {
  events = [];
  extraCerts = 0;
});

const evidence = { quote: new Uint8Array(64), runtimeData: new Uint8Array(8) };

test('with /certs fetched ahead, the key is imported while the attestation request is in flight, and once', async () => {
  const c = new AttestationClient({ url });
  try {
    c.prefetchCerts();
    const t = performance.now();
    const token = await c.attestSgxEnclave(evidence);
    assert.ok(performance.now() - t < 2500, 'the answer waited for the 3 s fallback: no key was imported');
    assert.ok(events.indexOf('import spki') < events.indexOf('answer /attest/SgxEnclave'), events.join('\n'));
    const verified = await c.verifyToken(token, { mrEnclave: 'AA'.repeat(32) });
    assert.equal(verified.header.kid, 'k1');
    assert.equal(events.filter((e) => e === 'import spki').length, 1, events.join('\n'));
    assert.equal(events.filter((e) => e === 'GET /certs').length, 1, events.join('\n'));
  } finally {
    await c.close();
  }
});

test('without /certs fetched ahead, attesting fetches nothing more; verifyToken fetches and imports', async () => {
  const c = new AttestationClient({ url });
  try {
    const token = await c.attestSgxEnclave(evidence);
    // Held the full 3 s: nothing was imported, and /certs was not asked for.
    assert.deepEqual(events, ['POST /attest/SgxEnclave', 'answer /attest/SgxEnclave']);
    assert.equal((await c.verifyToken(token)).header.kid, 'k1');
    assert.deepEqual(events.slice(2), ['GET /certs', 'answer /certs', 'import spki']);
  } finally {
    await c.close();
  }
});

test('a /certs listing many keys: only the first few are imported ahead, the one a token names when it is verified', async () => {
  extraCerts = 200;
  const c = new AttestationClient({ url });
  try {
    c.prefetchCerts();
    const token = await c.attestSgxEnclave(evidence);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.filter((e) => e === 'import spki').length, PREPARED_VERIFY_KEYS, events.join('\n'));
    // k1 is listed last: imported when its token is verified, and only then.
    assert.equal((await c.verifyToken(token)).header.kid, 'k1');
    assert.equal(events.filter((e) => e === 'import spki').length, PREPARED_VERIFY_KEYS + 1);
  } finally {
    await c.close();
  }
});
