/**
 * `collateral-service`: the PCCS-compatible collateral service (`ccnodes collateral serve`) and its persistent cache.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
