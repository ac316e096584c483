/**
 * AES-128-CMAC (NIST SP 800-38B, RFC 4493), the MAC SGX uses for REPORT and for key derivation.
 *
 * Node has no CMAC primitive, so this builds it on single-block AES-128-ECB encryptions. Tested
 * against the RFC 4493 vectors in test/sim/cmac.test.ts.
 */
import { createCipheriv } from 'node:crypto';
import { SimEnclaveError } from './enclave-errors.ts';

const BLOCK = 16;
const RB = 0x87;

/** Left shift of a 16-byte block by one bit, XOR Rb when the top bit fell off (RFC 4493 §2.3). */
function doubleBlock(block: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  let carry = 0;
  for (let i = BLOCK - 1; i >= 0; i--) {
    const b = block[i] as number;
    out[i] = ((b << 1) | carry) & 0xff;
    carry = b >>> 7;
  }
  if (((block[0] as number) & 0x80) !== 0) out[BLOCK - 1] = (out[BLOCK - 1] as number) ^ RB;
  return out;
}

/**
 * Computes AES-128-CMAC of `message` under a 16-byte `key`; returns the 16-byte tag.
 *
 * @example
 * aesCmac(key, new Uint8Array(0)) // RFC 4493 example 1 → bb1d6929…6746 for key 2b7e1516…4f3c
 */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== BLOCK) {
    throw new SimEnclaveError('ERR_SIM_CMAC_KEY', `AES-128-CMAC key must be 16 bytes, got ${key.length}`, {
      field: 'key',
    });
  }
  // One ECB cipher for every block: L = E(0), then CBC-MAC done block by block here.
  const ecb = createCipheriv('aes-128-ecb', key, null);
  ecb.setAutoPadding(false);
  const x = new Uint8Array(BLOCK);
  const encryptX = (): void => {
    x.set(ecb.update(x));
  };
  encryptX();
  const k1 = doubleBlock(x);
  const k2 = doubleBlock(k1);
  x.fill(0);
  const n = Math.max(1, Math.ceil(message.length / BLOCK));
  const lastStart = (n - 1) * BLOCK;
  for (let at = 0; at < lastStart; at += BLOCK) {
    for (let i = 0; i < BLOCK; i++) x[i] = (x[i] as number) ^ (message[at + i] as number);
    encryptX();
  }
  const lastComplete = message.length > 0 && message.length % BLOCK === 0;
  const rest = message.subarray(lastStart);
  for (let i = 0; i < BLOCK; i++) {
    const m = i < rest.length ? (rest[i] as number) : i === rest.length ? 0x80 : 0;
    x[i] = (x[i] as number) ^ m ^ ((lastComplete ? k1[i] : k2[i]) as number);
  }
  encryptX();
  return x;
}

/** Constant-time comparison of two byte strings of equal length (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
