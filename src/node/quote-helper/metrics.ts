/**
 * Prometheus metrics of the quote helper (prom-client, its own registry): requests by transport,
 * type and result, latency, protocol errors, and quotes per client. "Client" is the first 8 bytes
 * of the quoted report's MRENCLAVE (Node cannot read a unix socket peer's credentials); at most
 * `maxClients` distinct values are kept, later ones count as `other`.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Transport = 'aesm' | 'json';

export interface QuoteHelperMetrics {
  readonly registry: Registry;
  /** One finished request: `type` is the AESM request name or JSON route, `code` the AESM status. */
  observe(transport: Transport, type: string, code: number, seconds: number, client?: string): void;
  /** A connection dropped unanswered (framing, garbage, unknown request, upstream failure). */
  protocolError(transport: Transport, code: string): void;
}

export function createMetrics(
  options: { maxClients?: number; defaultMetrics?: boolean } = {},
): QuoteHelperMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true)
    collectDefaultMetrics({ register: registry, prefix: 'ccnodes_quote_helper_' });
  const maxClients = options.maxClients ?? 64;
  const requests = new Counter({
    name: 'ccnodes_quote_helper_requests_total',
    help: 'Requests answered, by transport, request type and AESM status (0 = success).',
    labelNames: ['transport', 'type', 'code'],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'ccnodes_quote_helper_errors_total',
    help: 'Requests answered with a non-zero AESM status, or dropped, by transport and reason.',
    labelNames: ['transport', 'reason'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'ccnodes_quote_helper_request_duration_seconds',
    help: 'Time from a complete request to its response, by transport and request type.',
    labelNames: ['transport', 'type'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const clientQuotes = new Counter({
    name: 'ccnodes_quote_helper_client_quotes_total',
    help: 'Quote requests per client (first 8 bytes of the report MRENCLAVE, hex) and result.',
    labelNames: ['client', 'result'],
    registers: [registry],
  });
  const seen = new Set<string>();
  const clientLabel = (client: string): string => {
    if (seen.has(client)) return client;
    if (seen.size >= maxClients) return 'other';
    seen.add(client);
    return client;
  };
  // Labelled children are cached: resolving labels on every observation costs more than the quote.
  const requestChildren = new Map<string, { inc(): void }>();
  const latencyChildren = new Map<string, { observe(v: number): void }>();
  return {
    registry,
    observe(transport, type, code, seconds, client) {
      const key = `${transport}\0${type}`;
      const rKey = `${key}\0${code}`;
      let r = requestChildren.get(rKey);
      if (r === undefined) {
        r = requests.labels({ transport, type, code: String(code) });
        requestChildren.set(rKey, r);
      }
      r.inc();
      let l = latencyChildren.get(key);
      if (l === undefined) {
        l = latency.labels({ transport, type });
        latencyChildren.set(key, l);
      }
      l.observe(seconds);
      if (code !== 0) errors.inc({ transport, reason: `aesm_status_${code}` });
      if (client !== undefined)
        clientQuotes.inc({ client: clientLabel(client), result: code === 0 ? 'ok' : 'error' });
    },
    protocolError(transport, code) {
      errors.inc({ transport, reason: code });
    },
  };
}
