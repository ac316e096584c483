/**
 * Specification of the collateral service's cache logic (`CollateralService`, no HTTP in front):
 * what is fetched and when (cache hits, in-flight sharing, the CRLs first), the scheduled refresh
 * (its timer, its horizon, serialised runs, failures counted), REQ registration, and the import
 * bundle's shape checks. Clocks and timers are injected; the upstream is the simulated PCS.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CollateralService,
  openMemoryStore,
  parseCacheBundle,
  type ArtefactSpec,
  type ArtefactStore,
  type PlatformRegistration,
} from '../../src/collateral-service/index.ts';
import { startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { dcap } from './support.ts';

const T0 = new Date('2026-06-01T12:00:00Z');
const up = dcap.platform('up-to-date');
const FMSPC = up.config.fmspc.toUpperCase();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const PCESVN = hex(Buffer.from([up.config.pceSvn & 0xff, up.config.pceSvn >> 8]));
const TCB: ArtefactSpec = { kind: 'tcb', tee: 'sgx', fmspc: FMSPC };
const QE: ArtefactSpec = { kind: 'qe', tee: 'sgx' };
const REG: PlatformRegistration = {
  qeId: hex(up.qeId),
  pceId: up.config.pceId.toLowerCase(),
  cpuSvn: hex(up.cpuSvn),
  pceSvn: PCESVN,
  encPpid: hex(up.ppid),
};
const PCK_BY_PPID: ArtefactSpec = {
  kind: 'pckcert',
  tee: 'sgx',
  encryptedPpid: REG.encPpid,
  cpusvn: REG.cpuSvn,
  pcesvn: REG.pceSvn,
  pceid: REG.pceId,
};

let pcs: SimPcsServer;
before(async () => {
  pcs = await startSimPcs(dcap, { now: () => T0 });
});
after(() => pcs.close());

interface Harness {
  service: CollateralService;
  store: ArtefactStore;
  clock: { now: Date };
  /** Paths the service asked the upstream for. */
  requests: string[];
  /** When true, the upstream is unreachable. */
  down: { on: boolean };
  timers: { ms: number; fn: () => void; stopped: boolean }[];
}

