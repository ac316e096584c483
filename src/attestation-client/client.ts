/**
 * A small client of the attestation service's REST API (the Microsoft Azure Attestation data plane
 * plus the `/ccnodes/v1/secrets` release endpoint): attest an SGX enclave, verify the token it
 * returns against the keys published at `/certs`, and have a named secret released to the key the
 * token carries.
 *
 * Transport failures (connection refused, reset, TLS failure, timeout, HTTP 429/502/503/504) are
 * retried a bounded number of times with exponential backoff, then reported as
 * {@link AttestationUnreachableError}. Every other HTTP error is a refusal
 * ({@link AttestationRefusedError}) carrying the service's own error code, and is never retried.
 */
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import { jwtVerify, decodeProtectedHeader, type JWTPayload } from 'jose';
import {
  AttestationClientConfigError,
  AttestationRefusedError,
  AttestationResponseError,
  AttestationTokenError,
  AttestationUnreachableError,
} from './errors.ts';

let https: typeof Https | undefined;
/**
 * node:https (and node:tls behind it), loaded when the first https client is made: a plain-http
 * client (`container run` against a service on the node or in the cluster) does not pay its few
 * milliseconds of start-up CPU. Synchronous, since the constructor makes the agent.
 */
function loadHttps(): typeof Https {
  https ??= createRequire(import.meta.url)('node:https') as typeof Https;
  return https;
}

/** The MAA api-version the client sends. */
export const ATTESTATION_API_VERSION = '2022-08-01';

/** Bounds of the retry loop for transport failures. */
export interface RetryOptions {
  /** Attempts in total, first included (1–10; default 4). */
  readonly attempts?: number;
  /** Delay before the second attempt in ms (default 200); doubles each time. */
  readonly baseDelayMs?: number;
  /** Largest delay between two attempts in ms (default 2000). */
  readonly maxDelayMs?: number;
}

/** Options of {@link AttestationClient}. */
export interface AttestationClientOptions {
  /** Base URL of the service, `http://` or `https://` (a path prefix is kept). */
  readonly url: string;
  /** PEM CA certificate(s) that the service's TLS certificate must chain to (https only). */
  readonly ca?: string;
  /**
   * SHA-256 (hex) of the SubjectPublicKeyInfo of the token signing keys to accept. When given, a
   * token signed by any other key published at `/certs` is refused.
   */
  readonly pinnedKeys?: readonly string[];
  /** The token `iss` to require (default: the base URL without a trailing slash). */
  readonly issuer?: string;
  /** Per-request timeout in ms (default 10000). */
  readonly timeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Called before each retry (attempt number from 2, delay, reason): for logs. Never sees secrets. */
  readonly onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** Test hook: how to wait between attempts (default setTimeout). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Evidence for `POST /attest/SgxEnclave`. */
export interface SgxEvidence {
  /** The DCAP quote. */
  readonly quote: Uint8Array;
  /** Runtime data bound by REPORTDATA (SHA-256 of it in the first 32 bytes). */
  readonly runtimeData: Uint8Array;
  /** How the service reads runtime data: `JSON` puts it in `x-ms-runtime` (default `JSON`). */
  readonly runtimeDataType?: 'JSON' | 'Binary';
  /** Optional init-time data (bound by CONFIGID). */
  readonly initTimeData?: Uint8Array;
  readonly initTimeDataType?: 'JSON' | 'Binary';
}

/** A verified attestation token. */
export interface VerifiedToken {
  readonly token: string;
  readonly header: { readonly alg: string; readonly kid: string };
  readonly claims: JWTPayload & Record<string, unknown>;
  /** SHA-256 (hex) of the signing key's SubjectPublicKeyInfo (what `pinnedKeys` lists). */
  readonly signingKeySha256: string;
}

/** What {@link AttestationClient.verifyToken} requires beyond the signature. */
export interface TokenExpectations {
  /** `x-ms-sgx-mrenclave` must equal this (hex, any case). */
  readonly mrEnclave?: string;
  /** `x-ms-sgx-mrsigner` must equal this (hex, any case). */
  readonly mrSigner?: string;
  /** `x-ms-runtime.keys` must hold a key with these JWK members (e.g. the enclave's `x`, `y`). */
  readonly runtimeKey?: Readonly<Record<string, string>>;
}

/** `POST /ccnodes/v1/secrets/{name}/release` answer. */
export interface ReleasedSecret {
  readonly name: string;
  readonly contentType: string;
  readonly alg: string;
  /** Compact JWE addressed to the key in the token's runtime data. */
  readonly jwe: string;
}

/**
 * Keys of `/certs` imported ahead of a token (the first ones listed; a service publishes its active
 * key first and a few retired ones). The others are imported when a token names them, so a service
 * that lists thousands of keys costs the client no more than one that lists a few.
 */
export const PREPARED_VERIFY_KEYS = 4;

/** Status codes that mean "try again later" rather than "no". */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);

