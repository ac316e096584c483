/**
 * The simulated EGETKEY derivation: AES-128-CMAC(root key, derivation buffer), with a packed,
 * documented buffer of our own (the hardware's buffer layout is microarchitectural; its inputs are
 * architectural, shared/spec/sgx-sim.md §3.4). Layout, 368 bytes, little-endian:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 16 | `"CCNODES-SIM-KEY1"` (domain separation) |
 * | 16 | 2 | KEYNAME |
 * | 18 | 2 | KEYPOLICY (SEAL / PROVISION_SEAL; else 0) |
 * | 20 | 2 | ISVSVN (requested; 0 for REPORT) |
 * | 22 | 2 | CONFIGSVN (REPORT: the enclave's; SEAL with CONFIGID policy: requested; else 0) |
 * | 24 | 2 | ISVPRODID (0 for REPORT and with NOISVPRODID) |
 * | 26 | 1 | CET_ATTRIBUTES (REPORT only) |
 * | 27 | 1 | reserved 0 |
 * | 28 | 4 | MISCSELECT & MISCMASK (REPORT: MISCSELECT) |
 * | 32 | 4 | MISCMASK (REPORT: 0xffffffff) |
 * | 36 | 12 | reserved 0 |
 * | 48 | 16 | CPUSVN (requested; REPORT: current) |
 * | 64 | 16 | ATTRIBUTES & ATTRIBUTEMASK (REPORT: all attributes) |
 * | 80 | 16 | ATTRIBUTEMASK (REPORT: all ones) |
 * | 96 | 32 | MRENCLAVE (REPORT, or policy MRENCLAVE; else 0) |
 * | 128 | 32 | MRSIGNER (policy MRSIGNER, PROVISION, EINITTOKEN; else 0) |
 * | 160 | 32 | KEYID (not for PROVISION / PROVISION_SEAL) |
 * | 192 | 16 | OWNEREPOCH (not for PROVISION / PROVISION_SEAL) |
 * | 208 | 64 | CONFIGID (REPORT, or policy CONFIGID; else 0) |
 * | 272 | 16 | ISVFAMILYID (policy ISVFAMILYID; else 0) |
 * | 288 | 16 | ISVEXTPRODID (policy ISVEXTPRODID; else 0) |
 * | 304 | 64 | reserved 0 |
 */
import type { SgxAttributes } from '../core/index.ts';
import { aesCmac } from './cmac.ts';

export const DERIVATION_BUFFER_SIZE = 368;
const DOMAIN = 'CCNODES-SIM-KEY1';

/** Inputs of one key derivation; absent fields are zero in the buffer. */
export interface DerivationInputs {
  keyName: number;
  keyPolicy?: number;
  isvSvn?: number;
  configSvn?: number;
  isvProdId?: number;
  cetAttributes?: number;
  maskedMiscSelect?: number;
  miscMask?: number;
  cpuSvn: Uint8Array;
  maskedAttributes: SgxAttributes;
  attributeMask: SgxAttributes;
  mrEnclave?: Uint8Array;
  mrSigner?: Uint8Array;
  keyId?: Uint8Array;
  ownerEpoch?: Uint8Array;
  configId?: Uint8Array;
  isvFamilyId?: Uint8Array;
  isvExtProdId?: Uint8Array;
}

/** Builds the packed derivation buffer documented above. */
export function derivationBuffer(i: DerivationInputs): Uint8Array {
  const b = new Uint8Array(DERIVATION_BUFFER_SIZE);
  const v = new DataView(b.buffer);
  b.set(Buffer.from(DOMAIN, 'latin1'), 0);
  v.setUint16(16, i.keyName, true);
  v.setUint16(18, i.keyPolicy ?? 0, true);
  v.setUint16(20, i.isvSvn ?? 0, true);
  v.setUint16(22, i.configSvn ?? 0, true);
  v.setUint16(24, i.isvProdId ?? 0, true);
  v.setUint8(26, i.cetAttributes ?? 0);
  v.setUint32(28, i.maskedMiscSelect ?? 0, true);
  v.setUint32(32, i.miscMask ?? 0, true);
  b.set(i.cpuSvn.subarray(0, 16), 48);
  v.setBigUint64(64, i.maskedAttributes.flags, true);
  v.setBigUint64(72, i.maskedAttributes.xfrm, true);
  v.setBigUint64(80, i.attributeMask.flags, true);
  v.setBigUint64(88, i.attributeMask.xfrm, true);
  if (i.mrEnclave) b.set(i.mrEnclave.subarray(0, 32), 96);
  if (i.mrSigner) b.set(i.mrSigner.subarray(0, 32), 128);
  if (i.keyId) b.set(i.keyId.subarray(0, 32), 160);
  if (i.ownerEpoch) b.set(i.ownerEpoch.subarray(0, 16), 192);
  if (i.configId) b.set(i.configId.subarray(0, 64), 208);
  if (i.isvFamilyId) b.set(i.isvFamilyId.subarray(0, 16), 272);
  if (i.isvExtProdId) b.set(i.isvExtProdId.subarray(0, 16), 288);
  return b;
}

/** Derives a 128-bit key: AES-128-CMAC(rootKey, derivationBuffer(inputs)). */
export function deriveKey(rootKey: Uint8Array, inputs: DerivationInputs): Uint8Array {
  return aesCmac(rootKey, derivationBuffer(inputs));
}
