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

function aesBlock(key: Uint8Array, block: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-ecb', key, null);
  cipher.setAutoPadding(false);
  const out = cipher.update(block);
  cipher.final();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

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
  const l = aesBlock(key, new Uint8Array(BLOCK));
  const k1 = doubleBlock(l);
  const k2 = doubleBlock(k1);
  const n = Math.max(1, Math.ceil(message.length / BLOCK));
  const lastComplete = message.length > 0 && message.length % BLOCK === 0;
  const last = new Uint8Array(BLOCK);
  const lastStart = (n - 1) * BLOCK;
  if (lastComplete) {
    for (let i = 0; i < BLOCK; i++) last[i] = (message[lastStart + i] as number) ^ (k1[i] as number);
  } else {
    const rest = message.subarray(lastStart);
    last.set(rest);
    last[rest.length] = 0x80;
    for (let i = 0; i < BLOCK; i++) last[i] = (last[i] as number) ^ (k2[i] as number);
  }
  // CBC-MAC over the first n-1 blocks with one streaming cipher, then the tweaked last block.
  const cipher = createCipheriv('aes-128-cbc', key, new Uint8Array(BLOCK));
  cipher.setAutoPadding(false);
  let x: Uint8Array = new Uint8Array(BLOCK);
  if (n > 1) {
    const body = cipher.update(message.subarray(0, lastStart));
    x = new Uint8Array(body.buffer, body.byteOffset + body.byteLength - BLOCK, BLOCK);
  }
  const y = new Uint8Array(BLOCK);
  for (let i = 0; i < BLOCK; i++) y[i] = (x[i] as number) ^ (last[i] as number);
  return aesBlock(key, y);
}

/** Constant-time comparison of two byte strings of equal length (false when lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}