/**
 * Largest response body read (16 MiB). Every answer of the API is a small JSON document; a longer
 * body is refused as a malformed answer (not retried) instead of being buffered without end.
 */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

function configError(field: string, message: string): AttestationClientConfigError {
  return new AttestationClientConfigError(`${field}: ${message}`, { details: { field } });
}

function boundedInt(v: number | undefined, def: number, min: number, max: number, field: string): number {
  const n = v ?? def;
  if (!Number.isInteger(n) || n < min || n > max)
    throw configError(field, `must be an integer in ${min}..${max}, got ${String(v)}`);
  return n;
}

class Retryable extends Error {}

/** The client. One instance per service; it caches `/certs` and refetches it on an unknown `kid`. */
export class AttestationClient {
  readonly baseUrl: string;
  readonly issuer: string;
  readonly #agent: HttpAgent | Https.Agent;
  readonly #https: boolean;
  readonly #timeoutMs: number;
  readonly #attempts: number;
  readonly #baseDelay: number;
  readonly #maxDelay: number;
  readonly #pinned: ReadonlySet<string> | undefined;
  readonly #options: AttestationClientOptions;
  #certs: Map<string, X509Certificate> | undefined;
  /** The `/certs` fetch in progress, if any (so that a second caller waits for it). */
  #certsInFlight: Promise<Map<string, X509Certificate>> | undefined;
  /**
   * The Web Crypto verification key of each `/certs` certificate, imported once (jose verifies
   * with a CryptoKey; given a KeyObject it imports one at every call). Started while an
   * attestation request is in flight ({@link attestSgxEnclave}), so that the token is verified
   * without first loading Node's Web Crypto code and importing the key.
   */
  readonly #verifyKeys = new WeakMap<X509Certificate, Promise<webcrypto.CryptoKey>>();
  #closed = false;
  /** Ends the waits between attempts (see {@link close}). */
  readonly #wakeSleepers = new Set<() => void>();

  /** @throws AttestationClientConfigError on an unusable option. */
  constructor(options: AttestationClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw configError('url', `not a URL: ${JSON.stringify(options.url)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw configError('url', `must be http:// or https://, got ${url.protocol}`);
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '')
      throw configError('url', 'must not carry credentials, a query or a fragment');
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.issuer = options.issuer ?? this.baseUrl;
    if (options.ca !== undefined) {
      if (!/-----BEGIN CERTIFICATE-----/.test(options.ca)) throw configError('ca', 'not a PEM certificate');
      try {
        new X509Certificate(options.ca);
      } catch (cause) {
        throw new AttestationClientConfigError(
          `ca: not a readable certificate: ${(cause as Error).message}`,
          {
            details: { field: 'ca' },
          },
        );
      }
    }
    if (options.pinnedKeys !== undefined) {
      options.pinnedKeys.forEach((k, i) => {
        if (!/^[0-9a-f]{64}$/i.test(k))
          throw configError(`pinnedKeys[${i}]`, 'must be 64 hex digits (SHA-256)');
      });
      if (options.pinnedKeys.length === 0) throw configError('pinnedKeys', 'must not be empty when given');
      this.#pinned = new Set(options.pinnedKeys.map((k) => k.toLowerCase()));
    }
    this.#timeoutMs = boundedInt(options.timeoutMs, 10_000, 100, 600_000, 'timeoutMs');
    this.#attempts = boundedInt(options.retry?.attempts, 4, 1, 10, 'retry.attempts');
    this.#baseDelay = boundedInt(options.retry?.baseDelayMs, 200, 0, 60_000, 'retry.baseDelayMs');
    this.#maxDelay = boundedInt(options.retry?.maxDelayMs, 2000, 0, 60_000, 'retry.maxDelayMs');
    this.#options = options;
    // node:http rather than undici: undici costs a few hundred ms of start-up CPU (its HTTP parser is
    // WebAssembly) in a short-lived `container run`. Idle keep-alive sockets are unref'd by the agent.
    this.#https = url.protocol === 'https:';
    this.#agent = this.#https
      ? new (loadHttps().Agent)({ keepAlive: true, ...(options.ca === undefined ? {} : { ca: options.ca }) })
      : new HttpAgent({ keepAlive: true });
  }

