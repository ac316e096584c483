/**
 * The collateral service verifies every artefact before caching or serving it: an upstream answer
 * that was tampered with, signed under another root, or names other data is refused with HTTP 460
 * (`ERR_COLLATERAL_SERVICE_VERIFY`), is not cached, and is not served later; a database row edited
 * at rest is refused when the service loads it.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { dcap, get, otherDcap, startStack, type Stack } from './support.ts';

const up = dcap.platform('up-to-date');
const FMSPC = up.config.fmspc.toUpperCase();
const OTHER_FMSPC = dcap.platform('multi-package').config.fmspc.toUpperCase();
const SGX = '/sgx/certification/v4';

let stack: Stack;

function expectRefused(res: { status: number; headers: Headers; text: string }, check: RegExp): void {
  assert.equal(res.status, 460, res.text);
  assert.equal(res.headers.get('Error-Code'), 'ERR_COLLATERAL_SERVICE_VERIFY');
  const body = JSON.parse(res.text) as { details: { check: string } };
  assert.match(body.details.check, check);
}

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

describe('verification before caching (LAZY, simulated upstream)', () => {
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());
  beforeEach(() => {
    stack.upstream.rewrite.current = undefined;
  });

  test('a genuine TCB Info is served byte for byte with its issuer chain header as received', async () => {
    let received: { body: Buffer; chain: string | null } | undefined;
    stack.upstream.rewrite.current = (path, a) => {
      if (path.includes('/tcb?'))
        received = { body: Buffer.from(a.body), chain: a.headers.get('TCB-Info-Issuer-Chain') };
      return a;
    };
    const res = await get(stack.service.url, `${SGX}/tcb?fmspc=${FMSPC.toLowerCase()}`);
    assert.equal(res.status, 200);
    assert.ok(received);
    assert.ok(res.body.equals(received.body), 'body as received');
    assert.equal(res.headers.get('TCB-Info-Issuer-Chain'), received.chain, 'URL-encoded chain as received');
    assert.match(res.headers.get('Request-ID') ?? '', /^[0-9a-f]{32}$/);
    assert.equal(res.headers.get('content-type'), 'application/json');
    const again = await get(stack.service.url, `${SGX}/tcb?fmspc=${FMSPC}`);
    assert.ok(again.body.equals(received.body), 'served from cache unchanged');
    assert.notEqual(again.headers.get('Request-ID'), res.headers.get('Request-ID'));
  });

  test('a TCB Info with one value changed is refused (signature) and not cached', async () => {
    stack.upstream.rewrite.current = (path, a) =>
      path.includes('/tcb')
        ? { ...a, body: Buffer.from(text(a.body).replace('"UpToDate"', '"OutOfDate"')) }
        : a;
    const res = await get(stack.service.url, `${SGX}/tcb?fmspc=${OTHER_FMSPC}`);
    expectRefused(res, /^signature$/);
    assert.ok(!stack.service.service.list().some((e) => e.key === `sgx:tcb:${OTHER_FMSPC}`));
    stack.upstream.rewrite.current = undefined;
    assert.equal((await get(stack.service.url, `${SGX}/tcb?fmspc=${OTHER_FMSPC}`)).status, 200);
  });

  test('a TCB Info signed under another root (self-consistent) is refused (trusted root)', async () => {
    stack.upstream.rewrite.current = (path, a) => {
      if (!path.includes('/qe/identity')) return a;
      const headers = new Headers(a.headers);
      headers.set('SGX-Enclave-Identity-Issuer-Chain', encodeURIComponent(otherDcap.pki.tcbIssuerChainPem()));
      return { ...a, headers, body: Buffer.from(otherDcap.qeIdentity()) };
    };
    expectRefused(await get(stack.service.url, `${SGX}/qe/identity`), /^trusted-root$/);
  });

  test('a TCB Info for another FMSPC than the one asked for is refused (content)', async () => {
    stack.upstream.rewrite.current = (path, a) =>
      path.includes('/tcb') ? { ...a, body: Buffer.from(dcap.tcbInfo(FMSPC) ?? '') } : a;
    expectRefused(await get(stack.service.url, `${SGX}/tcb?fmspc=${OTHER_FMSPC}&update=early`), /^content$/);
  });

  test('a PCK CRL signed by another key under the same names is refused (CRL signature)', async () => {
    stack.upstream.rewrite.current = (path, a) =>
      path.includes('/pckcrl') ? { ...a, body: Buffer.from(otherDcap.pckCrl('platform')) } : a;
    expectRefused(
      await get(stack.service.url, `${SGX}/pckcrl?ca=platform&encoding=der`),
      /^crl-(signature|issuer)$/,
    );
  });

  test('a PCK certificate on the PCK CRL is refused (revocation), a current one is served', async () => {
    const pckcert = (name: string): string => {
      const p = dcap.platform(name);
      return (
        `${SGX}/pckcert?encrypted_ppid=${Buffer.from(p.ppid).toString('hex')}` +
        `&cpusvn=${Buffer.from(p.cpuSvn).toString('hex')}` +
        `&pcesvn=${Buffer.from([p.config.pceSvn & 0xff, p.config.pceSvn >> 8]).toString('hex')}&pceid=${p.config.pceId}`
      );
    };
    expectRefused(await get(stack.service.url, pckcert('revoked-pck')), /^revocation$/);
    const ok = await get(stack.service.url, pckcert('up-to-date'));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.text, dcap.platform('up-to-date').pck.pem);
    assert.equal(ok.headers.get('SGX-FMSPC'), FMSPC);
    assert.equal(ok.headers.get('SGX-PCK-Certificate-CA-Type'), 'processor');
    assert.ok(ok.headers.get('SGX-PCK-Certificate-Issuer-Chain')?.includes('%0A'));
  });
});

describe('trusted root and storage tampering', () => {
  test("without --trust-simulated-root, Intel's root is required: simulated collateral is refused", async () => {
    const s = await startStack({ trustSimulatedRoot: undefined });
    try {
      const res = await get(s.service.url, `${SGX}/qe/identity`);
      assert.equal(res.status, 460, res.text);
      assert.match(res.text, /Root CA CRL|trusted/);
      assert.equal(s.service.service.list().length, 0);
    } finally {
      await s.close();
    }
  });

  test('a Root CA CRL from another root is refused; nothing that depends on it is cached', async () => {
    const s = await startStack();
    try {
      s.upstream.rewrite.current = (path, a) =>
        path.includes('/rootcacrl')
          ? { ...a, body: Buffer.from(Buffer.from(otherDcap.rootCaCrl()).toString('hex')) }
          : a;
      const res = await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`);
      expectRefused(res, /^crl-(signature|issuer)$/);
      assert.equal(s.service.service.list().length, 0);
    } finally {
      await s.close();
    }
  });

  test('a cached row edited in the SQLite file is refused at restart and fetched again (LAZY)', async () => {
    const s = await startStack();
    try {
      assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
      await s.service.close();
      const db = new Database(join(s.dataDir, 'collateral.db'));
      const row = db
        .prepare('SELECT body FROM collateral_artefacts WHERE key = ?')
        .get(`sgx:tcb:${FMSPC}`) as {
        body: Buffer;
      };
      const edited = row.body.toString('utf8').replace('"UpToDate"', '"Revoked"');
      assert.notEqual(edited, row.body.toString('utf8'));
      db.prepare('UPDATE collateral_artefacts SET body = ? WHERE key = ?').run(
        Buffer.from(edited),
        `sgx:tcb:${FMSPC}`,
      );
      db.close();
      const before = s.upstream.log.length;
      await s.restart({ mode: 'offline', upstream: undefined });
      assert.ok(!s.service.service.list().some((e) => e.key === `sgx:tcb:${FMSPC}`));
      const offline = await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`);
      assert.equal(offline.status, 404, 'OFFLINE: the refused row is not served');
      assert.match(
        await (await fetch(`${s.service.url}/metrics`)).text(),
        /ccnodes_collateral_verify_failures_total\{kind="tcb",source="storage"\} 1/,
      );
      await s.restart({ mode: 'lazy' });
      const lazy = await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`);
      assert.equal(lazy.status, 200);
      assert.notEqual(lazy.text, edited);
      assert.equal(s.upstream.log.length, before + 1, 'fetched again from the upstream');
    } finally {
      await s.close();
    }
  });
});
