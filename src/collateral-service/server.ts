/** Assembles a running collateral service: store, cache logic, HTTP app, listening socket. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildCollateralApp, type CollateralAppOptions } from './app.ts';
import { CollateralServiceConfigError } from './errors.ts';
import { CollateralService, type CollateralServiceOptions } from './service.ts';
import { openStore } from './store.ts';

/** Configuration of {@link startCollateralService} (the CLI maps its flags onto this). */
export interface CollateralServerConfig
  extends Omit<CollateralServiceOptions, 'store' | 'log'>, CollateralAppOptions {
  /** SQLite lives at `<dataDir>/collateral.db` (created 0700) unless `databaseUrl` is given. */
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly host?: string;
  /** 0 = any free port. */
  readonly port?: number;
}

/** A running service. */
export interface CollateralServer {
  /** `http(s)://host:port` (the PCCS base URL; append `/sgx/certification/v4/…`). */
  readonly url: string;
  readonly app: FastifyInstance;
  readonly service: CollateralService;
  close(): Promise<void>;
}

type EarlyLevel = 'info' | 'warn' | 'error';
/** Log lines of the cache's start kept until the app's logger exists. */
const EARLY_LOG_LINES = 1000;

/** Opens storage, loads and verifies the cache, and listens. */
export async function startCollateralService(config: CollateralServerConfig): Promise<CollateralServer> {
  const store = await openStore(config);
  let service: CollateralService;
  try {
    let app: FastifyInstance | undefined;
    // Lines logged while the cache loads (e.g. a stored artefact refused at start) come before the
    // app and its logger exist: they are kept, at most EARLY_LOG_LINES of them, and written then.
    const early: { level: EarlyLevel; fields: Record<string, unknown>; message: string }[] = [];
    let dropped = 0;
    service = await CollateralService.open({
      ...config,
      store,
      log: (level, fields, message) => {
        if (app !== undefined) app.log[level](fields, message);
        else if (early.length < EARLY_LOG_LINES) early.push({ level, fields, message });
        else dropped++;
      },
    });
    try {
      app = buildCollateralApp(service, config);
      for (const l of early) app.log[l.level](l.fields, l.message);
      if (dropped > 0) app.log.warn({ dropped }, `${dropped} more log lines from the start were dropped`);
      const host = config.host ?? '127.0.0.1';
      try {
        await app.listen({ host, port: config.port ?? 0 });
      } catch (cause) {
        throw new CollateralServiceConfigError(
          `cannot listen on ${host}:${config.port ?? 0}: ${(cause as Error).message}`,
          { field: 'listen' },
          cause,
        );
      }
      // Listening on a host and port (never a pipe), the server's address is an AddressInfo.
      const { port } = app.server.address() as AddressInfo;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      const scheme = config.https === undefined ? 'http' : 'https';
      const running = app;
      let closing: Promise<void> | undefined;
      return {
        url: `${scheme}://${shownHost}:${port}`,
        app: running,
        service,
        close: async () => {
          closing ??= (async () => {
            await running.close();
            await service.close();
          })();
          await closing;
        },
      };
    } catch (err) {
      await app?.close().catch(() => undefined);
      await service.close().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}
