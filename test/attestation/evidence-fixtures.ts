/**
 * Verified-evidence fixtures for the unit specs of the attestation pipeline and its claims: an SGX
 * enclave report with distinct, recognisable identity values and placeholder collateral hashes.
 */
import type { EnclaveReport } from '../../src/attestation/evidence.ts';

/** Placeholder collateral hashes, one distinct value per claim. */
export const TEST_COLLATERAL = {
  qeidcertshash: 'a1',
  qeidcrlhash: 'a2',
  qeidhash: 'a3',
  quotehash: 'a4',
  tcbinfocertshash: 'a5',
  tcbinfocrlhash: 'a6',
  tcbinfohash: 'a7',
};

/** A production enclave report (MRENCLAVE 0xab…, MRSIGNER 0xcd…, product 7, SVN 3), with `o` applied. */
export function enclaveReport(o: Partial<EnclaveReport> = {}): EnclaveReport {
  return {
    attributes: { flags: 0x05n, xfrm: 0xe7n },
    mrEnclave: new Uint8Array(32).fill(0xab),
    mrSigner: new Uint8Array(32).fill(0xcd),
    isvProdId: 7,
    isvSvn: 3,
    configId: new Uint8Array(64),
    configSvn: 0,
    isvExtProdId: new Uint8Array(16),
    isvFamilyId: new Uint8Array(16),
    reportData: new Uint8Array(64),
    ...o,
  };
}
