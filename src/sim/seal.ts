/**
 * Sealing in the Intel SGX SDK's `sgx_sealed_data_t` layout (shared/spec/sgx-sim.md §4.1):
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 512 | KEYREQUEST (KEYNAME SEAL, policy, the sealer's ISVSVN/CPUSVN/CONFIGSVN, masks, random KEYID) |
 * | 512 | 4 | plain_text_offset (= encrypted length) |
 * | 516 | 12 | reserved |
 * | 528 | 4 | payload_size (= encrypted length + additional MAC text length) |
 * | 532 | 12 | reserved |
 * | 544 | 16 | AES-GCM tag |
 * | 560 | n | ciphertext, then the additional MAC text in clear |
 *
 * AES-128-GCM with the EGETKEY seal key and a 12-byte all-zero IV (safe because every blob has a
 * fresh random KEYID, hence a fresh key); AAD = the additional MAC text. Unsealing re-derives the
 * key from the stored KEYREQUEST, so a blob from a newer enclave version (higher ISVSVN) fails with
 * `ERR_EGETKEY_ISVSVN`, and another enclave (other MRENCLAVE, or other MRSIGNER under the signer
 * policy) or another platform fails authentication (`ERR_SEAL_AUTH`).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  ByteReader,
  ByteWriter,
  decodeKeyRequest,
  encodeKeyRequest,
  FormatError,
  KEY_NAME,
  KEY_POLICY,
  KEY_REQUEST_SIZE,
  type KeyRequest,
  type SgxAttributes,
  SGX_ATTRIBUTE_FLAGS,
} from '../core/index.ts';
import type { SimCpu, SimEnclave } from './cpu.ts';
import { SealError } from './enclave-errors.ts';

/** Size of the sealed-blob header before the payload. */
export const SEALED_HEADER_SIZE = 560;
/** SDK default attribute mask: `~(0x00FFFFFFFFFFFFC0 | MODE64BIT | PROVISIONKEY | EINITTOKEN_KEY)`. */
export const SEAL_DEFAULT_ATTRIBUTE_MASK: SgxAttributes = { flags: 0xff0000000000000bn, xfrm: 0n };
/** SDK default MISCSELECT mask. */
export const SEAL_DEFAULT_MISC_MASK = 0xf0000000;
const MAX_SEAL_DATA = 64 * 1024 * 1024;

/** Sealing options. */
export interface SealOptions {
  /** `mrsigner` (SDK default: the signer's enclaves share the key) or `mrenclave` (this exact enclave). */
  readonly policy?: 'mrsigner' | 'mrenclave';
  /** Authenticated but not encrypted text, stored in clear after the ciphertext. */
  readonly additionalData?: Uint8Array;
  /** Must include INIT and DEBUG (0x3). */
  readonly attributeMask?: SgxAttributes;
  readonly miscMask?: number;
}

/** Seals `plaintext` for `enclave` on `cpu`; returns the sealed blob. */
export function sealData(
  cpu: SimCpu,
  enclave: SimEnclave,
  plaintext: Uint8Array,
  options: SealOptions = {},
): Uint8Array {
  const aad = options.additionalData ?? new Uint8Array(0);
  const mask = options.attributeMask ?? SEAL_DEFAULT_ATTRIBUTE_MASK;
  const required = SGX_ATTRIBUTE_FLAGS.INIT | SGX_ATTRIBUTE_FLAGS.DEBUG;
  if ((mask.flags & required) !== required) {
    throw new SealError('ERR_SEAL_POLICY', 'sealing attribute mask must include INIT and DEBUG', {
      field: 'attributeMask.flags',
    });
  }
  const policy: string = options.policy ?? 'mrsigner';
  if (policy !== 'mrsigner' && policy !== 'mrenclave') {
    throw new SealError('ERR_SEAL_POLICY', `unknown seal policy ${policy}`, { field: 'policy' });
  }
  if (plaintext.length + aad.length > MAX_SEAL_DATA) {
    throw new SealError('ERR_SEAL_POLICY', `sealed data is limited to ${MAX_SEAL_DATA} bytes`, {
      field: 'plaintext',
    });
  }
  const request: KeyRequest = {
    keyName: KEY_NAME.SEAL,
    keyPolicy: policy === 'mrenclave' ? KEY_POLICY.MRENCLAVE : KEY_POLICY.MRSIGNER,
    isvSvn: enclave.isvSvn,
    cpuSvn: cpu.cpuSvn,
    attributeMask: mask,
    keyId: new Uint8Array(randomBytes(32)),
    miscMask: options.miscMask ?? SEAL_DEFAULT_MISC_MASK,
    configSvn: enclave.configSvn,
  };
  const key = cpu.egetkey(enclave, request);
  const cipher = createCipheriv('aes-128-gcm', key, new Uint8Array(12));
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return new ByteWriter(SEALED_HEADER_SIZE + ct.length + aad.length)
    .bytes(encodeKeyRequest(request))
    .u32(ct.length, 'plain_text_offset')
    .zeros(12)
    .u32(ct.length + aad.length, 'payload_size')
    .zeros(12)
    .bytes(cipher.getAuthTag(), 16, 'payload_tag')
    .bytes(ct)
    .bytes(aad)
    .finish();
}

