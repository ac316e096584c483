/**
 * SIGSTRUCT creation and verification: RSA-3072, public exponent 3, RSASSA-PKCS1-v1_5 with SHA-256
 * over bytes [0,128) ‖ [900,1028), signature stored little-endian, plus Q1/Q2
 * (shared/spec/sgx-sim.md §2). PKCS#1 v1.5 is deterministic, so re-signing reproduces a SIGSTRUCT
 * byte for byte.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as rsaSign,
  verify as rsaVerify,
  constants,
  type KeyObject,
} from 'node:crypto';
import {
  type FormatError,
  type SgxAttributes,
  type Sigstruct,
  decodeSigstruct,
  encodeSigstruct,
  encodeSigstructDate,
  sigstructSignedBytes,
} from '../core/index.ts';
import { SigstructError } from './enclave-errors.ts';
import { mrSignerFromModulus } from './measure.ts';

const MODULUS_BYTES = 384;

/** What the signer puts in a SIGSTRUCT (everything but the key material). */
export interface SigstructFields {
  /** Expected MRENCLAVE (32 bytes). */
  enclaveHash: Uint8Array;
  attributes: SgxAttributes;
  attributeMask: SgxAttributes;
  miscSelect: number;
  miscMask: number;
  isvProdId: number;
  isvSvn: number;
  /** `YYYY-MM-DD`, or the raw u32 (`0x20240102`); default 0 (no date). */
  date?: string | number;
  /** Default 0 (ISV enclave); 0x8086 marks Intel-signed enclaves. */
  vendor?: number;
  swDefined?: number;
  headerType?: number;
  cetAttributes?: number;
  cetAttributesMask?: number;
  isvFamilyId?: Uint8Array;
  isvExtProdId?: Uint8Array;
}

function beToLe(be: Uint8Array, size: number): Uint8Array {
  if (be.length > size) throw new SigstructError('ERR_SIGSTRUCT_KEY', `integer is wider than ${size} bytes`);
  const out = new Uint8Array(size);
  for (let i = 0; i < be.length; i++) out[i] = be[be.length - 1 - i] as number;
  return out;
}

// Through hex text: one conversion each way (a byte-at-a-time shift loop costs O(n²) on 3072-bit values).
function leToBigInt(le: Uint8Array): bigint {
  return le.length === 0 ? 0n : BigInt(`0x${Buffer.from(le).reverse().toString('hex')}`);
}

function bigIntToLe(v: bigint, size: number): Uint8Array {
  const hex = v.toString(16);
  if (v < 0n || hex.length > size * 2)
    throw new SigstructError('ERR_SIGSTRUCT_Q1Q2', `integer is wider than ${size} bytes`);
  return new Uint8Array(Buffer.from(hex.padStart(size * 2, '0'), 'hex').reverse());
}

function leToBe(le: Uint8Array): Uint8Array {
  return Uint8Array.from(le).reverse();
}

/** Q1 = floor(S²/M), Q2 = floor((S² mod M)·S / M), both 384-byte little-endian. */
export function computeQ1Q2(
  signatureLe: Uint8Array,
  modulusLe: Uint8Array,
): { q1: Uint8Array; q2: Uint8Array } {
  const s = leToBigInt(signatureLe);
  const m = leToBigInt(modulusLe);
  if (m === 0n) throw new SigstructError('ERR_SIGSTRUCT_Q1Q2', 'modulus is zero');
  const s2 = s * s;
  const q1 = s2 / m;
  const q2 = ((s2 % m) * s) / m;
  return { q1: bigIntToLe(q1, MODULUS_BYTES), q2: bigIntToLe(q2, MODULUS_BYTES) };
}

