/**
 * ccnodes collateral sources: where verification collateral comes from. Offline files now;
 * PCS/PCCS clients live here too.
 */
export { COLLATERAL_FILES, loadCollateralDirectory, loadCollateralPath } from './offline.ts';
