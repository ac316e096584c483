/**
 * The HTTP face of the collateral service: Intel's PCCS API v4 for SGX and TDX, with the paths,
 * query parameters, response headers and statuses of Intel's PCCS, plus `/metrics` and `/healthz`.
 *
 *   GET  /sgx/certification/v4/pckcert?encrypted_ppid=&cpusvn=&pcesvn=&pceid=[&qeid=]
 *   GET  /sgx/certification/v4/pckcrl?ca=processor|platform[&encoding=pem|der]
 *   GET  /sgx|tdx/certification/v4/tcb?fmspc=[&update=standard|early | &tcbEvaluationDataNumber=N]
 *   GET  /sgx|tdx/certification/v4/qe/identity, /sgx/certification/v4/qve/identity
 *   GET  /sgx/certification/v4/rootcacrl            (hex-encoded DER, as PCCS serves it)
 *   POST /sgx/certification/v4/platforms            (platform registration)
 *
 * Statuses (Intel's PCCS codes): 400 bad parameters, 404 no cache data, 460 the artefact failed
 * verification, 461 unknown platform (PCK certificate not cached, mode REQ or OFFLINE), 502 the
 * upstream failed, 503 storage unavailable. Every response carries a fresh `Request-ID`; error
 * responses carry `Error-Code` (our stable code) and `Error-Message`, and a JSON body with both.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import {
  CHAIN_HEADER,
  H,
  KEPT_HEADERS,
  type ArtefactSpec,
  type StoredArtefact,
  type Tee,
  type Variant,
} from './artefacts.ts';
import { crlDer } from '../core/index.ts';
import {
  DEFAULT_HTTP_LIMITS,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  type HttpLimits,
} from '../http-limits/index.ts';
import {
  CollateralBundleError,
  CollateralNotFoundError,
  CollateralRequestError,
  CollateralServiceConfigError,
  CollateralServiceError,
  CollateralStorageError,
  CollateralUpstreamError,
  CollateralVerifyError,
} from './errors.ts';
import { CollateralService, parsePlatform } from './service.ts';

/** Connection bounds (src/http-limits, the attestation service's defaults) and the body limit. */
export interface CollateralHttpLimits extends HttpLimits {
  /** Largest request body (only `POST /platforms` has one; default 64 KiB). */
  readonly bodyLimit?: number;
}

export const DEFAULT_COLLATERAL_HTTP_LIMITS: Required<CollateralHttpLimits> = {
  ...DEFAULT_HTTP_LIMITS,
  bodyLimit: 64 * 1024,
};

/** Options of {@link buildCollateralApp}. */
export interface CollateralAppOptions {
  readonly limits?: CollateralHttpLimits;
  readonly https?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly logger?: boolean | { level: string };
  /** A ready logger (pino) instead of `logger`. */
  readonly loggerInstance?: FastifyBaseLogger;
}

type Query = Readonly<Record<string, string | string[] | undefined>>;

function one(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v))
    throw new CollateralRequestError(`query parameter ${name} is repeated`, { parameter: name });
  return v;
}

/** `v` when it is `digits` hex digits (or within the range, and even), else a 400 naming `name`. */
function hexValue(name: string, v: string, digits: number | [number, number]): string {
  const [min, max] = typeof digits === 'number' ? [digits, digits] : digits;
  if (!/^[0-9a-fA-F]*$/.test(v) || v.length < min || v.length > max || v.length % 2 !== 0)
    throw new CollateralRequestError(
      `query parameter ${name} must be ${min === max ? `${min}` : `${min} to ${max}`} hex digits`,
      { parameter: name },
    );
  return v;
}

/** A required hex query parameter. */
function hexParam(query: Query, name: string, digits: number | [number, number]): string {
  const v = one(query, name);
  if (v === undefined)
    throw new CollateralRequestError(`query parameter ${name} is required`, { parameter: name });
  return hexValue(name, v, digits);
}