function asPrivateKey(key: KeyObject | string | Uint8Array): KeyObject {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) return key;
  try {
    if (typeof key === 'string') return createPrivateKey(key);
    const text = Buffer.from(key).toString('latin1');
    if (text.includes('-----BEGIN')) return createPrivateKey(text);
    const der = Buffer.from(key);
    try {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    } catch {
      return createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
    }
  } catch (cause) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_KEY',
      'signing key is not a readable private key (PEM or DER)',
      {},
      cause,
    );
  }
}

/** The SIGSTRUCT modulus (384-byte little-endian) of an RSA-3072 e=3 key; rejects other keys. */
export function sigstructModulusOf(key: KeyObject): Uint8Array {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new SigstructError('ERR_SIGSTRUCT_KEY', `key type ${key.asymmetricKeyType ?? '?'} is not RSA`);
  }
  const details = key.asymmetricKeyDetails;
  if (details?.modulusLength !== 3072) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_KEY',
      `RSA modulus is ${details?.modulusLength ?? '?'} bits, SGX needs 3072`,
    );
  }
  if (details.publicExponent !== 3n) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_KEY',
      `RSA public exponent is ${details.publicExponent ?? '?'}, SGX needs 3`,
    );
  }
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return beToLe(Buffer.from(jwk.n ?? '', 'base64url'), MODULUS_BYTES);
}

function checkU16(v: number, field: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw new SigstructError('ERR_SIGSTRUCT_FIELD', `${field}: ${v} is not a u16`, { field });
  }
}

/**
 * Builds and signs a SIGSTRUCT with an RSA-3072 (e = 3) private key (PEM, DER or KeyObject).
 * Returns the 1808 bytes, the decoded structure and MRSIGNER.
 */
export function signSigstruct(
  fields: SigstructFields,
  key: KeyObject | string | Uint8Array,
): { bytes: Uint8Array; sigstruct: Sigstruct; mrSigner: Uint8Array } {
  const privateKey = asPrivateKey(key);
  if (privateKey.type !== 'private')
    throw new SigstructError('ERR_SIGSTRUCT_KEY', 'signing needs a private key');
  const modulus = sigstructModulusOf(privateKey);
  checkU16(fields.isvProdId, 'isvProdId');
  checkU16(fields.isvSvn, 'isvSvn');
  if (fields.enclaveHash.length !== 32) {
    throw new SigstructError('ERR_SIGSTRUCT_FIELD', 'enclaveHash must be 32 bytes', { field: 'enclaveHash' });
  }
  let date: number;
  try {
    date = typeof fields.date === 'string' ? encodeSigstructDate(fields.date) : (fields.date ?? 0);
  } catch (cause) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_FIELD',
      `date: ${(cause as FormatError).message}`,
      { field: 'date' },
      cause,
    );
  }
  const unsigned: Sigstruct = {
    headerType: fields.headerType ?? 0,
    vendor: fields.vendor ?? 0,
    date,
    swDefined: fields.swDefined ?? 0,
    modulus,
    exponent: 3,
    signature: new Uint8Array(MODULUS_BYTES),
    miscSelect: fields.miscSelect,
    miscMask: fields.miscMask,
    cetAttributes: fields.cetAttributes ?? 0,
    cetAttributesMask: fields.cetAttributesMask ?? 0,
    isvFamilyId: fields.isvFamilyId ?? new Uint8Array(16),
    attributes: fields.attributes,
    attributeMask: fields.attributeMask,
    enclaveHash: fields.enclaveHash,
    isvExtProdId: fields.isvExtProdId ?? new Uint8Array(16),
    isvProdId: fields.isvProdId,
    isvSvn: fields.isvSvn,
    q1: new Uint8Array(MODULUS_BYTES),
    q2: new Uint8Array(MODULUS_BYTES),
  };
  let encoded: Uint8Array;
  try {
    encoded = encodeSigstruct(unsigned);
  } catch (cause) {
    throw new SigstructError('ERR_SIGSTRUCT_FIELD', (cause as Error).message, {}, cause);
  }
  const sigBe = rsaSign('sha256', sigstructSignedBytes(encoded), {
    key: privateKey,
    padding: constants.RSA_PKCS1_PADDING,
  });
  const signature = beToLe(sigBe, MODULUS_BYTES);
  const { q1, q2 } = computeQ1Q2(signature, modulus);
  const sigstruct: Sigstruct = { ...unsigned, signature, q1, q2 };
  return { bytes: encodeSigstruct(sigstruct), sigstruct, mrSigner: mrSignerFromModulus(modulus) };
}

