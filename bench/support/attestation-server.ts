/**
 * Bench-only server for `bench/attestation.ts`: runs the attestation service in its own process
 * (simulation mode, SQLite in a temporary data directory, collateral prepared once), listens on
 * 127.0.0.1:0 and prints one JSON line `{"url","pid","body"}` on stdout — `body` is the
 * POST /attest/SgxEnclave request (simulated quote + runtimeData). Exits on SIGTERM/SIGINT or when
 * stdin closes (so it never outlives the bench), removing its data directory.
 */
import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  staticCollateral,
} from '../../src/attestation/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import { endWithParent } from './lifetime.ts';

const dcap = createSimDcap({ seed: 'bench-attestation' });
const platform = dcap.platform('up-to-date');
const runtime = Buffer.from('bench runtime data');
const quote = platform.quote(
  platform.syntheticReportBody({ reportData: createHash('sha256').update(runtime).digest() }),
);

const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-bench-attest-'));
const service = await createAttestationService({
  dataDir,
  publicUrl: 'http://127.0.0.1:0',
  simulationMode: true,
  verifier: createDcapEvidenceVerifier({
    collateral: staticCollateral(dcap.collateral(platform)),
    trustSimulatedRoot: dcap.rootPem,
  }),
});
await service.app.listen({ host: '127.0.0.1', port: 0 });
const addr = service.app.server.address();
const port = typeof addr === 'object' && addr !== null ? addr.port : 0;

endWithParent(async () => {
  await service.close().catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

const body = JSON.stringify({
  quote: Buffer.from(quote).toString('base64url'),
  runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
});
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid, body })}\n`);
