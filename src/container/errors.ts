import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `container`: confidential containers: the app manifest, prepare/measure, and the launcher (`ccnodes container`). Each code names its error class (see docs/errors.md). */
export const CONTAINER_ERRORS = {} as const satisfies ErrorRegistry;
