/**
 * The dashboard server: a read-only Fastify app over the data adapters. Pages and the JSON API
 * (`/api/nodes`, `/api/workloads`, `/api/attestations`, `/api/policies`, `/api/collateral`,
 * `/api/history`) are computed from the same view models. Every response carries a strict content
 * security policy (nothing but this origin's stylesheet; no script, no frame, no external origin).
 *
 * Access: with an access token, every request but `/healthz` must present it (HTTP Basic with the
 * token as password, which browsers prompt for, or `Authorization: Bearer`); without one, the server
 * only listens on loopback.
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { AttestationSource, AuditLine, PolicyInfo, SecretInfo } from './attestation-source.ts';
import { readCollateralStatus, type CollateralStatus } from './collateral-status.ts';
import { discoverMetricsTargets, mapLimited } from './discovery.ts';
import {
  listPlanReportDirs,
  PLAN_CHARTS,
  PLAN_FILE_CSP,
  readPlanChart,
  readPlanHtml,
  readPlanReport,
  type PlanChart,
  type PlanReport,
  type PlanReportSource,
} from './plan-reports.ts';
import { DashboardConfigError, DashboardSourceError } from './errors.ts';
import {
  DEFAULT_HTTP_LIMITS,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  type HttpLimits,
} from '../http-limits/index.ts';
import { History } from './history.ts';
import { closeUnixAgents, getText, redact } from './http-get.ts';
import type { KubeSnapshot, KubeSource } from './kube-source.ts';
import { parseMetricsText, type MetricsText } from './metrics-text.ts';
import {
  agentHealth,
  attestationsView,
  nodesView,
  policyHistory,
  workloadsView,
  type AgentHealth,
  type AttestationFilter,
} from './model.ts';
import {
  attestationsPage,
  collateralPage,
  layout,
  nodesPage,
  planPage,
  policiesPage,
  STYLESHEET,
  workloadsPage,
} from './pages.ts';

/** The content security policy of every response. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "style-src 'self'",
  "img-src 'self'",
  "script-src 'none'",
  "connect-src 'none'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** One metrics endpoint to scrape, optionally tied to a node. */
export interface MetricsTarget {
  readonly target: string;
  readonly node?: string;
}

/** What the dashboard reads and how it serves. */
export interface DashboardConfig {
  readonly kube?: KubeSource;
  readonly attestation?: AttestationSource;
  readonly metrics?: readonly MetricsTarget[];
  /**
   * Also scrape the agents found in the pod list (`discoverMetricsTargets`: ccnodes pods with a
   * `metrics` port); the CLI turns this on with a Kubernetes API and no `--metrics`.
   */
  readonly discoverMetrics?: boolean;
  readonly collateral?: { readonly url: string; readonly fmspcs?: readonly string[] };
  /** `ccnodes plan simulate` report directories (or directories of them) for the Plan page. */
  readonly planReports?: readonly PlanReportSource[];
  /** Required from every client when set (Basic password or Bearer). */
  readonly accessToken?: string;
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Sources are read at most this often (ms; default 2 000). */
  readonly cacheMs?: number;
  /**
   * The collateral endpoint is read at most this often (ms; default 60 000, or `cacheMs` when that
   * is given): collateral changes at most daily, and every page and `/api/collateral` answer within
   * that period shows the same documents (a PCS that stamps `nextUpdate` at fetch time would
   * otherwise make the page and the API disagree by the seconds between two reads).
   */
  readonly collateralCacheMs?: number;
  /** The sampler's period (ms; default 15 000; 0 = sample only when a page is served). */
  readonly sampleIntervalMs?: number;
  readonly now?: () => Date;
  readonly logger?: boolean;
  /** Connection bounds (src/http-limits; defaults {@link DEFAULT_DASHBOARD_HTTP_LIMITS}). */
  readonly limits?: HttpLimits;
}

/** Defaults of the dashboard's connection bounds: the services' defaults, at most 256 connections. */
export const DEFAULT_DASHBOARD_HTTP_LIMITS: Required<HttpLimits> = {
  ...DEFAULT_HTTP_LIMITS,
  maxConnections: 256,
};

/** A running dashboard. */
export interface Dashboard {
  readonly app: FastifyInstance;
  readonly history: History;
  /** Listens; refuses a non-loopback host without an access token or without TLS (unless `allowInsecureHttp`). Returns the URL. */
  listen(host: string, port: number, options?: { allowInsecureHttp?: boolean }): Promise<string>;
  /** Takes one sample of every source now. */
  sample(): Promise<void>;
  close(): Promise<void>;
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function presentedToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (h === undefined) return undefined;
  const bearer = /^Bearer\s+(.+)$/i.exec(h);
  if (bearer !== null) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(h);
  if (basic === null) return undefined;
  const text = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
  const colon = text.indexOf(':');
  return colon < 0 ? undefined : text.slice(colon + 1);
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

function queryOf(request: FastifyRequest): Record<string, string> {
  const q = request.query as Record<string, unknown> | undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(q ?? {})) if (typeof v === 'string') out[k] = v.slice(0, 200);
  return out;
}

