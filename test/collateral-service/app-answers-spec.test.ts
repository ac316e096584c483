/**
 * Specification of the collateral service's answers whatever form the upstream used: a CRL is
 * stored as received but served in the encoding the route promises (a PCK CRL as DER, or that DER
 * armoured as PEM; the Root CA CRL as hex of its DER), an unexpected error is a 500 whatever status
 * it carries, and a missing parameter is named as missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  buildCollateralApp,
  CollateralService,
  CollateralStorageError,
  openMemoryStore,
} from '../../src/collateral-service/index.ts';
import { startSimPcs } from '../../src/sim/index.ts';
import { dcap, get, startStack, type Stack } from './support.ts';

const SGX = '/sgx/certification/v4';

/** PEM armour as some servers write it: CRLF line ends, 76-character lines. */
function pemCrlf(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN X509 CRL-----\r\n${(b64.match(/.{1,76}/g) ?? []).join('\r\n')}\r\n-----END X509 CRL-----\r\n`;
}

/** The armour the service writes: LF line ends, 64-character lines. */
function pem64(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN X509 CRL-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END X509 CRL-----\n`;
}

describe('CRLs the upstream sends as PEM', () => {
  let s: Stack;
  const sent: { pckCrlDer?: Buffer; rootCrlDer?: Buffer } = {};
  before(async () => {
    s = await startStack();
    s.upstream.rewrite.current = (path, answer) => {
      if (answer.status !== 200) return answer;
      if (path.startsWith(`${SGX}/pckcrl?ca=processor`)) {
        // asked for DER (encoding=der): the test sends the same CRL as PEM text
        sent.pckCrlDer = Buffer.from(answer.body);
        return { ...answer, body: Buffer.from(pemCrlf(answer.body), 'latin1') };
      }
      if (path.startsWith(`${SGX}/rootcacrl`)) {
        // the simulated PCS answers hex, as Intel's PCCS does; send it as PEM instead
        sent.rootCrlDer = Buffer.from(Buffer.from(answer.body).toString('latin1'), 'hex');
        return { ...answer, body: Buffer.from(pemCrlf(sent.rootCrlDer), 'latin1') };
      }
      return answer;
    };
  });
  after(() => s.close());

  test('a PCK CRL is served as DER for encoding=der, not as the PEM text received', async () => {
    const der = await get(s.service.url, `${SGX}/pckcrl?ca=processor&encoding=der`);
    assert.equal(der.status, 200, der.text);
    assert.ok(sent.pckCrlDer !== undefined, 'the upstream was asked for the PCK CRL');
    assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
    assert.ok(der.body.equals(sent.pckCrlDer), 'the DER the PEM holds');
  });

  test('a PCK CRL is served as PEM armour of its DER (64-character lines), not as received', async () => {
    const pem = await get(s.service.url, `${SGX}/pckcrl?ca=processor`);
    assert.equal(pem.status, 200, pem.text);
    assert.equal(pem.headers.get('content-type'), 'application/x-pem-file');
    assert.equal(pem.text, pem64(sent.pckCrlDer ?? Buffer.alloc(0)));
  });

  test('the Root CA CRL is served as hex of its DER, not as the PEM text received', async () => {
    const root = await get(s.service.url, `${SGX}/rootcacrl`);
    assert.equal(root.status, 200, root.text);
    assert.ok(sent.rootCrlDer !== undefined, 'the upstream was asked for the Root CA CRL');
    assert.equal(root.text, sent.rootCrlDer.toString('hex'));
  });
});

for (const statusCode of [503, 302]) {
  test(`an unexpected error that carries status ${statusCode} and details of its own is a 500 "internal error", both hidden`, async () => {
    const service = await CollateralService.open({
      mode: 'lazy',
      store: openMemoryStore(),
      upstream: { baseUrl: 'http://127.0.0.1:9', retries: 0 },
      refreshIntervalMs: 0,
      // As in app-routes-spec: headers that break after the body was read, here with the error
      // carrying a `statusCode` as HTTP libraries' errors do.
      fetch: () =>
        Promise.resolve({
          status: 200,
          body: null,
          headers: {
            get: (name: string): string | null => {
              if (name.toLowerCase() === 'content-length') return null;
              throw Object.assign(new TypeError('secret detail of a library'), {
                statusCode,
                details: { secret: 'of the library' },
              });
            },
          },
        } as unknown as Response),
    });
    const app = buildCollateralApp(service, {});
    try {
      const res = await app.inject({ method: 'GET', url: `${SGX}/qe/identity` });
      assert.equal(res.statusCode, 500);
      assert.equal(res.headers['error-code'], 'ERR_INTERNAL');
      assert.equal(res.headers['error-message'], 'internal error');
      assert.deepEqual(JSON.parse(res.body), { code: 'ERR_INTERNAL', message: 'internal error' });
    } finally {
      await app.close();
      await service.close();
    }
  });
}

test('a missing required parameter is named as missing, not as malformed', async () => {
  const service = await CollateralService.open({
    mode: 'offline',
    store: openMemoryStore(),
    refreshIntervalMs: 0,
  });
  const app = buildCollateralApp(service, {});
  try {
    for (const [url, parameter] of [
      [`${SGX}/tcb`, 'fmspc'],
      [`${SGX}/pckcert?encrypted_ppid=${'ab'.repeat(16)}&pcesvn=0b00&pceid=0000`, 'cpusvn'],
      [`${SGX}/pckcerts?pceid=0000`, 'encrypted_ppid'],
    ] as const) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 400, url);
      const body = JSON.parse(res.body) as { code: string; message: string; details: { parameter: string } };
      assert.equal(body.code, 'ERR_COLLATERAL_SERVICE_REQUEST');
      assert.equal(body.details.parameter, parameter);
      assert.equal(body.message, `query parameter ${parameter} is required`);
    }
  } finally {
    await app.close();
    await service.close();
  }
});

