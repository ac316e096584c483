/**
 * RA-TLS on the simulated platform (tests and development only): a quoter that has a simulated
 * platform quote a synthetic enclave report carrying the requested REPORTDATA. Simulated quotes
 * chain to the ccnodes simulated root, which verifiers refuse unless explicitly trusted.
 */
import type { SimPlatform } from '../sim/index.ts';
import type { Quoter } from './certificate.ts';

/** The enclave identity the simulated report claims. */
export interface SimulatedEnclaveIdentity {
  readonly mrEnclave?: Uint8Array;
  readonly mrSigner?: Uint8Array;
  readonly isvProdId?: number;
  readonly isvSvn?: number;
  readonly debug?: boolean;
}

/** A `Quoter` backed by a simulated platform (quote version 3 by default). */
export function simulatedQuoter(
  platform: SimPlatform,
  identity: SimulatedEnclaveIdentity = {},
  options: { version?: 3 | 4 } = {},
): Quoter {
  return (reportData) =>
    platform.quote(platform.syntheticReportBody({ ...identity, reportData }), {
      version: options.version ?? 3,
    });
}
