/** MAA data plane: attest endpoints, `/certs`, OpenID discovery (spec/maa.md §1.2–§1.6). */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isCcnodesError } from '../../errors/index.ts';
import { actorOf, type AppContext } from '../app-context.ts';
import { parseApiVersion, parseAttestRequest, type EvidenceKind } from '../attest-request.ts';
import { AttestRequestError } from '../errors.ts';
import { runAttestation } from '../pipeline.ts';
import { TDX_CLAIM_NAMES } from '../tdx-claims.ts';
import { subjectOf, withIdentity } from '../secrets.ts';

/**
 * Every claim an attestation token of this service can carry under the default policies (the JWT's
 * own, `nonce`, the service claims and their legacy duplicates, the default policies' issued
 * claims), after MAA's own list (whose TPM/VBS names ccnodes never issues but keeps for parity).
 * Claims a custom policy issues are that policy's and are not listed. TdxVm tokens add the TDX
 * claims of tdx-claims.ts.
 * test/attestation/openid-claims-supported.test.ts compares it with real tokens.
 */
const CLAIMS_SUPPORTED = [
  'is-debuggable',
  'sgx-mrsigner',
  'sgx-mrenclave',
  'product-id',
  'svn',
  'tee',
  'device_id',
  'component_0_id',
  'expected_components',
  'x-ms-ver',
  'x-ms-attestation-type',
  'x-ms-policy-hash',
  'x-ms-sgx-is-debuggable',
  'x-ms-sgx-mrenclave',
  'x-ms-sgx-mrsigner',
  'x-ms-sgx-product-id',
  'x-ms-sgx-svn',
  'x-ms-sgx-report-data',
  'x-ms-sgx-ehd',
  'x-ms-sgx-collateral',
  'x-ms-runtime',
  'x-ms-inittime',
  'x-ccnodes-tcb-status',
  'x-ccnodes-advisory-ids',
  'x-ccnodes-simulated',
  'x-ccnodes-relaxations',
  'x-ccnodes-attestation-type',
  'x-ccnodes-token-purpose',
  'x-ms-policy-signer',
  'x-ms-sgx-config-id',
  'x-ms-sgx-config-svn',
  'x-ms-sgx-isv-extended-product-id',
  'x-ms-sgx-isv-family-id',
  'maa-ehd',
  'aas-ehd',
  'maa-attestationcollateral',
  // TdxVm tokens (docs/tdx.md §2).
  ...TDX_CLAIM_NAMES,
  'nonce',
  'iss',
  'iat',
  'nbf',
  'exp',
  'jti',
];

function outcomeOf(err: unknown): string {
  if (!isCcnodesError(err)) return 'error';
  if (err.code === 'ERR_ATTEST_POLICY_DENIED') return 'denied';
  return err.code.startsWith('ERR_STORAGE') ? 'error' : 'rejected';
}

/** ` (mrenclave:<hex> mrsigner:<hex>)` from a policy denial's details, '' otherwise. */
function deniedIdentity(details: Readonly<Record<string, unknown>> | undefined): string {
  const parts = ['mrenclave', 'mrsigner', 'mrtd']
    .map((k) => [k, details?.[k]] as const)
    .filter((kv): kv is readonly [string, string] => typeof kv[1] === 'string' && /^[0-9a-f]+$/.test(kv[1]))
    .map(([k, v]) => `${k}:${v}`);
  return parts.length === 0 ? '' : ` (${parts.join(' ')})`;
}

export function registerAttestRoutes(app: FastifyInstance, ctx: AppContext): void {
  const attest = async (request: FastifyRequest, kind: EvidenceKind): Promise<{ token: string }> => {
    const started = performance.now();
    const query = request.query as Record<string, unknown>;
    try {
      const apiVersion = parseApiVersion(query['api-version']);
      const parsed = parseAttestRequest(request.body, kind, apiVersion);
      if (parsed.draftPolicy !== undefined) ctx.limitDrafts(request);
      const out = await runAttestation(ctx.pipeline, parsed);
      ctx.metrics.attestations.inc({ endpoint: kind, outcome: out.draft ? 'draft' : 'issued' });
      await ctx.audit({
        action: 'attest',
        actor: actorOf(request),
        subject: subjectOf(out.claims),
        decision: 'allow',
        reason: withIdentity(
          `${out.draft ? 'draft policy, unsigned token' : 'token issued'}; tcb ${out.evidence.tcbStatus}${out.evidence.simulated ? '; simulated' : ''}`,
          out.claims,
        ),
      });
      return { token: out.token };
    } catch (err) {
      ctx.metrics.attestations.inc({ endpoint: kind, outcome: outcomeOf(err) });
      await ctx
        .audit({
          action: 'attest',
          actor: actorOf(request),
          subject: kind,
          decision: 'deny',
          // A policy denial names the enclave it refused (the pipeline puts its identity in the details).
          reason: isCcnodesError(err)
            ? `${err.code}: ${err.message}${deniedIdentity(err.details)}`
            : 'internal error',
        })
        .catch(() => undefined);
      throw err;
    } finally {
      ctx.metrics.attestDuration.observe({ endpoint: kind }, (performance.now() - started) / 1000);
    }
  };

  app.post('/attest/SgxEnclave', (request) => attest(request, 'SgxEnclave'));
  app.post('/attest/OpenEnclave', (request) => attest(request, 'OpenEnclave'));
  app.post('/attest/TdxVm', (request) => attest(request, 'TdxVm'));
  app.post('/attest/:type', (request) => {
    const { type } = request.params as { type: string };
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_REQUEST',
      `attestation type ${JSON.stringify(type.slice(0, 40))} is not supported by this service (SgxEnclave, OpenEnclave, TdxVm)`,
      { field: 'attestationType' },
    );
  });

  const certs = async (): Promise<unknown> => {
    await ctx.keys.refresh();
    return ctx.keys.jwks();
  };
  app.get('/certs', certs);
  app.get('/certs/', certs);

  app.get('/.well-known/openid-configuration', () => ({
    issuer: ctx.issuer,
    jwks_uri: `${ctx.issuer}/certs`,
    response_types_supported: ['token', 'none'],
    id_token_signing_alg_values_supported: ['RS256'],
    // No `revocation_endpoint`: MAA lists one, but attestation tokens cannot be revoked here (or
    // there), so advertising a URL that 404s only misleads discovery clients. Every URL in this
    // object is served.
    claims_supported: CLAIMS_SUPPORTED,
  }));
}
