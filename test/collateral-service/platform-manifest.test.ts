/**
 * A platform registration's `platform_manifest` is optional; when given it must be hex like the
 * other members. A number or an object used to be dropped silently and the platform registered
 * without it; now the registration is refused (400) naming the member as the client sent it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CollateralService,
  buildCollateralApp,
  openMemoryStore,
  parseCacheBundle,
} from '../../src/collateral-service/index.ts';

const SGX = '/sgx/certification/v4';
const platform = {
  qe_id: '11'.repeat(16),
  pce_id: '0000',
  cpu_svn: '22'.repeat(16),
  pce_svn: '0b00',
  enc_ppid: '33'.repeat(16),
};

test('platform_manifest: absent or hex is registered; anything else is refused naming it', async () => {
  const store = openMemoryStore();
  const service = await CollateralService.open({ mode: 'offline', store, refreshIntervalMs: 0 });
  const app = buildCollateralApp(service, {});
  try {
    const post = (payload: object) => app.inject({ method: 'POST', url: `${SGX}/platforms`, payload });
    assert.equal((await post(platform)).statusCode, 200);
    assert.equal((await store.listPlatforms())[0]?.platformManifest, undefined);
    for (const bad of [7, { a: 1 }, ['aa'], 'not hex', null]) {
      const res = await post({ ...platform, cpu_svn: '44'.repeat(16), platform_manifest: bad });
      assert.equal(res.statusCode, 400, `${JSON.stringify(bad)}: ${res.body}`);
      const j = JSON.parse(res.body) as { code: string; message: string; details: { parameter: string } };
      assert.equal(j.code, 'ERR_COLLATERAL_SERVICE_REQUEST');
      assert.equal(j.details.parameter, 'platform_manifest');
      assert.equal(j.message, 'platform registration: platform_manifest is not hex');
    }
    assert.equal((await store.listPlatforms()).length, 1, 'no refused registration was stored');
  } finally {
    await app.close();
    await service.close();
  }
});

test("a cache bundle: a platform's platformManifest is hex or the bundle is refused naming it", () => {
  const p = { qeId: '11'.repeat(16), pceId: '0000', cpuSvn: '22'.repeat(16), pceSvn: '0b00', encPpid: '' };
  const bundle = (platformManifest: unknown): unknown => ({
    format: 'ccnodes-collateral-cache/1',
    artefacts: [],
    platforms: [{ ...p, platformManifest }],
  });
  assert.equal(parseCacheBundle(bundle('AABB')).platforms[0]?.platformManifest, 'aabb');
  assert.throws(
    () => parseCacheBundle(bundle(5)),
    (e: { code?: string; details?: { member?: string } }) =>
      e.code === 'ERR_COLLATERAL_SERVICE_BUNDLE' && e.details?.member === 'platforms[0].platformManifest',
  );
});
