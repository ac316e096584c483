/**
 * Our additions under `/ccnodes/v1/…`: health, Prometheus metrics, audit log, secrets (admin) and
 * secret release (enclaves), signing-key rotation (admin).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isCcnodesError } from '../../errors/index.ts';
import { actorOf, type AppContext } from '../app-context.ts';
import { parseAttestRequest } from '../attest-request.ts';
import { decodeBase64Field } from '../base64.ts';
import type { ClaimSet } from '../claims.ts';
import { AttestRequestError, SecretReleaseError } from '../errors.ts';
import { runAttestation } from '../pipeline.ts';
import { parseReleasePolicy } from '../release-policy.ts';
import { checkSecretName, subjectOf, withIdentity } from '../secrets.ts';

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', 'request body must be a JSON object', {
      field: 'body',
    });
  }
  return b as Record<string, unknown>;
}

/**
 * The attestation type of an inline release: `attestationType` "SgxEnclave" (default) or "TdxVm"
 * (the quote is then a TDX quote, attested under the TdxVm policy).
 */
function releaseEvidenceKind(b: Record<string, unknown>): 'SgxEnclave' | 'TdxVm' {
  const t = b['attestationType'];
  if (t === undefined || t === null) return 'SgxEnclave';
  if (typeof t === 'string' && t.toLowerCase() === 'sgxenclave') return 'SgxEnclave';
  if (typeof t === 'string' && t.toLowerCase() === 'tdxvm') return 'TdxVm';
  throw new AttestRequestError(
    'ERR_ATTEST_BAD_REQUEST',
    'attestationType of an inline release must be "SgxEnclave" or "TdxVm"',
    { field: 'attestationType' },
  );
}

export function registerCcnodesRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/ccnodes/v1/health', () => ({
    status: 'ok',
    storage: ctx.storage.backend,
    simulationMode: ctx.simulationMode,
    isolated: ctx.policies.isolated,
    signingKey: ctx.keys.active.kid,
  }));

  app.get('/ccnodes/v1/metrics', async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  app.get('/ccnodes/v1/audit', async (request) => {
    ctx.requireAdmin(request);
    const q = request.query as Record<string, unknown>;
    const limit = Math.min(1000, Math.max(1, Number(q['limit'] ?? 100) || 100));
    const before = q['before'] === undefined ? undefined : Number(q['before']);
    const entries = await ctx.storage.listAudit({
      limit,
      ...(before !== undefined && Number.isSafeInteger(before) ? { beforeId: before } : {}),
    });
    return { entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) };
  });

  app.post('/ccnodes/v1/signing-keys:rotate', async (request) => {
    ctx.requireAdmin(request);
    const kid = await ctx.keys.rotate();
    await ctx.audit({
      action: 'key-rotate',
      actor: actorOf(request, true),
      subject: kid,
      decision: 'allow',
      reason: 'rotated',
    });
    return { kid };
  });

  app.get('/ccnodes/v1/secrets', async (request) => {
    ctx.requireAdmin(request);
    const list = await ctx.secrets.list();
    return {
      secrets: list.map((s) => ({
        name: s.name,
        contentType: s.contentType,
        releasePolicy: JSON.parse(s.releasePolicy) as unknown,
        createdAt: s.createdAt.toISOString(),
        updatedAt: s.updatedAt.toISOString(),
      })),
    };
  });

  app.put('/ccnodes/v1/secrets/:name', async (request, reply) => {
    ctx.requireAdmin(request);
    const name = checkSecretName((request.params as { name: string }).name);
    const b = objectBody(request);
    const value = decodeBase64Field(b['value'], 'value');
    const contentType = typeof b['contentType'] === 'string' ? b['contentType'] : 'application/octet-stream';
    parseReleasePolicy(b['releasePolicy']);
    await ctx.secrets.put(name, value, contentType, b['releasePolicy'], b['attestationType']);
    await ctx.audit({
      action: 'secret-put',
      actor: actorOf(request, true),
      subject: name,
      decision: 'allow',
      reason: 'stored',
    });
    reply.code(201);
    return { name, contentType };
  });

  app.delete('/ccnodes/v1/secrets/:name', async (request, reply) => {
    ctx.requireAdmin(request);
    const name = (request.params as { name: string }).name;
    if (!(await ctx.secrets.delete(name))) {
      throw new SecretReleaseError('ERR_SECRET_NOT_FOUND', `no secret named ${name}`, { name });
    }
    await ctx.audit({
      action: 'secret-delete',
      actor: actorOf(request, true),
      subject: name,
      decision: 'allow',
      reason: 'deleted',
    });
    reply.code(204);
    return null;
  });

  /**
   * Release: body `{token}` (a fresh token of this service) or `{quote, runtimeData, initTimeData,
   * attestationType?}` (attested inline with the stored policy of SgxEnclave, or TdxVm for a TD
   * quote; draft policies are refused here).
   */
  app.post('/ccnodes/v1/secrets/:name/release', async (request) => {
    const name = (request.params as { name: string }).name;
    const b = objectBody(request);
    let claims: ClaimSet | undefined;
    let subject = name;
    try {
      if (typeof b['token'] === 'string') {
        claims = await ctx.secrets.verifyToken(b['token']);
      } else if (b['quote'] !== undefined) {
        if (b['draftPolicyForAttestation'] !== undefined) {
          throw new AttestRequestError(
            'ERR_ATTEST_BAD_REQUEST',
            'draft policies cannot be used to release secrets',
            {
              field: 'draftPolicyForAttestation',
            },
          );
        }
        claims = (
          await runAttestation(ctx.pipeline, parseAttestRequest(b, releaseEvidenceKind(b), '2025-06-01'))
        ).claims;
      } else {
        throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', 'release needs "token" or "quote"', {
          field: 'body',
        });
      }
      subject = `${name} → ${subjectOf(claims)}`;
      const released = await ctx.secrets.release(name, claims);
      ctx.metrics.releases.inc({ decision: 'released' });
      await ctx.audit({
        action: 'secret-release',
        actor: actorOf(request),
        subject,
        decision: 'allow',
        reason: withIdentity(`released as ${released.alg}`, claims),
      });
      return released;
    } catch (err) {
      ctx.metrics.releases.inc({ decision: 'refused' });
      await ctx
        .audit({
          action: 'secret-release',
          actor: actorOf(request),
          subject,
          decision: 'deny',
          reason: withIdentity(
            isCcnodesError(err) ? `${err.code}: ${err.message}` : 'internal error',
            claims,
          ),
        })
        .catch(() => undefined);
      throw err;
    }
  });
}
