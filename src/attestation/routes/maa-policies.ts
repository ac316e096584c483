/**
 * MAA policy management: `GET/PUT /policies/{type}`, `POST /policies/{type}:reset`,
 * `GET /certificates`, `POST /certificates:add|:remove` (spec/maa.md §1.7). Responses are tokens
 * signed by the service, with MAA's claim names.
 */
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf, MANAGEMENT_TOKEN_LIFETIME_SECONDS, type AppContext } from '../app-context.ts';
import { parseApiVersion } from '../attest-request.ts';
import { base64url } from '../base64.ts';
import { PolicyManagementError } from '../errors.ts';
import { signerJwk } from '../management-jws.ts';
import { parsePolicyType } from '../policy-service.ts';

/** The JWS text of a management body: text/plain as is; a JSON string literal unwrapped by the parser. */
function bodyText(request: FastifyRequest): string {
  const b = request.body;
  if (typeof b === 'string') return b;
  if (Buffer.isBuffer(b)) return b.toString('utf8');
  throw new PolicyManagementError(
    'ERR_ATTEST_POLICY_JWS',
    'body must be a JWS (text/plain) or a JSON string holding one',
    {
      field: 'body',
    },
  );
}

/** base64url(SHA-256(exact received JWS)), as MAA's `x-ms-policy-token-hash`. */
function tokenHash(text: string): string {
  return base64url(createHash('sha256').update(text.trim(), 'utf8').digest());
}

export function registerPolicyRoutes(app: FastifyInstance, ctx: AppContext): void {
  const sign = (
    claims: Record<string, unknown>,
    purpose: 'policy' | 'certificates' = 'policy',
  ): Promise<string> =>
    ctx.tokens.sign(claims, { purpose, lifetimeSeconds: MANAGEMENT_TOKEN_LIFETIME_SECONDS, jti: false });
  const version = (request: FastifyRequest): void => {
    parseApiVersion((request.query as Record<string, unknown>)['api-version']);
  };
  /** AAD mode: the admin credential; isolated mode: the JWS signature (checked by the service). */
  const authorize = (request: FastifyRequest): string => {
    if (ctx.policies.isolated) return actorOf(request);
    ctx.requireAdmin(request);
    return actorOf(request, true);
  };

  app.get('/policies/:type', async (request) => {
    version(request);
    const type = parsePolicyType((request.params as { type: string }).type);
    const policy = await ctx.policies.effective(type);
    return { token: await sign({ 'x-ms-policy': policy.jws }) };
  });

  app.put('/policies/:type', async (request) => {
    version(request);
    const type = parsePolicyType((request.params as { type: string }).type);
    const actor = authorize(request);
    const body = bodyText(request);
    const result = await ctx.policies.set(type, body, actor);
    ctx.metrics.policyChanges.inc({ operation: 'set' });
    return {
      token: await sign({
        'x-ms-policy-result': result.result,
        'x-ms-policy-token-hash': tokenHash(body),
        ...(result.signer === null ? {} : { 'x-ms-policy-signer': result.signer }),
      }),
    };
  });

  // `POST /policies/{type}:reset` — the verb rides on the last path segment.
  app.post('/policies/:typeAndVerb', async (request) => {
    const segment = (request.params as { typeAndVerb: string }).typeAndVerb;
    const m = /^([^:]+):reset$/i.exec(segment);
    if (m === null) {
      throw new PolicyManagementError('ERR_ATTEST_POLICY_TYPE', 'use POST /policies/{type}:reset', {
        field: 'path',
      });
    }
    version(request);
    const type = parsePolicyType(m[1] ?? '');
    const actor = authorize(request);
    const body = bodyText(request);
    const result = await ctx.policies.reset(type, body, actor);
    ctx.metrics.policyChanges.inc({ operation: 'reset' });
    return {
      token: await sign({
        'x-ms-policy-result': result.result,
        'x-ms-policy-token-hash': tokenHash(body),
        ...(result.signer === null ? {} : { 'x-ms-policy-signer': result.signer }),
      }),
    };
  });

  app.get('/certificates', async (request) => {
    version(request);
    const certs = await ctx.policies.certificates();
    return {
      token: await sign(
        {
          'x-ms-policy-certificates': {
            keys: certs.map((c) => ({ ...signerJwk(c.certDer), kid: c.thumbprint })),
          },
        },
        'certificates',
      ),
    };
  });

  const change = (op: 'add' | 'remove') => async (request: FastifyRequest) => {
    version(request);
    const result = await ctx.policies.changeCertificate(op, bodyText(request), actorOf(request));
    ctx.metrics.policyChanges.inc({ operation: `certificate-${op}` });
    return {
      token: await sign(
        {
          'x-ms-certificate-thumbprint': result.thumbprint,
          'x-ms-policycertificates-result': result.result,
        },
        'certificates',
      ),
    };
  };
  app.post('/certificates::add', change('add'));
  app.post('/certificates::remove', change('remove'));
}
