/**
 * The admission webhook over HTTPS (node:https): `POST /mutate` and `POST /validate` take an
 * AdmissionReview v1 and answer one; `GET /healthz` answers `ok`. Bodies above `maxBodyBytes` get
 * 413, malformed reviews 400 with a JSON error naming the field; everything else is 404/405.
 *
 * Slow or idle clients are bounded by {@link WebhookHttpLimits}: the TLS handshake and the request
 * headers within `headerTimeoutMs`, the whole request within `requestTimeoutMs`, idle keep-alive
 * connections closed after `idleTimeoutMs`, at most `maxConnections` open, the deadlines checked
 * at least every second (src/http-limits).
 */
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WEBHOOK_HEALTH_PATH, WEBHOOK_MUTATE_PATH, WEBHOOK_VALIDATE_PATH } from '../contract/index.ts';
import { isCcnodesError } from '../errors/index.ts';
import {
  DEFAULT_HTTP_LIMITS,
  limitServer,
  resolveHttpLimits,
  serverOptions,
  type HttpLimits,
} from '../http-limits/index.ts';
import { parseAdmissionReview, reviewMutation, reviewValidation } from './admission.ts';
import { KubeServerError } from './errors.ts';
import type { ValidateOptions } from './validate.ts';
import { DEFAULT_WEBHOOK_CONFIG, type WebhookConfig } from './webhook-config.ts';

/**
 * Bounds on connections of the webhook server (src/http-limits; the header timeout also bounds the
 * TLS handshake).
 */
export type WebhookHttpLimits = HttpLimits;

/** Defaults of {@link WebhookHttpLimits}: those of every ccnodes service. */
export const DEFAULT_WEBHOOK_HTTP_LIMITS: Required<WebhookHttpLimits> = DEFAULT_HTTP_LIMITS;

/** Options of {@link startWebhookServer}. */
export interface WebhookServerOptions {
  readonly host: string;
  readonly port: number;
  readonly certPem: string;
  readonly keyPem: string;
  readonly config?: WebhookConfig;
  /** EPC of the largest confidential node, fixed or looked up per review (e.g. from a node cache). */
  readonly largestNodeEpcMiB?: number | (() => number | undefined);
  /** Largest request body accepted (default 4 MiB; a pod object is at most ~1.5 MiB in etcd). */
  readonly maxBodyBytes?: number;
  /** Connection bounds (defaults {@link DEFAULT_WEBHOOK_HTTP_LIMITS}). */
  readonly limits?: WebhookHttpLimits;
  /** Called once per review (for logs): path, uid, allowed, patch operation count. */
  readonly onReview?: (event: { path: string; uid: string; allowed: boolean; patched: boolean }) => void;
}

/** A running webhook server. */
export interface WebhookServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new BodyTooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
  res.end(text);
}

/** Starts the server; resolves once it listens. */
export async function startWebhookServer(options: WebhookServerOptions): Promise<WebhookServer> {
  const config = options.config ?? DEFAULT_WEBHOOK_CONFIG;
  const max = options.maxBodyBytes ?? 4 * 1024 * 1024;
  const validateOptions = (): ValidateOptions => {
    const l = options.largestNodeEpcMiB;
    const largest = typeof l === 'function' ? l() : l;
    return { config, ...(largest === undefined ? {} : { largestNodeEpcMiB: largest }) };
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === WEBHOOK_HEALTH_PATH) {
      send(res, req.method === 'GET' ? 200 : 405, req.method === 'GET' ? 'ok\n' : 'method not allowed\n');
      return;
    }
    if (path !== WEBHOOK_MUTATE_PATH && path !== WEBHOOK_VALIDATE_PATH) {
      send(res, 404, 'not found\n');
      return;
    }
    if (req.method !== 'POST') {
      send(res, 405, 'method not allowed\n');
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, max));
    } catch (err) {
      if (err instanceof BodyTooLarge)
        send(res, 413, {
          error: { code: 'ERR_KUBE_ADMISSION_REVIEW', message: `body larger than ${max} bytes` },
        });
      else send(res, 400, { error: { code: 'ERR_KUBE_ADMISSION_REVIEW', message: 'body is not JSON' } });
      return;
    }
    try {
      const request = parseAdmissionReview(body);
      const review =
        path === WEBHOOK_MUTATE_PATH
          ? reviewMutation(request, config)
          : reviewValidation(request, validateOptions());
      options.onReview?.({
        path,
        uid: request.uid,
        allowed: review.response.allowed,
        patched: review.response.patch !== undefined,
      });
      send(res, 200, review);
    } catch (err) {
      if (isCcnodesError(err)) send(res, 400, { error: err.toJSON() });
      else send(res, 500, { error: { code: 'ERR_INTERNAL', message: 'internal error' } });
    }
  };
  const limits = resolveHttpLimits(
    options.limits,
    DEFAULT_WEBHOOK_HTTP_LIMITS,
    (p) => new KubeServerError(p.message, { details: { field: `limits.${p.field}` } }),
  );
  const server: Server = createServer(
    {
      cert: options.certPem,
      key: options.keyPem,
      minVersion: 'TLSv1.2',
      handshakeTimeout: limits.headerTimeoutMs,
      ...serverOptions(limits),
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  limitServer(server, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) => {
      reject(
        new KubeServerError(`cannot listen on ${options.host}:${options.port}: ${cause.message}`, { cause }),
      );
    });
    server.listen(options.port, options.host, () => {
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `https://${hostForUrl}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
