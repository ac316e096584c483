/**
 * Specification of the collateral service's HTTP answers outside the query-parameter checks: only
 * the headers an artefact came with are sent, the CRL encodings, unknown routes and malformed
 * bodies answered in the service's error shape (Error-Code / Error-Message headers, JSON body).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import {
  buildCollateralApp,
  CollateralService,
  openMemoryStore,
} from '../../src/collateral-service/index.ts';
import { get, startStack, type Stack } from './support.ts';

const SGX = '/sgx/certification/v4';
let s: Stack;
before(async () => {
  s = await startStack();
});
after(() => s.close());

test('an artefact is served with its issuer chain and without kept headers the upstream did not send', async () => {
  const res = await get(s.service.url, `${SGX}/qe/identity`);
  assert.equal(res.status, 200, res.text);
  assert.ok((res.headers.get('sgx-enclave-identity-issuer-chain') ?? '').includes('BEGIN%20CERTIFICATE'));
  assert.equal(res.headers.get('warning'), null);
  const crl = await get(s.service.url, `${SGX}/pckcrl?ca=processor`);
  assert.equal(crl.status, 200, crl.text);
  assert.equal(crl.headers.get('warning'), null);
});

test('the Root CA CRL is served as hex of its DER; a PCK CRL as PEM or, asked, DER', async () => {
  const root = await get(s.service.url, `${SGX}/rootcacrl`);
  assert.equal(root.status, 200, root.text);
  assert.match(root.text, /^30[0-9a-f]+$/);
  const pem = await get(s.service.url, `${SGX}/pckcrl?ca=processor`);
  assert.match(pem.text, /^-----BEGIN X509 CRL-----\n/);
  const der = await get(s.service.url, `${SGX}/pckcrl?ca=processor&encoding=der`);
  assert.equal(der.body[0], 0x30);
  assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
});

test('an unknown route is a 404 in the service error shape', async () => {
  const res = await get(s.service.url, `${SGX}/nothing?x=1`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('error-code'), 'ERR_COLLATERAL_SERVICE_NOT_FOUND');
  assert.deepEqual(JSON.parse(res.text), {
    code: 'ERR_COLLATERAL_SERVICE_NOT_FOUND',
    message: `no route GET ${SGX}/nothing`,
  });
});

test('a body that is not JSON is a 400 request error, with the parser message', async () => {
  const res = await fetch(`${s.service.url}${SGX}/platforms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{not json',
  });
  const body = (await res.json()) as { code: string; message: string };
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('error-code'), 'ERR_COLLATERAL_SERVICE_REQUEST');
  assert.equal(body.code, 'ERR_COLLATERAL_SERVICE_REQUEST');
  assert.notEqual(body.message, 'internal error');
});

test('a registration body that is not an object, or a member of the wrong shape, is named as sent', async () => {
  const post = async (body: string) =>
    fetch(`${s.service.url}${SGX}/platforms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
  const arr = await post('[1]');
  assert.equal(arr.status, 400);
  assert.equal(((await arr.json()) as { details: { parameter: string } }).details.parameter, 'body');
  const bad = await post(JSON.stringify({ qe_id: 'zz' }));
  assert.equal(bad.status, 400);
  const j = (await bad.json()) as { message: string; details: { parameter: string } };
  assert.equal(j.details.parameter, 'qe_id');
  assert.match(j.message, /^platform registration: qe_id is not 32 hex digits$/);
});

test('an unexpected error is a 500 "internal error", logged at error level with the given logger; a 4xx is not', async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
  const service = await CollateralService.open({
    mode: 'lazy',
    store: openMemoryStore(),
    upstream: { baseUrl: 'http://127.0.0.1:9', retries: 0 },
    refreshIntervalMs: 0,
    // An answer whose headers break after the body was read: an error none of the service's
    // typed errors describes (a body failing mid-stream is a typed 'unreachable' upstream error).
    fetch: () =>
      Promise.resolve({
        status: 200,
        body: null,
        headers: {
          get: (name: string): string | null => {
            if (name.toLowerCase() === 'content-length') return null;
            throw new TypeError('headers are gone');
          },
        },
      } as unknown as Response),
  });
  const app = buildCollateralApp(service, { loggerInstance: logger });
  try {
    const bad = await app.inject({ method: 'GET', url: `${SGX}/pckcrl?ca=nobody` });
    assert.equal(bad.statusCode, 400);
    assert.equal(lines.filter((l) => l.level >= 50).length, 0, 'a 4xx is not an error');
    const res = await app.inject({ method: 'GET', url: `${SGX}/qe/identity` });
    assert.equal(res.statusCode, 500);
    assert.equal(res.headers['error-code'], 'ERR_INTERNAL');
    assert.deepEqual(JSON.parse(res.body), { code: 'ERR_INTERNAL', message: 'internal error' });
    assert.deepEqual(
      lines.filter((l) => l.level >= 50).map((l) => l.msg),
      ['collateral request failed'],
    );
  } finally {
    await app.close();
    await service.close();
  }
});

test('an upstream body that fails mid-stream is a 502 upstream error, not an internal error', async () => {
  const service = await CollateralService.open({
    mode: 'lazy',
    store: openMemoryStore(),
    upstream: { baseUrl: 'http://127.0.0.1:9', retries: 0 },
    refreshIntervalMs: 0,
    fetch: () =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start(c) {
              c.error(new Error('connection reset'));
            },
          }),
          { status: 200 },
        ),
      ),
  });
  const app = buildCollateralApp(service, {});
  try {
    const res = await app.inject({ method: 'GET', url: `${SGX}/qe/identity` });
    assert.equal(res.statusCode, 502);
    assert.equal(res.headers['error-code'], 'ERR_COLLATERAL_SERVICE_UPSTREAM');
  } finally {
    await app.close();
    await service.close();
  }
});

test('the QvE identity is asked upstream in the update variant the client asked for', async () => {
  // (the simulated PCS has no QvE identity: its 404 is passed on)
  const res = await get(s.service.url, `${SGX}/qve/identity?update=early`);
  assert.equal(res.status, 404, res.text);
  assert.ok(
    s.upstream.log.some((r) => /\/qve\/identity\?update=early$/.test(r.url)),
    s.upstream.log.map((r) => r.url).join(' '),
  );
});
