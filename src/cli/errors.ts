import { CcnodesError, isCcnodesError, type ErrorRegistry } from '../errors/index.ts';
import { EXIT, type CliContext } from './context.ts';

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

/**
 * True when `--json` is among the options of this invocation (before a `--` terminator): errors are
 * then reported as one JSON object on stdout, even when commander rejects the command line before a
 * command's action (and its own `--json` handling) runs.
 */
export function wantsJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}

/** The JSON error document printed on stdout under `--json` (the shape every command uses). */
export interface JsonErrorDocument {
  readonly ok: false;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

/**
 * How one invocation reports its failures (src/cli/index.ts's runCli, and quote-verify-fast.ts,
 * which runs `quote verify` without commander): `ctx` is the context to give the command (it notes
 * whether anything reached stdout), `emit` prints the {@link JsonErrorDocument} under `--json`
 * unless the command already wrote its own document, and `fail` reports an error that reached the
 * top and returns the exit status.
 */
export interface CliReporter {
  readonly ctx: CliContext;
  emit(code: string, message: string, details: Readonly<Record<string, unknown>>): void;
  fail(err: unknown): number;
}

/** The {@link CliReporter} of one invocation (`argv` decides `--json`). */
export function cliReporter(argv: readonly string[], ctx: CliContext): CliReporter {
  const json = wantsJson(argv);
  let wroteStdout = false;
  const stdout = ctx.stdout;
  // Track whether anything reached stdout, so that a JSON error never follows another document.
  const tracked: CliContext = {
    ...ctx,
    stdout: (text: string) => {
      if (text.length > 0) wroteStdout = true;
      stdout(text);
    },
  };
  const emit = (code: string, message: string, details: Readonly<Record<string, unknown>>): void => {
    if (!json || wroteStdout) return;
    const doc: JsonErrorDocument = { ok: false, error: { code, message, details } };
    stdout(`${JSON.stringify(doc, null, 2)}\n`);
  };
  const fail = (err: unknown): number => {
    if (err instanceof UsageError || err instanceof IoError) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      emit(err.code, err.message, err.details);
      return EXIT.USAGE;
    }
    if (isCcnodesError(err)) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      emit(err.code, err.message, err.details);
      return EXIT.CHECK_FAILED;
    }
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    ctx.stderr(`ccnodes: internal error: ${message}\n`);
    const internal = new InternalError(err instanceof Error ? err.message : String(err), { cause: err });
    emit(internal.code, internal.message, internal.details);
    return EXIT.USAGE;
  };
  return { ctx: tracked, emit, fail };
}
