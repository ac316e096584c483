/**
 * The one base class for every error ccnodes raises on purpose.
 *
 * Each module declares its failure families as subclasses (in its own `errors.ts`) and lists its
 * codes in a registry object (`<MODULE>_ERRORS`), so that callers can `switch (err.code)` on a
 * closed union and `docs/errors.md` can be kept in step by a test. Codes are stable: once shipped,
 * a code keeps its meaning and is never reused. Messages are for humans and may change; they name
 * the field, byte offset or rule involved.
 *
 * This module is a leaf: it imports nothing, and every layer may import it (see docs/architecture.md).
 */

/** Describes one error code in a module registry. */
export interface ErrorCodeInfo {
  /** Name of the error class that carries this code. */
  readonly type: string;
  /** One line: when this code is raised. */
  readonly summary: string;
}

/** A registry: code → description. Declared `as const satisfies ErrorRegistry` in each module. */
export type ErrorRegistry = Readonly<Record<string, ErrorCodeInfo>>;

/** Base class: a stable `code`, a human message, optional structured `details` and `cause`. */
export class CcnodesError extends Error {
  /** Stable machine-readable code, e.g. `ERR_FORMAT_TRUNCATED`. */
  readonly code: string;
  /** Structured context (field name, byte offset, expected/actual values). Never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: string,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = Object.freeze({ ...(options?.details ?? {}) });
  }

  /** Plain JSON form used by `--json` CLI output and service error bodies. */
  toJSON(): { code: string; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/** True for any error raised through the ccnodes hierarchy. */
export function isCcnodesError(value: unknown): value is CcnodesError {
  return value instanceof CcnodesError;
}
