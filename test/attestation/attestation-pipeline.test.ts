/**
 * `runAttestation` (pipeline.ts) specified step by step with its collaborators replaced by
 * recording stand-ins: the verifier returns chosen evidence (the EvidenceVerifier seam), the policy
 * service returns parsed policy texts, and the token issuer records what it is asked to sign. The
 * policy language itself is the real one. What the pipeline must do: refuse simulated evidence
 * unless in simulation mode; refuse TCB statuses outside the accepted list and `Revoked` always;
 * check the data bindings; parse a draft policy before any evidence work; deny with the rule; keep
 * service and registered claims out of the policy's reach; sign (or, for a draft, not sign).
 * The HTTP tests (attest-api, accept-tcb-status, token-claims-values) show the same end to end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parsePolicy, type Claim } from '../../src/policy/index.ts';
import { policyHash } from '../../src/attestation/index.ts';
import {
  DEFAULT_ACCEPTED_TCB_STATUSES,
  runAttestation,
  type PipelineDeps,
} from '../../src/attestation/pipeline.ts';
import type { AttestData, AttestRequest } from '../../src/attestation/attest-request.ts';
import type { VerifiedEvidence } from '../../src/attestation/evidence.ts';
import type { EffectivePolicy, PolicyService } from '../../src/attestation/policy-service.ts';
import type { TokenIssuer } from '../../src/attestation/token-issuer.ts';
import type { PolicyLane } from '../../src/attestation/policy-pool.ts';
import { TEST_COLLATERAL, enclaveReport } from './evidence-fixtures.ts';

const PERMIT = 'version=1.0; authorizationrules { => permit(); }; issuancerules { };';

function evidence(o: Partial<VerifiedEvidence> = {}): VerifiedEvidence {
  return {
    report: enclaveReport(),
    tcbStatus: 'UpToDate',
    advisoryIds: [],
    simulated: false,
    relaxations: [],
    collateral: TEST_COLLATERAL,
    ...o,
  };
}

function request(o: Partial<AttestRequest> = {}): AttestRequest {
  return { kind: 'SgxEnclave', apiVersion: '2022-08-01', quote: new Uint8Array([1, 2, 3]), ...o };
}

function effective(text: string, signer: Record<string, unknown> | null = null): EffectivePolicy {
  return { text, parsed: parsePolicy(text), hash: policyHash(text), jws: '', signer, isDefault: false };
}

interface Recorder {
  verified: number;
  signed: { claims: Record<string, unknown>; purpose: string }[];
  unsigned: Record<string, unknown>[];
  lanes: PolicyLane[];
}

function deps(
  o: {
    evidence?: VerifiedEvidence;
    stored?: string;
    signer?: Record<string, unknown> | null;
    simulationMode?: boolean;
    acceptedTcbStatuses?: readonly string[];
    pool?: boolean;
  } = {},
): { deps: PipelineDeps; rec: Recorder } {
  const rec: Recorder = { verified: 0, signed: [], unsigned: [], lanes: [] };
  const policies = {
    effective: (): Promise<EffectivePolicy> =>
      Promise.resolve(effective(o.stored ?? PERMIT, o.signer ?? null)),
    draft: (text: string): EffectivePolicy => effective(text),
  } as unknown as PolicyService;
  const tokens = {
    sign: (claims: Record<string, unknown>, options: { purpose: string }): Promise<string> => {
      rec.signed.push({ claims, purpose: options.purpose });
      return Promise.resolve('signed-token');
    },
    unsigned: (claims: Record<string, unknown>): string => {
      rec.unsigned.push(claims);
      return 'unsigned-token';
    },
  } as unknown as TokenIssuer;
  const d: PipelineDeps = {
    verifier: () => {
      rec.verified++;
      return Promise.resolve(o.evidence ?? evidence());
    },
    policies,
    tokens,
    simulationMode: o.simulationMode ?? false,
    ...(o.acceptedTcbStatuses === undefined ? {} : { acceptedTcbStatuses: o.acceptedTcbStatuses }),
    ...(o.pool === true
      ? {
          evaluate: async (text: string, claims: readonly Claim[], lane: PolicyLane) => {
            rec.lanes.push(lane);
            const { evaluatePolicy } = await import('../../src/policy/index.ts');
            return evaluatePolicy(parsePolicy(text), claims);
          },
        }
      : {}),
  };
  return { deps: d, rec };
}

async function refusal(run: Promise<unknown>): Promise<{ code: string; details: Record<string, unknown> }> {
  try {
    await run;
  } catch (e) {
    const err = e as { code?: unknown; details?: Record<string, unknown> };
    assert.equal(typeof err.code, 'string', String(e));
    return { code: err.code as string, details: err.details ?? {} };
  }
  assert.fail('the attestation was accepted');
}

// --- evidence gates ----------------------------------------------------------------------------

test('simulated evidence is refused unless the service is in simulation mode', async () => {
  const sim = evidence({ simulated: true });
  assert.equal(
    (await refusal(runAttestation(deps({ evidence: sim }).deps, request()))).code,
    'ERR_ATTEST_EVIDENCE_REJECTED',
  );
  const out = await runAttestation(deps({ evidence: sim, simulationMode: true }).deps, request());
  assert.equal(out.claims['x-ccnodes-simulated'], true);
});

test('the default TCB baseline accepts the patched statuses and refuses out-of-date and revoked ones', async () => {
  assert.deepEqual(DEFAULT_ACCEPTED_TCB_STATUSES, [
    'UpToDate',
    'SWHardeningNeeded',
    'ConfigurationNeeded',
    'ConfigurationAndSWHardeningNeeded',
  ]);
  for (const status of DEFAULT_ACCEPTED_TCB_STATUSES) {
    const out = await runAttestation(deps({ evidence: evidence({ tcbStatus: status }) }).deps, request());
    assert.equal(out.claims['x-ccnodes-tcb-status'], status);
  }
  for (const status of ['OutOfDate', 'OutOfDateConfigurationNeeded', 'Revoked']) {
    const r = await refusal(
      runAttestation(deps({ evidence: evidence({ tcbStatus: status }) }).deps, request()),
    );
    assert.equal(r.code, 'ERR_ATTEST_TCB_REJECTED', status);
    assert.equal(r.details['tcbStatus'], status);
  }
});

test('acceptedTcbStatuses replaces the baseline, but Revoked is refused even when listed', async () => {
  const accepted = ['OutOfDate', 'Revoked'];
  const ok = await runAttestation(
    deps({ evidence: evidence({ tcbStatus: 'OutOfDate' }), acceptedTcbStatuses: accepted }).deps,
    request(),
  );
  assert.equal(ok.claims['x-ccnodes-tcb-status'], 'OutOfDate');
  for (const status of ['UpToDate', 'Revoked']) {
    const r = await refusal(
      runAttestation(
        deps({ evidence: evidence({ tcbStatus: status }), acceptedTcbStatuses: accepted }).deps,
        request(),
      ),
    );
    assert.equal(r.code, 'ERR_ATTEST_TCB_REJECTED', status);
  }
});

test('runtimeData must be bound to REPORTDATA before any policy runs', async () => {
  const runtimeData: AttestData = { bytes: new Uint8Array([9, 9]), dataType: 'Binary' };
  const r = await refusal(runAttestation(deps({ pool: true }).deps, request({ runtimeData })));
  assert.equal(r.code, 'ERR_ATTEST_REPORT_DATA_MISMATCH');
  const reportData = new Uint8Array(64);
  reportData.set(createHash('sha256').update(runtimeData.bytes).digest(), 0);
  const out = await runAttestation(
    deps({ evidence: evidence({ report: enclaveReport({ reportData }) }) }).deps,
    request({ runtimeData }),
  );
  assert.equal(out.claims['x-ms-sgx-ehd'], 'CQk');
});

// --- policy ------------------------------------------------------------------------------------

test('a draft policy with a syntax error is refused before the evidence is verified', async () => {
  const { deps: d, rec } = deps();
  await assert.rejects(runAttestation(d, request({ draftPolicy: 'version=1.0; authorizationrules {' })));
  assert.equal(rec.verified, 0);
});

test('a denying policy refuses with ERR_ATTEST_POLICY_DENIED naming the rule', async () => {
  const stored = 'version=1.0; authorizationrules { => deny(); }; issuancerules { };';
  const r = await refusal(runAttestation(deps({ stored }).deps, request()));
  assert.equal(r.code, 'ERR_ATTEST_POLICY_DENIED');
  assert.match(String(r.details['reason']), /deny\(\)/);
});

test('a policy with no permit() refuses too', async () => {
  const stored = 'version=1.0; authorizationrules { [type=="nothing"] => permit(); }; issuancerules { };';
  assert.equal(
    (await refusal(runAttestation(deps({ stored }).deps, request()))).code,
    'ERR_ATTEST_POLICY_DENIED',
  );
});

test('the stored policy is evaluated in the stored lane and signed as an attestation token', async () => {
  const { deps: d, rec } = deps({ pool: true, signer: { kty: 'RSA' } });
  const out = await runAttestation(d, request({ nonce: 'n-1' }));
  assert.deepEqual(rec.lanes, ['stored']);
  assert.equal(out.token, 'signed-token');
  assert.equal(out.draft, false);
  assert.equal(rec.signed.length, 1);
  assert.equal(rec.signed[0]?.purpose, 'attestation');
  assert.equal(rec.unsigned.length, 0);
  assert.equal(out.claims['x-ms-policy-hash'], policyHash(PERMIT));
  assert.deepEqual(out.claims['x-ms-policy-signer'], { kty: 'RSA' });
  assert.equal(out.claims['nonce'], 'n-1');
});

test('a draft policy is evaluated in the draft lane, and its token is not signed', async () => {
  const draftPolicy =
    'version=1.0; authorizationrules { => permit(); }; issuancerules { => issue(type="d", value=true); };';
  const { deps: d, rec } = deps({ pool: true });
  const out = await runAttestation(d, request({ draftPolicy }));
  assert.deepEqual(rec.lanes, ['draft']);
  assert.equal(out.token, 'unsigned-token');
  assert.equal(out.draft, true);
  assert.equal(rec.signed.length, 0);
  assert.equal(out.claims['d'], true);
  assert.equal(out.claims['x-ms-policy-hash'], policyHash(draftPolicy));
});

test('without a pool the policy is evaluated inline with the same result', async () => {
  const stored =
    'version=1.0; authorizationrules { => permit(); }; issuancerules { c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value); };';
  const out = await runAttestation(deps({ stored }).deps, request());
  assert.equal(out.claims['svn'], 3);
});

test('issued claims join the token; service, registered and type claims cannot be overridden', async () => {
  const stored = `version=1.0; authorizationrules { => permit(); }; issuancerules {
    => issue(type="custom", value="c");
    => issue(type="x-ms-sgx-mrsigner", value="forged");
    => issue(type="iss", value="forged");
    => issue(type="exp", value=1);
    => issue(type="nonce", value="forged");
    => issue(type="cnf", value="forged");
    => issue(type="x-ccnodes-attestation-type", value="OpenEnclave");
  };`;
  const { deps: d, rec } = deps({ stored });
  const out = await runAttestation(d, request());
  assert.equal(out.claims['custom'], 'c');
  assert.equal(out.claims['x-ms-sgx-mrsigner'], 'cd'.repeat(32));
  for (const k of ['iss', 'exp', 'nonce', 'cnf']) assert.equal(k in out.claims, false, k);
  assert.equal(out.claims['x-ccnodes-attestation-type'], 'SgxEnclave');
  assert.deepEqual(rec.signed[0]?.claims, out.claims);
});

test('the token carries the legacy duplicates of the service claims', async () => {
  const out = await runAttestation(deps().deps, request());
  assert.deepEqual(out.claims['maa-attestationcollateral'], out.claims['x-ms-sgx-collateral']);
  assert.equal(out.claims['x-ccnodes-attestation-type'], 'SgxEnclave');
  const oe = await runAttestation(deps().deps, request({ kind: 'OpenEnclave' }));
  assert.equal(oe.claims['x-ccnodes-attestation-type'], 'OpenEnclave');
});
