/**
 * The ephemeral key pair a workload attests with: its public key goes into the runtime data
 * (`{"keys":[<public JWK>]}`, what Microsoft Azure Attestation puts in `x-ms-runtime`), the
 * service encrypts released secrets to it (compact JWE, ECDH-ES + A256GCM), and only the holder
 * of the private key opens them. The private key never leaves the object.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { AttestationJweError } from './errors.ts';

/** A P-256 key pair made for one attestation. */
export class EphemeralKey {
  readonly #privateKey: KeyObject;
  /** The public JWK (`kty`, `crv`, `x`, `y`, `use: "enc"`). */
  readonly publicJwk: Readonly<Record<string, string>>;

  private constructor(privateKey: KeyObject, publicJwk: Record<string, string>) {
    this.#privateKey = privateKey;
    this.publicJwk = Object.freeze(publicJwk);
  }

  /** Makes a fresh P-256 key pair. */
  static generate(): EphemeralKey {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' }) as Record<string, string>;
    return new EphemeralKey(privateKey, {
      kty: String(jwk['kty']),
      crv: String(jwk['crv']),
      x: String(jwk['x']),
      y: String(jwk['y']),
      use: 'enc',
    });
  }

  /** Runtime data binding this key: UTF-8 JSON `{"keys":[<public JWK>]}`. */
  runtimeData(): Uint8Array {
    return runtimeDataFor(this.publicJwk);
  }

  /**
   * REPORTDATA for this key: SHA-256(runtime data) followed by 32 zero bytes — what the service
   * checks against the quote.
   */
  reportData(): Uint8Array {
    return reportDataFor(this.runtimeData());
  }

  /**
   * Opens a compact JWE released to this key (ECDH-ES with A128GCM/A256GCM).
   * @throws AttestationJweError when it is not addressed to this key or is malformed.
   */
  async open(jwe: string): Promise<Uint8Array> {
    return openJwe(jwe, this.#privateKey);
  }
}

/** UTF-8 JSON `{"keys":[jwk]}`. */
export function runtimeDataFor(publicJwk: Readonly<Record<string, string>>): Uint8Array {
  return new Uint8Array(Buffer.from(JSON.stringify({ keys: [publicJwk] }), 'utf8'));
}

/** SHA-256(runtimeData) ‖ 32 zero bytes. */
export function reportDataFor(runtimeData: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(createHash('sha256').update(runtimeData).digest());
  return out;
}

/**
 * Opens a compact JWE (ECDH-ES, A128GCM/A256GCM) with `privateKey`.
 * @throws AttestationJweError.
 */
export async function openJwe(jwe: string, privateKey: KeyObject): Promise<Uint8Array> {
  try {
    const { plaintext } = await compactDecrypt(jwe, privateKey, {
      keyManagementAlgorithms: ['ECDH-ES'],
      contentEncryptionAlgorithms: ['A128GCM', 'A256GCM'],
    });
    return plaintext;
  } catch (cause) {
    throw new AttestationJweError(`cannot open the released secret: ${(cause as Error).message}`, { cause });
  }
}