test('storage that fails while an artefact is stored is a 503 storage error', async () => {
  const pcs = await startSimPcs(dcap);
  const memory = openMemoryStore();
  const service = await CollateralService.open({
    mode: 'lazy',
    store: {
      ...memory,
      put: () => Promise.reject(new CollateralStorageError('the database is read-only', {})),
    },
    upstream: { baseUrl: pcs.url, retries: 0 },
    trustSimulatedRoot: dcap.rootPem,
    refreshIntervalMs: 0,
  });
  const app = buildCollateralApp(service, {});
  try {
    const res = await app.inject({ method: 'GET', url: `${SGX}/qe/identity` });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.headers['error-code'], 'ERR_COLLATERAL_SERVICE_STORAGE');
  } finally {
    await app.close();
    await service.close();
    await pcs.close();
  }
});

test('an app built without logger options writes no log lines; with logger options it logs', () => {
  // Fastify's own logger writes to file descriptor 1: watched from a child process.
  const index = fileURLToPath(new URL('../../src/collateral-service/index.ts', import.meta.url));
  const script = `
    import { buildCollateralApp, CollateralService, openMemoryStore } from ${JSON.stringify(index)};
    const service = await CollateralService.open({ mode: 'offline', store: openMemoryStore(), refreshIntervalMs: 0 });
    const app = buildCollateralApp(service, JSON.parse(process.argv[1]));
    const res = await app.inject({ method: 'GET', url: '/nothing' });
    await app.close();
    await service.close();
    process.stderr.write('status ' + res.statusCode);
  `;
  const run = (options: object): { stdout: string; stderr: string } =>
    spawnSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script, JSON.stringify(options)],
      {
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
  const quiet = run({});
  assert.equal(quiet.stderr.trim(), 'status 404', quiet.stderr);
  assert.equal(quiet.stdout, '');
  const logged = run({ logger: { level: 'info' } });
  assert.equal(logged.stderr.trim(), 'status 404', logged.stderr);
  assert.match(logged.stdout, /"msg":"incoming request"/);
});

test('connections are checked for the header timeout at a quarter of it, between 50 ms and 1 s', async () => {
  const service = await CollateralService.open({
    mode: 'offline',
    store: openMemoryStore(),
    refreshIntervalMs: 0,
  });
  try {
    for (const [headerTimeoutMs, every] of [
      [undefined, 1000],
      [40_000, 1000],
      [2000, 500],
      [400, 100],
      [100, 50],
    ] as const) {
      const app = buildCollateralApp(
        service,
        headerTimeoutMs === undefined
          ? {}
          : { limits: { headerTimeoutMs, requestTimeoutMs: Math.max(headerTimeoutMs, 30_000) } },
      );
      // Node keeps the option on the server it creates.
      const server = app.server as unknown as {
        connectionsCheckingInterval?: number;
        headersTimeout: number;
      };
      assert.equal(server.connectionsCheckingInterval, every, String(headerTimeoutMs));
      assert.equal(server.headersTimeout, headerTimeoutMs ?? 10_000);
      await app.close();
    }
  } finally {
    await service.close();
  }
});

test('unusable connection bounds are ERR_COLLATERAL_SERVICE_CONFIG naming the bound (a header timeout longer than the request timeout was accepted)', async () => {
  const service = await CollateralService.open({
    mode: 'offline',
    store: openMemoryStore(),
    refreshIntervalMs: 0,
  });
  try {
    for (const [limits, field] of [
      [{ headerTimeoutMs: 40_000 }, 'limits.headerTimeoutMs'],
      [{ requestTimeoutMs: 2000, headerTimeoutMs: 3000 }, 'limits.headerTimeoutMs'],
      [{ maxConnections: 0 }, 'limits.maxConnections'],
      [{ bodyLimit: 0 }, 'limits.bodyLimit'],
    ] as const) {
      assert.throws(
        () => buildCollateralApp(service, { limits }),
        (err: { code?: string; details?: Record<string, unknown> }) =>
          err.code === 'ERR_COLLATERAL_SERVICE_CONFIG' && err.details?.['field'] === field,
        field,
      );
    }
  } finally {
    await service.close();
  }
});

test('a registration keeps the platform manifest it was sent', async () => {
  const store = openMemoryStore();
  const service = await CollateralService.open({ mode: 'offline', store, refreshIntervalMs: 0 });
  const app = buildCollateralApp(service, {});
  try {
    const platform = {
      qe_id: '11'.repeat(16),
      pce_id: '0000',
      cpu_svn: '22'.repeat(16),
      pce_svn: '0b00',
      enc_ppid: '33'.repeat(16),
    };
    const res = await app.inject({
      method: 'POST',
      url: `${SGX}/platforms`,
      payload: { ...platform, platform_manifest: 'aabbcc' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const [stored] = await store.listPlatforms();
    assert.equal(stored?.platformManifest, 'aabbcc');
    assert.equal(stored.qeId, platform.qe_id);
  } finally {
    await app.close();
    await service.close();
  }
});
