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

/**
 * What a signed token is for, in claim `x-ccnodes-token-purpose`: `attestation` (an attest endpoint's
 * result — the only kind that can release a secret), `policy` (policy get/set/reset results) or
 * `certificates` (policy management certificate results). Every signed token carries one; the
 * issuer writes it after the caller's claims, so no claim set (nor a policy's issuance rules) can
 * change it.
 */
export type TokenPurpose = 'attestation' | 'policy' | 'certificates';

/** Claim naming a token's {@link TokenPurpose}. */
export const TOKEN_PURPOSE_CLAIM = 'x-ccnodes-token-purpose';

/**
 * Claim naming the attestation type (`SgxEnclave`, `OpenEnclave`) whose policy an attestation
 * token was issued under (`x-ms-attestation-type` is `sgx` for both; the policy's hash is in
 * `x-ms-policy-hash`).
 */
export const ATTESTATION_TYPE_CLAIM = 'x-ccnodes-attestation-type';

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

  /**
   * Signs `claims` with the active key; `iss`, `iat`, `nbf`, `exp`, `jti` and the purpose claim are
   * always the service's.
   */
  async sign(
    claims: Record<string, unknown>,
    options: { purpose: TokenPurpose; lifetimeSeconds?: number; jti?: boolean },
  ): Promise<string> {
    const key = this.#o.keys.active;
    // Registered claims and the purpose are set last: nothing in `claims` can override them.
    const payload = {
      ...claims,
      [TOKEN_PURPOSE_CLAIM]: options.purpose,
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
