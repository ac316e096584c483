/**
 * Secret release (`/ccnodes/v1/secrets`): an admin stores a secret with a release policy; an
 * enclave presents evidence (or a fresh token of this service) whose runtime data carries its public
 * key; if the claims satisfy the policy, the secret is returned as a JWE encrypted to that key
 * (RSA-OAEP-256 for RSA keys, ECDH-ES for EC keys; A256GCM content encryption), so only the enclave
 * can open it. Values are sealed under the KEK at rest.
 */
import { CompactEncrypt, decodeProtectedHeader, importJWK, jwtVerify, type JWK } from 'jose';
import type { ClaimSet } from './claims.ts';
import { SecretReleaseError } from './errors.ts';
import type { KeyEncryptionKey } from './kek.ts';
import { POLICY_TYPES, type PolicyType } from './policy-service.ts';
import { parseReleaseRequirements, releasePolicyHolds } from './release-policy.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import { ATTESTATION_TYPE_CLAIM, TOKEN_PURPOSE_CLAIM } from './token-issuer.ts';
import type { AttestationStorage, StoredSecret } from './storage/index.ts';

/** Secret names: path-safe, bounded. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * The attestation type a secret is stored for when its PUT names none, and the only type accepted
 * by a release policy stored before policies stated `attestationTypes` (inline release attests
 * SGX quotes under the SgxEnclave policy, so that is what such secrets were released under).
 */
export const DEFAULT_SECRET_ATTESTATION_TYPE: PolicyType = 'SgxEnclave';

/** Options of the secret service. */
export interface SecretServiceOptions {
  readonly storage: AttestationStorage;
  readonly kek: KeyEncryptionKey;
  readonly keys: SigningKeyRing;
  readonly issuer: string;
  readonly now: () => Date;
  /** Oldest token (by `iat`) accepted for release, seconds. Default 600. */
  readonly maxTokenAgeSeconds?: number;
}

/** A released secret: JWE compact serialization plus what it holds. */
export interface ReleasedSecret {
  readonly name: string;
  readonly contentType: string;
  readonly jwe: string;
  /** Key-management algorithm used (`RSA-OAEP-256` or `ECDH-ES`). */
  readonly alg: string;
}

/** Checks a secret name from a URL path. */
export function checkSecretName(name: string): string {
  if (!NAME.test(name)) {
    throw new SecretReleaseError(
      'ERR_SECRET_NOT_FOUND',
      'secret names are 1-128 characters of letters, digits, ".", "_" and "-"',
      { field: 'name' },
    );
  }
  return name;
}

export class SecretService {
  readonly #o: SecretServiceOptions;

  constructor(options: SecretServiceOptions) {
    this.#o = options;
  }

  /**
   * Stores (or replaces) a secret. `releasePolicy` is validated before anything is written, and
   * stored with its `attestationTypes` stated: the policy's own, else `[attestationType]` (the type
   * the secret is stored for, default SgxEnclave).
   */
  async put(
    name: string,
    value: Uint8Array,
    contentType: string,
    releasePolicy: unknown,
    attestationType?: unknown,
  ): Promise<void> {
    checkSecretName(name);
    if (value.length === 0 || value.length > MAX_SECRET_BYTES) {
      throw new SecretReleaseError(
        'ERR_SECRET_RELEASE_POLICY',
        `secret value must be 1..${MAX_SECRET_BYTES} bytes`,
        {
          field: 'value',
        },
      );
    }
    const policyText = normalizedReleasePolicy(releasePolicy, attestationType);
    const existing = await this.#o.storage.getSecret(name);
    const now = this.#o.now();
    const secret: StoredSecret = {
      name,
      sealedValue: this.#o.kek.seal(value, `secret:${name}`),
      releasePolicy: policyText,
      contentType,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.#o.storage.putSecret(secret);
  }

  async list(): Promise<Omit<StoredSecret, 'sealedValue'>[]> {
    return this.#o.storage.listSecrets();
  }

  async delete(name: string): Promise<boolean> {
    return this.#o.storage.deleteSecret(checkSecretName(name));
  }

  /**
   * Verifies a token of this service for release: RS256 with a published key of ours, our issuer,
   * not expired, not older than the max age. Unsigned (draft) tokens never pass.
   */
  async verifyToken(token: string): Promise<ClaimSet> {
    const claims = await this.#verifySignedToken(token);
    const purpose = claims[TOKEN_PURPOSE_CLAIM];
    if (purpose !== 'attestation') {
      throw new SecretReleaseError(
        'ERR_SECRET_TOKEN_PURPOSE',
        `only attestation tokens release secrets; this token's ${TOKEN_PURPOSE_CLAIM} is ${typeof purpose === 'string' ? JSON.stringify(purpose.slice(0, 40)) : 'missing'}`,
        { field: 'token' },
      );
    }
    return claims;
  }

  async #verifySignedToken(token: string): Promise<ClaimSet> {
    try {
      const header = decodeProtectedHeader(token);
      const key = typeof header.kid === 'string' ? this.#o.keys.publicKey(header.kid) : undefined;
      if (key === undefined) throw new Error('unknown kid');
      const { payload } = await jwtVerify(token, key, {
        algorithms: ['RS256'],
        issuer: this.#o.issuer,
        typ: 'JWT',
        currentDate: this.#o.now(),
        maxTokenAge: this.#o.maxTokenAgeSeconds ?? 600,
        requiredClaims: ['exp', 'iat'],
      });
      return payload;
    } catch (cause) {
      throw new SecretReleaseError(
        'ERR_SECRET_TOKEN_INVALID',
        'the token is not a valid, fresh attestation token of this service',
        {},
        cause,
      );
    }
  }

