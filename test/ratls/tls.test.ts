/**
 * RA-TLS over real TLS connections on 127.0.0.1: mutual attestation (both sides verify), a client
 * pinned to another MRENCLAVE refuses the server, a server refuses a client of the wrong enclave,
 * and the https and undici agents attest the server before any request goes out.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import https from 'node:https';
import type tls from 'node:tls';
import { fetch } from 'undici';
import {
  RatlsHttpsAgent,
  connectRatls,
  createRatlsHttpsServer,
  createRatlsServer,
  createRatlsVerifier,
  ratlsUndiciAgent,
  type CreatedRatls,
  type RatlsSocket,
} from '../../src/ratls/index.ts';
import { IDENTITY, MRENCLAVE, NOW, OTHER, httpsGet, makeCert, simulation } from './fixture.ts';

const CLIENT_MRENCLAVE = 'd4'.repeat(32);

function verifierFor(mrEnclave: string): ReturnType<typeof createRatlsVerifier> {
  const s = simulation();
  return createRatlsVerifier({
    collateral: s.collateral,
    now: () => NOW,
    trustSimulatedRoot: s.rootPem,
    expected: { mrEnclave },
  });
}

describe('RA-TLS over TLS', () => {
  let serverCert: CreatedRatls;
  let clientCert: CreatedRatls;
  let server: tls.Server;
  let port: number;
  const refused: unknown[] = [];

  before(async () => {
    serverCert = await makeCert('gramine-dice');
    clientCert = await makeCert('ego', { ...IDENTITY, mrEnclave: Buffer.from(CLIENT_MRENCLAVE, 'hex') });
    server = createRatlsServer(
      { key: serverCert.keyPem, cert: serverCert.pem, verifyClient: verifierFor(CLIENT_MRENCLAVE) },
      (socket: RatlsSocket) => {
        socket.end(`hello ${socket.ratls?.identity.tee === 'SGX' ? socket.ratls.identity.mrEnclave : '?'}\n`);
      },
    );
    server.on('ratlsRefused', (err: unknown) => refused.push(err));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
  });

  function read(socket: tls.TLSSocket): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (text += d));
      socket.on('end', () => {
        resolve(text);
      });
      socket.on('error', reject);
    });
  }

  test('mutual RA-TLS: each side verifies the other, and sees its identity', async () => {
    const socket = await connectRatls({
      host: '127.0.0.1',
      port,
      verifier: verifierFor(MRENCLAVE),
      credentials: { key: clientCert.keyPem, cert: clientCert.pem },
    });
    const peer = socket.ratls;
    assert.ok(peer !== undefined);
    assert.equal(peer.format, 'gramine-dice');
    assert.equal(peer.identity.tee === 'SGX' && peer.identity.mrEnclave, MRENCLAVE);
    assert.equal(await read(socket), `hello ${CLIENT_MRENCLAVE}\n`);
  });

  test('a client pinned to another MRENCLAVE refuses the server', async () => {
    await assert.rejects(
      connectRatls({
        host: '127.0.0.1',
        port,
        verifier: verifierFor(OTHER),
        credentials: { key: clientCert.keyPem, cert: clientCert.pem },
      }),
      (err: { code?: string }) => err.code === 'ERR_RATLS_MRENCLAVE_MISMATCH',
    );
  });

  test('the server refuses a client of another enclave, and one without a certificate', async () => {
    const before = refused.length;
    const wrong = await makeCert('ego', IDENTITY); // MRENCLAVE = MRENCLAVE, not CLIENT_MRENCLAVE
    const socket = await connectRatls({
      host: '127.0.0.1',
      port,
      verifier: verifierFor(MRENCLAVE),
      credentials: { key: wrong.keyPem, cert: wrong.pem },
    });
    assert.equal(await read(socket).catch(() => ''), '', 'a refused client receives nothing');
    const none = await connectRatls({ host: '127.0.0.1', port, verifier: verifierFor(MRENCLAVE) });
    await read(none).catch(() => '');
    assert.deepEqual(
      refused.slice(before).map((e) => (e as { code?: string }).code),
      ['ERR_RATLS_MRENCLAVE_MISMATCH', 'ERR_RATLS_NO_PEER_CERTIFICATE'],
    );
  });
});

describe('RA-TLS HTTP agents', () => {
  let server: https.Server;
  let port: number;
  let requests = 0;
  before(async () => {
    const cert = await makeCert('ego');
    server = createRatlsHttpsServer({ key: cert.keyPem, cert: cert.pem }, (_req, res) => {
      requests += 1;
      res.end('attested');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
  });

  const get = (agent: https.Agent): Promise<string> => httpsGet(port, agent);

  test('https.Agent: the right enclave answers; a pinned other MRENCLAVE gets no request through', async () => {
    assert.equal(await get(new RatlsHttpsAgent(verifierFor(MRENCLAVE))), 'attested');
    const seen = requests;
    await assert.rejects(
      get(new RatlsHttpsAgent(verifierFor(OTHER))),
      (err: { code?: string }) => err.code === 'ERR_RATLS_MRENCLAVE_MISMATCH',
    );
    assert.equal(requests, seen);
  });

  test('undici Agent: the same, through fetch', async () => {
    const ok = await fetch(`https://127.0.0.1:${port}/`, {
      dispatcher: ratlsUndiciAgent(verifierFor(MRENCLAVE)),
    });
    assert.equal(await ok.text(), 'attested');
    const seen = requests;
    await assert.rejects(
      fetch(`https://127.0.0.1:${port}/`, { dispatcher: ratlsUndiciAgent(verifierFor(OTHER)) }),
      (err: { cause?: { code?: string } }) => err.cause?.code === 'ERR_RATLS_MRENCLAVE_MISMATCH',
    );
    assert.equal(requests, seen);
  });

  test('a TLS helper refuses to run without a pinned identity', () => {
    assert.throws(
      () => createRatlsVerifier({ collateral: simulation().collateral }),
      (err: { code?: string }) => err.code === 'ERR_RATLS_OPTIONS',
    );
  });
});

describe('CA-issued RA-TLS certificate (from a CSR) with checkServerIdentity', () => {
  test('a CA issues a certificate from the RA-TLS CSR keeping its extension; Node checks the chain, the verifier the attestation', async () => {
    const { webcrypto } = await import('node:crypto');
    const x509 = await import('@peculiar/x509');
    const tlsModule = await import('node:tls');
    const { createRatlsCsr, simulatedQuoter, RATLS_OIDS } = await import('../../src/ratls/index.ts');
    const csr = await createRatlsCsr({
      format: 'gramine-dice',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const request = new x509.Pkcs10CertificateRequest(csr.der);
    const caKeys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    // Valid both at NOW (the fixture's collateral time, the verifier's clock) and now (Node's chain check).
    const validity = {
      notBefore: new Date(NOW.getTime() - 86_400_000),
      notAfter: new Date(Date.now() + 86_400_000),
    };
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '10',
      name: 'CN=test attestation CA',
      ...validity,
      keys: caKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const evidence = request.extensions.find((e) => e.type === RATLS_OIDS.tcgDiceTaggedEvidence);
    assert.ok(evidence !== undefined);
    const issued = await x509.X509CertificateGenerator.create({
      serialNumber: '11',
      subject: request.subject,
      issuer: ca.subject,
      ...validity,
      publicKey: request.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [
        evidence,
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'enclave.test' }]),
      ],
    });
    const server = tlsModule.createServer({ key: csr.keyPem, cert: issued.toString('pem') }, (s) =>
      s.end('ok'),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port: caPort } = server.address() as AddressInfo;
    const connect = (mrEnclave: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const v = verifierFor(mrEnclave);
        const socket = tlsModule.connect(
          {
            host: '127.0.0.1',
            port: caPort,
            servername: 'enclave.test',
            ca: ca.toString('pem'),
            checkServerIdentity: (h, c) => v.checkServerIdentity(h, c),
          },
          () => {
            socket.setEncoding('utf8');
            let t = '';
            socket.on('data', (d: string) => (t += d));
            socket.on('end', () => {
              resolve(t);
            });
          },
        );
        socket.on('error', reject);
      });
    try {
      assert.equal(await connect(MRENCLAVE), 'ok');
      await assert.rejects(
        connect(OTHER),
        (err: { code?: string }) => err.code === 'ERR_RATLS_MRENCLAVE_MISMATCH',
      );
    } finally {
      server.close();
    }
  });
});
