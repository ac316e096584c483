import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `dashboard`: the operator dashboard: web server and its data adapters (Kubernetes API, attestation API, metrics). Each code names its error class (see docs/errors.md). */
export const DASHBOARD_ERRORS = {} as const satisfies ErrorRegistry;
