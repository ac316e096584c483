/**
 * The collateral service in LAZY mode in front of the simulated PCS, with the attestation service
 * fetching its collateral from the collateral service (as a PCCS): a simulated SGX quote attests;
 * the simulated PCS is stopped; the collateral service is restarted on the same data directory;
 * the quote attests again, from the collateral service's persistent cache alone.
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
import { attestSgx, bindingFor, simQuoteBytes, startService } from '../attestation/support.ts';

const dcap = createSimDcap({ seed: 'collateral-service-lazy-e2e' });
const runtime = Buffer.from('collateral-service e2e runtime data');

let workDir: string;
let pcs: SimPcsServer | undefined;
const upstreamRequests: string[] = [];

/** Attests one simulated quote through a fresh attestation service whose collateral comes from `pccsUrl`. */
async function attestThrough(pccsUrl: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const cache = new CollateralCache({ client: new PcsClient({ baseUrl: pccsUrl, retries: 0 }) });
  const verifier = createDcapEvidenceVerifier({
    collateral: (req) => cache.get(req.fmspc, req.ca, req.tee),
    trustSimulatedRoot: dcap.rootPem,
  });
  const attestation = await startService({ verifier, simulationMode: true });
  try {
    return await attestSgx(
      attestation.url,
      simQuoteBytes({ reportData: bindingFor(runtime), platform: 'up-to-date' }, dcap),
      runtime,
    );
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
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(
        upstreamRequests.map((u) => u.replace(/\?.*$/, '')).sort(),
        [
          '/sgx/certification/v4/pckcrl',
          '/sgx/certification/v4/qe/identity',
          '/sgx/certification/v4/rootcacrl',
          '/sgx/certification/v4/tcb',
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
      assert.equal(collateral.service.list().length, 4, 'the four artefacts were read back and verified');
      const second = await attestThrough(collateral.url);
      assert.equal(second.status, 200, JSON.stringify(second.body));
      const metrics = await (await fetch(`${collateral.url}/metrics`)).text();
      assert.match(metrics, /ccnodes_collateral_cache_requests_total\{kind="tcb",result="hit"\} 1/);
      assert.doesNotMatch(metrics, /result="miss"/);
    } finally {
      await collateral.close();
    }
  });
});
