/**
 * The quote helper's JSON API (DESIGN.md §3), a fastify app served on its own unix socket:
 *
 * - `POST /v1/quote` — JSON `{ report, nonce?, targetInfo? }` (base64) → `{ quote, quoteSize, qeReport?, … }`;
 *   or `application/octet-stream` with the 432 report bytes → the quote bytes.
 * - `GET /v1/target-info` — the quoting enclave's target info, key ID, pub key ID and quote size.
 * - `GET /healthz` — 200 when the provider answers, 503 otherwise.
 * - `GET /metrics` — Prometheus text.
 *
 * Errors are `{ error: { code, message, details } }` with 400 for bad input, 502 when the upstream
 * aesmd fails, 503 when the provider refuses, 500 otherwise.
 *
 * Slow and idle clients are bounded ({@link JsonApiHttpLimits}, src/http-limits): headers within
 * 10 s, the whole request within 30 s, idle connections closed after 30 s, at most 1,024 open, the
 * deadlines checked at least every second.
 */
import Fastify from 'fastify';
import type { Logger } from 'pino';
import {
  AESM_STATUS,
  SGX_REPORT_SIZE,
  SGX_TARGET_INFO_SIZE,
  type QuoteHelperErrorBody,
  type QuoteHelperQuoteResponse,
  type QuoteHelperTargetInfoResponse,
} from '../../contract/index.ts';
import { isCcnodesError } from '../../errors/index.ts';
import {
  DEFAULT_HTTP_LIMITS,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  type HttpLimits,
} from '../../http-limits/index.ts';
import { AesmStatusError, QuoteHelperConfigError, QuoteHelperInputError } from './errors.ts';
import type { QuoteHelperMetrics } from './metrics.ts';
import type { QuoteProvider } from './provider.ts';
import { QE_REPORT_INFO_NONCE_SIZE } from './qe-report-info.ts';

/** Bounds on the JSON API's connections (src/http-limits). */
export type JsonApiHttpLimits = HttpLimits;

/** Defaults of {@link JsonApiHttpLimits}: those of every ccnodes service. */
export const DEFAULT_JSON_API_HTTP_LIMITS: Required<JsonApiHttpLimits> = DEFAULT_HTTP_LIMITS;

export interface JsonApiOptions {
  readonly provider: QuoteProvider;
  readonly metrics: QuoteHelperMetrics;
  readonly logger: Logger;
  /** Connection bounds (defaults {@link DEFAULT_JSON_API_HTTP_LIMITS}). */
  readonly limits?: JsonApiHttpLimits;
}

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes a base64 (standard or url-safe) field of exactly `size` bytes. */
function base64Field(body: Record<string, unknown>, name: string, size: number): Uint8Array {
  const value = body[name];
  if (typeof value !== 'string' || !BASE64.test(value)) {
    throw new QuoteHelperInputError('ERR_QUOTE_HELPER_INPUT', `${name}: expected a base64 string`, {
      field: name,
    });
  }
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== size) {
    throw new QuoteHelperInputError(
      'ERR_QUOTE_HELPER_INPUT',
      `${name}: expected ${size} bytes, got ${bytes.length}`,
      {
        field: name,
      },
    );
  }
  return new Uint8Array(bytes);
}

function mrEnclavePrefix(report: Uint8Array): string {
  return Buffer.from(report.buffer, report.byteOffset + 64, 8).toString('hex');
}

function statusFor(err: unknown): number {
  if (err instanceof QuoteHelperInputError) return 400;
  if (err instanceof AesmStatusError) {
    const s = err.status;
    return s === AESM_STATUS.PARAMETER_ERROR ||
      s === AESM_STATUS.INVALID_REPORT ||
      s === AESM_STATUS.UNSUPPORTED_ATT_KEY_ID
      ? 400
      : 503;
  }
  if (isCcnodesError(err)) {
    return err.code === 'ERR_QUOTE_HELPER_UPSTREAM' || err.code.startsWith('ERR_AESM_') ? 502 : 500;
  }
  return 500;
}

function aesmCodeFor(err: unknown): number {
  if (err instanceof AesmStatusError) return err.status;
  if (err instanceof QuoteHelperInputError) {
    return err.code === 'ERR_QUOTE_HELPER_REPORT_MAC'
      ? AESM_STATUS.INVALID_REPORT
      : AESM_STATUS.PARAMETER_ERROR;
  }
  return AESM_STATUS.UNEXPECTED_ERROR;
}

