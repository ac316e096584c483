/** A small HTTP endpoint for Prometheus: `GET /metrics` and `GET /healthz`. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import {
  DEFAULT_HTTP_LIMITS,
  limitServer,
  resolveHttpLimits,
  serverOptions,
  type HttpLimits,
} from '../../http-limits/index.ts';
import { DevicePluginConfigError } from './errors.ts';

/** Bounds on the endpoint's connections (src/http-limits). */
export type MetricsHttpLimits = HttpLimits;

/** Defaults of {@link MetricsHttpLimits}: the services' defaults, with at most 256 connections. */
export const DEFAULT_METRICS_HTTP_LIMITS: Required<MetricsHttpLimits> = {
  ...DEFAULT_HTTP_LIMITS,
  maxConnections: 256,
};

/** A listening metrics endpoint. */
export interface MetricsEndpoint {
  readonly url: string;
  close(): Promise<void>;
}

/** Parses `host:port` (or `:port`, `[v6]:port`) for `--metrics-listen`. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new DevicePluginConfigError(
      'ERR_DEVICE_PLUGIN_OPTION',
      `--metrics-listen: ${JSON.stringify(value)} is not host:port (e.g. 0.0.0.0:9464 or 127.0.0.1:0)`,
      { option: 'metrics-listen', value },
    );
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/**
 * Serves the registry; `healthy()` decides the /healthz status (200 or 503). With `details`, the
 * /healthz body is JSON: `{"status": "ok" | "unhealthy", ...details()}` (the device plugin reports
 * its node PATCH there); without, plain `ok` / `unhealthy`.
 *
 * Slow and idle clients are bounded by `limits` (defaults {@link DEFAULT_METRICS_HTTP_LIMITS}); the
 * header and request deadlines are checked at most every second (Node's default is every 30 s).
 */
export async function serveMetrics(
  listen: string,
  registry: Registry,
  healthy: () => boolean = () => true,
  details?: () => Record<string, unknown>,
  limits: MetricsHttpLimits = {},
): Promise<MetricsEndpoint> {
  const { host, port } = parseListen(listen);
  const l = resolveHttpLimits(
    limits,
    DEFAULT_METRICS_HTTP_LIMITS,
    (p) =>
      new DevicePluginConfigError('ERR_DEVICE_PLUGIN_OPTION', `metrics endpoint: ${p.message}`, {
        option: 'metrics-limits',
        field: p.field,
      }),
  );
  const options = serverOptions(l);
  const server: Server = createServer(options, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(err instanceof Error ? err.message : String(err));
        },
      );
      return;
    }
    if (req.method === 'GET' && path === '/healthz') {
      const ok = healthy();
      if (details !== undefined) {
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(`${JSON.stringify({ status: ok ? 'ok' : 'unhealthy', ...details() })}\n`);
        return;
      }
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'unhealthy\n');
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found\n');
  });
  limitServer(server, l);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
