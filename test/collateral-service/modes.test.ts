/**
 * Caching modes and operations of the collateral service: OFFLINE serves only what was imported;
 * REQ fetches PCK certificates at platform registration and answers 461 for an unknown platform;
 * the Intel API key goes upstream on the PCK certificate routes only; the scheduled refresh renews
 * artefacts before their nextUpdate (test clock and timer); health and the expired gauge follow the
 * clock; bad parameters get 400 as Intel's PCCS answers them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCollateralService, type RefreshTimer } from '../../src/collateral-service/index.ts';
import { dcap, get, startStack, type Stack, type UpstreamAnswer } from './support.ts';

const SGX = '/sgx/certification/v4';
const up = dcap.platform('up-to-date');
const FMSPC = up.config.fmspc.toUpperCase();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const pcesvn = hex(Buffer.from([up.config.pceSvn & 0xff, up.config.pceSvn >> 8]));
const pckcertPath = (extra = ''): string =>
  `${SGX}/pckcert?encrypted_ppid=${hex(up.ppid)}&cpusvn=${hex(up.cpuSvn)}&pcesvn=${pcesvn}&pceid=${up.config.pceId}${extra}`;

describe('statuses of the PCCS API', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  for (const [path, parameter] of [
    [`${SGX}/tcb`, 'fmspc'],
    [`${SGX}/tcb?fmspc=00CC5100000`, 'fmspc'],
    [`${SGX}/tcb?fmspc=${FMSPC}&fmspc=${FMSPC}`, 'fmspc'],
    [`${SGX}/tcb?fmspc=${FMSPC}&update=late`, 'update'],
    [`${SGX}/tcb?fmspc=${FMSPC}&update=early&tcbEvaluationDataNumber=3`, 'update'],
    [`${SGX}/pckcrl?ca=intermediate`, 'ca'],
    [`${SGX}/pckcrl?ca=processor&encoding=base64`, 'encoding'],
    [`${SGX}/pckcert?cpusvn=${hex(up.cpuSvn)}&pcesvn=${pcesvn}&pceid=0000`, 'encrypted_ppid'],
    [pckcertPath().replace(/cpusvn=[0-9a-f]+/, 'cpusvn=zz'), 'cpusvn'],
  ] as const) {
    test(`400 naming ${parameter}: ${path.replace(SGX, '')}`, async () => {
      const res = await get(stack.service.url, path);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.headers.get('Error-Code'), 'ERR_COLLATERAL_SERVICE_REQUEST');
      assert.equal((JSON.parse(res.text) as { details: { parameter: string } }).details.parameter, parameter);
      assert.match(res.headers.get('Request-ID') ?? '', /^[0-9a-f]{32}$/);
    });
  }

  test('404 for an FMSPC the upstream does not know, and for unknown routes', async () => {
    const res = await get(stack.service.url, `${SGX}/tcb?fmspc=AABBCCDDEEFF`);
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('Error-Code'), 'ERR_COLLATERAL_SERVICE_NOT_FOUND');
    assert.equal(
      (await get(stack.service.url, `${SGX}/sgx/certification/v4/tcb?fmspc=${FMSPC}`)).status,
      404,
    );
  });

  test('PCK CRL as DER and as PEM (same bytes), Root CA CRL as hex', async () => {
    const der = await get(stack.service.url, `${SGX}/pckcrl?ca=processor&encoding=der`);
    assert.equal(der.status, 200);
    assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
    const pem = await get(stack.service.url, `${SGX}/pckcrl?ca=processor`);
    assert.equal(pem.headers.get('content-type'), 'application/x-pem-file');
    const b64 = pem.text.replace(/-----[A-Z0-9 ]+-----|\s/g, '');
    assert.ok(Buffer.from(b64, 'base64').equals(der.body));
    assert.ok(pem.headers.get('SGX-PCK-CRL-Issuer-Chain')?.startsWith('-----BEGIN%20CERTIFICATE-----'));
    const root = await get(stack.service.url, `${SGX}/rootcacrl`);
    assert.match(root.text, /^30[0-9a-f]+$/);
  });

  test('502 when the upstream cannot be reached and nothing is cached', async () => {
    const s = await startStack({ upstream: { baseUrl: 'http://127.0.0.1:9', retries: 0 } });
    try {
      const res = await get(s.service.url, `${SGX}/qe/identity`);
      assert.equal(res.status, 502, res.text);
      assert.equal(res.headers.get('Error-Code'), 'ERR_COLLATERAL_SERVICE_UPSTREAM');
      assert.match(
        await (await fetch(`${s.service.url}/metrics`)).text(),
        /ccnodes_collateral_upstream_errors_total\{kind="qe",reason="unreachable"\} 1/,
      );
    } finally {
      await s.close();
    }
  });
});

describe('modes', () => {
  test('the API key goes upstream as Ocp-Apim-Subscription-Key on PCK certificate requests only', async () => {
    const s = await startStack();
    try {
      await s.restart({ upstream: { baseUrl: s.pcs.url, retries: 0, apiKey: 'test-subscription-key' } });
      const res = await get(s.service.url, pckcertPath());
      assert.equal(res.status, 200, res.text);
      const sent = s.upstream.log.map((r) => [
        new URL(r.url).pathname,
        r.headers.get('Ocp-Apim-Subscription-Key'),
      ]);
      assert.deepEqual(
        sent.filter(([, key]) => key !== null),
        [[`${SGX}/pckcert`, 'test-subscription-key']],
      );
      assert.ok(sent.length >= 3, 'the CRLs were fetched too, without the key');
    } finally {
      await s.close();
    }
  });

  test('pckcerts: every available certificate verified, the list served as received; a revoked one refuses the list', async () => {
    const s = await startStack();
    try {
      const answer =
        (platform: string): ((path: string, a: UpstreamAnswer) => UpstreamAnswer) =>
        (path, a) => {
          if (!path.startsWith(`${SGX}/pckcerts?`)) return a;
          const p = dcap.platform(platform);
          const headers = new Headers({
            'Content-Type': 'application/json',
            'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(dcap.pki.pckIssuerChainPem('processor')),
            'SGX-FMSPC': p.config.fmspc.toUpperCase(),
            'SGX-PCK-Certificate-CA-Type': 'processor',
            'Request-ID': '00'.repeat(16),
          });
          const list = [
            {
              tcb: { pcesvn: p.config.pceSvn },
              tcbm: `${hex(p.cpuSvn)}${pcesvn}`,
              cert: encodeURIComponent(p.pck.pem),
            },
            { tcb: { pcesvn: 1 }, tcbm: '00'.repeat(18), cert: 'Not available' },
          ];
          return { status: 200, headers, body: Buffer.from(JSON.stringify(list)) };
        };
      s.upstream.rewrite.current = answer('up-to-date');
      const path = `${SGX}/pckcerts?encrypted_ppid=${hex(up.ppid)}&pceid=${up.config.pceId}`;
      const res = await get(s.service.url, path);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get('content-type'), 'application/json');
      assert.equal((JSON.parse(res.text) as unknown[]).length, 2);
      assert.equal(res.headers.get('SGX-FMSPC'), FMSPC);
      const revoked = dcap.platform('revoked-pck');
      s.upstream.rewrite.current = answer('revoked-pck');
      const refused = await get(
        s.service.url,
        `${SGX}/pckcerts?encrypted_ppid=${hex(revoked.ppid)}&pceid=${revoked.config.pceId}`,
      );
      assert.equal(refused.status, 460, refused.text);
      assert.match(refused.text, /revocation/);
      assert.equal((await get(s.service.url, `${SGX}/pckcerts?pceid=0000`)).status, 400);
    } finally {
      await s.close();
    }
  });

  test('OFFLINE serves only imported artefacts; an exported cache imports and verifies', async () => {
    const lazy = await startStack();
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-collateral-offline-'));
    try {
      for (const p of [`${SGX}/tcb?fmspc=${FMSPC}`, `${SGX}/qe/identity`, pckcertPath()])
        assert.equal((await get(lazy.service.url, p)).status, 200);
      const bundle = lazy.service.service.exportBundle();
      const offline = await startCollateralService({
        mode: 'offline',
        dataDir: join(dir, 'data'),
        trustSimulatedRoot: dcap.rootPem,
      });
      try {
        assert.equal((await get(offline.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 404);
        const unknown = await get(offline.url, pckcertPath());
        assert.equal(unknown.status, 461, 'unknown platform');
        const { imported } = await offline.service.importBundle(JSON.parse(JSON.stringify(bundle)));
        assert.equal(imported.length, bundle.artefacts.length);
        const tcb = await get(offline.url, `${SGX}/tcb?fmspc=${FMSPC}`);
        assert.equal(tcb.status, 200);
        assert.equal(
          tcb.body.toString('base64'),
          bundle.artefacts.find((a) => a.key === `sgx:tcb:${FMSPC}`)?.body,
        );
        assert.equal((await get(offline.url, pckcertPath())).status, 200);
        assert.equal(
          (await get(offline.url, `${SGX}/qve/identity`)).status,
          404,
          'never imported, never fetched',
        );
        // A tampered bundle is refused, naming the artefact.
        const tampered = JSON.parse(JSON.stringify(bundle)) as typeof bundle;
        const entry = tampered.artefacts.find((a) => a.key === 'sgx:qe');
        assert.ok(entry);
        (entry as { body: string }).body = Buffer.from(
          Buffer.from(entry.body, 'base64').toString('utf8').replace('"isvprodid":1', '"isvprodid":2'),
        ).toString('base64');
        await assert.rejects(offline.service.importBundle(tampered), /QE Identity/);
      } finally {
        await offline.close();
      }
    } finally {
      await lazy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('REQ: registration fetches the PCK certificate; an unregistered platform gets 461', async () => {
    const s = await startStack({ mode: 'req' });
    try {
      assert.equal((await get(s.service.url, pckcertPath())).status, 461);
      const res = await fetch(`${s.service.url}${SGX}/platforms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          qe_id: hex(up.qeId),
          pce_id: up.config.pceId,
          cpu_svn: hex(up.cpuSvn),
          pce_svn: pcesvn,
          enc_ppid: hex(up.ppid),
        }),
      });
      assert.equal(res.status, 200, await res.text());
      const keys = s.service.service.list().map((e) => e.key);
      assert.ok(
        keys.some((k) => k.startsWith('sgx:pckcert:')),
        keys.join(' '),
      );
      assert.ok(
        keys.includes(`sgx:tcb:${FMSPC}`) && keys.includes('sgx:qe') && keys.includes('sgx:pckcrl:processor'),
      );
      const before = s.upstream.log.length;
      const byQeid = await get(s.service.url, `${pckcertPath()}&qeid=${hex(up.qeId)}`);
      assert.equal(byQeid.status, 200, byQeid.text);
      assert.equal(s.upstream.log.length, before, 'served from the registration fetch');
      const bad = await fetch(`${s.service.url}${SGX}/platforms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ qe_id: 'xyz' }),
      });
      assert.equal(bad.status, 400);
      assert.equal(((await bad.json()) as { details: { parameter: string } }).details.parameter, 'qe_id');
    } finally {
      await s.close();
    }
  });

  test('the scheduled refresh renews artefacts before nextUpdate; expiry shows in /healthz and the gauge', async () => {
    let now = Date.now();
    const ticks: (() => void)[] = [];
    const timer: RefreshTimer = {
      every: (_ms, fn) => {
        ticks.push(fn);
        return { stop: () => undefined };
      },
    };
    const s = await startStack({
      now: () => new Date(now),
      timer,
      refreshIntervalMs: 60_000,
      refreshBeforeMs: 3600_000,
    });
    try {
      assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
      assert.equal((await get(s.service.url, '/healthz')).status, 200);
      assert.equal(ticks.length, 1);
      const fetched = s.upstream.log.length;
      // Not yet due: nothing is fetched.
      assert.deepEqual(await s.service.service.refreshDue(), { refreshed: [], failed: [] });
      assert.equal(s.upstream.log.length, fetched);
      // 30 minutes before the TCB Info's nextUpdate (30 days; the CRLs too): everything is renewed.
      const tcb = s.service.service.list().find((e) => e.key === `sgx:tcb:${FMSPC}`);
      assert.ok(tcb);
      now = Date.parse(tcb.expiresAt) - 30 * 60_000;
      const result = await s.service.service.refreshDue();
      assert.ok(result.refreshed.includes(`sgx:tcb:${FMSPC}`), JSON.stringify(result));
      assert.ok(s.upstream.log.length > fetched);
      assert.match(
        await (await fetch(`${s.service.url}/metrics`)).text(),
        /ccnodes_collateral_refreshes_total\{result="ok"\} [1-9]/,
      );
      // The timer drives the same refresh.
      const beforeTick = s.upstream.log.length;
      now = Date.now() + 400 * 86400_000; // a year on: everything (also the Root CA CRL) is due
      await s.pcs.close();
      ticks[0]?.();
      await s.service.service.refreshDue();
      assert.ok(s.upstream.log.length > beforeTick, 'the tick tried the upstream');
      const health = await get(s.service.url, '/healthz');
      assert.equal(health.status, 503);
      const body = JSON.parse(health.text) as { status: string; expired: string[] };
      assert.equal(body.status, 'degraded');
      assert.ok(body.expired.includes(`sgx:tcb:${FMSPC}`));
      assert.match(
        await (await fetch(`${s.service.url}/metrics`)).text(),
        /ccnodes_collateral_expired [1-9]/,
      );
      // Expired and the upstream down: served stale rather than not at all.
      const stale = await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`);
      assert.equal(stale.status, 200);
    } finally {
      await s.close().catch(() => undefined);
    }
  });
});
