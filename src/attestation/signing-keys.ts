/**
 * Token signing keys: RSA-2048 with a self-signed certificate (CN = the issuer URL, one year), as MAA
 * publishes them. Private keys live only sealed under the KEK in storage and as KeyObjects in
 * memory. Rotation adds a new active key and keeps retired keys in `/certs` until every token they
 * signed has expired (`retiredAt + tokenLifetime`), then deletes them.
 */
import 'reflect-metadata';
import { X509CertificateGenerator, X509Certificate } from '@peculiar/x509';
import {
  X509Certificate as NodeX509,
  createHash,
  createPrivateKey,
  randomBytes,
  webcrypto,
  type KeyObject,
} from 'node:crypto';
import type { KeyEncryptionKey } from './kek.ts';
import type { AttestationStorage, StoredSigningKey } from './storage/index.ts';

const RSA_ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
} as const;

/** A key usable for signing. */
export interface ActiveSigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly certDer: Uint8Array;
}

/**
 * One `/certs` entry: the members MAA publishes (`kty`, `kid`, `x5c`) plus the RSA public key as
 * `n`/`e` (taken from the certificate) and `alg`/`use`, which generic JWKS consumers (jose's
 * `createRemoteJWKSet`, Envoy/Istio JWT authn, Kubernetes OIDC) need and MAA clients ignore.
 */
export interface PublishedJwk {
  readonly kty: 'RSA';
  readonly kid: string;
  readonly use: 'sig';
  readonly alg: 'RS256';
  readonly n: string;
  readonly e: string;
  readonly x5c: string[];
}

/** The published JWK of a certificate: n/e are the certificate's own public key. */
function publishedJwk(kid: string, certDer: Uint8Array): PublishedJwk {
  const jwk = new NodeX509(Buffer.from(certDer)).publicKey.export({ format: 'jwk' });
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
    throw new Error(`signing key ${kid} does not hold an RSA public key`);
  return {
    kty: 'RSA',
    kid,
    use: 'sig',
    alg: 'RS256',
    n: jwk.n,
    e: jwk.e,
    x5c: [Buffer.from(certDer).toString('base64')],
  };
}

/** Options of the key ring. */
export interface SigningKeyRingOptions {
  readonly storage: AttestationStorage;
  readonly kek: KeyEncryptionKey;
  /** Issuer URL, used as the certificate subject CN. */
  readonly issuer: string;
  /** Token lifetime in seconds: how long a retired key stays published. */
  readonly tokenLifetimeSeconds: number;
  /** Rotate when the active key is older than this (seconds); default 30 days. */
  readonly rotateAfterSeconds?: number;
  readonly now?: () => Date;
}

/** The active signing key plus retired keys still published. */
export class SigningKeyRing {
  readonly #opts: SigningKeyRingOptions;
  #active: ActiveSigningKey | undefined;
  #published: PublishedJwk[] = [];
  #publicKeys = new Map<string, KeyObject>();

  private constructor(opts: SigningKeyRingOptions) {
    this.#opts = opts;
  }

