/**
 * Node TLS helpers for RA-TLS. A self-signed RA-TLS certificate never passes Node's chain check,
 * so these helpers switch that check off and verify the peer's certificate by attestation instead,
 * *before* handing the connection to the application: a client gets its socket (or its HTTP
 * request goes out) only after the server verified; a server sees a connection only after the
 * client's certificate verified (mutual RA-TLS).
 */
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { Agent as UndiciAgent, type buildConnector } from 'undici';
import {
  DEFAULT_HTTP_LIMITS,
  limitServer,
  resolveHttpLimits,
  serverOptions,
  type HttpLimits,
  type ResolvedHttpLimits,
} from '../http-limits/index.ts';
import { RatlsOptionsError, RatlsVerificationError } from './errors.ts';
import type { RatlsVerification, RatlsVerifier } from './verify.ts';

/** A key and RA-TLS certificate (PEM) to present. */
export interface RatlsCredentials {
  readonly key: string | Buffer;
  readonly cert: string | Buffer;
}

/** A socket whose peer was verified by attestation. */
export type RatlsSocket = tls.TLSSocket & { ratls?: RatlsVerification };

function peerDer(socket: tls.TLSSocket): Uint8Array {
  // An empty object when the peer sent no certificate (not detailed: the peer's own certificate only).
  const peer = socket.getPeerCertificate() as Partial<tls.PeerCertificate>;
  if (peer.raw === undefined)
    throw new RatlsVerificationError(
      'ERR_RATLS_NO_PEER_CERTIFICATE',
      'the TLS peer presented no certificate',
    );
  return new Uint8Array(peer.raw);
}

/** Options of `createRatlsServer`. */
export interface RatlsServerOptions extends RatlsCredentials {
  /** Mutual RA-TLS: require a client RA-TLS certificate and verify it with this verifier. */
  readonly verifyClient?: RatlsVerifier;
  /** Other `tls.createServer` options (they take precedence over `limits`). */
  readonly tls?: tls.TlsOptions;
  /**
   * Connection bounds (src/http-limits): the TLS handshake must complete within `headerTimeoutMs`
   * (default 10 s; Node's own is 120 s), and when `maxConnections` is given, further connections
   * are closed at accept. The protocol above TLS is the caller's, so no idle or request timeout is
   * imposed on it.
   */
  readonly limits?: HttpLimits;
}

/** `limits` over the services' defaults, refused as `ERR_RATLS_OPTIONS` naming the bound. */
function ratlsLimits(limits: HttpLimits | undefined): ResolvedHttpLimits {
  return resolveHttpLimits(
    limits,
    DEFAULT_HTTP_LIMITS,
    (p) => new RatlsOptionsError(`RA-TLS server: ${p.message}`, { option: `limits.${p.field}` }),
  );
}

/**
 * A TLS server presenting an RA-TLS certificate. With `verifyClient`, `onConnection` sees only
 * connections whose client certificate verified (`socket.ratls`); refused ones are destroyed and
 * reported as the server's `'ratlsRefused'` event `(error, socket)`.
 */
export function createRatlsServer(
  options: RatlsServerOptions,
  onConnection: (socket: RatlsSocket) => void,
): tls.Server {
  const verifier = options.verifyClient;
  const limits = ratlsLimits(options.limits);
  const server = tls.createServer({
    handshakeTimeout: limits.headerTimeoutMs,
    ...options.tls,
    key: options.key,
    cert: options.cert,
    ...(verifier === undefined ? {} : { requestCert: true, rejectUnauthorized: false }),
  });
  // The cap applies when asked for: a raw TLS server's protocol is the caller's, and so is how many
  // connections it expects.
  if (options.limits?.maxConnections !== undefined) server.maxConnections = limits.maxConnections;
  // A handshake that fails or times out is only reported ('tlsClientError'); without this the
  // socket of a client that never completes TLS would stay open.
  server.on('tlsClientError', (_err: Error, socket: tls.TLSSocket) => {
    socket.destroy();
  });
  server.on('secureConnection', (socket: RatlsSocket) => {
    if (verifier === undefined) {
      onConnection(socket);
      return;
    }
    socket.pause();
    let der: Uint8Array;
    try {
      der = peerDer(socket);
    } catch (err) {
      server.emit('ratlsRefused', err, socket);
      socket.destroy();
      return;
    }
    verifier.verify(der).then(
      (result) => {
        socket.ratls = result;
        onConnection(socket);
        socket.resume();
      },
      (err: unknown) => {
        server.emit('ratlsRefused', err, socket);
        socket.destroy();
      },
    );
  });
  return server;
}

/**
 * An HTTPS server presenting an RA-TLS certificate (server-side attestation only). Slow and idle
 * clients are bounded as at the ccnodes services (`limits`, src/http-limits: handshake and headers
 * within 10 s, the request within 30 s, idle connections closed after 30 s, at most 1,024 open);
 * options given in `tls` take precedence.
 */