/** The parts of a sealed blob. */
export interface SealedBlob {
  readonly keyRequest: KeyRequest;
  readonly tag: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly additionalData: Uint8Array;
}

function zeros(r: ByteReader, n: number, field: string): void {
  const at = r.absoluteOffset;
  if (r.bytesView(n, field).some((x) => x !== 0)) {
    throw new FormatError('ERR_FORMAT_VALUE', `${field}: reserved bytes at offset ${at} are not zero`, {
      field,
      offset: at,
    });
  }
}

/** Decodes a sealed blob (no decryption). Throws `SealError` `ERR_SEAL_FORMAT` naming field and offset. */
export function decodeSealedBlob(blob: Uint8Array): SealedBlob {
  try {
    const r = new ByteReader(blob);
    const keyRequest = decodeKeyRequest(r, 'sealed.key_request');
    const ctLen = r.u32('sealed.plain_text_offset');
    zeros(r, 12, 'sealed.reserved1');
    const payloadSize = r.u32('sealed.payload_size');
    zeros(r, 12, 'sealed.reserved2');
    const tag = r.bytesView(16, 'sealed.payload_tag').slice();
    if (ctLen > payloadSize) {
      throw new FormatError(
        'ERR_FORMAT_LENGTH',
        `sealed.plain_text_offset ${ctLen} exceeds payload_size ${payloadSize}`,
        {
          field: 'sealed.plain_text_offset',
          offset: KEY_REQUEST_SIZE,
        },
      );
    }
    const ciphertext = r.bytesView(ctLen, 'sealed.payload.encrypted').slice();
    const additionalData = r.bytesView(payloadSize - ctLen, 'sealed.payload.additional').slice();
    r.expectEnd('sealed blob');
    if (keyRequest.keyName !== KEY_NAME.SEAL) {
      throw new FormatError(
        'ERR_FORMAT_VALUE',
        `sealed.key_request.KEYNAME is ${keyRequest.keyName}, not SEAL (4)`,
        {
          field: 'sealed.key_request.KEYNAME',
          offset: 0,
        },
      );
    }
    return { keyRequest, tag, ciphertext, additionalData };
  } catch (cause) {
    if (!(cause instanceof FormatError)) throw cause;
    throw new SealError('ERR_SEAL_FORMAT', `sealed blob: ${cause.message}`, { ...cause.details }, cause);
  }
}

/**
 * Unseals a blob for `enclave` on `cpu`. EGETKEY errors (e.g. `ERR_EGETKEY_ISVSVN` for a blob from a
 * newer version) propagate; a wrong key or tampered data fails with `ERR_SEAL_AUTH`.
 */
export function unsealData(
  cpu: SimCpu,
  enclave: SimEnclave,
  blob: Uint8Array,
): { plaintext: Uint8Array; additionalData: Uint8Array } {
  const sealed = decodeSealedBlob(blob);
  const key = cpu.egetkey(enclave, sealed.keyRequest);
  const decipher = createDecipheriv('aes-128-gcm', key, new Uint8Array(12));
  decipher.setAAD(sealed.additionalData);
  decipher.setAuthTag(sealed.tag);
  try {
    const plaintext = Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
    return { plaintext: new Uint8Array(plaintext), additionalData: sealed.additionalData };
  } catch (cause) {
    throw new SealError(
      'ERR_SEAL_AUTH',
      'sealed blob does not authenticate: sealed by another enclave/signer or platform, or modified',
      {},
      cause,
    );
  }
}
