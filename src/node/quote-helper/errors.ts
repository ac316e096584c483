import { CcnodesError, type ErrorRegistry } from '../../errors/index.ts';

/**
 * Error codes of the quote helper: the AESM wire protocol (`ERR_AESM_*`) and the daemon around it
 * (`ERR_QUOTE_HELPER_*`). After adding a code run `npm run docs:errors`.
 */
export const QUOTE_HELPER_ERRORS = {
  ERR_AESM_FRAME_TOO_LARGE: {
    type: 'AesmProtocolError',
    summary: 'An AESM frame declares a length of zero or above the length cap; the connection is closed.',
  },
  ERR_AESM_FRAME_TRUNCATED: {
    type: 'AesmProtocolError',
    summary: 'An AESM connection ended (or timed out) before the declared number of bytes arrived.',
  },
  ERR_AESM_MALFORMED: {
    type: 'AesmProtocolError',
    summary: 'AESM message bytes are not valid protobuf, or a response lacks the expected sub-message.',
  },
  ERR_AESM_UNKNOWN_REQUEST: {
    type: 'AesmProtocolError',
    summary:
      'An AESM request carries no sub-message aesmd recognizes; aesmd closes such connections unanswered.',
  },
  ERR_AESM_STATUS: {
    type: 'AesmStatusError',
    summary: 'An AESM operation ended with a non-zero aesm_error_t status (details.status names it).',
  },
  ERR_QUOTE_HELPER_INPUT: {
    type: 'QuoteHelperInputError',
    summary: 'A JSON API request or a quote input is malformed: wrong field, size or encoding.',
  },
  ERR_QUOTE_HELPER_REPORT_MAC: {
    type: 'QuoteHelperInputError',
    summary: "The enclave report's MAC does not verify under the quoting enclave's report key.",
  },
  ERR_QUOTE_HELPER_UPSTREAM: {
    type: 'QuoteHelperUpstreamError',
    summary: "The host's aesmd socket could not be reached or answered outside the protocol.",
  },
  ERR_QUOTE_HELPER_CONFIG: {
    type: 'QuoteHelperConfigError',
    summary:
      'Invalid quote helper options: unknown provider, missing or unusable socket path or data directory.',
  },
} as const satisfies ErrorRegistry;

export type QuoteHelperErrorCode = keyof typeof QUOTE_HELPER_ERRORS;

type CodesOf<T extends string> = {
  [K in QuoteHelperErrorCode]: (typeof QUOTE_HELPER_ERRORS)[K]['type'] extends T ? K : never;
}[QuoteHelperErrorCode];

/** A peer broke the AESM framing or message rules. */
export class AesmProtocolError extends CcnodesError {
  declare readonly code: CodesOf<'AesmProtocolError'>;
  constructor(code: CodesOf<'AesmProtocolError'>, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/**
 * An AESM operation failed with status `status` (an `aesm_error_t` value, see `AESM_STATUS` in the
 * contract). Providers throw it; the AESM server answers with that status as `errorCode`.
 */
export class AesmStatusError extends CcnodesError {
  declare readonly code: 'ERR_AESM_STATUS';
  constructor(
    readonly status: number,
    message: string,
    details: Record<string, unknown> = {},
  ) {
    super('ERR_AESM_STATUS', message, { details: { status, ...details } });
  }
}

/** Bad input to the quote helper (JSON API body, report size, report MAC). */
export class QuoteHelperInputError extends CcnodesError {
  declare readonly code: CodesOf<'QuoteHelperInputError'>;
  constructor(
    code: CodesOf<'QuoteHelperInputError'>,
    message: string,
    details: { field?: string; [k: string]: unknown } = {},
  ) {
    super(code, message, { details });
  }
}

/** The host aesmd (aesmd provider) is unreachable or spoke outside the protocol. */
export class QuoteHelperUpstreamError extends CcnodesError {
  declare readonly code: 'ERR_QUOTE_HELPER_UPSTREAM';
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super('ERR_QUOTE_HELPER_UPSTREAM', message, options);
  }
}

/** Invalid daemon options. */
export class QuoteHelperConfigError extends CcnodesError {
  declare readonly code: 'ERR_QUOTE_HELPER_CONFIG';
  constructor(message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super('ERR_QUOTE_HELPER_CONFIG', message, options);
  }
}
