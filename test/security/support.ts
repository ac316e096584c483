/**
 * Support for the availability regression tests: the attestation service assembled as the CLI
 * assembles it (`createAttestationService`, real DCAP verifier trusting a seeded simulated root),
 * listening on 127.0.0.1:0, and real simulated quotes that bind chosen runtime/init-time data.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createAttestationService,
  createDcapEvidenceVerifier,
  type AttestationService,
  type AttestationServiceConfig,
  type CollateralProvider,
} from '../../src/attestation/index.ts';
import { emptyReportBody } from '../../src/core/index.ts';
import { createSimDcap, type SimDcap } from '../../src/sim/index.ts';

const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest();

function simProvider(dcap: SimDcap): CollateralProvider {
  return (req) => {
    const p = dcap.platforms.find(
      (x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca,
    );
    if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}`));
    return Promise.resolve(dcap.collateral(p));
  };
}

/** A running service and what the tests need from it. */
export interface SimService {
  readonly url: string;
  readonly port: number;
  readonly service: AttestationService;
  /** A quote from the up-to-date simulated platform; REPORTDATA/CONFIGID bind the given data. */
  quote(runtimeData: Uint8Array, initTimeData?: Uint8Array): Uint8Array;
  close(): Promise<void>;
}

/** Starts the service (simulation mode) on 127.0.0.1:0 in a temp data directory. */
export async function startSimService(
  overrides: Partial<AttestationServiceConfig> = {},
  seed = 'security-regressions',
): Promise<SimService> {
  const dcap = createSimDcap({ seed });
  const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-security-'));
  const service = await createAttestationService({
    dataDir,
    publicUrl: 'http://127.0.0.1',
    simulationMode: true,
    verifier: createDcapEvidenceVerifier({ collateral: simProvider(dcap), trustSimulatedRoot: dcap.rootPem }),
    ...overrides,
  });
  await service.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = service.app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    service,
    quote: (runtimeData, initTimeData) => {
      const platform = dcap.platform('up-to-date');
      const body = platform.syntheticReportBody({
        reportData: sha256(runtimeData),
        mrEnclave: sha256('security enclave'),
        mrSigner: sha256('security signer'),
        isvProdId: 1,
        isvSvn: 1,
      });
      const withConfig =
        initTimeData === undefined
          ? body
          : emptyReportBody({
              ...body,
              configId: new Uint8Array([...sha256(initTimeData), ...new Uint8Array(32)]),
            });
      return platform.quote(withConfig);
    },
    close: async () => {
      await service.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** POST /attest/SgxEnclave with a JSON body; status, MAA error body and our error code header. */
export async function attest(
  url: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown>; code: string | null; headers: Headers }> {
  const res = await fetch(`${url}/attest/SgxEnclave?api-version=2022-08-01`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return {
    status: res.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    code: res.headers.get('x-ccnodes-error-code'),
    headers: res.headers,
  };
}

/** base64url. */
export const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');
