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
  policyTextFromPayload,
  readManagementJws,
  signerJwk,
  unsignedPolicyJws,
  type ManagementJws,
} from './management-jws.ts';
import type { AttestationStorage, AuditEntry, StoredPolicyCertificate } from './storage/index.ts';

/** Attestation types whose policies this service stores and applies. */
export const POLICY_TYPES = ['SgxEnclave', 'OpenEnclave'] as const;
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

  /** PUT /policies/{type}: `body` is the policy JWS text exactly as received. */
  async set(type: PolicyType, body: string, actor: string): Promise<PolicyChangeResult> {
    const jws = await readManagementJws(body, this.#o.now());
    const signer = await this.#authorize(jws);
    const text = policyTextFromPayload(jws.payload);
    const parsed = compilePolicy(text);
    const now = this.#o.now();
    await this.#o.storage.setPolicy(
      type,
      { attestationType: type, jws: jws.raw, text, signerJwk: signer, updatedAt: now },
      audit(now, 'policy-set', actor, type, `policy hash ${policyHash(text)}`),
    );
    this.#compiled(text, parsed);
    return { result: 'Updated', signer };
  }

  /** POST /policies/{type}:reset: `body` is a JWS with an empty payload. */
  async reset(type: PolicyType, body: string, actor: string): Promise<PolicyChangeResult> {
    const jws = await readManagementJws(body, this.#o.now());
    if (jws.payload.length !== 0) {
      throw new PolicyManagementError('ERR_ATTEST_POLICY_JWS', 'a reset JWS must have an empty payload', {
        field: 'body',
      });
    }
    const signer = await this.#authorize(jws);
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
    const now = this.#o.now();
    if (op === 'add') {
      await this.#o.storage.addPolicyCertificate({ thumbprint, certDer: der, addedAt: now });
      await this.#o.storage.appendAudit(audit(now, 'cert-add', actor, thumbprint, 'added'));
      return { thumbprint, result: 'IsPresent' };
    }
    const outcome = await this.#o.storage.removePolicyCertificate(thumbprint);
    if (outcome === 'last') {
      throw new PolicyManagementError(
        'ERR_ATTEST_CERT_LAST_SIGNER',
        'the last policy management certificate cannot be removed',
        {
          thumbprint,
        },
      );
    }
    await this.#o.storage.appendAudit(audit(now, 'cert-remove', actor, thumbprint, outcome));
    return { thumbprint, result: 'IsAbsent' };
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