  /**
   * Closes the client's connections. A request in progress fails with
   * `ERR_ATTESTATION_CLIENT_UNREACHABLE` ("the client was closed") without waiting for its next
   * attempt, and no request is made afterwards.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#wakeSleepers) wake();
    this.#wakeSleepers.clear();
    this.#agent.destroy();
    return Promise.resolve();
  }

  /** Whether {@link close} was called (a method: the flag changes across awaits). */
  #isClosed(): boolean {
    return this.#closed;
  }

  /** Waits `ms` between two attempts, or less when the client is closed meanwhile. */
  #defaultSleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#wakeSleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wakeSleepers.add(wake);
    });
  }

  /**
   * `POST /attest/SgxEnclave`: the service verifies the quote, checks that REPORTDATA binds the
   * runtime data, runs its policy and returns a token. The token is not verified here; see
   * {@link verifyToken}.
   * @throws AttestationRefusedError (e.g. evidence refused), AttestationUnreachableError, AttestationResponseError.
   */
  async attestSgxEnclave(evidence: SgxEvidence): Promise<string> {
    const body: Record<string, unknown> = {
      quote: b64url(evidence.quote),
      runtimeData: { data: b64url(evidence.runtimeData), dataType: evidence.runtimeDataType ?? 'JSON' },
    };
    if (evidence.initTimeData !== undefined) {
      body['initTimeData'] = {
        data: b64url(evidence.initTimeData),
        dataType: evidence.initTimeDataType ?? 'Binary',
      };
    }
    const answer = this.#request(
      'POST',
      `/attest/SgxEnclave?api-version=${ATTESTATION_API_VERSION}`,
      body,
      'attest',
    );
    // While the service verifies the quote, the keys already fetched (or being fetched) from
    // `/certs` are made ready for verifyToken. No request is made for it. Not here and now: the
    // request is written to its socket on the next tick, and the import (~3 ms of CPU the first
    // time, Node's WebCrypto module loaded with it) would hold it back; the immediate runs after.
    setImmediate(() => {
      this.#prepareVerifyKeys();
    });
    const json = await answer;
    const token = json['token'];
    if (typeof token !== 'string' || token.split('.').length !== 3)
      throw new AttestationResponseError('attest: the answer has no token', { details: { field: 'token' } });
    return token;
  }

  /**
   * Starts importing the verification keys of the certificates held or being fetched. Failures
   * are left for {@link verifyToken} to meet and report (a key that cannot be imported fails
   * the `signature` check there).
   */
  #prepareVerifyKeys(): void {
    const prepare = (certs: ReadonlyMap<string, X509Certificate>): void => {
      let n = 0;
      for (const cert of certs.values()) {
        if (n++ === PREPARED_VERIFY_KEYS) break;
        void this.#verifyKey(cert).catch(() => undefined);
      }
    };
    if (this.#certs !== undefined) prepare(this.#certs);
    else void this.#certsInFlight?.then(prepare, () => undefined);
  }

  /** The RS256 verification key of a `/certs` certificate (imported at the first call). */
  #verifyKey(cert: X509Certificate): Promise<webcrypto.CryptoKey> {
    let key = this.#verifyKeys.get(cert);
    if (key === undefined) {
      key = webcrypto.subtle.importKey(
        'spki',
        cert.publicKey.export({ type: 'spki', format: 'der' }),
        { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
        false,
        ['verify'],
      );
      this.#verifyKeys.set(cert, key);
    }
    return key;
  }

  /**
   * Verifies a token as a relying party does: RS256 signature by a key published at `/certs`
   * (x5c, matched by `kid`; `/certs` is fetched again once on an unknown `kid`), the pinned keys if
   * any, `iss`, `exp`/`nbf`, then the expectations.
   * @throws AttestationTokenError naming the failed check in `details.check`.
   */
  async verifyToken(token: string, expect: TokenExpectations = {}): Promise<VerifiedToken> {
    let kid: string;
    let alg: string;
    try {
      const h = decodeProtectedHeader(token);
      kid = h.kid ?? '';
      alg = h.alg ?? '';
    } catch (cause) {
      throw tokenError('format', 'the token is not a JWS', cause);
    }
    if (alg !== 'RS256') throw tokenError('alg', `algorithm ${alg} is not RS256`);
    let cert = (await this.#certsMap(false)).get(kid);
    if (cert === undefined) cert = (await this.#certsMap(true)).get(kid);
    if (cert === undefined) throw tokenError('kid', `no key ${JSON.stringify(kid)} at ${this.baseUrl}/certs`);
    const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
    const keySha256 = createHash('sha256').update(spki).digest('hex');
    if (this.#pinned !== undefined && !this.#pinned.has(keySha256))
      throw tokenError('pinned-key', `the token signing key ${keySha256} is not pinned`);
    let claims: JWTPayload;
    try {
      // The certificate's key imported for RS256 (an EC or other non-RSA key does not import, and
      // fails this check as a bad signature would).
      ({ payload: claims } = await jwtVerify(token, await this.#verifyKey(cert), {
        algorithms: ['RS256'],
        issuer: this.issuer,
      }));
    } catch (cause) {
      // jose reports an expired token (or one not yet valid) as ERR_JWT_EXPIRED and a failed
      // claim check (iss, nbf, …) as ERR_JWT_CLAIM_VALIDATION_FAILED: both are about the claims.
      const code = (cause as { code?: string }).code ?? 'signature';
      throw tokenError(
        code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' || code === 'ERR_JWT_EXPIRED' ? 'claims' : 'signature',
        (cause as Error).message,
        cause,
      );
    }
    const c = claims as JWTPayload & Record<string, unknown>;
    const same = (claim: string, want: string | undefined): void => {
      if (want === undefined) return;
      const got = c[claim];
      if (typeof got !== 'string' || got.toLowerCase() !== want.toLowerCase())
        throw tokenError(claim, `${claim} is ${JSON.stringify(got)}, expected ${want.toLowerCase()}`);
    };
    same('x-ms-sgx-mrenclave', expect.mrEnclave);
    same('x-ms-sgx-mrsigner', expect.mrSigner);
    if (expect.runtimeKey !== undefined) {
      const want = expect.runtimeKey;
      const keys = (c['x-ms-runtime'] as { keys?: unknown } | undefined)?.keys;
      const found =
        Array.isArray(keys) &&
        keys.some(
          (k) =>
            typeof k === 'object' &&
            k !== null &&
            Object.entries(want).every(([m, v]) => (k as Record<string, unknown>)[m] === v),
        );
      if (!found) throw tokenError('x-ms-runtime', 'the token does not carry the expected runtime key');
    }
    return { token, header: { alg, kid }, claims: c, signingKeySha256: keySha256 };
  }

  /**
   * `POST /ccnodes/v1/secrets/{name}/release` with the token: the service checks the token and the
   * secret's release policy, and answers with the value encrypted to the key in the token's runtime
   * data. Open it with the matching private key ({@link EphemeralKey.open} or inside an enclave).
   * @throws AttestationRefusedError (`serviceCode` e.g. `ERR_SECRET_POLICY_DENIED`), AttestationUnreachableError.
   */
  async releaseSecret(name: string, token: string): Promise<ReleasedSecret> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(name))
      throw configError('name', `secret name ${JSON.stringify(name)} is not [A-Za-z0-9._-]{1,128}`);
    const json = await this.#request(
      'POST',
      `/ccnodes/v1/secrets/${encodeURIComponent(name)}/release`,
      { token },
      `release ${name}`,
    );
    const jwe = json['jwe'];
    if (typeof jwe !== 'string' || jwe.split('.').length !== 5)
      throw new AttestationResponseError(`release ${name}: the answer has no compact JWE`, {
        details: { field: 'jwe', secret: name },
      });
    return {
      name: typeof json['name'] === 'string' ? json['name'] : name,
      contentType: typeof json['contentType'] === 'string' ? json['contentType'] : 'application/octet-stream',
      alg: typeof json['alg'] === 'string' ? json['alg'] : '',
      jwe,
    };
  }

  /** The keys published at `/certs` as X.509 certificates by `kid`. */
  async certs(): Promise<ReadonlyMap<string, X509Certificate>> {
    return this.#certsMap(true);
  }

  /**
   * Starts fetching `/certs` now, while the caller does other work, so that the first
   * {@link verifyToken} finds the keys (`container run` calls it while the trusted files are
   * hashed). Nothing is reported here: should the fetch fail, `verifyToken` fetches again and
   * reports that outcome. Does nothing when the keys are held or being fetched, or after {@link close}.
   */
  prefetchCerts(): void {
    if (this.#certs !== undefined || this.#certsInFlight !== undefined || this.#isClosed()) return;
    // One attempt, without retry lines: retrying is verifyToken's to do and to report.
    const fetching = this.#fetchCerts(1);
    this.#certsInFlight = fetching;
    const done = (): void => {
      if (this.#certsInFlight === fetching) this.#certsInFlight = undefined;
    };
    fetching.then(done, done);
  }

  async #certsMap(refresh: boolean): Promise<Map<string, X509Certificate>> {
    if (!refresh) {
      if (this.#certs !== undefined) return this.#certs;
      const pending = this.#certsInFlight;
      if (pending !== undefined) {
        try {
          return await pending;
        } catch {
          // A failed prefetch: fetched again below, and this outcome is the one reported.
        }
      }
    }
    const fetching = this.#fetchCerts();
    this.#certsInFlight = fetching;
    try {
      return await fetching;
    } finally {
      if (this.#certsInFlight === fetching) this.#certsInFlight = undefined;
    }
  }

  async #fetchCerts(attempts = this.#attempts): Promise<Map<string, X509Certificate>> {
    const json = await this.#request('GET', '/certs', undefined, 'certs', attempts);
    const keys = json['keys'];
    if (!Array.isArray(keys))
      throw new AttestationResponseError('certs: the answer has no keys array', {
        details: { field: 'keys' },
      });
    const map = new Map<string, X509Certificate>();
    for (const k of keys as { kid?: unknown; x5c?: unknown }[]) {
      const der: unknown = Array.isArray(k.x5c) ? (k.x5c as unknown[])[0] : undefined;
      if (typeof k.kid !== 'string' || typeof der !== 'string') continue;
      try {
        map.set(k.kid, new X509Certificate(Buffer.from(der, 'base64')));
      } catch {
        // an unreadable entry is no key; a token naming it fails with `kid`
      }
    }
    this.#certs = map;
    return map;
  }

  async #request(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    what: string,
    attempts = this.#attempts,
  ): Promise<Record<string, unknown>> {
    const url = `${this.baseUrl}${path}`;
    const sleep = this.#options.sleep ?? ((ms: number) => this.#defaultSleep(ms));
    const closed = (): AttestationUnreachableError =>
      new AttestationUnreachableError(`${what}: the client was closed`, {
        details: { url: this.baseUrl, reason: 'closed' },
      });
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.#isClosed()) throw closed();
      if (attempt > 1) {
        const delay = Math.min(this.#maxDelay, this.#baseDelay * 2 ** (attempt - 2));
        this.#options.onRetry?.(attempt, delay, last);
        await sleep(delay);
        if (this.#isClosed()) throw closed();
      }
      try {
        return await this.#once(method, url, body, what);
      } catch (err) {
        if (!(err instanceof Retryable)) throw err;
        last = err.message;
      }
    }
    throw new AttestationUnreachableError(
      `${what}: attestation service at ${this.baseUrl} unreachable after ${attempts} attempts: ${last}`,
      { details: { url: this.baseUrl, attempts, reason: last } },
    );
  }

  async #once(method: string, url: string, body: unknown, what: string): Promise<Record<string, unknown>> {
    const res = await this.#exchange(
      method,
      url,
      body === undefined ? undefined : JSON.stringify(body),
      what,
    );
    const text = res.body;
    if (RETRY_STATUSES.has(res.status)) throw new Retryable(`HTTP ${res.status}`);
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status < 200 || res.status > 299) {
      const e = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      // The MAA body carries MAA's coarse code; ccnodes adds its stable code as a header.
      const maaCode = typeof e?.code === 'string' ? e.code : undefined;
      const serviceCode = headerValue(res.headers['x-ccnodes-error-code']) ?? maaCode ?? `HTTP_${res.status}`;
      const message = typeof e?.message === 'string' ? e.message : 'no message';
      throw new AttestationRefusedError(
        `${what}: HTTP ${res.status} ${serviceCode}: ${message}`,
        res.status,
        serviceCode,
        { details: maaCode === undefined ? {} : { maaCode } },
      );
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json))
      throw new AttestationResponseError(`${what}: the answer is not a JSON object`, {
        details: { field: '(root)' },
      });
    return json as Record<string, unknown>;
  }

  /**
   * One HTTP exchange under one deadline (connect, request, headers and body together: `timeoutMs`).
   * Transport failures and the deadline are {@link Retryable}; a body over {@link MAX_RESPONSE_BYTES}
   * is an {@link AttestationResponseError}.
   */
  #exchange(
    method: string,
    url: string,
    payload: string | undefined,
    what: string,
  ): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
    type Answer = { status: number; headers: IncomingMessage['headers']; body: string };
    return new Promise<Answer>((resolve, reject) => {
      const headers: Record<string, string | number> =
        payload === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) };
      const req = (this.#https ? loadHttps().request : httpRequest)(url, {
        method,
        headers,
        agent: this.#agent,
      });
      // Whatever fails first settles the promise; a later failure (the 'aborted' or 'error' that the
      // destroy itself causes) only repeats the clean-up and rejects a settled promise: no effect.
      const fail = (err: Error): void => {
        clearTimeout(timer);
        req.destroy();
        reject(err);
      };
      const timer = setTimeout(() => {
        fail(new Retryable(`no complete answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      req.on('error', (err: Error & { code?: string }) => {
        fail(new Retryable(err.code ?? err.message));
      });
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES)
            fail(
              new AttestationResponseError(`${what}: the answer is longer than ${MAX_RESPONSE_BYTES} bytes`, {
                details: { field: '(body)', limit: MAX_RESPONSE_BYTES },
              }),
            );
          else chunks.push(chunk);
        });
        res.on('error', (err: Error & { code?: string }) => {
          fail(new Retryable(err.code ?? err.message));
        });
        res.on('aborted', () => {
          fail(new Retryable('connection closed before the end of the answer'));
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      req.end(payload);
    });
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function tokenError(check: string, message: string, cause?: unknown): AttestationTokenError {
  // CcnodesError leaves an undefined cause out.
  return new AttestationTokenError(`token ${check}: ${message}`, { details: { check }, cause });
}
