/**
 * Sealing in the SGX SDK blob layout: round trip, layout, and the negative cases — another enclave,
 * another signer, another platform, an older version (SVN rule), tampering and malformed blobs.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKeyRequest, KEY_NAME, KEY_POLICY } from '../../src/core/index.ts';
import { decodeSealedBlob, sealData, SEALED_HEADER_SIZE, SimCpu, unsealData } from '../../src/sim/index.ts';
import { makeImage, sign } from './enclave-fixtures.ts';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));

describe('seal / unseal', () => {
  const v1 = makeImage({ isvSvn: 1 });
  const v2 = makeImage(
    { isvSvn: 2 },
    { 'main.js': "enclave.ecall('ping', function () { return 'v2'; });\n" },
  );
  const sigV1 = sign(v1);
  const sigV2 = sign(v2);
  const sigV2OtherSigner = sign(v2, 'b');
  const cpu = SimCpu.fromSeed('seal');
  const e1 = cpu.einitImage(v1, sigV1).enclave;
  const e2 = cpu.einitImage(v2, sigV2).enclave;
  const e2b = cpu.einitImage(v2, sigV2OtherSigner).enclave;
  const secret = text('the secret');
  const aad = text('header in clear');

  test('round trip with additional data, SDK blob layout', () => {
    const blob = sealData(cpu, e1, secret, { policy: 'mrenclave', additionalData: aad });
    assert.equal(blob.length, SEALED_HEADER_SIZE + secret.length + aad.length);
    const kr = decodeKeyRequest(blob.subarray(0, 512));
    assert.equal(kr.keyName, KEY_NAME.SEAL);
    assert.equal(kr.keyPolicy, KEY_POLICY.MRENCLAVE);
    assert.equal(kr.isvSvn, 1);
    const view = new DataView(blob.buffer, blob.byteOffset);
    assert.equal(view.getUint32(512, true), secret.length);
    assert.equal(view.getUint32(528, true), secret.length + aad.length);
    assert.deepEqual(blob.subarray(560 + secret.length), aad); // the MAC text is stored in clear
    assert.notDeepEqual(blob.subarray(560, 560 + secret.length), secret);
    const out = unsealData(cpu, e1, blob);
    assert.deepEqual(out.plaintext, secret);
    assert.deepEqual(out.additionalData, aad);
    // A fresh KEYID per blob: sealing twice gives different blobs.
    assert.notDeepEqual(sealData(cpu, e1, secret), sealData(cpu, e1, secret));
  });

  test('MRENCLAVE policy: another enclave cannot unseal', () => {
    const blob = sealData(cpu, e1, secret, { policy: 'mrenclave' });
    assert.throws(() => unsealData(cpu, e2, blob), { code: 'ERR_SEAL_AUTH' });
  });

  test('MRSIGNER policy: a newer version of the same signer unseals, another signer cannot', () => {
    const blob = sealData(cpu, e1, secret); // default policy MRSIGNER
    assert.equal(decodeSealedBlob(blob).keyRequest.keyPolicy, KEY_POLICY.MRSIGNER);
    assert.deepEqual(unsealData(cpu, e2, blob).plaintext, secret);
    assert.throws(() => unsealData(cpu, e2b, blob), { code: 'ERR_SEAL_AUTH' });
  });

  test('SVN rule: an older version cannot unseal what a newer version sealed', () => {
    const blob = sealData(cpu, e2, secret);
    assert.throws(() => unsealData(cpu, e1, blob), { code: 'ERR_EGETKEY_ISVSVN' });
  });

  test('another platform cannot unseal', () => {
    const other = SimCpu.fromSeed('other-platform');
    const blob = sealData(cpu, e1, secret, { policy: 'mrenclave' });
    assert.throws(() => unsealData(other, other.einitImage(v1, sigV1).enclave, blob), {
      code: 'ERR_SEAL_AUTH',
    });
  });

  test('tampered ciphertext, tag, additional data or key request fail', () => {
    const blob = sealData(cpu, e1, secret, { additionalData: aad });
    for (const at of [
      560,
      560 + secret.length - 1,
      544,
      559,
      560 + secret.length,
      blob.length - 1,
      40,
      30,
      4,
    ]) {
      const bad = blob.slice();
      bad[at] = (bad[at] as number) ^ 1;
      assert.throws(() => unsealData(cpu, e1, bad), { code: 'ERR_SEAL_AUTH' }, `flip at ${at}`);
    }
  });

  test('malformed blobs fail with ERR_SEAL_FORMAT naming the field', () => {
    const blob = sealData(cpu, e1, secret);
    assert.throws(() => unsealData(cpu, e1, blob.subarray(0, 559)), { code: 'ERR_SEAL_FORMAT' });
    assert.throws(() => unsealData(cpu, e1, blob.subarray(0, blob.length - 1)), { code: 'ERR_SEAL_FORMAT' });
    const reserved = blob.slice();
    reserved[520] = 1;
    assert.throws(
      () => unsealData(cpu, e1, reserved),
      (err: unknown) =>
        (err as { code: string }).code === 'ERR_SEAL_FORMAT' &&
        (err as { details: { field: string } }).details.field === 'sealed.reserved1',
    );
    const size = blob.slice();
    new DataView(size.buffer).setUint32(512, 9999, true);
    assert.throws(() => unsealData(cpu, e1, size), { code: 'ERR_SEAL_FORMAT' });
    const name = blob.slice();
    name[0] = KEY_NAME.REPORT;
    assert.throws(() => unsealData(cpu, e1, name), { code: 'ERR_SEAL_FORMAT' });
  });

  test('a mask without INIT and DEBUG is refused', () => {
    assert.throws(() => sealData(cpu, e1, secret, { attributeMask: { flags: 0n, xfrm: 0n } }), {
      code: 'ERR_SEAL_POLICY',
    });
  });
});
