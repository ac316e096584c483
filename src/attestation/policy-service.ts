/**
 * Attestation policies per type and policy management certificates (spec/maa.md §1.7). Two trust
 * models, as MAA:
 *  - AAD mode (default): changes need the admin bearer credential (checked by the routes); policy
 *    JWSs may be unsigned or signed.
 *  - Isolated mode: every change must be a JWS signed by a registered policy management
 *    certificate; unsigned ones are refused. The signature *is* the authorization.
 * Parsed policies are cached by their exact text; storage is the source of truth (several replicas
 * may share one PostgreSQL database).
 */
import { defaultPolicyFor, parsePolicy, type Policy } from '../policy/index.ts';
import { policyHash } from './claims.ts';
import { PolicyManagementError } from './errors.ts';
import {
  certThumbprint,
  MANAGEMENT_TYPE_CLAIM,
  managementBinding,
  payloadObject,
  policyTextFromPayload,
  readManagementJws,
  RESET_PAYLOAD_CLAIMS,
  signerJwk,
  unsignedPolicyJws,
  type ManagementBinding,
  type ManagementJws,
} from './management-jws.ts';
import type { AttestationStorage, AuditEntry, StoredPolicyCertificate } from './storage/index.ts';

/** Attestation types whose policies this service stores and applies. */
export const POLICY_TYPES = ['SgxEnclave', 'OpenEnclave', 'TdxVm'] as const;
export type PolicyType = (typeof POLICY_TYPES)[number];

/** A policy ready for evaluation. */
export interface EffectivePolicy {
  readonly text: string;
  readonly parsed: Policy;
  /** `x-ms-policy-hash` of the text. */
  readonly hash: string;
  /** The stored JWS, or the default wrapped unsigned. */
  readonly jws: string;
  readonly signer: Record<string, unknown> | null;
  readonly isDefault: boolean;
}

/** Clock skew tolerated when checking a management JWS's `nbf`, `iat` and `exp`, seconds. */
export const MANAGEMENT_CLOCK_SKEW_SECONDS = 60;

/** Subject of the replay/rollback ledger for certificate add/remove (types name their own). */
const CERTIFICATES_SUBJECT = 'certificates';

/** Outcome of a set/reset, for the PolicyResult token. */
export interface PolicyChangeResult {
  readonly result: 'Updated' | 'Removed';
  readonly signer: Record<string, unknown> | null;
}

/** Outcome of a certificate add/remove. */
export interface CertificateChangeResult {
  readonly thumbprint: string;
  readonly result: 'IsPresent' | 'IsAbsent';
}

/** Options of the policy service. */
export interface PolicyServiceOptions {
  readonly storage: AttestationStorage;
  readonly isolated: boolean;
  readonly now: () => Date;
  /**
   * Simulation mode picks the policy module's simulation defaults (which permit simulated
   * evidence); production defaults deny it.
   */
  readonly simulationMode: boolean;
}

/** Resolves a path segment to a known policy type. */
export function parsePolicyType(value: string): PolicyType {
  const t = POLICY_TYPES.find((x) => x.toLowerCase() === value.toLowerCase());
  if (t === undefined) {
    throw new PolicyManagementError(
      'ERR_ATTEST_POLICY_TYPE',
      `attestation type ${JSON.stringify(value.slice(0, 40))} is not supported (use ${POLICY_TYPES.join(' or ')})`,
      { field: 'attestationType' },
    );
  }
  return t;
}

/** Parses policy text, translating the policy module's syntax errors as they are (code + line:column). */
export function compilePolicy(text: string): Policy {
  return parsePolicy(text);
}

/** A policy compiled once, with the values every attestation under it needs. */
interface CompiledPolicy {
  readonly parsed: Policy;
  readonly hash: string;
  readonly unsignedJws: string;
}

export class PolicyService {
  readonly #o: PolicyServiceOptions;
  /** Compiled policies with their hash and unsigned JWS, by policy text (the hot path re-derives nothing). */
  readonly #cache = new Map<string, CompiledPolicy>();
  readonly #mode: 'simulation' | 'production';

  constructor(options: PolicyServiceOptions) {
    this.#o = options;
    this.#mode = options.simulationMode ? 'simulation' : 'production';
  }

  get isolated(): boolean {
    return this.#o.isolated;
  }

