/**
 * Connection bounds shared by ccnodes' HTTP servers — the attestation service, the collateral
 * service, the quote helper's JSON API, the device plugin's metrics endpoint, the admission webhook
 * and the dashboard — so that each bounds slow and idle clients the same way:
 *
 * - the request headers must arrive within `headerTimeoutMs` (for TLS servers, the handshake too),
 *   the whole request within `requestTimeoutMs`;
 * - a connection without traffic for `idleTimeoutMs` is closed, also between keep-alive requests;
 * - at most `maxConnections` are open at once; further ones are closed as they are accepted;
 * - Node checks the header and request deadlines only every `connectionsCheckingInterval` (30 s
 *   by default, which lets a slow client hold its connection up to 30 s past its deadline), so the
 *   interval is a quarter of the header timeout, between 50 ms and 1 s.
 *
 * A server resolves its limits once ({@link resolveHttpLimits}, which refuses unusable values
 * through the caller's own error), passes {@link serverOptions} where the server is created
 * (node:http/https `createServer`) or {@link fastifyOptions} (Fastify, which takes the same as
 * its `http`/`https` option), then applies {@link limitServer} to the server made.
 */

/** Bounds on a server's connections (ms, except `maxConnections`); absent ones take defaults. */
export interface HttpLimits {
  /** The whole request (headers and body) must arrive within this. */
  readonly requestTimeoutMs?: number;
  /** The request headers (and a TLS handshake) must arrive within this; at most requestTimeoutMs. */
  readonly headerTimeoutMs?: number;
  /** A connection without traffic for this long is closed, also between requests. */
  readonly idleTimeoutMs?: number;
  /** Open connections at once; further ones are closed at accept. */
  readonly maxConnections?: number;
}

/** Limits with every value given. */
export type ResolvedHttpLimits = Required<HttpLimits>;

/** The defaults of the services (the metrics endpoint and the dashboard cap connections at 256). */
export const DEFAULT_HTTP_LIMITS: ResolvedHttpLimits = Object.freeze({
  requestTimeoutMs: 30_000,
  headerTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
  maxConnections: 1024,
});

/** Largest timeout accepted (24 h; Node's timers take at most 2^31 - 1 ms). */
export const MAX_HTTP_TIMEOUT_MS = 86_400_000;
/** Largest connection cap accepted. */
export const MAX_HTTP_CONNECTIONS = 1_000_000;

/** Why limits are unusable: the field at fault and a sentence saying what is wrong. */
export interface HttpLimitsProblem {
  readonly field: keyof HttpLimits;
  readonly message: string;
}

const BOUNDS: Readonly<Record<keyof HttpLimits, readonly [number, number]>> = {
  requestTimeoutMs: [1, MAX_HTTP_TIMEOUT_MS],
  headerTimeoutMs: [1, MAX_HTTP_TIMEOUT_MS],
  idleTimeoutMs: [1, MAX_HTTP_TIMEOUT_MS],
  maxConnections: [1, MAX_HTTP_CONNECTIONS],
};

/**
 * `given` over `defaults`, checked: every value an integer in its bounds (timeouts 1 ms to 24 h;
 * 0 would mean "no timeout" to Node), and the header timeout not longer than the request timeout.
 * @throws whatever `refuse` returns for the first problem found (each server reports it with its
 *   own error class and code).
 */
export function resolveHttpLimits(
  given: HttpLimits | undefined,
  defaults: ResolvedHttpLimits,
  refuse: (problem: HttpLimitsProblem) => Error,
): ResolvedHttpLimits {
  const l: ResolvedHttpLimits = { ...defaults, ...definedOnly(given) };
  for (const field of Object.keys(BOUNDS) as (keyof HttpLimits)[]) {
    const [min, max] = BOUNDS[field];
    const v = l[field];
    if (!Number.isInteger(v) || v < min || v > max)
      throw refuse({ field, message: `${field} must be an integer in ${min}..${max}, got ${String(v)}` });
  }
  if (l.headerTimeoutMs > l.requestTimeoutMs)
    throw refuse({
      field: 'headerTimeoutMs',
      message: `the header timeout (${l.headerTimeoutMs} ms) must not be longer than the request timeout (${l.requestTimeoutMs} ms)`,
    });
  return l;
}

/** The members of `given` that are not undefined (so that `{ x: undefined }` keeps the default). */
function definedOnly(given: HttpLimits | undefined): HttpLimits {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(given ?? {})) if (v !== undefined) out[k] = v as number;
  return out;
}

/** How often Node checks the header and request deadlines: a quarter of the header timeout, 50 ms–1 s. */
export function deadlineCheckIntervalMs(l: ResolvedHttpLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(l.headerTimeoutMs / 4)));
}

/** Options for the server's creation: node:http/https `createServer`, or Fastify's `http`/`https`. */
export interface HttpServerLimitOptions {
  readonly requestTimeout: number;
  readonly headersTimeout: number;
  readonly keepAliveTimeout: number;
  readonly connectionsCheckingInterval: number;
}

/** {@link HttpServerLimitOptions} of `l` (the checking interval can only be set here). */
export function serverOptions(l: ResolvedHttpLimits): HttpServerLimitOptions {
  return {
    requestTimeout: l.requestTimeoutMs,
    headersTimeout: l.headerTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
    connectionsCheckingInterval: deadlineCheckIntervalMs(l),
  };
}

/** Fastify's own timeout options (Fastify sets them on the server it makes). */
export interface FastifyTimeoutOptions {
  readonly requestTimeout: number;
  readonly connectionTimeout: number;
  readonly keepAliveTimeout: number;
}

/**
 * Fastify options for `l`: its own timeouts, and {@link serverOptions} as its `http` option, or
 * merged into `https` (the TLS options) when given.
 */
export function fastifyOptions(
  l: ResolvedHttpLimits,
): FastifyTimeoutOptions & { readonly http: HttpServerLimitOptions };
export function fastifyOptions<T extends object>(
  l: ResolvedHttpLimits,
  https: T | undefined,
): FastifyTimeoutOptions &
  ({ readonly http: HttpServerLimitOptions } | { readonly https: T & HttpServerLimitOptions });
export function fastifyOptions<T extends object>(
  l: ResolvedHttpLimits,
  https?: T,
): FastifyTimeoutOptions &
  ({ readonly http: HttpServerLimitOptions } | { readonly https: T & HttpServerLimitOptions }) {
  const timeouts = {
    requestTimeout: l.requestTimeoutMs,
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.idleTimeoutMs,
  };
  return https === undefined
    ? { ...timeouts, http: serverOptions(l) }
    : { ...timeouts, https: { ...https, ...serverOptions(l) } };
}

/** The members of a node:http(s) server that {@link limitServer} sets. */
export interface LimitableServer {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  setTimeout(ms: number): unknown;
}

/**
 * Applies `l` to a server already made (the same values as {@link serverOptions}, for servers
 * whose maker sets its own, such as Fastify), the idle timeout and the connection cap.
 */
export function limitServer(server: LimitableServer, l: ResolvedHttpLimits): void {
  server.requestTimeout = l.requestTimeoutMs;
  server.headersTimeout = l.headerTimeoutMs;
  server.keepAliveTimeout = l.idleTimeoutMs;
  server.setTimeout(l.idleTimeoutMs);
  server.maxConnections = l.maxConnections;
}