  /** Releases secret `name` to the enclave described by `claims`, or throws. */
  async release(name: string, claims: ClaimSet): Promise<ReleasedSecret> {
    checkSecretName(name);
    const secret = await this.#o.storage.getSecret(name);
    if (secret === undefined) {
      throw new SecretReleaseError('ERR_SECRET_NOT_FOUND', `no secret named ${name}`, { name });
    }
    const req = parseReleaseRequirements(secret.releasePolicy);
    const types = req.attestationTypes ?? [DEFAULT_SECRET_ATTESTATION_TYPE];
    const type = claims[ATTESTATION_TYPE_CLAIM];
    if (typeof type !== 'string' || !types.includes(type as PolicyType)) {
      throw new SecretReleaseError(
        'ERR_SECRET_ATTESTATION_TYPE',
        `${name} is released only to tokens issued under the ${types.join(' or ')} policy; this one was issued under ${typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : 'no recorded policy type'}`,
        { name, accepted: types },
      );
    }
    const hash = claims['x-ms-policy-hash'];
    if (req.policyHashes !== undefined && (typeof hash !== 'string' || !req.policyHashes.includes(hash))) {
      throw new SecretReleaseError(
        'ERR_SECRET_POLICY_HASH',
        `${name} is released only to tokens issued under one of the policies its release policy names (policyHashes); this token's x-ms-policy-hash is not one of them`,
        { name },
      );
    }
    if (!releasePolicyHolds(req.root, claims, this.#o.issuer)) {
      throw new SecretReleaseError(
        'ERR_SECRET_POLICY_DENIED',
        `the attested claims do not satisfy the release policy of ${name}`,
        {
          name,
        },
      );
    }
    const jwk = enclaveKey(claims);
    const alg = jwk.kty === 'RSA' ? 'RSA-OAEP-256' : 'ECDH-ES';
    let key: Awaited<ReturnType<typeof importJWK>>;
    try {
      key = await importJWK(publicPart(jwk), alg);
    } catch (cause) {
      throw new SecretReleaseError(
        'ERR_SECRET_NO_ENCLAVE_KEY',
        'the enclave key in the runtime data is not a usable public key',
        {},
        cause,
      );
    }
    const value = this.#o.kek.open(secret.sealedValue, `secret:${name}`);
    const jwe = await new CompactEncrypt(value)
      .setProtectedHeader({
        alg,
        enc: 'A256GCM',
        cty: secret.contentType,
        ...(jwk.kid === undefined ? {} : { kid: jwk.kid }),
      })
      .encrypt(key);
    return { name, contentType: secret.contentType, jwe, alg };
  }
}

/** The release policy as stored: the JSON object with `attestationTypes` always stated. */
function normalizedReleasePolicy(releasePolicy: unknown, attestationType: unknown): string {
  const req = parseReleaseRequirements(releasePolicy);
  let forType: PolicyType | undefined;
  if (attestationType !== undefined) {
    forType = POLICY_TYPES.find(
      (t) => typeof attestationType === 'string' && t.toLowerCase() === attestationType.toLowerCase(),
    );
    if (forType === undefined) {
      throw new SecretReleaseError(
        'ERR_SECRET_RELEASE_POLICY',
        `attestationType must be one of ${POLICY_TYPES.join(', ')}`,
        { field: 'attestationType' },
      );
    }
    if (req.attestationTypes !== undefined && !req.attestationTypes.includes(forType)) {
      throw new SecretReleaseError(
        'ERR_SECRET_RELEASE_POLICY',
        `attestationType ${forType} is not among releasePolicy.attestationTypes (${req.attestationTypes.join(', ')})`,
        { field: 'attestationType' },
      );
    }
  }
  const obj = (typeof releasePolicy === 'string' ? JSON.parse(releasePolicy) : releasePolicy) as Record<
    string,
    unknown
  >;
  return JSON.stringify({
    ...obj,
    attestationTypes: req.attestationTypes ?? [forType ?? DEFAULT_SECRET_ATTESTATION_TYPE],
  });
}

/** Only the public members: a JWK that (wrongly) carries `d` must not make us use a private key. */
function publicPart(jwk: JWK): JWK {
  const s = (v: string | undefined): string => v ?? '';
  return jwk.kty === 'RSA'
    ? { kty: 'RSA', n: s(jwk.n), e: s(jwk.e) }
    : { kty: 'EC', crv: s(jwk.crv), x: s(jwk.x), y: s(jwk.y) };
}

function usable(v: unknown): v is JWK {
  if (typeof v !== 'object' || v === null) return false;
  const k = v as JWK;
  if (k.use !== undefined && k.use !== 'enc') return false;
  if (k.key_ops !== undefined && !k.key_ops.some((op) => ['encrypt', 'wrapKey', 'deriveKey'].includes(op)))
    return false;
  if (k.kty === 'RSA') return typeof k.n === 'string' && typeof k.e === 'string' && k.n.length >= 342; // ≥ 2048 bits
  if (k.kty === 'EC')
    return (
      ['P-256', 'P-384', 'P-521'].includes(String(k.crv)) &&
      typeof k.x === 'string' &&
      typeof k.y === 'string'
    );
  return false;
}

function keysIn(obj: unknown): unknown[] {
  if (typeof obj !== 'object' || obj === null) return [];
  const o = obj as Record<string, unknown>;
  if (Array.isArray(o['keys'])) return o['keys'] as unknown[];
  if (typeof o['kty'] === 'string') return [o];
  if (typeof o['jwk'] === 'object') return [o['jwk']];
  return [];
}

/**
 * The enclave's public key: the first usable JWK in `x-ms-runtime` (a JWKS `{keys:[…]}` or a
 * bare JWK), else in runtime data sent as Binary that holds such JSON (`x-ms-sgx-ehd`).
 */
export function enclaveKey(claims: ClaimSet): JWK {
  const candidates = keysIn(claims['x-ms-runtime']);
  const ehd = claims['x-ms-sgx-ehd'];
  if (candidates.length === 0 && typeof ehd === 'string') {
    try {
      candidates.push(...keysIn(JSON.parse(Buffer.from(ehd, 'base64url').toString('utf8'))));
    } catch {
      // Binary runtime data that is not JSON carries no key.
    }
  }
  const key = candidates.find(usable);
  if (key === undefined) {
    throw new SecretReleaseError(
      'ERR_SECRET_NO_ENCLAVE_KEY',
      'the runtime data carries no RSA (≥ 2048 bits) or EC (P-256/384/521) public JWK for encryption',
    );
  }
  return key;
}

/**
 * For audit lines: the rest of an SGX claim set's identity, `mrsigner:<hex> isvprodid:<n> isvsvn:<n>`
 * (what the operator dashboard filters by); '' for a claim set without one (TDX: its MRTD is the subject).
 */
export function identityOf(claims: ClaimSet): string {
  const signer = claims['x-ms-sgx-mrsigner'];
  if (typeof signer !== 'string') return '';
  const prod = claims['x-ms-sgx-product-id'];
  const svn = claims['x-ms-sgx-svn'];
  return [
    `mrsigner:${signer}`,
    ...(typeof prod === 'number' ? [`isvprodid:${prod}`] : []),
    ...(typeof svn === 'number' ? [`isvsvn:${svn}`] : []),
  ].join(' ');
}

/** `reason` followed by `; <identity>` when the claim set states one. */
export function withIdentity(reason: string, claims: ClaimSet | undefined): string {
  const id = claims === undefined ? '' : identityOf(claims);
  return id === '' ? reason : `${reason}; ${id}`;
}

/** For audit lines: the measurement a claim set is about. */
export function subjectOf(claims: ClaimSet): string {
  const m = claims['x-ms-sgx-mrenclave'];
  if (typeof m === 'string') return `mrenclave:${m}`;
  const td = claims['tdx_mrtd'];
  return typeof td === 'string' ? `mrtd:${td}` : 'unknown';
}