/** Builds the app (not listening). `app.listen({ path })` serves it on a unix socket. */
export function buildJsonApi(options: JsonApiOptions) {
  const { provider, metrics } = options;
  const log = options.logger.child({ transport: 'json' });
  // fastify logs every request at info; its own logger only passes warnings and errors.
  const limits = resolveHttpLimits(
    options.limits,
    DEFAULT_JSON_API_HTTP_LIMITS,
    (p) => new QuoteHelperConfigError(`JSON API: ${p.message}`, { details: { field: `limits.${p.field}` } }),
  );
  const app = Fastify({
    loggerInstance: log.child({}, { level: log.levelVal > 40 ? log.level : 'warn' }),
    bodyLimit: 64 * 1024,
    ...fastifyOptions(limits),
  });
  limitServer(app.server, limits);

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => {
    done(null, body);
  });

  app.setErrorHandler((err: unknown, _req, reply) => {
    const fastifyStatus = (err as { statusCode?: unknown }).statusCode;
    if (
      !isCcnodesError(err) &&
      typeof fastifyStatus === 'number' &&
      fastifyStatus >= 400 &&
      fastifyStatus < 500
    ) {
      // fastify's own input errors: bad JSON, wrong content type, body too large
      const body: QuoteHelperErrorBody = {
        error: { code: 'ERR_QUOTE_HELPER_INPUT', message: err instanceof Error ? err.message : String(err) },
      };
      return reply.code(fastifyStatus).send(body);
    }
    const status = statusFor(err);
    if (status >= 500)
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'JSON API request failed');
    const body: QuoteHelperErrorBody = isCcnodesError(err)
      ? { error: { code: err.code, message: err.message, details: err.details } }
      : { error: { code: 'ERR_INTERNAL', message: 'internal error' } };
    return reply.code(status).send(body);
  });

  app.post('/v1/quote', async (req, reply) => {
    const started = performance.now();
    let client: string | undefined;
    try {
      if (Buffer.isBuffer(req.body)) {
        const report = new Uint8Array(req.body);
        if (report.length !== SGX_REPORT_SIZE) {
          throw new QuoteHelperInputError(
            'ERR_QUOTE_HELPER_INPUT',
            `report: expected ${SGX_REPORT_SIZE} bytes, got ${report.length}`,
            { field: 'report' },
          );
        }
        client = mrEnclavePrefix(report);
        const result = await provider.quote(report, undefined);
        metrics.observe('json', 'quote', 0, (performance.now() - started) / 1000, client);
        return await reply.type('application/octet-stream').send(Buffer.from(result.quote));
      }
      const body = req.body;
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        throw new QuoteHelperInputError(
          'ERR_QUOTE_HELPER_INPUT',
          'body: expected a JSON object with "report"',
          {
            field: 'body',
          },
        );
      }
      const fields = body as Record<string, unknown>;
      const report = base64Field(fields, 'report', SGX_REPORT_SIZE);
      client = mrEnclavePrefix(report);
      const hasNonce = fields['nonce'] !== undefined;
      const hasTarget = fields['targetInfo'] !== undefined;
      if (hasNonce !== hasTarget) {
        throw new QuoteHelperInputError(
          'ERR_QUOTE_HELPER_INPUT',
          'nonce and targetInfo: send both or neither',
          {
            field: hasNonce ? 'targetInfo' : 'nonce',
          },
        );
      }
      const qeRequest = hasNonce
        ? {
            nonce: base64Field(fields, 'nonce', QE_REPORT_INFO_NONCE_SIZE),
            appEnclaveTargetInfo: base64Field(fields, 'targetInfo', SGX_TARGET_INFO_SIZE),
          }
        : undefined;
      const result = await provider.quote(report, undefined, qeRequest);
      const answer: QuoteHelperQuoteResponse = {
        quote: Buffer.from(result.quote).toString('base64'),
        quoteSize: result.quote.length,
        ...(result.qeReport === undefined
          ? {}
          : { qeReport: Buffer.from(result.qeReport).toString('base64') }),
        provider: provider.name,
        simulated: provider.simulated,
      };
      metrics.observe('json', 'quote', 0, (performance.now() - started) / 1000, client);
      return answer;
    } catch (err) {
      metrics.observe('json', 'quote', aesmCodeFor(err), (performance.now() - started) / 1000, client);
      throw err;
    }
  });

  app.get('/v1/target-info', async () => {
    const started = performance.now();
    try {
      const [attKeyId] = await provider.supportedAttKeyIds();
      const target = await provider.initQuote(attKeyId);
      const quoteSize = await provider.quoteSize(attKeyId);
      const answer: QuoteHelperTargetInfoResponse = {
        targetInfo: Buffer.from(target.targetInfo).toString('base64'),
        attKeyId: attKeyId === undefined ? '' : Buffer.from(attKeyId).toString('base64'),
        pubKeyId: Buffer.from(target.pubKeyId).toString('hex'),
        quoteSize,
        provider: provider.name,
        simulated: provider.simulated,
      };
      metrics.observe('json', 'target-info', 0, (performance.now() - started) / 1000);
      return answer;
    } catch (err) {
      metrics.observe('json', 'target-info', aesmCodeFor(err), (performance.now() - started) / 1000);
      throw err;
    }
  });

  app.get('/healthz', async (_req, reply) => {
    const health = await provider.health();
    return reply.code(health.ok ? 200 : 503).send({
      status: health.ok ? 'ok' : 'unhealthy',
      provider: provider.name,
      simulated: provider.simulated,
      detail: health.detail,
    });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  return app;
}

/** The app `buildJsonApi` returns. */
export type JsonApi = ReturnType<typeof buildJsonApi>;
