/**
 * ccnodes collateral sources: where verification collateral comes from. Offline files now;
 * PCS/PCCS clients live here too.
 */
export {
  COLLATERAL_FILES,
  COLLATERAL_ROOT_FILES,
  loadCollateralDirectory,
  loadCollateralDirectoryWithReport,
  loadCollateralPath,
  loadCollateralPathWithReport,
  type CollateralDirectoryReport,
} from './offline.ts';
export { PcsClient, type PcsClientOptions, type PcsItem } from './pcs-client.ts';
export { CollateralCache, type CollateralCacheOptions } from './cache.ts';
export { PCS_ERRORS, PcsError, type PcsErrorCode } from './pcs-errors.ts';
