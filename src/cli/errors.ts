import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

/** Error codes raised by the command-line layer itself. */
export const CLI_ERRORS = {
  ERR_USAGE: {
    type: 'UsageError',
    summary: 'Bad command-line usage: unknown option, missing or malformed argument.',
  },
  ERR_IO: {
    type: 'IoError',
    summary: 'A file or socket named on the command line could not be read or written.',
  },
  ERR_INTERNAL: {
    type: 'InternalError',
    summary: 'An unexpected failure inside ccnodes (a bug): exit status 2; the stack trace goes to stderr.',
  },
} as const satisfies ErrorRegistry;

export type CliErrorCode = keyof typeof CLI_ERRORS;

/** Bad usage: exit status 2. */
export class UsageError extends CcnodesError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('ERR_USAGE', message, details === undefined ? undefined : { details });
  }
}

/** I/O failure on something the user named: exit status 2. */
export class IoError extends CcnodesError {
  constructor(message: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    super('ERR_IO', message, options);
  }
}

/** An unexpected failure (not a typed error) as reported under `--json`: exit status 2. */
export class InternalError extends CcnodesError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INTERNAL', message, options);
  }
}