  #compiled(text: string, parsed?: Policy): CompiledPolicy {
    let c = this.#cache.get(text);
    if (c === undefined) {
      c = {
        parsed: parsed ?? compilePolicy(text),
        hash: policyHash(text),
        unsignedJws: unsignedPolicyJws(text),
      };
      if (this.#cache.size > 64) this.#cache.clear();
      this.#cache.set(text, c);
    }
    return c;
  }

  /** The policy attestations of `type` are evaluated with. */
  async effective(type: PolicyType): Promise<EffectivePolicy> {
    const stored = await this.#o.storage.getPolicy(type);
    if (stored === undefined) {
      const text = defaultPolicyFor(type, this.#mode);
      const c = this.#compiled(text);
      return {
        text,
        parsed: c.parsed,
        hash: c.hash,
        jws: c.unsignedJws,
        signer: null,
        isDefault: true,
      };
    }
    const c = this.#compiled(stored.text);
    return {
      text: stored.text,
      parsed: c.parsed,
      hash: c.hash,
      jws: stored.jws,
      signer: stored.signerJwk,
      isDefault: false,
    };
  }

  /** A draft policy (request field `draftPolicyForAttestation`): parsed, never stored. */
  draft(text: string): EffectivePolicy {
    return {
      text,
      parsed: compilePolicy(text),
      hash: policyHash(text),
      jws: unsignedPolicyJws(text),
      signer: null,
      isDefault: false,
    };
  }

  /** Checks that a management JWS is acceptable under the trust model. */
  async #authorize(jws: ManagementJws): Promise<Record<string, unknown> | null> {
    if (jws.signerCertDer === undefined) {
      if (this.#o.isolated) {
        throw new PolicyManagementError(
          'ERR_ATTEST_POLICY_UNSIGNED',
          'this instance is in isolated mode: the JWS must be signed by a policy management certificate',
        );
      }
      return null;
    }
    if (this.#o.isolated) {
      const thumb = certThumbprint(jws.signerCertDer);
      const certs = await this.#o.storage.listPolicyCertificates();
      if (!certs.some((c) => c.thumbprint === thumb)) {
        throw new PolicyManagementError(
          'ERR_ATTEST_POLICY_SIGNER_UNTRUSTED',
          'the JWS is not signed by a registered policy management certificate',
          { thumbprint: thumb },
        );
      }
    }
    return signerJwk(jws.signerCertDer);
  }

