/**
 * Test support for TdxVm attestation: simulated TD quotes (src/sim/tdx.ts) and a service whose
 * verifier is the real DCAP verifier, built as the CLI builds it, over a collateral provider that
 * hands out TDX collateral (TDX TCB Info, TD_QE identity) for `tee: 'tdx'` requests and SGX
 * collateral otherwise, from the shared seeded simulated deployment.
 */
import { createHash } from 'node:crypto';
import {
  createDcapEvidenceVerifier,
  type CollateralProvider,
  type EvidenceVerifier,
} from '../../src/attestation/index.ts';
import { prepareCollateral, type PreparedCollateral } from '../../src/core/index.ts';
import type { SimDcap, SimTdInit } from '../../src/sim/index.ts';
import { startService, testDcap, type StartOptions, type Started } from './support.ts';

/** `POST /attest/TdxVm` needs an API version that has it. */
export const TDX_API = '2025-06-01';

/** A simulated TDX quote (v4 unless `version` 5) from `platform` (default up-to-date). */
export function tdQuoteBytes(
  td: SimTdInit = {},
  options: { version?: 4 | 5; platform?: string } = {},
  dcap: SimDcap = testDcap(),
): Uint8Array {
  return dcap.tdx(options.platform ?? 'up-to-date').quote(td, { version: options.version ?? 4 });
}

/** base64url of {@link tdQuoteBytes}. */
export function tdQuote(td: SimTdInit = {}, options: { version?: 4 | 5; platform?: string } = {}): string {
  return Buffer.from(tdQuoteBytes(td, options)).toString('base64url');
}

/** REPORTDATA binding `runtimeData` as MAA checks it: SHA-256 in the first 32 bytes. */
export function tdBinding(runtimeData: Uint8Array | string): Uint8Array {
  const out = new Uint8Array(64);
  out.set(createHash('sha256').update(runtimeData).digest());
  return out;
}

const prepared = new Map<string, PreparedCollateral>();

/** SGX or TDX collateral of the simulated platform with the request's FMSPC and CA, prepared once. */
export function tdxAwareProvider(dcap: SimDcap = testDcap()): CollateralProvider {
  return (req) => {
    const p = dcap.platforms.find(
      (x) => x.config.fmspc.toUpperCase() === req.fmspc && x.config.ca === req.ca,
    );
    if (p === undefined) return Promise.reject(new Error(`no simulated platform for ${req.fmspc}/${req.ca}`));
    const key = `${req.tee}/${req.fmspc}/${req.ca}`;
    let set = prepared.get(key);
    if (set === undefined) {
      set = prepareCollateral(req.tee === 'tdx' ? dcap.tdxCollateral(p) : dcap.collateral(p));
      prepared.set(key, set);
    }
    return Promise.resolve(set);
  };
}

/** The CLI's verifier (trusting the simulated root unless told otherwise) over {@link tdxAwareProvider}. */
export function tdxSimVerifier(
  o: { trustSimulatedRoot?: boolean; allowDebugEnclave?: boolean } = {},
): EvidenceVerifier {
  const dcap = testDcap();
  return createDcapEvidenceVerifier({
    collateral: tdxAwareProvider(dcap),
    ...(o.trustSimulatedRoot === false ? {} : { trustSimulatedRoot: dcap.rootPem }),
    ...(o.allowDebugEnclave === true ? { dangerous: { allowDebugEnclave: true } } : {}),
  });
}

/** A service (simulation mode unless said otherwise) with {@link tdxSimVerifier}. */
export function startTdxService(
  o: StartOptions & { trustSimulatedRoot?: boolean; allowDebugEnclave?: boolean } = {},
): Promise<Started> {
  const { trustSimulatedRoot, allowDebugEnclave, ...rest } = o;
  return startService({
    simulationMode: trustSimulatedRoot !== false,
    ...rest,
    verifier: tdxSimVerifier({
      ...(trustSimulatedRoot === undefined ? {} : { trustSimulatedRoot }),
      ...(allowDebugEnclave === undefined ? {} : { allowDebugEnclave }),
    }),
  });
}