export function createRatlsHttpsServer(
  options: RatlsCredentials & { readonly tls?: https.ServerOptions; readonly limits?: HttpLimits },
  listener: Parameters<typeof https.createServer>[1],
): https.Server {
  const limits = ratlsLimits(options.limits);
  const server = https.createServer(
    {
      handshakeTimeout: limits.headerTimeoutMs,
      ...serverOptions(limits),
      ...options.tls,
      key: options.key,
      cert: options.cert,
    },
    listener,
  );
  limitServer(server, { ...limits, ...tlsOverrides(options.tls) });
  return server;
}

/** The bounds a caller set through `tls` options, which limitServer must not undo. */
function tlsOverrides(o: https.ServerOptions | undefined): Partial<ResolvedHttpLimits> {
  const out: { -readonly [K in keyof ResolvedHttpLimits]?: number } = {};
  if (o?.requestTimeout !== undefined) out.requestTimeoutMs = o.requestTimeout;
  if (o?.headersTimeout !== undefined) out.headerTimeoutMs = o.headersTimeout;
  if (o?.keepAliveTimeout !== undefined) out.idleTimeoutMs = o.keepAliveTimeout;
  return out;
}

/** Options of `connectRatls`. */
export type ConnectRatlsOptions = Omit<
  tls.ConnectionOptions,
  'rejectUnauthorized' | 'checkServerIdentity'
> & {
  /** Verifies the server's RA-TLS certificate. */
  readonly verifier: RatlsVerifier;
  /** Mutual RA-TLS: the client's own key and RA-TLS certificate. */
  readonly credentials?: RatlsCredentials | undefined;
};

/**
 * Connects and resolves once the server's RA-TLS certificate verified (`socket.ratls`); on any
 * failure the socket is destroyed before the application could write to it, and the promise rejects.
 */
export function connectRatls(options: ConnectRatlsOptions): Promise<RatlsSocket> {
  const { verifier, credentials, ...rest } = options;
  return new Promise((resolve, reject) => {
    const socket: RatlsSocket = tls.connect({
      ...rest,
      ...(credentials === undefined ? {} : { key: credentials.key, cert: credentials.cert }),
      rejectUnauthorized: false,
    });
    const onError = (err: Error): void => {
      reject(err);
    };
    socket.once('error', onError);
    socket.once('secureConnect', () => {
      let der: Uint8Array;
      try {
        der = peerDer(socket);
      } catch (err) {
        socket.destroy();
        // peerDer throws Errors only (RatlsVerificationError; a TypeError should Node change its API)
        // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
        reject(err as Error);
        return;
      }
      verifier.verify(der).then(
        (result) => {
          socket.removeListener('error', onError);
          socket.ratls = result;
          resolve(socket);
        },
        (err: unknown) => {
          socket.destroy();
          reject(err instanceof Error ? err : new Error(String(err)));
        },
      );
    });
  });
}

/**
 * An `https.Agent` whose connections are handed to `http`/`https` only after the server's
 * RA-TLS certificate verified (no TLS session reuse, so every connection is attested).
 */
export class RatlsHttpsAgent extends https.Agent {
  readonly #verifier: RatlsVerifier;
  readonly #credentials: RatlsCredentials | undefined;

  constructor(
    verifier: RatlsVerifier,
    options: https.AgentOptions & { credentials?: RatlsCredentials } = {},
  ) {
    const { credentials, ...rest } = options;
    super({ ...rest, maxCachedSessions: 0 });
    this.#verifier = verifier;
    this.#credentials = credentials;
  }

  override createConnection(
    options: https.RequestOptions,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | undefined {
    const {
      checkServerIdentity: _ignored,
      rejectUnauthorized: _also,
      ...rest
    } = options as tls.ConnectionOptions;
    // connectRatls rejects with Errors only (socket errors, RA-TLS errors, a verifier's reason wrapped).
    connectRatls({ ...rest, verifier: this.#verifier, credentials: this.#credentials }).then(
      (socket) => callback?.(null, socket),
      (err: unknown) => callback?.(err as Error, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

/** An undici `Agent` (for `fetch`/`request` with `dispatcher`) that attests every server it connects to. */
export function ratlsUndiciAgent(
  verifier: RatlsVerifier,
  options: {
    credentials?: RatlsCredentials;
    agent?: Omit<UndiciAgent.Options, 'connect'>;
  } = {},
): UndiciAgent {
  const connect: buildConnector.connector = (opts, callback) => {
    const servername =
      opts.servername ?? (opts.hostname.match(/^[\d.:]+$/) === null ? opts.hostname : undefined);
    connectRatls({
      host: opts.hostname,
      port: Number(opts.port === '' ? (opts.protocol === 'https:' ? 443 : 80) : opts.port),
      ...(servername === undefined || servername === '' ? {} : { servername }),
      ALPNProtocols: ['http/1.1'],
      verifier,
      credentials: options.credentials,
    }).then(
      (socket) => {
        callback(null, socket);
      },
      (err: unknown) => {
        callback(err as Error, null); // connectRatls rejects with Errors only
      },
    );
  };
  return new UndiciAgent({ ...options.agent, connect });
}