  /**
   * The rules that make a management JWS authorize one change, once (see docs/attestation.md,
   * "Security model"). Called after every other check of the body, so that a refused body is not
   * spent: nbf/exp/iat are honoured when present (all modes); a type named in the body must be
   * the path's; in isolated mode the body's iat must not be older than the latest change applied
   * to the same subject, and the body must never have been applied before — recorded atomically
   * here, before the change is written (a failed write leaves the body spent: fail closed).
   * Signed bodies are recorded in AAD mode too, so that switching an instance to isolated mode
   * does not make bodies it applied earlier replayable.
   */
  async #spend(
    jws: ManagementJws,
    binding: ManagementBinding,
    subject: string,
    operation: string,
  ): Promise<void> {
    const now = this.#o.now();
    const nowS = Math.floor(now.getTime() / 1000);
    const skew = MANAGEMENT_CLOCK_SKEW_SECONDS;
    if (binding.nbf !== undefined && binding.nbf > nowS + skew) {
      throw timeError(`the JWS is not valid before ${isoOf(binding.nbf)} (nbf)`, 'nbf');
    }
    if (binding.exp !== undefined && binding.exp < nowS - skew) {
      throw timeError(`the JWS expired at ${isoOf(binding.exp)} (exp)`, 'exp');
    }
    if (binding.iat !== undefined && binding.iat > nowS + skew) {
      throw timeError(`the JWS claims to be issued in the future, at ${isoOf(binding.iat)} (iat)`, 'iat');
    }
    if (
      binding.attestationType !== undefined &&
      subject !== CERTIFICATES_SUBJECT &&
      binding.attestationType.toLowerCase() !== subject.toLowerCase()
    ) {
      throw new PolicyManagementError(
        'ERR_ATTEST_POLICY_TYPE_MISMATCH',
        `the JWS was signed for attestation type ${JSON.stringify(binding.attestationType.slice(0, 40))} (${MANAGEMENT_TYPE_CLAIM}), not ${subject}`,
        { field: MANAGEMENT_TYPE_CLAIM, expected: subject },
      );
    }
    if (this.#o.isolated && binding.iat !== undefined) {
      const latest = await this.#latestIat(subject);
      if (latest !== undefined && Math.floor(binding.iat) < latest) {
        throw new PolicyManagementError(
          'ERR_ATTEST_POLICY_ROLLBACK',
          `the JWS was issued at ${isoOf(binding.iat)} (iat), before the latest change applied to ${subject} (${isoOf(latest)}): an older change cannot be applied over a newer one`,
          { field: 'iat', subject },
        );
      }
    }
    if (jws.signerCertDer === undefined) return;
    const first = await this.#o.storage.claimManagementJws({
      hash: jws.replayKey,
      subject,
      operation,
      iat: binding.iat === undefined ? null : Math.floor(binding.iat),
      appliedAt: now,
    });
    if (!first && this.#o.isolated) {
      throw new PolicyManagementError(
        'ERR_ATTEST_POLICY_REPLAY',
        'this signed JWS was already applied once; a signature authorizes one change — sign a new body (with the @azure/attestation SDK, an RS256 body is identical each time for the same content and key: change the policy text, use another signer, or add iat/jti to the payload)',
        { replayKey: jws.replayKey, subject },
      );
    }
  }

  /** The per-subject iat high-water mark: the ledger, and the stored policy's own JWS. */
  async #latestIat(subject: string): Promise<number | undefined> {
    let latest = await this.#o.storage.latestManagementIat(subject);
    if (subject !== CERTIFICATES_SUBJECT) {
      const stored = await this.#o.storage.getPolicy(subject);
      const iat = stored === undefined ? undefined : storedIat(stored.jws);
      if (iat !== undefined && (latest === undefined || iat > latest)) latest = iat;
    }
    return latest;
  }

  /** PUT /policies/{type}: `body` is the policy JWS text exactly as received. */
  async set(type: PolicyType, body: string, actor: string): Promise<PolicyChangeResult> {
    const jws = await readManagementJws(body, this.#o.now());
    const signer = await this.#authorize(jws);
    const text = policyTextFromPayload(jws.payload);
    const parsed = compilePolicy(text);
    await this.#spend(jws, managementBinding(payloadObject(jws.payload)), type, 'policy-set');
    const now = this.#o.now();
    await this.#o.storage.setPolicy(
      type,
      { attestationType: type, jws: jws.raw, text, signerJwk: signer, updatedAt: now },
      audit(now, 'policy-set', actor, type, `policy hash ${policyHash(text)}`),
    );
    this.#compiled(text, parsed);
    return { result: 'Updated', signer };
  }

  /**
   * POST /policies/{type}:reset: `body` is a JWS with an empty payload (what MAA clients send), or
   * a JSON object holding only the optional binding claims (`x-ccnodes-attestation-type`, `iat`,
   * `nbf`, `exp`, `jti`).
   */
  async reset(type: PolicyType, body: string, actor: string): Promise<PolicyChangeResult> {
    const jws = await readManagementJws(body, this.#o.now());
    const payload = payloadObject(jws.payload);
    const extra = Object.keys(payload).filter((k) => !RESET_PAYLOAD_CLAIMS.includes(k));
    if (extra.length > 0) {
      throw new PolicyManagementError(
        'ERR_ATTEST_POLICY_JWS',
        `a reset JWS must have an empty payload or only ${RESET_PAYLOAD_CLAIMS.join(', ')} (found ${extra
          .slice(0, 3)
          .map((k) => JSON.stringify(k.slice(0, 40)))
          .join(', ')})`,
        { field: 'body' },
      );
    }
    const signer = await this.#authorize(jws);
    await this.#spend(jws, managementBinding(payload), type, 'policy-reset');
    const now = this.#o.now();
    await this.#o.storage.setPolicy(
      type,
      undefined,
      audit(now, 'policy-reset', actor, type, 'reset to default'),
    );
    return { result: 'Removed', signer };
  }

  /** The registered policy management certificates (empty in AAD mode). */
  async certificates(): Promise<StoredPolicyCertificate[]> {
    return this.#o.isolated ? this.#o.storage.listPolicyCertificates() : [];
  }

  /** Registers initial certificates (isolated mode start-up); existing ones are kept. */
  async seedCertificates(ders: readonly Uint8Array[]): Promise<void> {
    for (const der of ders) {
      await this.#o.storage.addPolicyCertificate({
        thumbprint: certThumbprint(der),
        certDer: der,
        addedAt: this.#o.now(),
      });
    }
  }

  /** POST /certificates:add and :remove. */
  async changeCertificate(
    op: 'add' | 'remove',
    body: string,
    actor: string,
  ): Promise<CertificateChangeResult> {
    if (!this.#o.isolated) {
      throw new PolicyManagementError(
        'ERR_ATTEST_NOT_ISOLATED',
        'policy management certificates can only be changed on an instance in isolated mode',
      );
    }
    const jws = await readManagementJws(unwrapJsonString(body), this.#o.now());
    await this.#authorize(jws);
    const der = certificateFromPayload(jws.payload);
    const thumbprint = certThumbprint(der);
    if (op === 'remove') {
      // Refused before the body is spent (the storage re-checks atomically below).
      const certs = await this.#o.storage.listPolicyCertificates();
      if (certs.length <= 1 && certs.some((c) => c.thumbprint === thumbprint)) {
        throw lastSigner(thumbprint);
      }
    }
    await this.#spend(jws, managementBinding(payloadObject(jws.payload)), CERTIFICATES_SUBJECT, `cert-${op}`);
    const now = this.#o.now();
    if (op === 'add') {
      await this.#o.storage.addPolicyCertificate({ thumbprint, certDer: der, addedAt: now });
      await this.#o.storage.appendAudit(audit(now, 'cert-add', actor, thumbprint, 'added'));
      return { thumbprint, result: 'IsPresent' };
    }
    const outcome = await this.#o.storage.removePolicyCertificate(thumbprint);
    if (outcome === 'last') throw lastSigner(thumbprint);
    await this.#o.storage.appendAudit(audit(now, 'cert-remove', actor, thumbprint, outcome));
    return { thumbprint, result: 'IsAbsent' };
  }
}