/** The RSA public key held in a SIGSTRUCT (modulus from the struct, exponent from EXPONENT). */
export function sigstructPublicKey(s: Sigstruct): KeyObject {
  const n = Buffer.from(leToBe(s.modulus)).toString('base64url');
  const eHex = s.exponent.toString(16);
  const e = Buffer.from(eHex.length % 2 === 0 ? eHex : `0${eHex}`, 'hex').toString('base64url');
  return createPublicKey({ key: { kty: 'RSA', n, e }, format: 'jwk' });
}

/** Result of a successful {@link verifySigstruct}. */
export interface VerifiedSigstruct {
  sigstruct: Sigstruct;
  /** SHA-256 of the little-endian modulus. */
  mrSigner: Uint8Array;
}

/**
 * Verifies a SIGSTRUCT as EINIT does: exponent 3, RSA-3072 PKCS#1 v1.5 SHA-256 signature over the
 * signed bytes, and Q1/Q2. Throws `FormatError` for malformed bytes and `SigstructError`
 * (`ERR_SIGSTRUCT_EXPONENT`, `ERR_SIGSTRUCT_SIGNATURE`, `ERR_SIGSTRUCT_Q1Q2`) when a check fails.
 */
export function verifySigstruct(bytes: Uint8Array): VerifiedSigstruct {
  const sigstruct = decodeSigstruct(bytes);
  if (sigstruct.exponent !== 3) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_EXPONENT',
      `SIGSTRUCT.EXPONENT is ${sigstruct.exponent}, must be 3`,
      {
        field: 'SIGSTRUCT.EXPONENT',
        offset: 512,
      },
    );
  }
  const modulusInt = leToBigInt(sigstruct.modulus);
  if (modulusInt >> 3071n !== 1n) {
    throw new SigstructError('ERR_SIGSTRUCT_SIGNATURE', 'SIGSTRUCT.MODULUS is not a 3072-bit integer', {
      field: 'SIGSTRUCT.MODULUS',
      offset: 128,
    });
  }
  let ok: boolean;
  try {
    ok = rsaVerify(
      'sha256',
      sigstructSignedBytes(bytes),
      { key: sigstructPublicKey(sigstruct), padding: constants.RSA_PKCS1_PADDING },
      leToBe(sigstruct.signature),
    );
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_SIGNATURE',
      'SIGSTRUCT signature does not verify over bytes [0,128) and [900,1028) with its modulus',
      { field: 'SIGSTRUCT.SIGNATURE', offset: 516 },
    );
  }
  const { q1, q2 } = computeQ1Q2(sigstruct.signature, sigstruct.modulus);
  const q1ok = Buffer.from(q1).equals(sigstruct.q1);
  if (!q1ok || !Buffer.from(q2).equals(sigstruct.q2)) {
    throw new SigstructError(
      'ERR_SIGSTRUCT_Q1Q2',
      `SIGSTRUCT.${q1ok ? 'Q2' : 'Q1'} does not match the signature`,
      {
        field: `SIGSTRUCT.${q1ok ? 'Q2' : 'Q1'}`,
        offset: q1ok ? 1424 : 1040,
      },
    );
  }
  return { sigstruct, mrSigner: mrSignerFromModulus(sigstruct.modulus) };
}

/** Generates an RSA-3072 key with public exponent 3 for enclave signing; PEM (PKCS#8 / SPKI). */
export function generateEnclaveSigningKey(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
