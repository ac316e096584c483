import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes of `dashboard`: the operator dashboard: web server and its data adapters (Kubernetes API, attestation API, metrics). Each code names its error class (see docs/errors.md). */
export const DASHBOARD_ERRORS = {
  ERR_DASHBOARD_CONFIG: {
    type: 'DashboardConfigError',
    summary:
      'The dashboard configuration is unusable: a bad listen address or URL, a non-loopback address without an admin token or without TLS, an unreadable token or TLS file (names the option).',
  },
  ERR_DASHBOARD_SOURCE: {
    type: 'DashboardSourceError',
    summary:
      'A data source (Kubernetes API, attestation service, metrics endpoint, collateral service) failed, timed out, answered too much or answered a shape the dashboard cannot read (names the source and the field).',
  },
  ERR_DASHBOARD_METRICS_TEXT: {
    type: 'MetricsTextError',
    summary:
      'A Prometheus text exposition is malformed or exceeds the parser bounds (bytes, lines, samples, labels); names the line.',
  },
} as const satisfies ErrorRegistry;

export type DashboardErrorCode = keyof typeof DASHBOARD_ERRORS;

/** A dashboard option that cannot be used; `details.option` names it. */
export class DashboardConfigError extends CcnodesError {
  constructor(message: string, details?: Record<string, unknown>, cause?: unknown) {
    super('ERR_DASHBOARD_CONFIG', message, {
      ...(details === undefined ? {} : { details }),
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** A data source failed or answered something unreadable; `details.source` names it. */
export class DashboardSourceError extends CcnodesError {
  constructor(message: string, details: Record<string, unknown>, cause?: unknown) {
    super('ERR_DASHBOARD_SOURCE', message, { details, ...(cause === undefined ? {} : { cause }) });
  }
}

/** A Prometheus text exposition the bounded parser refuses; `details.line` is 1-based. */
export class MetricsTextError extends CcnodesError {
  constructor(message: string, details: Record<string, unknown>) {
    super('ERR_DASHBOARD_METRICS_TEXT', message, { details });
  }
}
