/**
 * Regression: a `pckcerts` answer (all PCK certificates of one platform) mixing genuine
 * certificates of two platforms, or naming another PCE-ID than the one asked for, is refused
 * before it is cached or served. Before the check the service cached such a list as long as each
 * certificate chained to the root, so an upstream (or a cache bundle) could hand a platform
 * another platform's certificates. Through `CollateralService.get` with an upstream whose
 * `pckcerts` route answers the list and whose other routes are the simulated PCS.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CollateralService, openMemoryStore, type ArtefactSpec } from '../../src/collateral-service/index.ts';
import { startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { dcap } from './support.ts';

const T0 = new Date('2026-06-01T12:00:00Z');
const up = dcap.platform('up-to-date');
const outOfDate = dcap.platform('out-of-date');
const SPEC: ArtefactSpec = { kind: 'pckcerts', tee: 'sgx', encryptedPpid: 'aa', pceid: up.config.pceId };
const entry = (pem: string, pcesvn: number): object => ({
  tcb: { pcesvn },
  tcbm: '00',
  cert: encodeURIComponent(pem),
});

let pcs: SimPcsServer;
before(async () => {
  pcs = await startSimPcs(dcap, { now: () => T0 });
});
after(() => pcs.close());

async function serviceAnswering(list: readonly object[]): Promise<CollateralService> {
  return CollateralService.open({
    mode: 'lazy',
    store: openMemoryStore(),
    trustSimulatedRoot: dcap.rootPem,
    now: () => T0,
    upstream: { baseUrl: pcs.url, retries: 0 },
    fetch: (input, init) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      if (url.pathname.endsWith('/pckcerts'))
        return Promise.resolve(
          new Response(JSON.stringify(list), {
            status: 200,
            headers: {
              'Content-Type': 'application/json',
              'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(dcap.pki.pckIssuerChainPem('processor')),
              'SGX-PCK-Certificate-CA-Type': 'processor',
            },
          }),
        );
      return fetch(input, init);
    },
  });
}

async function refusal(list: readonly object[]): Promise<{ code?: string; message?: string }> {
  const service = await serviceAnswering(list);
  try {
    await service.get(SPEC);
  } catch (err) {
    // nothing of the list is cached (the CRLs fetched to check it are)
    assert.deepEqual(
      service.list().filter((a) => a.kind.startsWith('pckcert')),
      [],
    );
    return err as { code?: string; message?: string };
  } finally {
    await service.close();
  }
  return assert.fail('the list was accepted');
}

test('a list of one platform is served', async () => {
  const service = await serviceAnswering([entry(up.pck.pem, up.config.pceSvn)]);
  try {
    const a = await service.get(SPEC);
    assert.equal((JSON.parse(Buffer.from(a.body).toString('utf8')) as unknown[]).length, 1);
    assert.deepEqual(
      service
        .list()
        .filter((x) => x.kind.startsWith('pckcert'))
        .map((x) => x.kind),
      ['pckcerts'],
    );
  } finally {
    await service.close();
  }
});

test("another platform's certificate in the list is refused and nothing is cached", async () => {
  const e = await refusal([entry(up.pck.pem, 11), entry(outOfDate.pck.pem, 10)]);
  assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_VERIFY', String(e.message));
  assert.match(String(e.message), /entry 1 is for another platform/);
});

test('a certificate of another PCE-ID than the one asked for is refused', async () => {
  const other = dcap.pki.issuePck(
    'one-platform/pceid',
    dcap.pki.keys.ecKey('one-platform/pceid'),
    'processor',
    {
      ppid: up.ppid,
      cpuSvn: Uint8Array.from(up.config.cpuSvn),
      pceSvn: up.config.pceSvn,
      pceId: Uint8Array.from([0x00, 0x01]),
      fmspc: Uint8Array.from(Buffer.from(up.config.fmspc, 'hex')),
      sgxType: up.config.sgxType,
    },
  );
  const e = await refusal([entry(other.pem, 11)]);
  assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_VERIFY', String(e.message));
  assert.match(String(e.message), /PCE-ID 0001 is not the one asked for/);
});