async function open(
  mode: 'lazy' | 'req' | 'offline',
  extra: Partial<Parameters<typeof CollateralService.open>[0]> = {},
  store: ArtefactStore = openMemoryStore(),
  builtInTimer = false,
): Promise<Harness> {
  const clock = { now: T0 };
  const requests: string[] = [];
  const down = { on: false };
  const timers: Harness['timers'] = [];
  const service = await CollateralService.open({
    mode,
    store,
    trustSimulatedRoot: dcap.rootPem,
    now: () => clock.now,
    ...(mode === 'offline' ? {} : { upstream: { baseUrl: pcs.url, retries: 0 } }),
    fetch: (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      requests.push(url.pathname.replace(/^.*\/v4\//, ''));
      if (down.on) return Promise.reject(new TypeError('fetch failed: connection refused'));
      return fetch(input, init);
    },
    ...(builtInTimer
      ? {}
      : {
          timer: {
            every(ms, fn) {
              const t = { ms, fn, stopped: false };
              timers.push(t);
              return {
                stop: () => {
                  t.stopped = true;
                },
              };
            },
          },
        }),
    ...extra,
  });
  return { service, store, clock, requests, down, timers };
}

const count = (h: Harness, path: string): number => h.requests.filter((p) => p === path).length;
async function metric(s: CollateralService, name: string, labels: Record<string, string>): Promise<number> {
  const m = (await s.metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = m?.values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l));
  return v?.value ?? 0;
}

describe('fetching', () => {
  const h0: string[] = [];
  test('LAZY: a miss goes upstream through the given fetch, then its Root CA CRL when missing; a hit does not', async () => {
    const h = await open('lazy');
    await h.service.get(TCB);
    assert.deepEqual(h.requests, ['tcb', 'rootcacrl']); // the answer names its chain, then its CRL
    await h.service.get(TCB);
    await h.service.get(QE); // the Root CA CRL is current: not fetched again
    assert.deepEqual(h.requests, ['tcb', 'rootcacrl', 'qe/identity']);
    assert.equal(
      await metric(h.service, 'ccnodes_collateral_cache_requests_total', { kind: 'tcb', result: 'hit' }),
      1,
    );
    await h.service.close();
  });
  test("upstream API pcs: the Root CA CRL is fetched from the location in the root certificate Intel's chain names", async () => {
    const h = await open('lazy', {
      upstream: { baseUrl: pcs.url, api: 'pcs', retries: 0 },
      fetch: (input, init) => {
        const url = new URL(
          typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
        );
        h0.push(url.host === new URL(pcs.url).host ? url.pathname : url.href);
        const to =
          url.host === 'pcs.sim.ccnodes.invalid' ? `${pcs.url}${url.pathname}${url.search}` : url.href;
        return fetch(to, init);
      },
    });
    await h.service.get(QE);
    assert.deepEqual(h0, [
      '/sgx/certification/v4/qe/identity',
      'https://pcs.sim.ccnodes.invalid/sgx/certification/v4/rootcacrl',
    ]);
    await h.service.close();
  });
  test('an expired artefact is fetched again (nothing kept from the finished fetch)', async () => {
    const h = await open('lazy');
    await h.service.get(QE);
    assert.deepEqual(h.service.expiredKeys(), []);
    h.clock.now = new Date(T0.getTime() + 400 * 86_400_000);
    assert.deepEqual(h.service.expiredKeys().sort(), ['sgx:qe', 'sgx:rootcacrl']);
    await h.service.get(QE);
    assert.equal(count(h, 'qe/identity'), 2);
    assert.equal(count(h, 'rootcacrl'), 2);
    await h.service.close();
  });
  test('an upstream failure with nothing cached is the request failure; with an expired copy, served stale', async () => {
    const h = await open('lazy');
    h.down.on = true;
    await assert.rejects(h.service.get(QE), { code: 'ERR_COLLATERAL_SERVICE_UPSTREAM' });
    h.down.on = false;
    const first = await h.service.get(QE);
    h.clock.now = new Date(T0.getTime() + 400 * 86_400_000);
    h.down.on = true;
    assert.equal(await h.service.get(QE), first);
    assert.equal(
      await metric(h.service, 'ccnodes_collateral_cache_requests_total', { kind: 'qe', result: 'stale' }),
      1,
    );
    await h.service.close();
  });
  test('OFFLINE: a miss is not found, without platformUnknown for collateral and with it for PCK certificates', async () => {
    const h = await open('offline');
    await assert.rejects(h.service.get(QE), (e: { code?: string; details?: Record<string, unknown> }) => {
      assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_NOT_FOUND');
      assert.equal(e.details?.['platformUnknown'], undefined);
      assert.match((e as unknown as Error).message, /is not cached \(mode offline\)/);
      return true;
    });
    await assert.rejects(h.service.get(PCK_BY_PPID), (e: { details?: Record<string, unknown> }) => {
      assert.equal(e.details?.['platformUnknown'], true);
      assert.match((e as unknown as Error).message, /platform not found in the cache \(mode offline\)/);
      return true;
    });
    assert.deepEqual(h.requests, []);
    assert.equal(h.timers.length, 0, 'no scheduled refresh offline');
    assert.deepEqual(await h.service.refreshDue(), { refreshed: [], failed: [] });
    await h.service.close();
  });
});

describe('REQ', () => {
  test('registration fetches the PCK certificate and its collateral; the platform is then served by PPID', async () => {
    const h = await open('req');
    await assert.rejects(h.service.get(PCK_BY_PPID), (e: { details?: Record<string, unknown> }) => {
      assert.equal(e.details?.['platformUnknown'], true);
      return true;
    });
    await h.service.registerPlatform(REG);
    assert.deepEqual(
      h.service
        .list()
        .map((e) => e.key)
        .sort(),
      [
        `sgx:pckcert:${REG.pceId}:${REG.cpuSvn}:${REG.pceSvn}:qeid=${REG.qeId}`,
        'sgx:pckcrl:processor',
        'sgx:qe',
        'sgx:rootcacrl',
        `sgx:tcb:${FMSPC}`,
      ].sort(),
    );
    assert.deepEqual(await h.store.listPlatforms(), [REG]);
    const byPpid = await h.service.get(PCK_BY_PPID);
    assert.equal(byPpid.spec.kind, 'pckcert');
    await assert.rejects(h.service.get({ ...PCK_BY_PPID, encryptedPpid: '00' }), {
      code: 'ERR_COLLATERAL_SERVICE_NOT_FOUND',
    });
    await h.service.close();
  });
});

describe('scheduled refresh', () => {
  test('runs on the timer every refreshIntervalMs (default 5 min) and stops at close', async () => {
    const h = await open('lazy');
    assert.deepEqual(
      h.timers.map((t) => t.ms),
      [300_000],
    );
    const h2 = await open('lazy', { refreshIntervalMs: 1234 });
    assert.deepEqual(
      h2.timers.map((t) => t.ms),
      [1234],
    );
    const h3 = await open('lazy', { refreshIntervalMs: 0 });
    assert.equal(h3.timers.length, 0);
    await h.service.close();
    await h2.service.close();
    await h3.service.close();
    assert.equal(h.timers[0]!.stopped, true);
    assert.equal(h2.timers[0]!.stopped, true);
  });
  test('renews what expires within refreshBeforeMs (default 24 h), CRLs first, never PCK certificates', async () => {
    const h = await open('req');
    await h.service.registerPlatform(REG);
    const expiry = new Map(h.service.list().map((e) => [e.key, Date.parse(e.expiresAt)]));
    const qeExpiry = expiry.get('sgx:qe')!;
    h.clock.now = new Date(qeExpiry - 48 * 3600_000);
    const early = await h.service.refreshDue();
    assert.deepEqual(
      early.refreshed.filter((k) => k === 'sgx:qe'),
      [],
    );
    h.clock.now = new Date(qeExpiry - 12 * 3600_000);
    h.requests.length = 0;
    const due = await h.service.refreshDue();
    // what the simulated PCS issued at T0 and expires within 24 h of the QE Identity: CRL first
    assert.deepEqual(due.refreshed, ['sgx:pckcrl:processor', `sgx:tcb:${FMSPC}`, 'sgx:qe']);
    assert.equal(
      await metric(h.service, 'ccnodes_collateral_refreshes_total', { result: 'ok' }),
      due.refreshed.length,
    );
    await h.service.close();
  });
  test('a failed renewal is counted and the old artefact stays', async () => {
    const h = await open('lazy', { refreshBeforeMs: 10_000 * 86_400_000 });
    await h.service.get(QE);
    h.down.on = true;
    const r = await h.service.refreshDue();
    assert.deepEqual(r.refreshed, []);
    assert.deepEqual(r.failed.sort(), ['sgx:qe', 'sgx:rootcacrl']);
    assert.equal(await metric(h.service, 'ccnodes_collateral_refreshes_total', { result: 'failed' }), 2);
    assert.equal(h.service.list().length, 2);
    await h.service.close();
  });
  test('two runs asked at once run one after the other', async () => {
    const h = await open('lazy', { refreshBeforeMs: 10_000 * 86_400_000 });
    await h.service.get(QE);
    h.requests.length = 0;
    const [a, b] = await Promise.all([h.service.refreshDue(), h.service.refreshDue()]);
    assert.deepEqual(a.refreshed, ['sgx:rootcacrl', 'sgx:qe']);
    assert.deepEqual(b.refreshed, ['sgx:rootcacrl', 'sgx:qe']);
    assert.equal(count(h, 'qe/identity'), 2, h.requests.join(' '));
    await h.service.close();
  });
  test('the built-in timer stops at close', async () => {
    const h = await open(
      'lazy',
      { refreshBeforeMs: 10_000 * 86_400_000, refreshIntervalMs: 5 },
      openMemoryStore(),
      true,
    );
    await h.service.get(QE);
    await new Promise((r) => setTimeout(r, 60));
    await h.service.close();
    const n = h.requests.length;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(h.requests.length, n, 'no refresh after close');
  });
});

describe('the cache at start', () => {
  test('stored artefacts are verified again, CRLs first; a refused one is dropped and counted', async () => {
    const h = await open('lazy');
    await h.service.get(QE);
    const rows = await h.store.list();
    const store = openMemoryStore();
    // stored in the wrong order, plus a tampered TCB Info
    for (const r of [...rows].reverse()) await store.put(r);
    await store.put({ ...rows[0]!, key: `sgx:tcb:${FMSPC}`, spec: TCB });
    const h2 = await open('offline', {}, store);
    assert.deepEqual(
      h2.service
        .list()
        .map((e) => e.key)
        .sort(),
      ['sgx:qe', 'sgx:rootcacrl'],
    );
    assert.equal(
      await metric(h2.service, 'ccnodes_collateral_verify_failures_total', {
        kind: 'tcb',
        source: 'storage',
      }),
      1,
    );
    await h.service.close();
    await h2.service.close();
  });
  test('an imported bundle brings its platforms into the service and the store', async () => {
    const h = await open('lazy');
    await h.service.get(QE);
    const bundle = { ...h.service.exportBundle(), platforms: [REG] };
    const h2 = await open('offline');
    const { imported } = await h2.service.importBundle(bundle);
    assert.deepEqual(imported, ['sgx:rootcacrl', 'sgx:qe']);
    assert.deepEqual(h2.service.platforms(), [REG]);
    assert.deepEqual(await h2.store.listPlatforms(), [REG]);
    await h.service.close();
    await h2.service.close();
  });
});

describe('parseCacheBundle', () => {
  const ok = { key: 'sgx:qe', body: 'AQI=', headers: { a: 'b' }, fetchedAt: '2026-06-01T12:00:00Z' };
  const base = { format: 'ccnodes-collateral-cache/1', artefacts: [ok] };
  const refused = (bundle: unknown, member: string, why?: RegExp): void => {
    assert.throws(
      () => parseCacheBundle(bundle),
      (e: Error & { code?: string; details?: { member?: string } }) => {
        assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_BUNDLE');
        assert.equal(e.details?.member, member);
        if (why !== undefined) assert.match(e.message, why);
        return true;
      },
    );
  };
  test('accepts a well-formed bundle; platforms default to none', () => {
    const p = parseCacheBundle(base);
    assert.equal(p.artefacts.length, 1);
    assert.equal(p.artefacts[0]!.fetchedAt, Date.parse(ok.fetchedAt));
    assert.deepEqual([...p.artefacts[0]!.body], [1, 2]);
    assert.deepEqual(p.platforms, []);
  });
  test('refuses each malformed member, naming it', () => {
    refused(null, '(top level)');
    refused([base], '(top level)');
    refused('x', '(top level)');
    refused({ ...base, format: 'other' }, 'format');
    refused({ ...base, artefacts: {} }, 'artefacts');
    refused({ ...base, artefacts: [ok, null] }, 'artefacts[1]');
    refused({ ...base, artefacts: [ok, 'x'] }, 'artefacts[1]');
    refused({ ...base, artefacts: [{ ...ok, key: 7 }] }, 'artefacts[0].key', /key is not a string/);
    refused({ ...base, artefacts: [{ ...ok, key: 'nonsense' }] }, 'artefacts[0].key');
    refused({ ...base, artefacts: [{ ...ok, body: '%%' }] }, 'artefacts[0].body');
    refused({ ...base, artefacts: [{ ...ok, headers: null }] }, 'artefacts[0].headers');
    refused({ ...base, artefacts: [{ ...ok, headers: ['a'] }] }, 'artefacts[0].headers');
    refused({ ...base, artefacts: [{ ...ok, headers: { a: 1 } }] }, 'artefacts[0].headers');
    refused({ ...base, artefacts: [{ ...ok, fetchedAt: 'yesterday' }] }, 'artefacts[0].fetchedAt');
    refused({ ...base, artefacts: [{ ...ok, fetchedAt: 1_780_000_000_000 }] }, 'artefacts[0].fetchedAt');
    refused({ ...base, platforms: {} }, 'platforms');
    refused({ ...base, platforms: [null] }, 'platforms[0].(object)');
    refused({ ...base, platforms: [{ ...REG, qeId: 'zz' }] }, 'platforms[0].qeId');
  });
});