function lastSigner(thumbprint: string): PolicyManagementError {
  return new PolicyManagementError(
    'ERR_ATTEST_CERT_LAST_SIGNER',
    'the last policy management certificate cannot be removed',
    { thumbprint },
  );
}

function timeError(message: string, field: string): PolicyManagementError {
  return new PolicyManagementError('ERR_ATTEST_POLICY_JWS_TIME', message, { field });
}

function isoOf(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : d.toISOString();
}

/** `iat` of a stored policy JWS's payload, if it has a numeric one (never throws). */
function storedIat(jws: string): number | undefined {
  try {
    const p = jws.split('.')[1] ?? '';
    const obj: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    const iat = (obj as { iat?: unknown } | null)?.iat;
    return typeof iat === 'number' && Number.isFinite(iat) ? iat : undefined;
  } catch {
    return undefined;
  }
}

function audit(at: Date, action: string, actor: string, subject: string, reason: string): AuditEntry {
  return { at, action, actor, subject, decision: 'allow', reason };
}

/** `certificates:add/remove` bodies are JSON string literals holding the JWS; accept a raw JWS too. */
function unwrapJsonString(body: string): string {
  const t = body.trim();
  if (!t.startsWith('"')) return t;
  try {
    const v: unknown = JSON.parse(t);
    if (typeof v === 'string') return v;
  } catch {
    // fall through
  }
  throw new PolicyManagementError('ERR_ATTEST_POLICY_JWS', 'body is not a JSON string holding a JWS', {
    field: 'body',
  });
}

const CERT_CLAIMS = [
  'policyCertificate',
  'x-ms-policyCertificate',
  'maa-policyCertificate',
  'aas-policyCertificate',
];

function certificateFromPayload(payload: Uint8Array): Uint8Array {
  let obj: unknown;
  try {
    obj = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new PolicyManagementError('ERR_ATTEST_POLICY_JWS', 'JWS payload is not JSON', { field: 'body' });
  }
  const rec = (typeof obj === 'object' && obj !== null ? obj : {}) as Record<string, unknown>;
  const jwk = CERT_CLAIMS.map((k) => rec[k]).find((v) => v !== undefined);
  const x5c = (jwk as { x5c?: unknown } | undefined)?.x5c;
  if (!Array.isArray(x5c) || typeof x5c[0] !== 'string') {
    throw new PolicyManagementError('ERR_ATTEST_POLICY_JWS', 'JWS payload lacks policyCertificate.x5c[0]', {
      field: 'policyCertificate',
    });
  }
  const der = Buffer.from(x5c[0], 'base64');
  try {
    signerJwk(der);
  } catch {
    throw new PolicyManagementError(
      'ERR_ATTEST_POLICY_JWS',
      'policyCertificate.x5c[0] is not a DER certificate',
      {
        field: 'policyCertificate',
      },
    );
  }
  return new Uint8Array(der);
}
