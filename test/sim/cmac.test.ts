/** AES-128-CMAC against the RFC 4493 §4 test vectors. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { aesCmac, equalBytes } from '../../src/sim/index.ts';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const KEY = hex('2b7e151628aed2a6abf7158809cf4f3c');
const M = hex(`6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
               30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710`);

const VECTORS: readonly { name: string; len: number; tag: string }[] = [
  { name: 'example 1 (empty)', len: 0, tag: 'bb1d6929e95937287fa37d129b756746' },
  { name: 'example 2 (16 bytes)', len: 16, tag: '070a16b46b4d4144f79bdd9dd04a287c' },
  { name: 'example 3 (40 bytes)', len: 40, tag: 'dfa66747de9ae63030ca32611497c827' },
  { name: 'example 4 (64 bytes)', len: 64, tag: '51f0bebf7e3b9d92fc49741779363cfe' },
];

describe('AES-128-CMAC (RFC 4493)', () => {
  for (const v of VECTORS) {
    test(v.name, () => {
      assert.equal(Buffer.from(aesCmac(KEY, M.subarray(0, v.len))).toString('hex'), v.tag);
    });
  }

  test('a one-bit change of message or key changes the tag', () => {
    const good = aesCmac(KEY, M);
    const m2 = M.slice();
    m2[63] = (m2[63] as number) ^ 1;
    assert.ok(!equalBytes(aesCmac(KEY, m2), good));
    const k2 = KEY.slice();
    k2[0] = (k2[0] as number) ^ 1;
    assert.ok(!equalBytes(aesCmac(k2, M), good));
  });

  test('rejects a key that is not 16 bytes', () => {
    assert.throws(() => aesCmac(new Uint8Array(32), M), { code: 'ERR_SIM_CMAC_KEY' });
  });
});
