/**
 * Errors of the simulated DCAP side of `src/sim` (keys, PKI, platforms, quoting, PCS endpoint).
 * Codes are `ERR_SIM_<CONDITION>`; docs/errors.md is generated from this registry.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

export const SIM_ERRORS = {
  ERR_SIM_UNKNOWN_PLATFORM: {
    type: 'SimConfigError',
    summary: 'No simulated platform preset has the requested name (see `ccnodes sim platforms`).',
  },
  ERR_SIM_PLATFORM_CONFIG: {
    type: 'SimConfigError',
    summary:
      'A simulated platform configuration field has the wrong size or range (CPUSVN, FMSPC, SVN, PPID).',
  },
  ERR_SIM_REPORT_INPUT: {
    type: 'SimConfigError',
    summary: 'The report body or report data given to the simulated quoting enclave has the wrong size.',
  },
  ERR_SIM_PCS_CONFIG: {
    type: 'SimConfigError',
    summary:
      'A connection bound of the simulated PCS server is not an integer in its range (`details.field`).',
  },
  ERR_SIM_SEED: {
    type: 'SimConfigError',
    summary: 'The simulation seed is empty or not a string.',
  },
  ERR_SIM_KEY_FILE_PERMISSIONS: {
    type: 'SimKeyStoreError',
    summary: 'A simulated key file in the data directory is readable by group or others (must be mode 0600).',
  },
  ERR_SIM_KEY_FILE_INVALID: {
    type: 'SimKeyStoreError',
    summary: 'A simulated key file in the data directory has the wrong size or is not a regular file.',
  },
  ERR_SIM_KEY_FILE_IO: {
    type: 'SimKeyStoreError',
    summary: 'The simulated key file in the data directory could not be read or created.',
  },
} as const satisfies ErrorRegistry;

export type SimErrorCode = keyof typeof SIM_ERRORS;

type CodesOf<T extends string> = {
  [K in SimErrorCode]: (typeof SIM_ERRORS)[K]['type'] extends T ? K : never;
}[SimErrorCode];

/** A simulated platform, seed or quoting input is not acceptable. `details.field` names it. */
export class SimConfigError extends CcnodesError {
  declare readonly code: CodesOf<'SimConfigError'>;
  constructor(code: CodesOf<'SimConfigError'>, message: string, details: Record<string, unknown> = {}) {
    super(code, message, { details });
  }
}

/** The simulated key material in the data directory is unusable. `details.path` names the file. */
export class SimKeyStoreError extends CcnodesError {
  declare readonly code: CodesOf<'SimKeyStoreError'>;
  constructor(
    code: CodesOf<'SimKeyStoreError'>,
    message: string,
    options: { details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
