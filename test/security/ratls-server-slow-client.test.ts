/**
 * Slow clients against the RA-TLS server helpers of `ccnodes/ratls` (src/ratls/tls.ts). They passed
 * Node's defaults on: a TLS handshake may take 120 s, and the HTTPS helper's headers 60 s, with
 * deadlines checked every 30 s and no connection cap, so a client that connects and then trickles
 * (or sends nothing) held a connection for minutes. Now the handshake must complete within the
 * header timeout (10 s by default), and the HTTPS helper takes the services' bounds (src/http-limits);
 * options the caller passes in `tls` still win. Through real servers on 127.0.0.1 with short
 * bounds; a connection must be cut off within its timeout + 1.5 s (the test gives up at 10 s).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type https from 'node:https';
import { connect as tcpConnect, type AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type tls from 'node:tls';
import { createRatlsHttpsServer, createRatlsServer } from '../../src/ratls/index.ts';
import { selfSignedPem } from '../attestation/support.ts';
import { closedWithin, expectCutOff, opened } from './slow-client-support.ts';

const LIMITS = { requestTimeoutMs: 2000, headerTimeoutMs: 1000, idleTimeoutMs: 10_000, maxConnections: 3 };
const GRACE_MS = 1500;

describe('RA-TLS server helpers: slow clients are cut off', () => {
  let key: string;
  let cert: string;
  let raw: tls.Server;
  let web: https.Server;
  const portOf = (s: tls.Server): number => (s.address() as AddressInfo).port;
  before(async () => {
    const pem = await selfSignedPem({ cn: 'localhost', ec: true });
    key = pem.keyPem;
    cert = pem.certPem;
    raw = createRatlsServer({ key, cert, limits: LIMITS }, (socket) => {
      socket.end('hi\n');
    });
    web = createRatlsHttpsServer({ key, cert, limits: LIMITS }, (_req, res) => {
      res.end('attested');
    });
    await Promise.all(
      [raw, web].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))),
    );
  });
  after(() => {
    raw.close();
    web.close();
  });

  test('raw TLS: a client that never starts TLS is closed within the header timeout + 1.5 s', async () => {
    const socket = await opened(tcpConnect(portOf(raw), '127.0.0.1'));
    const ms = await closedWithin(socket, performance.now(), 10_000);
    socket.destroy();
    assert.notEqual(ms, undefined, 'still open after 10 s');
    assert.ok((ms ?? 0) < LIMITS.headerTimeoutMs + GRACE_MS, `closed after ${ms?.toFixed(0)} ms`);
  });

  test('raw TLS: connections beyond a cap that was asked for are closed at once', async () => {
    const held = [];
    try {
      for (let i = 0; i < LIMITS.maxConnections; i += 1)
        held.push(await opened(tcpConnect(portOf(raw), '127.0.0.1')));
      await new Promise((r) => setTimeout(r, 100));
      const extra = tcpConnect(portOf(raw), '127.0.0.1');
      extra.on('error', () => undefined);
      held.push(extra);
      assert.notEqual(await closedWithin(extra, performance.now(), 500), undefined, 'kept open over the cap');
    } finally {
      for (const s of held) s.destroy();
    }
  });

  test('HTTPS: headers sent one byte every 200 ms after the handshake are cut off within the header timeout + 1.5 s', async () => {
    const socket = await opened(
      tlsConnect({ host: '127.0.0.1', port: portOf(web), rejectUnauthorized: false }),
      'secureConnect',
    );
    await expectCutOff(socket, {
      text: 'GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ',
      everyMs: 200,
      limitMs: LIMITS.headerTimeoutMs + GRACE_MS,
      giveUpMs: 10_000,
    });
  });

  test('HTTPS: the defaults are the services’ bounds, and bounds given in `tls` win', () => {
    const plain = createRatlsHttpsServer({ key, cert }, () => undefined);
    assert.equal(plain.headersTimeout, 10_000);
    assert.equal(plain.requestTimeout, 30_000);
    assert.equal(plain.maxConnections, 1024);
    const own = createRatlsHttpsServer(
      { key, cert, tls: { headersTimeout: 5000, requestTimeout: 60_000 } },
      () => undefined,
    );
    assert.equal(own.headersTimeout, 5000);
    assert.equal(own.requestTimeout, 60_000);
  });

  test('unusable bounds are ERR_RATLS_OPTIONS naming the bound', () => {
    for (const make of [
      () => createRatlsServer({ key, cert, limits: { headerTimeoutMs: 0 } }, () => undefined),
      () => createRatlsHttpsServer({ key, cert, limits: { headerTimeoutMs: 0 } }, () => undefined),
    ])
      assert.throws(
        make,
        (err: { code?: string; details?: Record<string, unknown> }) =>
          err.code === 'ERR_RATLS_OPTIONS' && err.details?.['option'] === 'limits.headerTimeoutMs',
      );
  });
});
