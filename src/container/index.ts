/**
 * `container`: confidential containers: the app manifest, prepare/measure, and the launcher (`ccnodes container`).
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export {
  canonicalManifest,
  loadManifest,
  manifestFileRecord,
  MANIFEST_FORMAT,
  MAX_CA_FILE_BYTES,
  MAX_MANIFEST_BYTES,
  parseManifest,
  parseManifestDocument,
  validateManifest,
  type AppManifest,
  type AttestationSettings,
  type EncryptedInput,
  type LoadedManifest,
  type LoadManifestOptions,
  type ManifestFileRecord,
  type SealedState,
  type SealPolicy,
  type SecretTarget,
} from './manifest.ts';
export {
  checkTrustedFiles,
  expandTrustedFiles,
  globToRegExp,
  HASH_CHUNK,
  HASH_CONCURRENCY,
  hashFile,
  hashTrustedFiles,
  startTrustedFileHashes,
  type TrustedFileHash,
} from './trusted-files.ts';
export { readSmallFile, readSmallTextFile, SmallFileError } from './small-file.ts';
export {
  defaultHashHelper,
  HASH_HELPER_ENV,
  hashHelperMode,
  helperBudget,
  HELPER_MAX_FILES,
  HELPER_MIN_BYTES,
  prestartHashes,
  type FileDigest,
  type HashHelperSetting,
  type PrestartedHashes,
} from '../hash-helper/index.ts';
export {
  decodeAppSig,
  encodeAppSig,
  IDENTITY_FILES,
  identityDefinition,
  identityImage,
  LAUNCHER_ECALLS,
  LAUNCHER_ENCLAVE_SOURCE,
  LAUNCHER_RUNTIME_ID,
  MAX_APP_SIG_BYTES,
  measureIdentity,
  prepareApp,
  readAppSig,
  releasePolicyFor,
  SIG_FORMAT,
  trustedFilesJson,
  type AppSig,
  type Prepared,
} from './identity.ts';
export {
  aesmGetQuote,
  aesmQuoteSize,
  aesmQuoteTarget,
  DEFAULT_AESM_SOCKET,
  type AesmQuoteTarget,
} from './aesm-client.ts';
export {
  disableCoreDumps,
  findExecutable,
  parseCoreLimit,
  readCoreLimit,
  turnCoreDumpsOff,
  type CoreDumpsOff,
  type CoreLimit,
  type DisableCoreDumpsOptions,
} from './core-limit.ts';
export { openPlatform, type LaunchPlatform, type PlatformOptions } from './platform.ts';
export {
  defaultPrivateRoot,
  MAX_LEGACY_SEALED_BLOB_BYTES,
  MAX_SEALED_STATE_BYTES,
  runContainer,
  SEALED_STATE_FILE,
  SEALED_STATE_SUBDIR,
  type RunContainerOptions,
  type RunContainerResult,
} from './launcher.ts';
export { GRAMINE_APP_DIR, GRAMINE_PRIVATE_DIR, gramineManifest, type GramineOptions } from './gramine.ts';
