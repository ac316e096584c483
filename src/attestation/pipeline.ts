/**
 * The attestation pipeline: evidence → verify → bindings → claims → policy → token.
 *
 * 1. Verify the quote (core verifier + collateral; simulated roots only when configured): an SGX
 *    quote for SgxEnclave/OpenEnclave, a TDX quote (the verifier's `tdx` twin) for TdxVm.
 * 2. Refuse TCB statuses below the baseline; check the runtime-data / init-time-data bindings against REPORTDATA / CONFIGID.
 * 3. Build the service claims (spec/maa.md §2.2) and hand them to the policy as incoming claims.
 * 4. Authorization rules decide (in a policy worker thread with a deadline when the service has a
 *    pool; drafts in a lane of their own); a denial is `PolicyDeniedError` naming the rule.
 * 5. Issued claims join the token; service claims and registered JWT claims cannot be overridden.
 * 6. Sign (RS256) — or, for a draft policy, return an unsigned token.
 */
import {
  claimsFromObject,
  claimsToObject,
  evaluatePolicy,
  type Claim,
  type PolicyOutcome,
} from '../policy/index.ts';
import type { AttestRequest } from './attest-request.ts';
import { checkDataBindings, legacyServiceClaims, serviceClaims, type ClaimSet } from './claims.ts';
import { EvidenceError, PolicyDeniedError } from './errors.ts';
import type { EvidenceVerifier, VerifiedEvidence, VerifiedTdxEvidence } from './evidence.ts';
import type { PolicyLane } from './policy-pool.ts';
import type { EffectivePolicy, PolicyService } from './policy-service.ts';
import { checkTdxDataBindings, tdxServiceClaims } from './tdx-claims.ts';
import { ATTESTATION_TYPE_CLAIM, type TokenIssuer } from './token-issuer.ts';

/** Claim names the policy may not issue (they are the service's or the JWT's). */
const RESERVED = new Set(['iss', 'iat', 'nbf', 'exp', 'jti', 'nonce', 'aud', 'sub', 'cnf']);

/**
 * TCB statuses accepted unless configured otherwise: the platform is patched, possibly needing
 * software hardening or configuration (reported in `x-ccnodes-tcb-status` for policies to judge).
 * Out-of-date platforms are opt-in; `Revoked` is never accepted.
 */
export const DEFAULT_ACCEPTED_TCB_STATUSES: readonly string[] = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
];

/** Result of one attestation. */
export interface AttestationOutcome {
  readonly token: string;
  readonly claims: ClaimSet;
  readonly evidence: VerifiedEvidence | VerifiedTdxEvidence;
  readonly draft: boolean;
}

/** What the pipeline needs. */
export interface PipelineDeps {
  readonly verifier: EvidenceVerifier;
  readonly policies: PolicyService;
  readonly tokens: TokenIssuer;
  /** Whether simulated evidence may be accepted at all (defence in depth behind the verifier). */
  readonly simulationMode: boolean;
  /** TCB statuses accepted (default {@link DEFAULT_ACCEPTED_TCB_STATUSES}); `Revoked` is refused regardless. */
  readonly acceptedTcbStatuses?: readonly string[];
  /**
   * Evaluates a policy off the event loop (the service's worker pool). Without it, evaluation runs
   * inline, bounded only by the policy module's step and byte budgets.
   */
  readonly evaluate?: (
    policyText: string,
    claims: readonly Claim[],
    lane: PolicyLane,
  ) => Promise<PolicyOutcome>;
}

function evaluate(
  deps: PipelineDeps,
  policy: EffectivePolicy,
  claims: readonly Claim[],
  lane: PolicyLane,
): Promise<PolicyOutcome> | PolicyOutcome {
  return deps.evaluate === undefined
    ? evaluatePolicy(policy.parsed, claims)
    : deps.evaluate(policy.text, claims, lane);
}

/** Runs one attestation; throws typed errors for every rejection. */
export async function runAttestation(
  deps: PipelineDeps,
  request: AttestRequest,
): Promise<AttestationOutcome> {
  // The draft policy is parsed first: a syntax error is reported before any evidence work.
  const draft = request.draftPolicy !== undefined ? deps.policies.draft(request.draftPolicy) : undefined;
  let evidence: VerifiedEvidence | VerifiedTdxEvidence;
  if (request.kind === 'TdxVm') {
    const tdx = deps.verifier.tdx;
    if (tdx === undefined) {
      throw new EvidenceError(
        'ERR_ATTEST_UNSUPPORTED_TEE',
        'this service has no TDX verifier configured; TdxVm attestation is unavailable',
        { field: 'quote' },
      );
    }
    evidence = await tdx(request.quote);
  } else {
    evidence = await deps.verifier(request.quote);
  }
  if (evidence.simulated && !deps.simulationMode) {
    throw new EvidenceError(
      'ERR_ATTEST_EVIDENCE_REJECTED',
      'the quote chains to the ccnodes simulated root, which this service does not trust',
    );
  }
  const accepted = deps.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES;
  if (evidence.tcbStatus === 'Revoked' || !accepted.includes(evidence.tcbStatus)) {
    throw new EvidenceError(
      'ERR_ATTEST_TCB_REJECTED',
      `the platform TCB status ${evidence.tcbStatus} does not meet this service's baseline (accepted: ${accepted.filter((x) => x !== 'Revoked').join(', ')})`,
      { tcbStatus: evidence.tcbStatus },
    );
  }
  if ('td' in evidence) checkTdxDataBindings(request, evidence);
  else checkDataBindings(request, evidence);
  const policy = draft ?? (await deps.policies.effective(request.kind));
  const signed = { hash: policy.hash, signer: policy.signer };
  const service =
    'td' in evidence ? tdxServiceClaims(request, evidence, signed) : serviceClaims(request, evidence, signed);
  const lane = draft === undefined ? 'stored' : 'draft';
  const outcome = await evaluate(deps, policy, claimsFromObject(service), lane);
  if (!outcome.permitted) {
    throw new PolicyDeniedError(
      `A Deny claim was issued, authorization failed: ${outcome.reason ?? 'no permit() rule matched'}`,
      // The refused identity, for the audit line (the caller sent this evidence: nothing new to it).
      { reason: outcome.reason, ...refusedIdentity(service) },
    );
  }
  const issued = claimsToObject(outcome.issued);
  const claims: ClaimSet = {};
  for (const [k, v] of Object.entries(issued)) if (!RESERVED.has(k) && !(k in service)) claims[k] = v;
  // The legacy duplicates (maa-ehd, maa-attestationcollateral, …) are SGX-only, as in MAA.
  Object.assign(claims, service, 'td' in evidence ? {} : legacyServiceClaims(service));
  if (request.nonce !== undefined) claims['nonce'] = request.nonce;
  // The policy the token was issued under: its type here (its hash is x-ms-policy-hash), set after
  // the policy's own claims so that no policy can issue another type.
  claims[ATTESTATION_TYPE_CLAIM] = request.kind;
  const token =
    draft !== undefined
      ? deps.tokens.unsigned(claims)
      : await deps.tokens.sign(claims, { purpose: 'attestation' });
  return { token, claims, evidence, draft: draft !== undefined };
}

/** MRENCLAVE/MRSIGNER (SGX) or MRTD (TDX) of the service claims, for a policy denial's details. */
function refusedIdentity(service: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, claim] of [
    ['mrenclave', 'x-ms-sgx-mrenclave'],
    ['mrsigner', 'x-ms-sgx-mrsigner'],
    ['mrtd', 'tdx_mrtd'],
  ] as const) {
    const v = service[claim];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}
