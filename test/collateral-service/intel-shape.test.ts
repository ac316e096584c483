/**
 * The collateral service in front of a server that serves exactly Intel's PCS paths and headers with
 * real PCS response bodies (go-tdx-guest TDX set, dcap-qvl SGX set), trusting Intel's root (the
 * default): it fetches each artefact once from Intel's paths (the Root CA CRL from the CRL
 * distribution point of Intel's root certificate), verifies it, and serves it byte for byte with the
 * PCCS headers; a PCCS client (our PcsClient) gets collateral that verifies the real quote with the
 * expected status. Clock: the set's recorded time.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import 'reflect-metadata';
import { PcsClient, collateralRequestOfQuote } from '../../src/collateral-source/index.ts';
import { startCollateralService, type CollateralServer } from '../../src/collateral-service/index.ts';
import { crlDer, verifyQuote } from '../../src/core/index.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, setQuote, type ManifestSet } from '../core/verify-helpers.ts';
import { INTEL_API_ORIGIN, startIntelPcs, type IntelPcs } from '../collateral-source/intel-pcs-server.ts';
import { get } from './support.ts';

const setById = (id: string): ManifestSet => {
  const s = manifestSets().find((m) => m.id === id);
  if (s === undefined) throw new Error(`no set ${id}`);
  return s;
};

async function stackFor(
  set: ManifestSet,
  data: { tee: 'sgx' | 'tdx'; fmspc: string; ca: 'processor' | 'platform'; v3TcbHeader?: boolean },
): Promise<{ pcs: IntelPcs; service: CollateralServer; close(): Promise<void> }> {
  const pcs = await startIntelPcs({ collateral: setCollateral(set), ...data });
  const dir = mkdtempSync(join(tmpdir(), 'ccnodes-collateral-intel-'));
  const service = await startCollateralService({
    mode: 'lazy',
    upstream: { baseUrl: `${INTEL_API_ORIGIN}/sgx/certification/v4/`, retries: 0 },
    fetch: pcs.fetch,
    dataDir: join(dir, 'data'),
    now: () => new Date(set.now * 1000),
    refreshIntervalMs: 0,
  });
  return {
    pcs,
    service,
    close: async () => {
      await service.close();
      await pcs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe(
  'collateral serve (LAZY) in front of Intel-shaped PCS, real TDX data',
  { skip: testdataSkip },
  () => {
    const FMSPC = '50806F000000';
    let set: ManifestSet;
    let s: Awaited<ReturnType<typeof stackFor>>;
    before(async () => {
      set = setById('gotdx-tdx-v4-spr-e4');
      s = await stackFor(set, { tee: 'tdx', fmspc: FMSPC, ca: 'platform', v3TcbHeader: true });
    });
    after(() => s.close());

    test("serves Intel's bodies byte for byte with the PCCS headers, fetching each once from Intel's paths", async () => {
      const c = setCollateral(set);
      const url = s.service.url;
      for (let round = 0; round < 2; round++) {
        const tcb = await get(url, `/tdx/certification/v4/tcb?fmspc=${FMSPC.toLowerCase()}`);
        assert.equal(tcb.status, 200, tcb.text);
        assert.equal(tcb.text, c.tcbInfo);
        assert.equal(
          decodeURIComponent(tcb.headers.get('TCB-Info-Issuer-Chain') ?? ''),
          c.tcbInfoIssuerChain,
        );
        assert.match(tcb.headers.get('Request-ID') ?? '', /^[0-9a-f]{32}$/);
        const qe = await get(url, '/tdx/certification/v4/qe/identity');
        assert.equal(qe.text, c.qeIdentity);
        assert.equal(
          decodeURIComponent(qe.headers.get('SGX-Enclave-Identity-Issuer-Chain') ?? ''),
          c.qeIdentityIssuerChain,
        );
        const crl = await get(url, '/sgx/certification/v4/pckcrl?ca=platform&encoding=der');
        assert.ok(crl.body.equals(Buffer.from(crlDer(c.pckCrl))));
        assert.equal(
          decodeURIComponent(crl.headers.get('SGX-PCK-CRL-Issuer-Chain') ?? ''),
          c.pckCrlIssuerChain,
        );
        const root = await get(url, '/sgx/certification/v4/rootcacrl');
        assert.equal(root.text, Buffer.from(crlDer(c.rootCaCrl)).toString('hex'));
      }
      assert.deepEqual(s.pcs.log.map((r) => `${r.host} ${r.status} ${r.url}`).sort(), [
        'api 200 /sgx/certification/v4/pckcrl?ca=platform&encoding=der',
        'api 200 /tdx/certification/v4/qe/identity',
        `api 200 /tdx/certification/v4/tcb?fmspc=${FMSPC}`,
        'certs 200 /IntelSGXRootCA.der',
      ]);
    });

    test('SGX TCB Info for a TDX-only FMSPC: Intel has none, the 404 is passed on', async () => {
      const res = await get(s.service.url, '/sgx/certification/v4/tcb?fmspc=50806F000000');
      assert.equal(res.status, 404);
    });
  },
);

describe('collateral serve in front of Intel-shaped PCS, real SGX data', { skip: testdataSkip }, () => {
  test('a PCCS client gets collateral that verifies the real quote with its expected status', async () => {
    const set = setById('phala-sgx-v3');
    const quote = setQuote(set);
    const req = collateralRequestOfQuote(quote);
    const s = await stackFor(set, { tee: 'sgx', fmspc: req.fmspc, ca: req.ca });
    try {
      const client = new PcsClient({ baseUrl: s.service.url, retries: 0 });
      assert.equal(client.api, 'pccs');
      const raw = await client.collateral(req.fmspc, req.ca, 'sgx');
      const result = verifyQuote(quote, raw, { now: new Date(set.now * 1000) });
      assert.equal(result.status, 'ConfigurationAndSWHardeningNeeded');
    } finally {
      await s.close();
    }
  });
});
