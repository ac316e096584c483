/**
 * `ccnodes dashboard serve` with the attestation service's TLS and auth options: `--tls-cert` /
 * `--tls-key` serve HTTPS (and nothing in plain HTTP on that port), `--admin-token-file` with
 * `--require-token` asks every browser for the token (Basic or Bearer), `/healthz` stays open, and
 * the security headers come with every answer. Bad combinations are usage errors (exit 2).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as x509 from '@peculiar/x509';
import { runCli } from '../../src/cli/index.ts';
import { CONTENT_SECURITY_POLICY } from '../../src/dashboard/index.ts';
import { captureContext } from '../support/cli.ts';
import { issueCert } from '../support/test-pki.ts';

const TOKEN = 'dashboard-tls-token-0123456789';
let dir: string;
let certPem: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ccnodes-dashboard-tls-'));
  const cert = await issueCert({
    subject: 'CN=ccnodes-dashboard-test',
    ca: false,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
  });
  certPem = cert.pem;
  writeFileSync(join(dir, 'tls.crt'), cert.pem);
  writeFileSync(join(dir, 'tls.key'), cert.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  writeFileSync(join(dir, 'short-token'), 'too-short\n');
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** GET over HTTPS trusting only the test certificate (host name checked against its SAN). */
function getTls(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    httpsGet(url, { ca: certPem, headers }, (res) => {
      res.resume();
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
    }).on('error', reject);
  });
}

test('--tls-cert/--tls-key serve HTTPS; --require-token asks every browser for the admin token', async () => {
  const stop = new AbortController();
  const ctx = captureContext(stop.signal);
  const run = runCli(
    [
      'dashboard',
      'serve',
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--admin-token-file',
      join(dir, 'token'),
      '--require-token',
      '--sample-interval',
      '0',
      '--json',
    ],
    ctx,
  );
  try {
    let url: string | undefined;
    for (let i = 0; i < 600 && url === undefined; i++) {
      const line = ctx.out.join('').split('\n')[0] ?? '';
      if (line.startsWith('{')) url = (JSON.parse(line) as { url: string }).url;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(url !== undefined, `no URL printed: ${ctx.out.join('')}${ctx.err.join('')}`);
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);

    const none = await getTls(`${url}/nodes`);
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic /);
    assert.equal(none.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(
      (await getTls(`${url}/nodes`, { authorization: 'Bearer not-the-token-0000000' })).status,
      401,
    );
    const bearer = await getTls(`${url}/nodes`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(bearer.status, 200);
    assert.equal(bearer.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(bearer.headers['x-frame-options'], 'DENY');
    const basic = `Basic ${Buffer.from(`operator:${TOKEN}`).toString('base64')}`;
    assert.equal((await getTls(`${url}/api/history`, { authorization: basic })).status, 200);
    assert.equal((await getTls(`${url}/healthz`)).status, 200);

    // The port speaks TLS only: a plain-HTTP request gets no page.
    const plain = await new Promise<number | Error>((resolve) => {
      httpGet(url.replace('https:', 'http:') + '/healthz', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', resolve);
    });
    assert.ok(plain instanceof Error || plain === 400, `plain HTTP answered ${String(plain)}`);
  } finally {
    stop.abort();
    assert.equal(await run, 0, ctx.err.join(''));
  }
});

test('TLS and token options are checked before serving (exit 2)', async () => {
  const cases: [string[], RegExp][] = [
    [['--tls-cert', join(dir, 'tls.crt')], /--tls-cert and --tls-key go together/],
    [['--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'absent.key')], /absent\.key/],
    [['--admin-token-file', join(dir, 'short-token')], /at least 16 characters/],
    [['--require-token'], /--require-token needs --admin-token-file/],
    // Off loopback: the token is required, and TLS unless --insecure-http.
    [['--listen', '0.0.0.0:0'], /ERR_DASHBOARD_CONFIG|token/],
    [['--listen', '0.0.0.0:0', '--admin-token-file', join(dir, 'token')], /TLS/],
  ];
  for (const [args, message] of cases) {
    const ctx = captureContext();
    const code = await runCli(['dashboard', 'serve', '--listen', '127.0.0.1:0', ...args], ctx);
    assert.equal(code, 2, args.join(' '));
    assert.match(ctx.err.join(''), message, args.join(' '));
  }
});