  /** Loads keys from storage, creating the first key (or rotating a stale one) as needed. */
  static async open(opts: SigningKeyRingOptions): Promise<SigningKeyRing> {
    const ring = new SigningKeyRing(opts);
    await ring.refresh();
    const active = ring.#active;
    const now = (opts.now ?? (() => new Date()))();
    const rotateAfter = (opts.rotateAfterSeconds ?? 30 * 86400) * 1000;
    if (active === undefined || now.getTime() - ring.#activeCreatedAt.getTime() > rotateAfter)
      await ring.rotate();
    return ring;
  }

  #activeCreatedAt = new Date(0);

  /**
   * Re-reads storage: picks the active key, prunes keys whose tokens have all expired. A key seen
   * before with the same certificate keeps its parsed forms (published JWK, public KeyObject, and
   * for the active key its private KeyObject): `/certs` calls this at every request, and the
   * KeyObjects staying the same lets jose reuse its imports of them between tokens.
   */
  async refresh(): Promise<void> {
    const now = (this.#opts.now ?? (() => new Date()))().getTime();
    const keys = await this.#opts.storage.listSigningKeys();
    const published: PublishedJwk[] = [];
    const publicKeys = new Map<string, KeyObject>();
    let active: StoredSigningKey | undefined;
    for (const k of keys) {
      if (k.retiredAt !== null && k.retiredAt.getTime() + this.#opts.tokenLifetimeSeconds * 1000 < now) {
        await this.#opts.storage.deleteSigningKey(k.kid);
        continue;
      }
      if (k.retiredAt === null) active = k;
      let parsed = this.#parsed.get(k.kid);
      if (parsed === undefined || !Buffer.from(parsed.certDer).equals(k.certDer)) {
        parsed = {
          certDer: k.certDer,
          jwk: publishedJwk(k.kid, k.certDer),
          publicKey: new NodeX509(Buffer.from(k.certDer)).publicKey,
        };
        this.#parsed.set(k.kid, parsed);
      }
      published.push(parsed.jwk);
      publicKeys.set(k.kid, parsed.publicKey);
    }
    for (const kid of this.#parsed.keys()) if (!publicKeys.has(kid)) this.#parsed.delete(kid);
    if (active !== undefined) {
      const held = this.#active;
      if (held?.kid !== active.kid || !Buffer.from(held.certDer).equals(active.certDer)) {
        const pkcs8 = this.#opts.kek.open(active.sealedPrivateKey, `signing-key:${active.kid}`);
        this.#active = {
          kid: active.kid,
          certDer: active.certDer,
          privateKey: createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }),
        };
      }
      this.#activeCreatedAt = active.createdAt;
      // Newest first: the active key leads the set.
      const first = active.kid;
      published.sort((a, b) => (a.kid === first ? -1 : b.kid === first ? 1 : 0));
    } else {
      this.#active = undefined;
    }
    this.#published = published;
    this.#publicKeys = publicKeys;
  }

  /** Parsed forms of the keys last read, by kid (see {@link refresh}). */
  readonly #parsed = new Map<
    string,
    { readonly certDer: Uint8Array; readonly jwk: PublishedJwk; readonly publicKey: KeyObject }
  >();

  /** Public key of a published key (active or retired within the token lifetime), by kid. */
  publicKey(kid: string): KeyObject | undefined {
    return this.#publicKeys.get(kid);
  }

  /** Generates a new active key; the previous one is retired but stays published. */
  async rotate(): Promise<string> {
    const now = (this.#opts.now ?? (() => new Date()))();
    const keys = await webcrypto.subtle.generateKey(RSA_ALG, true, ['sign', 'verify']);
    const cert = await X509CertificateGenerator.createSelfSigned(
      {
        serialNumber: randomBytes(16)
          .toString('hex')
          .replace(/^[89a-f]/, '1'),
        name: `CN=${cnSafe(this.#opts.issuer)}`,
        notBefore: new Date(now.getTime() - 5 * 60 * 1000),
        notAfter: new Date(now.getTime() + 365 * 86400 * 1000),
        keys,
        signingAlgorithm: RSA_ALG,
      },
      webcrypto,
    );
    const certDer = new Uint8Array(cert.rawData);
    const kid = createHash('sha256').update(certDer).digest('base64');
    const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    await this.#opts.storage.addSigningKeyAndRetireOthers({
      kid,
      certDer,
      sealedPrivateKey: this.#opts.kek.seal(pkcs8, `signing-key:${kid}`),
      createdAt: now,
      retiredAt: null,
    });
    await this.refresh();
    return kid;
  }

  /** The key new tokens are signed with. */
  get active(): ActiveSigningKey {
    if (this.#active === undefined) throw new Error('signing key ring has no active key');
    return this.#active;
  }

  /** The JWKS served at `/certs`. */
  jwks(): { keys: PublishedJwk[] } {
    return { keys: this.#published.map((k) => ({ ...k, x5c: [...k.x5c] })) };
  }
}

/** Certificate CN from a URL: commas and other DN specials are escaped by dropping them. */
function cnSafe(issuer: string): string {
  return issuer.replace(/[,+="<>#;\\]/g, '');
}

/** Parses a base64 DER certificate (helper shared with policy management). */
export function parseCertificate(der: Uint8Array | string): X509Certificate {
  return new X509Certificate(typeof der === 'string' ? Buffer.from(der, 'base64') : Buffer.from(der));
}
