/**
 * Specification of the RA-TLS TLS helpers' edges that the round trips in tls.test.ts leave
 * implicit: a server without `verifyClient` neither asks for nor checks a client certificate; a
 * client refuses a server that presents no certificate at all (an anonymous cipher suite) and
 * reports connection errors as rejections; the socket it resolves carries no listener of ours; a
 * verifier rejecting with a non-Error still gives an Error; the HTTP agents pass the client's
 * credentials for mutual RA-TLS, and the undici agent sends SNI for host names only and connects
 * to the scheme's default port when the URL has none.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { fetch } from 'undici';
import {
  RatlsHttpsAgent,
  connectRatls,
  createRatlsServer,
  createRatlsVerifier,
  ratlsUndiciAgent,
  type RatlsSocket,
  type RatlsVerifier,
} from '../../src/ratls/index.ts';
import { IDENTITY, MRENCLAVE, NOW, httpsGet, makeCert, simulation } from './fixture.ts';

const CLIENT_MRENCLAVE = 'e5'.repeat(32);

function verifierFor(mrEnclave: string): RatlsVerifier {
  const s = simulation();
  return createRatlsVerifier({
    collateral: s.collateral,
    now: () => NOW,
    trustSimulatedRoot: s.rootPem,
    expected: { mrEnclave },
  });
}

async function listening(server: tls.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function readAll(socket: tls.TLSSocket): Promise<string> {
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

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = tls.createServer();
  const port = await listening(s);
  await new Promise<void>((resolve) => {
    s.close(() => {
      resolve();
    });
  });
  return port;
}

const HTTP_OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok';

describe('createRatlsServer without verifyClient', () => {
  test('hands every connection to the application without asking for a client certificate', async () => {
    const serverCert = await makeCert('gramine');
    const clientCert = await makeCert('ego', {
      ...IDENTITY,
      mrEnclave: Buffer.from(CLIENT_MRENCLAVE, 'hex'),
    });
    const seen: { peer: object; ratls: unknown }[] = [];
    const refused: unknown[] = [];
    const server = createRatlsServer(
      { key: serverCert.keyPem, cert: serverCert.pem },
      (socket: RatlsSocket) => {
        seen.push({ peer: socket.getPeerCertificate(), ratls: socket.ratls });
        socket.end('hello');
      },
    );
    server.on('ratlsRefused', (err: unknown) => refused.push(err));
    const port = await listening(server);
    try {
      // a client offering its own RA-TLS certificate: the server never asks for it
      const socket = await connectRatls({
        host: '127.0.0.1',
        port,
        verifier: verifierFor(MRENCLAVE),
        credentials: { key: clientCert.keyPem, cert: clientCert.pem },
      });
      assert.equal(await readAll(socket), 'hello');
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0]?.peer, {}, 'no client certificate was requested');
      assert.equal(seen[0].ratls, undefined);
      assert.deepEqual(refused, []);
    } finally {
      server.close();
    }
  });
});

describe('connectRatls', () => {
  test('refuses a server presenting no certificate (anonymous cipher suite) and closes the connection', async () => {
    const anonymous = { ciphers: 'aNULL:@SECLEVEL=0', maxVersion: 'TLSv1.2' } as const;
    let closedByClient!: () => void;
    const closed = new Promise<void>((resolve) => (closedByClient = resolve));
    // the server keeps its side open: only the client can close the connection
    const server = tls.createServer(anonymous, (s) => s.on('close', closedByClient));
    const port = await listening(server);
    try {
      await assert.rejects(
        connectRatls({ host: '127.0.0.1', port, verifier: verifierFor(MRENCLAVE), ...anonymous }),
        { code: 'ERR_RATLS_NO_PEER_CERTIFICATE' },
      );
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'open'>((resolve) => {
        timer = setTimeout(() => {
          resolve('open');
        }, 20_000);
      });
      assert.equal(await Promise.race([closed.then(() => 'closed' as const), late]), 'closed');
      clearTimeout(timer);
    } finally {
      server.close();
    }
  });
  test('a connection error rejects (the socket error is handled, not thrown)', async () => {
    const port = await closedPort();
    await assert.rejects(connectRatls({ host: '127.0.0.1', port, verifier: verifierFor(MRENCLAVE) }), {
      code: 'ECONNREFUSED',
    });
  });
  test('the verified socket carries no error listener of ours: its errors are the application’s', async () => {
    const serverCert = await makeCert('gramine');
    const server = createRatlsServer({ key: serverCert.keyPem, cert: serverCert.pem }, (s) => {
      s.end('x');
    });
    const port = await listening(server);
    try {
      const socket = await connectRatls({ host: '127.0.0.1', port, verifier: verifierFor(MRENCLAVE) });
      assert.equal(socket.listenerCount('error'), 0);
      socket.destroy();
    } finally {
      server.close();
    }
  });
  test('a verifier rejecting with something other than an Error still rejects with an Error', async () => {
    const serverCert = await makeCert('gramine');
    const server = createRatlsServer({ key: serverCert.keyPem, cert: serverCert.pem }, (s) => {
      s.end('x');
    });
    const port = await listening(server);
    const real = verifierFor(MRENCLAVE);
    const odd: RatlsVerifier = {
      ...real,
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
      verify: () => Promise.reject('no attestation service'),
    };
    try {
      await assert.rejects(connectRatls({ host: '127.0.0.1', port, verifier: odd }), (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.equal(err.message, 'no attestation service');
        return true;
      });
    } finally {
      server.close();
    }
  });
});

describe('the HTTP agents with a mutual RA-TLS server', () => {
  async function mutualServer(): Promise<{ port: number; refused: unknown[]; close: () => void }> {
    const serverCert = await makeCert('gramine');
    const refused: unknown[] = [];
    const server = createRatlsServer(
      { key: serverCert.keyPem, cert: serverCert.pem, verifyClient: verifierFor(CLIENT_MRENCLAVE) },
      (socket) => {
        socket.end(HTTP_OK);
      },
    );
    server.on('ratlsRefused', (err: unknown) => refused.push(err));
    const port = await listening(server);
    return { port, refused, close: () => server.close() };
  }
  const get = httpsGet;

  test('https.Agent presents the client credentials; without them the server refuses', async () => {
    const clientCert = await makeCert('ego', {
      ...IDENTITY,
      mrEnclave: Buffer.from(CLIENT_MRENCLAVE, 'hex'),
    });
    const s = await mutualServer();
    try {
      const credentials = { key: clientCert.keyPem, cert: clientCert.pem };
      assert.equal(await get(s.port, new RatlsHttpsAgent(verifierFor(MRENCLAVE), { credentials })), 'ok');
      await assert.rejects(get(s.port, new RatlsHttpsAgent(verifierFor(MRENCLAVE))));
      assert.deepEqual(
        s.refused.map((e) => (e as { code?: string }).code),
        ['ERR_RATLS_NO_PEER_CERTIFICATE'],
      );
    } finally {
      s.close();
    }
  });
  test('the undici agent presents the client credentials; without them the server refuses', async () => {
    const clientCert = await makeCert('ego', {
      ...IDENTITY,
      mrEnclave: Buffer.from(CLIENT_MRENCLAVE, 'hex'),
    });
    const s = await mutualServer();
    try {
      const credentials = { key: clientCert.keyPem, cert: clientCert.pem };
      const ok = await fetch(`https://127.0.0.1:${s.port}/`, {
        dispatcher: ratlsUndiciAgent(verifierFor(MRENCLAVE), { credentials }),
      });
      assert.equal(await ok.text(), 'ok');
      await assert.rejects(
        fetch(`https://127.0.0.1:${s.port}/`, { dispatcher: ratlsUndiciAgent(verifierFor(MRENCLAVE)) }),
      );
      assert.deepEqual(
        s.refused.map((e) => (e as { code?: string }).code),
        ['ERR_RATLS_NO_PEER_CERTIFICATE'],
      );
    } finally {
      s.close();
    }
  });
  test('an https.Agent connection error reaches the request as an error', async () => {
    const port = await closedPort();
    await assert.rejects(get(port, new RatlsHttpsAgent(verifierFor(MRENCLAVE))), { code: 'ECONNREFUSED' });
  });
});

describe('the undici agent', () => {
  test('sends SNI for a host name, none for an IP address', async () => {
    const serverCert = await makeCert('gramine');
    const names: unknown[] = [];
    const server = createRatlsServer({ key: serverCert.keyPem, cert: serverCert.pem }, (socket) => {
      names.push((socket as tls.TLSSocket & { servername?: unknown }).servername);
      socket.end(HTTP_OK);
    });
    const port = await listening(server);
    try {
      const agent = ratlsUndiciAgent(verifierFor(MRENCLAVE));
      assert.equal(await (await fetch(`https://localhost:${port}/`, { dispatcher: agent })).text(), 'ok');
      assert.equal(await (await fetch(`https://127.0.0.1:${port}/`, { dispatcher: agent })).text(), 'ok');
      assert.deepEqual(names, ['localhost', false]);
    } finally {
      server.close();
    }
  });
  test('connects to port 443 for https and 80 for http when the URL has no port', async () => {
    const agent = ratlsUndiciAgent(verifierFor(MRENCLAVE));
    for (const [url, port] of [
      ['https://127.0.0.1/', 443],
      ['http://127.0.0.1/', 80],
    ] as const)
      await assert.rejects(
        fetch(url, { dispatcher: agent }),
        (err: { cause?: { code?: string; port?: number } }) => {
          // nothing listens there on a test machine: the refused connection names the port tried
          assert.equal(err.cause?.code, 'ECONNREFUSED', url);
          assert.equal(err.cause.port, port, url);
          return true;
        },
      );
  });
});
