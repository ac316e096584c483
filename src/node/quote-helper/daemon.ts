/**
 * The quote helper daemon: the AESM socket, the optional JSON API socket, one provider, one metrics
 * registry. `startQuoteHelper` returns once both sockets listen; `close` stops both and releases
 * the provider.
 */
import { chmod } from 'node:fs/promises';
import type { Logger } from 'pino';
import { startAesmServer, type AesmServer } from './aesm-server.ts';
import { buildJsonApi, type JsonApi } from './json-api.ts';
import { createMetrics, type QuoteHelperMetrics } from './metrics.ts';
import type { QuoteProvider } from './provider.ts';
import { prepareSocketPath, removeSocketFile } from './unix-socket.ts';

export interface QuoteHelperOptions {
  /** AESM socket path (DESIGN.md §3 default: /var/run/aesmd/aesm.socket). */
  readonly socketPath: string;
  /** JSON API socket path; omit to serve AESM only. */
  readonly jsonSocketPath?: string;
  readonly provider: QuoteProvider;
  readonly logger: Logger;
  readonly metrics?: QuoteHelperMetrics;
  readonly maxRequestBytes?: number;
  readonly readTimeoutMs?: number;
  /** AESM connections open at once (default 1,024; see AesmServerOptions). */
  readonly maxConnections?: number;
  /** File mode of the JSON socket (default 0o660: it is an operator interface). */
  readonly jsonSocketMode?: number;
}

export interface QuoteHelper {
  readonly socketPath: string;
  readonly jsonSocketPath: string | undefined;
  readonly metrics: QuoteHelperMetrics;
  readonly provider: QuoteProvider;
  /** Stops both servers (in-flight requests get `graceMs`) and closes the provider. */
  close(graceMs?: number): Promise<void>;
}

/** Starts the daemon. On failure anything already started is stopped again. */
export async function startQuoteHelper(options: QuoteHelperOptions): Promise<QuoteHelper> {
  const metrics = options.metrics ?? createMetrics();
  const { provider, logger } = options;
  let aesm: AesmServer | undefined;
  let json: JsonApi | undefined;
  try {
    aesm = await startAesmServer({
      socketPath: options.socketPath,
      provider,
      metrics,
      logger,
      ...(options.maxRequestBytes === undefined ? {} : { maxRequestBytes: options.maxRequestBytes }),
      ...(options.readTimeoutMs === undefined ? {} : { readTimeoutMs: options.readTimeoutMs }),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    });
    if (options.jsonSocketPath !== undefined) {
      await prepareSocketPath(options.jsonSocketPath, 'JSON API socket');
      json = buildJsonApi({ provider, metrics, logger });
      await json.listen({ path: options.jsonSocketPath });
      await chmod(options.jsonSocketPath, options.jsonSocketMode ?? 0o660);
      logger.info({ socketPath: options.jsonSocketPath }, 'JSON API listening');
    }
  } catch (err) {
    await json?.close();
    await aesm?.close(0);
    throw err;
  }
  const started = aesm;
  const jsonApp = json;
  return {
    socketPath: options.socketPath,
    jsonSocketPath: options.jsonSocketPath,
    metrics,
    provider,
    async close(graceMs = 2_000): Promise<void> {
      await Promise.all([
        started.close(graceMs),
        jsonApp === undefined
          ? Promise.resolve()
          : jsonApp
              .close()
              .then(() =>
                options.jsonSocketPath === undefined ? undefined : removeSocketFile(options.jsonSocketPath),
              ),
      ]);
      await provider.close();
      logger.info('quote helper stopped');
    },
  };
}
