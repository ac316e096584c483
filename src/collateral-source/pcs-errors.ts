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
    summary:
      'A PCS/PCCS response lacks a required issuer-chain header, has a malformed body, or is larger than 8 MiB.',
  },
  ERR_PCS_BASE_URL: {
    type: 'PcsError',
    summary:
      'A PCS/PCCS base URL is not one of the accepted forms (host only, /sgx/certification/v4 or /tdx/certification/v4, http or https), or --collateral-api is not auto|pcs|pccs; names the URL.',
  },
  ERR_PCS_ROOT_CA_CRL_URL: {
    type: 'PcsError',
    summary:
      'The Root CA CRL location is unknown: Intel PCS mode needs the CRL distribution point of the root certificate in an issuer chain (or --root-ca-crl-url), and none was found.',
  },
  ERR_PCS_QUOTE: {
    type: 'PcsError',
    summary:
      'The quote does not say which collateral to fetch: it does not decode, or carries no PCK certificate chain (certification data type 5) with the SGX extensions.',
  },
} as const satisfies ErrorRegistry;

export type PcsErrorCode = keyof typeof PCS_ERRORS;

/**
 * A failed collateral fetch. `details.url` names the URL requested, `details.path` the endpoint,
 * `details.status` the HTTP status (with Intel's `Error-Code` / `Error-Message` and `Request-ID`
 * headers when the server sent them).
 */
export class PcsError extends CcnodesError {
  declare readonly code: PcsErrorCode;
  constructor(code: PcsErrorCode, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(code, message, { details, cause });
  }
}
