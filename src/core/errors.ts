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
  ERR_FORMAT_VERSION: {
    type: 'FormatError',
    summary: 'Quote version is not 3, 4 or 5.',
  },
  ERR_FORMAT_KEY_TYPE: {
    type: 'FormatError',
    summary: 'Attestation key type is not 2 (ECDSA-256 with P-256), the only supported one.',
  },
  ERR_FORMAT_TEE_TYPE: {
    type: 'FormatError',
    summary: 'TEE type is not SGX (0) or TDX (0x81), or does not fit the quote version or body type.',
  },
  ERR_FORMAT_QE_VENDOR: {
    type: 'FormatError',
    summary: "QE vendor ID is not Intel's (939A7233F79C4CA9940A0DB3957F0607); other QEs are rejected.",
  },
  ERR_FORMAT_CERT_TYPE: {
    type: 'FormatError',
    summary: 'Certification data type not allowed here (v3: 1..5; v4/v5: outer 6, inner 1..5).',
  },
  ERR_FORMAT_BODY_TYPE: {
    type: 'FormatError',
    summary: 'Quote v5 body descriptor type is not 1 (SGX), 2 (TD report 1.0) or 3 (TD report 1.5).',
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

/**
 * Builds a `FormatError` whose message names the field and the absolute byte offset, in the same
 * form as the byte reader's own errors: `<field>: <problem> at byte offset <n>`.
 */
export function formatErrorAt(
  code: FormatErrorCode,
  field: string,
  offset: number,
  problem: string,
  details: Record<string, unknown> = {},
): FormatError {
  return new FormatError(code, `${field}: ${problem} at byte offset ${offset}`, {
    ...details,
    field,
    offset,
  });
}
