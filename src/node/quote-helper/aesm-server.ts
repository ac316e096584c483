/**
 * The AESM-compatible unix socket server (spec k8s-sgx.md §5.1): one request per connection, u32
 * little-endian length + protobuf `aesm.message.Request`, one framed `Response`, then the
 * connection is closed. Like aesmd it closes connections whose bytes are not a request it knows,
 * answers requests that fail their `required` checks with error code 1, and keeps serving; unlike
 * aesmd it caps the request length and the open connections, and closes a connection whose
 * request has not arrived whole by a deadline.
 */
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { isCcnodesError } from '../../errors/index.ts';
import { dispatchAesmRequest } from './aesm-dispatch.ts';
import { QuoteHelperConfigError } from './errors.ts';
import { decodeAesmRequest } from './aesm-request.ts';
import { DEFAULT_MAX_REQUEST_BYTES, FrameAssembler, encodeFrame } from './framing.ts';
import type { QuoteHelperMetrics } from './metrics.ts';
import type { QuoteProvider } from './provider.ts';
import { encodeFramedResponse } from './schema.ts';
import { describeAesmResponse } from './aesm-describe.ts';
import { prepareSocketPath, removeSocketFile } from './unix-socket.ts';

export interface AesmServerOptions {
  readonly socketPath: string;
  readonly provider: QuoteProvider;
  readonly metrics: QuoteHelperMetrics;
  readonly logger: Logger;
  /** Largest accepted request body (default 64 KiB). */
  readonly maxRequestBytes?: number;
  /**
   * A connection that has not delivered its whole request this long after it was accepted is
   * closed (default 30 s): a deadline, not an idle timeout, so a client trickling bytes is cut
   * off as one that sends nothing.
   */
  readonly readTimeoutMs?: number;
  /**
   * Connections open at once (default {@link DEFAULT_AESM_MAX_CONNECTIONS}); further ones are closed
   * as they are accepted, so that clients holding connections cannot take all the daemon's
   * descriptors.
   */
  readonly maxConnections?: number;
  /** File mode of the socket (default 0o777, as aesmd). */
  readonly socketMode?: number;
}

/** Default cap on open AESM connections (as the JSON API's). */
export const DEFAULT_AESM_MAX_CONNECTIONS = 1024;

export interface AesmServer {
  readonly socketPath: string;
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), removes the socket file. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Sends the one response and closes the connection once it is flushed, as aesmd closes its end
 * after answering: a client that never closes its side cannot keep the descriptor open.
 */
function reply(sock: Socket, frame: Buffer): void {
  sock.end(frame, () => {
    sock.destroy();
  });
}

/** Binds the socket and starts serving. */
export async function startAesmServer(options: AesmServerOptions): Promise<AesmServer> {
  const { socketPath, provider, metrics, logger } = options;
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const readTimeoutMs = options.readTimeoutMs ?? 30_000;
  const maxConnections = options.maxConnections ?? DEFAULT_AESM_MAX_CONNECTIONS;
  for (const [field, v, max] of [
    ['readTimeoutMs', readTimeoutMs, 86_400_000],
    ['maxConnections', maxConnections, 1_000_000],
  ] as const) {
    if (!Number.isInteger(v) || v < 1 || v > max)
      throw new QuoteHelperConfigError(
        `AESM socket: ${field} must be an integer in 1..${max}, got ${String(v)}`,
        {
          details: { field },
        },
      );
  }
  const open = new Set<Socket>();
  const log = logger.child({ transport: 'aesm' });

  const drop = (sock: Socket, err: unknown): void => {
    const code = isCcnodesError(err) ? err.code : 'ERR_INTERNAL';
    metrics.protocolError('aesm', code);
    log.warn(
      { code, err: err instanceof Error ? err.message : String(err) },
      'closing AESM connection without answer',
    );
    sock.destroy();
  };

  const respond = async (sock: Socket, body: Buffer): Promise<void> => {
    const started = performance.now();
    if (provider.forward !== undefined) {
      const answer = await provider.forward(body);
      const seconds = (performance.now() - started) / 1000;
      const info = describeAesmResponse(body, answer);
      if (answer === undefined) {
        drop(sock, info.error);
        return;
      }
      metrics.observe('aesm', info.type, info.errorCode, seconds, info.client);
      reply(sock, encodeFrame(answer));
      return;
    }
    const decoded = decodeAesmRequest(body);
    const outcome = await dispatchAesmRequest(decoded, provider);
    const framed = encodeFramedResponse(outcome.response);
    const seconds = (performance.now() - started) / 1000;
    metrics.observe('aesm', decoded.kind.request, outcome.errorCode, seconds, outcome.client);
    if (outcome.errorCode !== 0) {
      log.info(
        { request: decoded.kind.request, errorCode: outcome.errorCode, reason: outcome.reason },
        'AESM request failed',
      );
    }
    reply(sock, framed);
  };

  const onConnection = (sock: Socket): void => {
    open.add(sock);
    sock.once('close', () => open.delete(sock));
    sock.on('error', (err) => {
      log.debug({ err: err.message }, 'AESM client socket error');
    });
    const frame = new FrameAssembler(maxBytes);
    let complete = false;
    // A deadline from the accept, which bytes arriving do not push back.
    const deadline = setTimeout(() => {
      if (!complete) {
        complete = true;
        drop(sock, frame.truncated(`no complete request within ${readTimeoutMs} ms`));
      }
    }, readTimeoutMs);
    sock.once('close', () => {
      clearTimeout(deadline);
    });
    sock.on('data', (chunk: Buffer) => {
      if (complete) return;
      let body: Buffer | undefined;
      try {
        body = frame.push(chunk);
      } catch (err) {
        complete = true;
        drop(sock, err);
        return;
      }
      if (body === undefined) return;
      complete = true;
      clearTimeout(deadline);
      sock.pause();
      respond(sock, body).catch((err: unknown) => {
        drop(sock, err);
      });
    });
    sock.on('end', () => {
      if (!complete) {
        complete = true;
        drop(sock, frame.truncated('connection ended'));
      }
    });
  };

  await prepareSocketPath(socketPath, 'AESM socket');
  const server: Server = createServer({ allowHalfOpen: true }, onConnection);
  server.maxConnections = maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: socketPath, backlog: 511 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => {
    log.error({ err: err.message }, 'AESM server error');
  });
  await chmod(socketPath, options.socketMode ?? 0o777);
  log.info({ socketPath, provider: provider.name }, 'AESM socket listening');

  return {
    socketPath,
    async close(graceMs = 2_000): Promise<void> {
      const closed = new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
      const timer = setTimeout(() => {
        for (const s of open) s.destroy();
      }, graceMs);
      timer.unref();
      await closed;
      clearTimeout(timer);
      await removeSocketFile(socketPath);
    },
  };
}
