/**
 * Signs tokens the way MAA does (spec/maa.md §2.1): RS256, header `{alg, jku, kid, typ: "JWT"}`,
 * `iss` = the public URL, `iat = nbf`, `exp = iat + lifetime`, `jti` = 64 hex characters. Draft-policy
 * tokens are unsigned (`alg: none`, empty signature) so they cannot be mistaken for real ones.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { base64url } from './base64.ts';
import type { SigningKeyRing } from './signing-keys.ts';

/**
 * RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over the JWS signing input, with a ready `KeyObject`.
 * The callback form of `crypto.sign` runs on libuv's thread pool, so the RSA private-key operation
 * (the most expensive step of an attestation) does not block the event loop.
 */
function signRs256(signingInput: string, key: KeyObject): Promise<Buffer> {
  if (key.asymmetricKeyType !== 'rsa') {
    return Promise.reject(new TypeError('RS256 needs an RSA private key'));
  }
  return new Promise((resolve, reject) => {
    sign('sha256', Buffer.from(signingInput, 'ascii'), key, (err, sig) => {
      if (err !== null) reject(err);
      else resolve(sig);
    });
  });
}

/** Token issuing parameters. */
export interface TokenIssuerOptions {
  readonly issuer: string;
  readonly keys: SigningKeyRing;
  /** Attestation token lifetime, seconds (default 8 h). */
  readonly lifetimeSeconds: number;
  readonly now: () => Date;
}

/** Issues attestation and management tokens. */
export class TokenIssuer {
  readonly #o: TokenIssuerOptions;

  constructor(options: TokenIssuerOptions) {
    this.#o = options;
  }

  get issuer(): string {
    return this.#o.issuer;
  }

  get lifetimeSeconds(): number {
    return this.#o.lifetimeSeconds;
  }

  #times(lifetime: number): { iat: number; nbf: number; exp: number } {
    const iat = Math.floor(this.#o.now().getTime() / 1000);
    return { iat, nbf: iat, exp: iat + lifetime };
  }

  /** Signs `claims` with the active key; `iss`, `iat`, `nbf`, `exp`, `jti` are always the service's. */
  async sign(
    claims: Record<string, unknown>,
    options: { lifetimeSeconds?: number; jti?: boolean } = {},
  ): Promise<string> {
    const key = this.#o.keys.active;
    // Registered claims are set last: nothing in `claims` can override them.
    const payload = {
      ...claims,
      ...this.#times(options.lifetimeSeconds ?? this.#o.lifetimeSeconds),
      iss: this.#o.issuer,
      ...(options.jti === false ? {} : { jti: randomBytes(32).toString('hex') }),
    };
    const header = { alg: 'RS256', jku: `${this.#o.issuer}/certs`, kid: key.kid, typ: 'JWT' };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = await signRs256(signingInput, key.privateKey);
    return `${signingInput}.${Buffer.from(signature).toString('base64url')}`;
  }

  /** An unsigned (`alg: none`) token, for draft-policy attestations. */
  unsigned(claims: Record<string, unknown>): string {
    const payload = {
      ...claims,
      ...this.#times(this.#o.lifetimeSeconds),
      iss: this.#o.issuer,
      jti: randomBytes(32).toString('hex'),
    };
    return `${base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}.`;
  }
}
