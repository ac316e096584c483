/** Errors of the PCS/PCCS client (network, HTTP status, response shape). */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

export const PCS_ERRORS = {
  ERR_PCS_UNREACHABLE: {
    type: 'PcsError',
    summary: 'The PCS/PCCS could not be reached (connection refused, DNS, TLS) after all retries.',
  },
  ERR_PCS_TIMEOUT: {
    type: 'PcsError',
    summary: 'A PCS/PCCS request did not complete within the configured timeout (after all retries).',
  },
  ERR_PCS_HTTP: {
    type: 'PcsError',
    summary: 'The PCS/PCCS answered with an error status; names the path and status.',
  },
  ERR_PCS_RESPONSE: {
    type: 'PcsError',
    summary: 'A PCS/PCCS response lacks a required issuer-chain header or has a malformed body.',
  },
} as const satisfies ErrorRegistry;

export type PcsErrorCode = keyof typeof PCS_ERRORS;

/** A failed collateral fetch. `details.path` names the endpoint, `details.status` the HTTP status. */
export class PcsError extends CcnodesError {
  declare readonly code: PcsErrorCode;
  constructor(code: PcsErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}
