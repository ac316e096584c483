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
export {
  MAX_PCS_RESPONSE_BYTES,
  PcsClient,
  crlDistributionPointUrls,
  rootCaCrlUrlOfChain,
  type PcsClientOptions,
  type PcsFetchEvent,
  type PcsItem,
  type PcsTee,
} from './pcs-client.ts';
export {
  INTEL_PCS_BASE_URL,
  INTEL_PCS_HOST,
  normalizePcsBaseUrl,
  parseCollateralApiChoice,
  resolveCollateralApi,
  type CollateralApi,
  type CollateralApiChoice,
  type PcsBaseUrl,
} from './base-url.ts';
export { collateralRequestOfQuote, type QuoteCollateralRequest } from './quote-request.ts';
export { CollateralCache, type CollateralCacheOptions } from './cache.ts';
export { PCS_ERRORS, PcsError, type PcsErrorCode } from './pcs-errors.ts';