/**
 * An optional hex query parameter, lower case, as `{ [key]: value }` to spread into a spec, or `{}`
 * when it is absent (the spec's optional properties are left out, not set to `undefined`).
 */
function optionalHexParam<K extends string>(
  query: Query,
  name: string,
  key: K,
  digits: [number, number],
): { readonly [P in K]?: string } {
  const v = one(query, name);
  return v === undefined ? {} : ({ [key]: hexValue(name, v, digits).toLowerCase() } as { [P in K]?: string });
}

/** The TCB Info / identity variant asked for, as `{ variant }` to spread into a spec, or `{}`. */
function variantOf(query: Query): { readonly variant?: Variant } {
  const update = one(query, 'update');
  const number = one(query, 'tcbEvaluationDataNumber');
  if (update !== undefined && number !== undefined)
    throw new CollateralRequestError('update and tcbEvaluationDataNumber are mutually exclusive', {
      parameter: 'update',
    });
  if (update !== undefined) {
    if (update !== 'standard' && update !== 'early')
      throw new CollateralRequestError('update must be "standard" or "early"', { parameter: 'update' });
    return { variant: { name: 'update', value: update } };
  }
  if (number !== undefined) {
    if (!/^\d{1,9}$/.test(number))
      throw new CollateralRequestError('tcbEvaluationDataNumber must be a decimal number', {
        parameter: 'tcbEvaluationDataNumber',
      });
    return { variant: { name: 'tcbEvaluationDataNumber', value: number } };
  }
  return {};
}

/** Body members of `POST /platforms` by the names `parsePlatform` reports. */
const PLATFORM_FIELDS: Readonly<Record<string, string>> = {
  qeId: 'qe_id',
  pceId: 'pce_id',
  cpuSvn: 'cpu_svn',
  pceSvn: 'pce_svn',
  encPpid: 'enc_ppid',
  platformManifest: 'platform_manifest',
};

/** HTTP status of a service error (Intel's PCCS codes). */
export function statusOf(err: unknown): number {
  if (err instanceof CollateralRequestError || err instanceof CollateralBundleError) return 400;
  if (err instanceof CollateralNotFoundError) return err.details['platformUnknown'] === true ? 461 : 404;
  if (err instanceof CollateralVerifyError) return 460;
  if (err instanceof CollateralUpstreamError) return 502;
  if (err instanceof CollateralStorageError) return 503;
  return 500;
}

function crlPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN X509 CRL-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END X509 CRL-----\n`;
}

/** A header value safe to send (no control characters; bounded). */
const headerSafe = (text: string): string => text.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300);

function sendArtefact(reply: FastifyReply, a: StoredArtefact, pckCrlEncoding?: 'pem' | 'der'): FastifyReply {
  // The issuer chain under the name served (the first spelling), then the other kept headers; each
  // only when the artefact came with it.
  for (const name of [...CHAIN_HEADER[a.spec.kind].slice(0, 1), ...KEPT_HEADERS[a.spec.kind]]) {
    const v = a.headers[name];
    if (v !== undefined) reply.header(name, v);
  }
  const body = Buffer.from(a.body);
  switch (a.spec.kind) {
    case 'tcb':
    case 'qe':
    case 'qve':
      return reply.type('application/json').send(body);
    case 'pckcert':
      return reply.type('application/x-pem-file').send(body);
    case 'pckcerts':
      return reply.type('application/json').send(body);
    case 'pckcrl': {
      // Stored as received (the upstream is asked for DER, a bundle may carry PEM or hex); served
      // as the DER those bytes hold, or that DER re-armoured as PEM. The body verified, so the
      // decoding (core's, the one verification used) succeeds.
      const der = Buffer.from(crlDer(body, 'pckcrl'));
      if (pckCrlEncoding === 'der') return reply.type('application/pkix-crl').send(der);
      return reply.type('application/x-pem-file').send(crlPem(der));
    }
    case 'rootcacrl':
      // As Intel's PCCS serves it: hex of the DER.
      return reply.type('text/plain').send(Buffer.from(crlDer(body, 'rootcacrl')).toString('hex'));
  }
}

/** Builds the Fastify app over a service (not listening). */
export function buildCollateralApp(
  service: CollateralService,
  options: CollateralAppOptions = {},
): FastifyInstance {
  const { bodyLimit = DEFAULT_COLLATERAL_HTTP_LIMITS.bodyLimit, ...connectionLimits } = options.limits ?? {};
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1)
    throw new CollateralServiceConfigError(
      `limits.bodyLimit must be a positive integer, got ${String(bodyLimit)}`,
      {
        field: 'limits.bodyLimit',
      },
    );
  const limits = resolveHttpLimits(
    connectionLimits,
    DEFAULT_COLLATERAL_HTTP_LIMITS,
    (p) => new CollateralServiceConfigError(p.message, { field: `limits.${p.field}` }),
  );
  const app = Fastify({
    ...(options.loggerInstance === undefined
      ? { logger: options.logger ?? false }
      : { loggerInstance: options.loggerInstance }),
    bodyLimit,
    ...fastifyOptions(limits, options.https),
    // Fastify 5's defaults are what we want: no request id taken from a client's header
    // (`requestIdHeader: false`; ours is a fresh Request-ID) and 503 while closing.
  }) as unknown as FastifyInstance;
  limitServer(app.server, limits);

  app.addHook('onRequest', (_request, reply, done) => {
    reply.header(H.requestId, CollateralService.requestId());
    done();
  });

  app.setErrorHandler((err, request, reply) => {
    // Another error keeps its status only when that is a client error (Fastify's 4xx request errors).
    const fastifyStatus = (err as { statusCode?: number }).statusCode ?? 500;
    const status =
      err instanceof CollateralServiceError
        ? statusOf(err)
        : Math.floor(fastifyStatus / 100) === 4
          ? fastifyStatus
          : 500;
    const code =
      err instanceof CollateralServiceError
        ? err.code
        : status < 500
          ? 'ERR_COLLATERAL_SERVICE_REQUEST'
          : 'ERR_INTERNAL';
    const message =
      status === 500 && !(err instanceof CollateralServiceError)
        ? 'internal error'
        : err instanceof Error
          ? err.message
          : String(err);
    if (status >= 500) request.log.error({ err }, 'collateral request failed');
    return reply
      .code(status)
      .header(H.errorCode, code)
      .header(H.errorMessage, headerSafe(message))
      .type('application/json')
      .send({ code, message, ...(err instanceof CollateralServiceError ? { details: err.details } : {}) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .code(404)
      .header(H.errorCode, 'ERR_COLLATERAL_SERVICE_NOT_FOUND')
      .header(H.errorMessage, 'no such route')
      .type('application/json')
      .send({
        code: 'ERR_COLLATERAL_SERVICE_NOT_FOUND',
        message: `no route ${request.method} ${request.url.replace(/\?.*/, '')}`,
      }),
  );

  const serve = async (
    reply: FastifyReply,
    spec: ArtefactSpec,
    encoding?: 'pem' | 'der',
  ): Promise<FastifyReply> => sendArtefact(reply, await service.get(spec), encoding);

  for (const tee of ['sgx', 'tdx'] as const satisfies readonly Tee[]) {
    const prefix = `/${tee}/certification/v4`;
    app.get(`${prefix}/tcb`, async (request, reply) => {
      const query = request.query as Query;
      const fmspc = hexParam(query, 'fmspc', 12).toUpperCase();
      return serve(reply, { kind: 'tcb', tee, fmspc, ...variantOf(query) });
    });
    app.get(`${prefix}/qe/identity`, async (request, reply) => {
      return serve(reply, { kind: 'qe', tee, ...variantOf(request.query as Query) });
    });
  }
  const sgx = '/sgx/certification/v4';
  app.get(`${sgx}/qve/identity`, async (request, reply) => {
    return serve(reply, { kind: 'qve', tee: 'sgx', ...variantOf(request.query as Query) });
  });
  app.get(`${sgx}/pckcrl`, async (request, reply) => {
    const query = request.query as Query;
    const ca = one(query, 'ca')?.toLowerCase();
    if (ca !== 'processor' && ca !== 'platform')
      throw new CollateralRequestError('ca must be "processor" or "platform"', { parameter: 'ca' });
    const encoding = one(query, 'encoding') ?? 'pem';
    if (encoding !== 'pem' && encoding !== 'der')
      throw new CollateralRequestError('encoding must be "pem" or "der"', { parameter: 'encoding' });
    return serve(reply, { kind: 'pckcrl', tee: 'sgx', ca }, encoding);
  });
  app.get(`${sgx}/rootcacrl`, async (_request, reply) => serve(reply, { kind: 'rootcacrl', tee: 'sgx' }));
  app.get(`${sgx}/pckcert`, async (request, reply) => {
    const query = request.query as Query;
    const ppid = optionalHexParam(query, 'encrypted_ppid', 'encryptedPpid', [32, 768]);
    const qe = optionalHexParam(query, 'qeid', 'qeid', [2, 64]);
    if (ppid.encryptedPpid === undefined && qe.qeid === undefined)
      throw new CollateralRequestError('encrypted_ppid (or qeid) is required', {
        parameter: 'encrypted_ppid',
      });
    return serve(reply, {
      kind: 'pckcert',
      tee: 'sgx',
      cpusvn: hexParam(query, 'cpusvn', 32).toLowerCase(),
      pcesvn: hexParam(query, 'pcesvn', 4).toLowerCase(),
      pceid: hexParam(query, 'pceid', 4).toLowerCase(),
      ...ppid,
      ...qe,
    });
  });
  app.get(`${sgx}/pckcerts`, async (request, reply) => {
    const query = request.query as Query;
    return serve(reply, {
      kind: 'pckcerts',
      tee: 'sgx',
      encryptedPpid: hexParam(query, 'encrypted_ppid', [32, 768]).toLowerCase(),
      pceid: hexParam(query, 'pceid', 4).toLowerCase(),
    });
  });
  app.post(`${sgx}/platforms`, async (request, reply) => {
    const body: unknown = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new CollateralRequestError('the body must be a JSON object', { parameter: 'body' });
    const fields = body as Record<string, unknown>;
    let platform;
    try {
      platform = parsePlatform(
        {
          qeId: fields['qe_id'],
          pceId: fields['pce_id'],
          cpuSvn: fields['cpu_svn'],
          pceSvn: fields['pce_svn'],
          encPpid: fields['enc_ppid'] ?? '',
          platformManifest: fields['platform_manifest'],
        },
        'body',
      );
    } catch (cause) {
      // parsePlatform only tests strings against patterns: what it throws is a CollateralBundleError.
      const err = cause as CollateralBundleError;
      // Name the member as the client sent it (snake case).
      const raw = err.details['member'];
      const member = (typeof raw === 'string' ? raw : '').replace(/^body\./, '');
      const sent = PLATFORM_FIELDS[member] ?? member;
      throw new CollateralRequestError(`platform registration: ${sent} ${err.message.replace(/^\S+ /, '')}`, {
        parameter: sent,
      });
    }
    await service.registerPlatform(platform);
    return reply.code(200).send();
  });

  app.get('/metrics', async (_request, reply) =>
    reply.type(service.metrics.registry.contentType).send(await service.metrics.registry.metrics()),
  );
  app.get('/healthz', (_request, reply) => {
    const expired = service.expiredKeys();
    const status = expired.length === 0 ? 'ok' : 'degraded';
    return reply
      .code(expired.length === 0 ? 200 : 503)
      .send({ status, mode: service.mode, artefacts: service.list().length, expired });
  });
  return app;
}
