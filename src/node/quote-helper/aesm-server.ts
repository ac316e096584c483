/**
 * The AESM-compatible unix socket server (spec k8s-sgx.md §5.1): one request per connection, u32
 * little-endian length + protobuf `aesm.message.Request`, one framed `Response`, then the
 * connection is closed. Like aesmd it closes connections whose bytes are not a request it knows,
 * answers requests that fail their `required` checks with error code 1, and keeps serving; unlike
 * aesmd it caps the request length and times out idle connections.
 */
import { chmod } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { isCcnodesError } from '../../errors/index.ts';
import { dispatchAesmRequest } from './aesm-dispatch.ts';
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
  /** A connection that has not delivered its whole request by then is closed (default 30 s). */
  readonly readTimeoutMs?: number;
  /** File mode of the socket (default 0o777, as aesmd). */
  readonly socketMode?: number;
}

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
    sock.setTimeout(readTimeoutMs, () => {
      if (!complete) drop(sock, frame.truncated(`no complete request within ${readTimeoutMs} ms`));
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
      sock.setTimeout(0);
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
