/**
 * Specification of the started collateral service (`startCollateralService`, what `ccnodes
 * collateral serve` runs): where it listens and the URL it reports, HTTPS, which database it opens,
 * refusals at start that leave nothing open, the service's log lines on the server's logger, and
 * close.
 *
 * "The store is closed" is observed through SQLite: an open database in WAL mode keeps its
 * `collateral.db-wal` file, which closing the last connection removes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import pino from 'pino';
import {
  startCollateralService,
  type CollateralServerConfig,
  type RefreshTimer,
} from '../../src/collateral-service/index.ts';
import { get, startStack } from './support.ts';

const SGX = '/sgx/certification/v4';

let root = '';
before(() => {
  root = mkdtempSync(join(tmpdir(), 'ccnodes-collateral-server-'));
});
after(() => {
  rmSync(root, { recursive: true, force: true });
});

let dirs = 0;
/** A fresh data directory (not yet created: the service creates it). */
const dataDir = (): string => join(root, `data-${++dirs}`);

const offline = (dir: string, o: Partial<CollateralServerConfig> = {}): CollateralServerConfig => ({
  mode: 'offline',
  dataDir: dir,
  refreshIntervalMs: 0,
  ...o,
});

const walOpen = (dir: string): boolean => existsSync(join(dir, 'collateral.db-wal'));

describe('where it listens', () => {
  test('127.0.0.1 on a free port by default; the URL names the port it got', async () => {
    const dir = dataDir();
    const s = await startCollateralService(offline(dir));
    try {
      const m = /^http:\/\/127\.0\.0\.1:(\d+)$/.exec(s.url);
      assert.ok(m !== null, s.url);
      assert.notEqual(Number(m[1]), 0);
      assert.equal(Number(m[1]), (s.app.server.address() as AddressInfo).port);
      const res = await get(s.url, '/healthz');
      assert.equal(res.status, 200, res.text);
    } finally {
      await s.close();
    }
  });

  test('an IPv6 host is shown in brackets in the URL', async (t) => {
    let s;
    try {
      s = await startCollateralService(offline(dataDir(), { host: '::1' }));
    } catch (err) {
      t.skip(`no IPv6 loopback here: ${(err as Error).message}`);
      return;
    }
    try {
      assert.match(s.url, /^http:\/\/\[::1\]:[1-9]\d*$/);
      assert.equal((await get(s.url, '/healthz')).status, 200);
    } finally {
      await s.close();
    }
  });

  test('with a certificate and key it serves HTTPS, and the URL says so', async () => {
    const tls = await selfSigned();
    const s = await startCollateralService(
      offline(dataDir(), { https: { cert: tls.certPem, key: tls.keyPem } }),
    );
    try {
      assert.match(s.url, /^https:\/\/127\.0\.0\.1:[1-9]\d*$/);
      const body = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(`${s.url}/healthz`, { ca: tls.certPem }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            resolve(text);
          });
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal((JSON.parse(body) as { status: string }).status, 'ok');
    } finally {
      await s.close();
    }
  });
});

describe('refusals at start leave nothing open', () => {
  test('a port in use is a config error naming listen; the service is stopped and the database closed', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as AddressInfo).port;
    const dir = dataDir();
    const refresh = { started: 0, stopped: 0 };
    const timer: RefreshTimer = {
      every: () => {
        refresh.started++;
        return {
          stop: () => {
            refresh.stopped++;
          },
        };
      },
    };
    try {
      await assert.rejects(
        startCollateralService(
          offline(dir, {
            mode: 'lazy',
            upstream: { baseUrl: 'http://127.0.0.1:9', retries: 0 },
            port,
            refreshIntervalMs: 60_000,
            timer,
          }),
        ),
        (err: unknown) => {
          const e = err as { code?: string; details?: { field?: string } };
          assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_CONFIG');
          assert.equal(e.details?.field, 'listen');
          return true;
        },
      );
      assert.ok(existsSync(join(dir, 'collateral.db')), 'the database was opened');
      assert.equal(walOpen(dir), false, 'and closed');
      assert.deepEqual(refresh, { started: 1, stopped: 1 }, 'the refresh the service started is stopped');
    } finally {
      await new Promise((resolve) => busy.close(resolve));
    }
  });

  test('a service that refuses its configuration closes the database it was given', async () => {
    const dir = dataDir();
    await assert.rejects(
      startCollateralService(offline(dir, { mode: 'bogus' as never })),
      (err: unknown) => (err as { code?: string }).code === 'ERR_COLLATERAL_SERVICE_CONFIG',
    );
    assert.ok(existsSync(join(dir, 'collateral.db')), 'the database was opened');
    assert.equal(walOpen(dir), false, 'and closed');
  });

  test('a database URL is used, not ignored for SQLite: one that is not PostgreSQL refuses the start', async () => {
    const dir = dataDir();
    await assert.rejects(
      startCollateralService(offline(dir, { databaseUrl: 'mysql://127.0.0.1/collateral' })),
      (err: unknown) => {
        const e = err as { code?: string; details?: { field?: string } };
        assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_CONFIG');
        assert.equal(e.details?.field, 'database-url');
        return true;
      },
    );
    assert.equal(existsSync(dir), false, 'no SQLite database was created');
  });
});

test('close stops listening and closes the database; closing twice is harmless', async () => {
  const dir = dataDir();
  const s = await startCollateralService(offline(dir));
  assert.equal((await get(s.url, '/healthz')).status, 200);
  assert.ok(walOpen(dir), 'an open database keeps its WAL');
  await Promise.all([s.close(), s.close()]);
  await s.close();
  await assert.rejects(fetch(`${s.url}/healthz`));
  assert.equal(walOpen(dir), false);
  assert.deepEqual(readdirSync(dir), ['collateral.db']);
});

test("the service's log lines go to the server's logger", async () => {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
  const s = await startStack({ loggerInstance: logger });
  try {
    // The upstream's QE Identity arrives with one byte of its body changed: refused and logged.
    s.upstream.rewrite.current = (path, answer) => {
      if (!path.startsWith(`${SGX}/qe/identity`) || answer.status !== 200) return answer;
      const body = Buffer.from(answer.body);
      const at = body.indexOf('"version"');
      body[at + 1] = 'W'.charCodeAt(0);
      return { ...answer, body };
    };
    const res = await get(s.service.url, `${SGX}/qe/identity`);
    assert.equal(res.status, 460, res.text);
    const refused = lines.filter((l) => l.level >= 50 && /^artefact refused: /.test(l.msg));
    assert.equal(refused.length, 1, JSON.stringify(lines.map((l) => l.msg)));
  } finally {
    await s.close();
  }
});

/** A self-signed P-256 certificate for 127.0.0.1 (random key; only this test trusts it). */
async function selfSigned(): Promise<{ certPem: string; keyPem: string }> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: '01',
      name: 'CN=127.0.0.1',
      notBefore: new Date(Date.now() - 3600_000),
      notAfter: new Date(Date.now() + 86400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
    },
    webcrypto,
  );
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${(pkcs8.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}
