import type { ErrorRegistry } from '../errors/index.ts';

/** Error codes of `collateral-service`: the PCCS-compatible collateral service (`ccnodes collateral serve`) and its persistent cache. Each code names its error class (see docs/errors.md). */
export const COLLATERAL_SERVICE_ERRORS = {} as const satisfies ErrorRegistry;
