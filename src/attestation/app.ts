/**
 * `buildApp(deps)`: the attestation service as a Fastify instance, without `listen` (the CLI and
 * tests decide where it runs). Wire format: Microsoft Azure Attestation's data plane; our own
 * additions under `/ccnodes/v1/…`. Errors leave through exactly one handler (`http-errors.ts`).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { SecureContextOptions } from 'node:tls';
import { createAdminCheck } from './admin-auth.ts';
import type { AppContext } from './app-context.ts';
import { isCcnodesError } from '../errors/index.ts';
import {
  DEFAULT_HTTP_LIMITS,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  type HttpLimits,
} from '../http-limits/index.ts';
import { AttestConfigError } from './errors.ts';
import type { EvidenceVerifier } from './evidence.ts';
import { toHttpError } from './http-errors.ts';
import type { KeyEncryptionKey } from './kek.ts';
import { createMetrics, type ServiceMetrics } from './metrics.ts';
import { PolicyEvaluatorPool, type PolicyPoolOptions } from './policy-pool.ts';
import { PolicyService } from './policy-service.ts';
import { DEFAULT_DRAFT_RATE_LIMIT, RateLimiter, type RateLimitOptions } from './rate-limit.ts';
import { registerCcnodesRoutes } from './routes/ccnodes.ts';
import { registerAttestRoutes } from './routes/maa-attest.ts';
import { registerPolicyRoutes } from './routes/maa-policies.ts';
import { SecretService } from './secrets.ts';
import type { SigningKeyRing } from './signing-keys.ts';
import type { AttestationStorage, AuditEntry } from './storage/index.ts';
import { TokenIssuer } from './token-issuer.ts';

/** The `attestation serve` flag of each connection limit (the field an option error names). */
const LIMIT_FLAGS: Readonly<Record<keyof HttpLimits, string>> = {
  requestTimeoutMs: 'request-timeout',
  headerTimeoutMs: 'header-timeout',
  idleTimeoutMs: 'idle-timeout',
  maxConnections: 'max-connections',
};

/** Default attestation token lifetime: 8 hours, as MAA's samples. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 8 * 3600;
/** Default request body limit (quotes are ~5 KiB; runtime data and policies are small). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Everything the app needs, injected. */
export interface AttestationAppDeps {
  readonly storage: AttestationStorage;
  readonly kek: KeyEncryptionKey;
  readonly keys: SigningKeyRing;
  /** Public base URL = token `iss` (no trailing slash). */
  readonly issuer: string;
  readonly verifier: EvidenceVerifier;
  /** True when simulated evidence may be trusted (`--trust-simulated-root`). */
  readonly simulationMode: boolean;
  /** TCB statuses accepted (default: UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded). */
  readonly acceptedTcbStatuses?: readonly string[];
  /** Isolated trust model: policy changes must be signed by a policy management certificate. */
  readonly isolated?: boolean;
  /** Admin bearer token for management calls; without one, AAD-mode management is closed. */
  readonly adminToken?: string;
  readonly tokenLifetimeSeconds?: number;
  /** Oldest token accepted for secret release (seconds since `iat`). */
  readonly releaseTokenMaxAgeSeconds?: number;
  readonly now?: () => Date;
  readonly bodyLimit?: number;
  readonly logger?: FastifyServerOptions['logger'];
  /** A ready logger (pino) instead of `logger` options. */
  readonly loggerInstance?: FastifyBaseLogger;
  readonly metrics?: ServiceMetrics;
  /** Aggregates repeated identical audit failures (storage/audit.ts); every line is written when absent. */
  readonly auditSampler?: { append(entry: AuditEntry): Promise<void> };
  /** TLS key and certificate; plain HTTP when absent. */
  readonly https?: SecureContextOptions;
  /** Connection timeouts and limit (defaults {@link DEFAULT_HTTP_LIMITS}). */
  readonly httpLimits?: HttpLimits;
  /**
   * Policy evaluation in worker threads with a wall-clock deadline (default: on, 1 s, one worker
   * for stored policies and one for drafts); `prewarm` starts the workers with the app instead of
   * on first use. `false` evaluates on the event loop (bounded by work budgets only).
   */
  readonly policyEvaluation?: (PolicyPoolOptions & { readonly prewarm?: boolean }) | false;
  /** Draft-policy attestations per client address (default 30 a minute, burst 10; perMinute 0 = off). */
  readonly draftRateLimit?: RateLimitOptions;
}