function filterOf(q: Record<string, string>): AttestationFilter {
  const f: Record<string, string> = {};
  for (const k of ['mrenclave', 'mrsigner', 'type', 'decision'] as const) {
    const v = q[k];
    if (v !== undefined && v !== '') f[k] = v;
  }
  return f;
}

/** Builds the dashboard (not yet listening). */
export function createDashboard(config: DashboardConfig): Dashboard {
  const limits = resolveHttpLimits(
    config.limits,
    DEFAULT_DASHBOARD_HTTP_LIMITS,
    (p) => new DashboardConfigError(p.message, { option: `limits.${p.field}` }),
  );
  const now = config.now ?? (() => new Date());
  const cacheMs = config.cacheMs ?? 2000;
  const collateralCacheMs = config.collateralCacheMs ?? config.cacheMs ?? 60_000;
  const history = new History();
  const cache = new Map<string, Cached<unknown>>();
  const cached = <T>(key: string, load: () => Promise<T>, maxAgeMs = cacheMs): Promise<T> => {
    const c = cache.get(key);
    const t = Date.now();
    if (c !== undefined && t - c.at < maxAgeMs) return c.value as Promise<T>;
    const value = load();
    cache.set(key, { at: t, value });
    value.catch(() => {
      if (cache.get(key)?.value === value) cache.delete(key);
    });
    return value;
  };

  const kube = (): Promise<KubeSnapshot> => {
    const k = config.kube;
    if (k === undefined)
      return Promise.reject(
        new DashboardSourceError('no Kubernetes API configured (--kubeconfig)', { source: 'kubernetes' }),
      );
    return cached('kube', () => k.snapshot());
  };
  const att = (): AttestationSource => {
    if (config.attestation === undefined)
      throw new DashboardSourceError('no attestation service configured (--attestation-url)', {
        source: 'attestation',
      });
    return config.attestation;
  };
  const audit = (): Promise<AuditLine[]> => cached('audit', () => att().audit());
  const scrape = async (t: MetricsTarget): Promise<AgentHealth> => {
    let m: MetricsText | Error;
    try {
      const a = await getText(t.target, { source: 'metrics', timeoutMs: 5000, maxBytes: 4 * 1024 * 1024 });
      if (a.status !== 200)
        throw new DashboardSourceError(`HTTP ${a.status}`, { source: 'metrics', status: a.status });
      m = parseMetricsText(a.text);
    } catch (err) {
      m = err instanceof Error ? err : new Error(String(err));
    }
    return agentHealth(redact(t.target), t.node, m);
  };
  const targets = async (): Promise<MetricsTarget[]> => {
    const given = config.metrics ?? [];
    if (config.discoverMetrics !== true || config.kube === undefined) return [...given];
    let found: MetricsTarget[] = [];
    try {
      found = discoverMetricsTargets((await kube()).pods);
    } catch {
      // The pages say the API failed; the scrapes of given targets still run.
    }
    const seen = new Set(given.map((t) => t.target));
    return [...given, ...found.filter((t) => !seen.has(t.target))];
  };
  const agents = (): Promise<AgentHealth[]> =>
    cached('agents', async () => mapLimited(await targets(), 32, scrape));
  const attMetrics = (): Promise<MetricsText> => cached('att-metrics', () => att().metrics());

  const nodes = async (): Promise<ReturnType<typeof nodesView>> => nodesView(await kube(), await agents());

  let sampling: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    sampling ??= (async () => {
      const t = now().getTime();
      const [n, m] = await Promise.all([
        config.kube === undefined ? undefined : settle(nodes()),
        config.attestation === undefined ? undefined : settle(attMetrics()),
      ]);
      if (n?.ok === true) history.recordNodes(t, n.value.sgxNodes);
      if (m?.ok === true) history.recordLatency(t, m.value);
    })().finally(() => {
      sampling = undefined;
    });
    return sampling;
  };

  const app = Fastify({
    logger: config.logger ?? false,
    ...fastifyOptions(
      limits,
      config.tls === undefined ? undefined : { cert: config.tls.cert, key: config.tls.key },
    ),
    bodyLimit: 1024,
    requestIdHeader: false,
    return503OnClosing: true,
  }) as unknown as FastifyInstance;
  limitServer(app.server, limits);

  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    void reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('x-frame-options', 'DENY')
      .header('cross-origin-opener-policy', 'same-origin')
      .header('cross-origin-resource-policy', 'same-origin')
      .header('cache-control', 'no-store');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      await reply
        .code(405)
        .header('allow', 'GET, HEAD')
        .send({
          error: { code: 'MethodNotAllowed', message: 'the dashboard is read-only' },
        });
      return reply;
    }
    const token = config.accessToken;
    if (token === undefined || request.url === '/healthz') return undefined;
    const given = presentedToken(request);
    if (given === undefined || !sameToken(given, token)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Basic realm="ccnodes dashboard", charset="UTF-8"')
        .send({
          error: { code: 'Unauthorized', message: 'the admin token is required (Basic password or Bearer)' },
        });
      return reply;
    }
    return undefined;
  });

  const sendError = (reply: FastifyReply, err: unknown): FastifyReply => {
    const code = err instanceof DashboardSourceError ? 'ERR_DASHBOARD_SOURCE' : 'InternalError';
    const message = err instanceof DashboardSourceError ? err.message : 'internal error';
    return reply.code(err instanceof DashboardSourceError ? 503 : 500).send({ error: { code, message } });
  };
  const html = (reply: FastifyReply, body: string): FastifyReply =>
    reply.type('text/html; charset=utf-8').send(body);

  app.get('/healthz', () => ({ status: 'ok' }));
  app.get('/', (_req, reply) => reply.redirect('/nodes'));
  app.get('/assets/dashboard.css', (_req, reply) => reply.type('text/css; charset=utf-8').send(STYLESHEET));
  app.get('/favicon.ico', (_req, reply) => reply.code(204).send());

  // JSON API.
  app.get('/api/nodes', async (_req, reply) => {
    try {
      return { generatedAt: now().toISOString(), ...(await nodes()) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/api/workloads', async (_req, reply) => {
    try {
      const a = config.attestation === undefined ? undefined : await settle(audit());
      return {
        generatedAt: now().toISOString(),
        ...workloadsView(await kube(), a?.ok === true ? a.value : []),
      };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/api/attestations', async (request, reply) => {
    try {
      const q = queryOf(request);
      const v = attestationsView(await audit(), filterOf(q), now());
      return { generatedAt: now().toISOString(), filter: filterOf(q), ...v };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  const policiesData = async (): Promise<{
    policies: PolicyInfo[];
    history: ReturnType<typeof policyHistory>;
    secrets: SecretInfo[];
  }> => {
    const a = att();
    const [policies, lines, secrets] = await Promise.all([
      cached('policies', () => a.policies()),
      audit(),
      cached('secrets', () => a.secrets()),
    ]);
    return { policies, history: policyHistory(lines), secrets };
  };
  app.get('/api/policies', async (_req, reply) => {
    try {
      return { generatedAt: now().toISOString(), ...(await policiesData()) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  const collateral = (): Promise<CollateralStatus> => {
    const c = config.collateral;
    if (c === undefined)
      return Promise.reject(
        new DashboardSourceError('no collateral source configured (--collateral-url)', {
          source: 'collateral',
        }),
      );
    return cached('collateral', () => readCollateralStatus(c.url, c.fmspcs ?? []), collateralCacheMs);
  };
  app.get('/api/collateral', async (_req, reply) => {
    try {
      return { generatedAt: now().toISOString(), ...(await collateral()) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/api/history', () => ({
    generatedAt: now().toISOString(),
    epcAllocatedMib: history.epcSeries(),
    tokenLatencyMs: history.latencySeries(),
  }));

  // Pages.
  app.get('/nodes', async (_req, reply) => {
    await sample();
    const r = await settle(nodes());
    const notices = r.ok ? [] : [r.error];
    const body = r.ok ? nodesPage(r.value, history.epcSeries()) : '';
    return html(reply, layout('/nodes', body, { notices, generatedAt: now() }));
  });
  app.get('/workloads', async (request, reply) => {
    const [k, a] = await Promise.all([
      settle(kube()),
      config.attestation === undefined ? undefined : settle(audit()),
    ]);
    const notices = [
      ...(k.ok ? [] : [k.error]),
      ...(a === undefined || a.ok ? [] : [`identities from the audit log unavailable: ${a.error}`]),
    ];
    const body = k.ok
      ? workloadsPage(workloadsView(k.value, a?.ok === true ? a.value : []), queryOf(request)['namespace'])
      : '';
    return html(reply, layout('/workloads', body, { notices, generatedAt: now() }));
  });
  app.get('/attestations', async (request, reply) => {
    await sample();
    const filter = filterOf(queryOf(request));
    const r = await settle(audit());
    const body = r.ok
      ? attestationsPage(attestationsView(r.value, filter, now()), filter, history.latencySeries())
      : '';
    return html(
      reply,
      layout('/attestations', body, {
        notices: r.ok ? [] : [r.error],
        refreshSeconds: 15,
        generatedAt: now(),
      }),
    );
  });
  app.get('/policies', async (_req, reply) => {
    const r = await settle(policiesData());
    const body = r.ok ? policiesPage(r.value.policies, r.value.history, r.value.secrets) : '';
    return html(reply, layout('/policies', body, { notices: r.ok ? [] : [r.error], generatedAt: now() }));
  });
  app.get('/collateral', async (_req, reply) => {
    const r = await settle(collateral());
    return html(
      reply,
      layout('/collateral', r.ok ? collateralPage(r.value, now()) : '', {
        notices: r.ok ? [] : [r.error],
        generatedAt: now(),
      }),
    );
  });
  // Plan reports (`plan simulate -o <dir>`), read from disk by fixed file names only.
  const planDirs = (): Promise<{ dir: string; name: string }[]> =>
    cached('plan-dirs', () => listPlanReportDirs(config.planReports ?? []));
  const planReports = async (): Promise<{ reports: PlanReport[]; errors: string[] }> => {
    const dirs = await planDirs();
    const read = await Promise.all(dirs.map((d, i) => settle(readPlanReport(i, d.dir, d.name))));
    return {
      reports: read.flatMap((r) => (r.ok ? [r.value] : [])),
      errors: read.flatMap((r) => (r.ok ? [] : [r.error])),
    };
  };
  const planDir = async (id: string): Promise<string | undefined> =>
    /^\d{1,3}$/.test(id) ? (await planDirs())[Number(id)]?.dir : undefined;
  app.get('/api/plan', async (_req, reply) => {
    try {
      return { generatedAt: now().toISOString(), ...(await planReports()) };
    } catch (err) {
      return sendError(reply, err);
    }
  });
  app.get('/plan', async (_req, reply) => {
    const r = await settle(planReports());
    const notices = r.ok ? r.value.errors : [r.error];
    const body = r.ok ? planPage(r.value.reports, (config.planReports ?? []).length > 0) : '';
    return html(reply, layout('/plan', body, { notices, generatedAt: now() }));
  });
  app.get('/plan/:id/:file', async (request, reply) => {
    const { id, file } = request.params as { id: string; file: string };
    const notFound = (): FastifyReply =>
      reply.code(404).send({ error: { code: 'NotFound', message: 'no such report file' } });
    let dir: string | undefined;
    try {
      dir = await planDir(id);
    } catch (err) {
      return sendError(reply, err);
    }
    if (dir === undefined) return notFound();
    try {
      if ((PLAN_CHARTS as readonly string[]).includes(file)) {
        const svg = await readPlanChart(dir, file as PlanChart);
        return await reply
          .header('content-security-policy', PLAN_FILE_CSP)
          .type('image/svg+xml; charset=utf-8')
          .send(svg);
      }
      if (file === 'report.html') {
        const body = await readPlanHtml(dir);
        return await reply
          .header('content-security-policy', PLAN_FILE_CSP)
          .type('text/html; charset=utf-8')
          .send(body);
      }
    } catch (err) {
      return sendError(reply, err);
    }
    return notFound();
  });
  app.setNotFoundHandler((_req, reply) =>
    reply.code(404).send({ error: { code: 'NotFound', message: 'no such page' } }),
  );
  app.setErrorHandler((_err, _req, reply) =>
    reply.code(500).send({ error: { code: 'InternalError', message: 'internal error' } }),
  );

  let timer: NodeJS.Timeout | undefined;
  return {
    app,
    history,
    sample,
    async listen(host, port, options = {}) {
      if (!isLoopback(host) && config.accessToken === undefined)
        throw new DashboardConfigError(
          `--listen ${host}: a non-loopback address needs the admin token (--admin-token-file)`,
          { option: 'listen' },
        );
      if (!isLoopback(host) && config.tls === undefined && options.allowInsecureHttp !== true)
        throw new DashboardConfigError(
          `--listen ${host}: a non-loopback address needs TLS (--tls-cert/--tls-key) or --insecure-http`,
          { option: 'listen' },
        );
      let address: string;
      try {
        address = await app.listen({ host, port });
      } catch (cause) {
        throw new DashboardConfigError(
          `--listen ${host}:${port}: ${cause instanceof Error ? cause.message : String(cause)}`,
          { option: 'listen' },
          cause,
        );
      }
      const interval = config.sampleIntervalMs ?? 15_000;
      if (interval > 0) {
        void sample();
        timer = setInterval(() => void sample(), interval);
        timer.unref();
      }
      return address;
    },
    async close() {
      if (timer !== undefined) clearInterval(timer);
      await sampling;
      await app.close();
      await closeUnixAgents();
    },
  };
}
