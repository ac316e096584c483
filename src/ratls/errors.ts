import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `ratls`: RA-TLS: X.509 certificates carrying SGX/TDX quotes (Gramine, Gramine DICE, EGo/Open Enclave formats), their verification, TLS helpers. Each code names its error class (see docs/errors.md). */
export const RATLS_ERRORS = {} as const satisfies ErrorRegistry;