/** Normalises and checks the issuer URL: http(s), no query/fragment, no trailing slash. */
export function normalizeIssuer(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AttestConfigError(`public URL ${JSON.stringify(url)} is not a URL`, { field: 'public-url' });
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.search !== '' || u.hash !== '') {
    throw new AttestConfigError('public URL must be http(s)://host[:port][/path] without query or fragment', {
      field: 'public-url',
    });
  }
  return u.toString().replace(/\/+$/, '');
}

/** Builds the service. Call `await app.ready()` or `app.listen(...)`; `app.close()` does not close storage. */
export function buildApp(deps: AttestationAppDeps): FastifyInstance {
  const issuer = normalizeIssuer(deps.issuer);
  const now = deps.now ?? ((): Date => new Date());
  const metrics = deps.metrics ?? createMetrics();
  const tokens = new TokenIssuer({
    issuer,
    keys: deps.keys,
    lifetimeSeconds: deps.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS,
    now,
  });
  const policies = new PolicyService({
    storage: deps.storage,
    isolated: deps.isolated ?? false,
    simulationMode: deps.simulationMode,
    now,
  });
  const secrets = new SecretService({
    storage: deps.storage,
    kek: deps.kek,
    keys: deps.keys,
    issuer,
    now,
    ...(deps.releaseTokenMaxAgeSeconds === undefined
      ? {}
      : { maxTokenAgeSeconds: deps.releaseTokenMaxAgeSeconds }),
  });
  const adminCheck = createAdminCheck(deps.adminToken);
  const pool = deps.policyEvaluation === false ? undefined : new PolicyEvaluatorPool(deps.policyEvaluation);
  const draftLimiter = new RateLimiter(deps.draftRateLimit ?? DEFAULT_DRAFT_RATE_LIMIT);
  const ctx: AppContext = {
    issuer,
    storage: deps.storage,
    keys: deps.keys,
    tokens,
    policies,
    secrets,
    pipeline: {
      verifier: deps.verifier,
      policies,
      tokens,
      simulationMode: deps.simulationMode,
      ...(deps.acceptedTcbStatuses === undefined ? {} : { acceptedTcbStatuses: deps.acceptedTcbStatuses }),
      ...(pool === undefined ? {} : { evaluate: pool.evaluate.bind(pool) }),
    },
    limitDrafts: (request) => {
      draftLimiter.take(request.ip, 'draft-policy attestations');
    },
    metrics,
    simulationMode: deps.simulationMode,
    now,
    requireAdmin: (request) => {
      adminCheck(request.headers.authorization);
    },
    audit: (entry) =>
      (deps.auditSampler ?? { append: (e: AuditEntry) => deps.storage.appendAudit(e) }).append({
        ...entry,
        at: now(),
      }),
  };

  // Slow and idle clients are bounded as in every ccnodes server (src/http-limits).
  const limits = resolveHttpLimits(
    deps.httpLimits,
    DEFAULT_HTTP_LIMITS,
    (p) => new AttestConfigError(p.message, { field: LIMIT_FLAGS[p.field] }),
  );
  const app = Fastify({
    ...(deps.loggerInstance === undefined
      ? { logger: deps.logger ?? false }
      : { loggerInstance: deps.loggerInstance }),
    bodyLimit: deps.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...fastifyOptions(limits, deps.https),
    requestIdHeader: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  limitServer(app.server, limits);
  if (pool !== undefined) {
    if (deps.policyEvaluation !== false && deps.policyEvaluation?.prewarm === true) pool.warm();
    app.addHook('onClose', async () => {
      await pool.close();
    });
  }

  // Management bodies are raw JWS text (text/plain; SDKs also send application/jose or no type).
  app.addContentTypeParser(
    ['application/jose', 'application/jwt'],
    { parseAs: 'string' },
    (_req, body, done) => {
      done(null, body);
    },
  );

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-ms-request-id', request.id);
    reply.header('x-ms-maa-service-version', 'ccnodes-0.1.0');
  });

  app.setErrorHandler(async (err, request, reply) => {
    const mapped = toHttpError(err);
    metrics.httpErrors.inc({ code: mapped.body.error.code });
    if (mapped.status >= 500) request.log.error({ err, code: mapped.ccnodesCode }, 'request failed');
    const retryAfter = isCcnodesError(err) ? err.details['retryAfterSeconds'] : undefined;
    if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
    await reply
      .code(mapped.status)
      .header('x-ms-error-code', mapped.body.error.code)
      .header('x-ccnodes-error-code', mapped.ccnodesCode)
      .type('application/json')
      .send(mapped.body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    await reply
      .code(404)
      .type('application/json')
      .send({
        error: { code: 'NotFound', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` },
      });
  });

  registerAttestRoutes(app, ctx);
  registerPolicyRoutes(app, ctx);
  registerCcnodesRoutes(app, ctx);
  return app;
}
