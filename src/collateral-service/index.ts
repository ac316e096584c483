/**
 * `collateral-service`: the PCCS-compatible collateral service (`ccnodes collateral serve`) and its persistent cache.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export {
  artefactKey,
  describeSpec,
  specOfKey,
  H as PCCS_HEADERS,
  type ArtefactKind,
  type ArtefactSpec,
  type StoredArtefact,
  type Tee,
} from './artefacts.ts';
export { trustRoot, verifyArtefact, type TrustRoot, type VerifiedArtefact } from './verify.ts';
export {
  openMemoryStore,
  openPostgresStore,
  openSqliteStore,
  POSTGRES_SCHEMA_LOCK,
  openStore,
  prepareDataDir,
  type ArtefactStore,
  type PlatformRegistration,
} from './store.ts';
export { Upstream, type UpstreamOptions } from './upstream.ts';
export {
  CollateralService,
  parseCacheBundle,
  type CollateralCacheBundle,
  type CollateralMetrics,
  type CollateralMode,
  type CollateralServiceOptions,
  type RefreshTimer,
} from './service.ts';
export {
  DEFAULT_COLLATERAL_HTTP_LIMITS,
  buildCollateralApp,
  statusOf,
  type CollateralAppOptions,
  type CollateralHttpLimits,
} from './app.ts';
export { startCollateralService, type CollateralServer, type CollateralServerConfig } from './server.ts';
