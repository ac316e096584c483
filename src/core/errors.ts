import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/**
 * Error codes of the core (formats and verification). Helpers adding codes: append here, keep the
 * family (class) right, then run `npm run docs:errors`.
 */
export const CORE_ERRORS = {
  ERR_FORMAT_TRUNCATED: {
    type: 'FormatError',
    summary: 'Input ended before a field could be read; names the field and byte offset.',
  },
  ERR_FORMAT_LENGTH: {
    type: 'FormatError',
    summary: 'A declared length is out of bounds or exceeds a limit; names the field and offset.',
  },
  ERR_FORMAT_VALUE: {
    type: 'FormatError',
    summary: 'A field holds a value the format does not allow (version, type, reserved bytes).',
  },
  ERR_FORMAT_ENCODING: {
    type: 'FormatError',
    summary: 'Text input is not valid hex, base64, PEM or JSON where one was required.',
  },
} as const satisfies ErrorRegistry;

export type CoreErrorCode = keyof typeof CORE_ERRORS;

/** Codes of the FormatError family. */
export type FormatErrorCode = {
  [K in CoreErrorCode]: (typeof CORE_ERRORS)[K]['type'] extends 'FormatError' ? K : never;
}[CoreErrorCode];

/** Malformed binary or text input. `details.field` and `details.offset` locate the problem. */
export class FormatError extends CcnodesError {
  declare readonly code: FormatErrorCode;
  constructor(
    code: FormatErrorCode,
    message: string,
    details: { field?: string; offset?: number; [k: string]: unknown } = {},
  ) {
    super(code, message, { details });
  }
}
