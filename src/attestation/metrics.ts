/** Prometheus metrics of one service instance (own registry, never the global one). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The metric handles the routes update. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly attestations: Counter<'endpoint' | 'outcome'>;
  readonly attestDuration: Histogram<'endpoint'>;
  readonly releases: Counter<'decision'>;
  readonly policyChanges: Counter<'operation'>;
  readonly httpErrors: Counter<'code'>;
  /** Stored records refused by the integrity check, by record kind (`policy`, `secret`, …). */
  readonly integrityFailures: Counter<'kind'>;
  /** Repeated identical audit failures counted into an aggregate line instead of written. */
  readonly auditAggregated: Counter<'action'>;
  /** Audit lines deleted by retention (age and row-count limits). */
  readonly auditPruned: Counter;
}

/** Creates the registry; `defaults` adds process metrics (memory, event loop lag). */
export function createMetrics(options: { defaults?: boolean } = {}): ServiceMetrics {
  const registry = new Registry();
  if (options.defaults !== false)
    collectDefaultMetrics({ register: registry, prefix: 'ccnodes_attestation_' });
  return {
    registry,
    attestations: new Counter({
      name: 'ccnodes_attestation_attest_total',
      help: 'Attestation requests by endpoint and outcome (issued, draft, denied, rejected, error).',
      labelNames: ['endpoint', 'outcome'] as const,
      registers: [registry],
    }),
    attestDuration: new Histogram({
      name: 'ccnodes_attestation_attest_duration_seconds',
      help: 'Time to verify evidence, evaluate policy and issue a token.',
      labelNames: ['endpoint'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    releases: new Counter({
      name: 'ccnodes_attestation_secret_release_total',
      help: 'Secret release decisions.',
      labelNames: ['decision'] as const,
      registers: [registry],
    }),
    policyChanges: new Counter({
      name: 'ccnodes_attestation_policy_changes_total',
      help: 'Accepted policy and policy-certificate changes.',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    httpErrors: new Counter({
      name: 'ccnodes_attestation_http_errors_total',
      help: 'Error responses by MAA error code.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    integrityFailures: new Counter({
      name: 'ccnodes_attestation_integrity_failures_total',
      help: 'Stored records refused because their KEK-derived MAC or manifest entry does not verify, by kind.',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    auditAggregated: new Counter({
      name: 'ccnodes_attestation_audit_aggregated_total',
      help: 'Repeated identical failures counted into an aggregate audit line instead of written one by one.',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    auditPruned: new Counter({
      name: 'ccnodes_attestation_audit_pruned_total',
      help: 'Audit lines deleted by retention (maximum age and maximum row count).',
      registers: [registry],
    }),
  };
}
