/**
 * The collateral service in LAZY mode in front of the simulated PCS, with the attestation service
 * fetching its collateral from the collateral service (as a PCCS): a simulated SGX quote and a
 * simulated TDX quote (v4) attest; the simulated PCS is stopped; the collateral service is restarted
 * on the same data directory; both attest again, from the collateral service's persistent cache alone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDcapEvidenceVerifier } from '../../src/attestation/index.ts';
import { CollateralCache, PcsClient } from '../../src/collateral-source/index.ts';
import { startCollateralService, type CollateralServer } from '../../src/collateral-service/index.ts';
import { createSimDcap, startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { attestSgx, bindingFor, postJson, simQuoteBytes, startService } from '../attestation/support.ts';

const dcap = createSimDcap({ seed: 'collateral-service-lazy-e2e' });
const runtime = Buffer.from('collateral-service e2e runtime data');

let workDir: string;
let pcs: SimPcsServer | undefined;
const upstreamRequests: string[] = [];

/**
 * Attests a simulated SGX quote and a simulated TDX quote (v4) through a fresh attestation service
 * whose collateral comes from `pccsUrl`; returns both answers.
 */
async function attestThrough(pccsUrl: string): Promise<{
  sgx: { status: number; body: Record<string, unknown> };
  tdx: { status: number; body: Record<string, unknown> };
}> {
  const cache = new CollateralCache({ client: new PcsClient({ baseUrl: pccsUrl, retries: 0 }) });
  const verifier = createDcapEvidenceVerifier({
    collateral: (req) => cache.get(req.fmspc, req.ca, req.tee),
    trustSimulatedRoot: dcap.rootPem,
    // The simulated PCS stamps collateral up to the next whole second: verify a little later.
    now: () => new Date(Date.now() + 5000),
  });
  const attestation = await startService({ verifier, simulationMode: true });
  try {
    const sgx = await attestSgx(
      attestation.url,
      simQuoteBytes({ reportData: bindingFor(runtime), platform: 'up-to-date' }, dcap),
      runtime,
    );
    const td = dcap
      .tdx('up-to-date')
      .quote({ reportData: Buffer.from(bindingFor(runtime), 'hex') }, { version: 4 });
    const tdx = await postJson(`${attestation.url}/attest/TdxVm?api-version=2025-06-01`, {
      quote: Buffer.from(td).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
    });
    return { sgx, tdx };
  } finally {
    await attestation.close();
  }
}

const startCollateral = (): Promise<CollateralServer> =>
  startCollateralService({
    mode: 'lazy',
    upstream: { baseUrl: `${pcs?.url ?? 'http://127.0.0.1:9'}/sgx/certification/v4/`, retries: 0 },
    dataDir: join(workDir, 'collateral'),
    trustSimulatedRoot: dcap.rootPem,
    refreshIntervalMs: 0,
  });

describe('collateral serve (LAZY) in front of sim pcs, for the attestation service', () => {
  before(async () => {
    workDir = mkdtempSync(join(tmpdir(), 'ccnodes-collateral-e2e-'));
    pcs = await startSimPcs(dcap);
    pcs.app.server.on('request', (r: { url?: string }) => upstreamRequests.push(r.url ?? ''));
  });
  after(async () => {
    await pcs?.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('attests from upstream, then (sim pcs stopped, service restarted) from its cache', async () => {
    let collateral = await startCollateral();
    try {
      const first = await attestThrough(collateral.url);
      assert.equal(first.sgx.status, 200, JSON.stringify(first.sgx.body));
      assert.equal(first.tdx.status, 200, JSON.stringify(first.tdx.body));
      assert.deepEqual(
        upstreamRequests.map((u) => u.replace(/\?.*$/, '')).sort(),
        [
          '/sgx/certification/v4/pckcrl',
          '/sgx/certification/v4/qe/identity',
          '/sgx/certification/v4/rootcacrl',
          '/sgx/certification/v4/tcb',
          '/tdx/certification/v4/qe/identity',
          '/tdx/certification/v4/tcb',
        ],
        'each artefact fetched once from the upstream',
      );
      assert.equal(statSync(join(workDir, 'collateral')).mode & 0o777, 0o700);
    } finally {
      await collateral.close();
    }

    await pcs?.close();
    pcs = undefined;
    collateral = await startCollateral();
    try {
      assert.equal(collateral.service.list().length, 6, 'the six artefacts were read back and verified');
      const second = await attestThrough(collateral.url);
      assert.equal(second.sgx.status, 200, JSON.stringify(second.sgx.body));
      assert.equal(second.tdx.status, 200, JSON.stringify(second.tdx.body));
      const metrics = await (await fetch(`${collateral.url}/metrics`)).text();
      assert.match(metrics, /ccnodes_collateral_cache_requests_total\{kind="tcb",result="hit"\} 2/);
      assert.doesNotMatch(metrics, /result="miss"/);
    } finally {
      await collateral.close();
    }
  });
});
