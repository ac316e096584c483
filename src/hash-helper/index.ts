/**
 * The hash helper: SHA-256 of large files by an `openssl dgst` child over descriptors this process
 * opened and checked (see helper.ts). A leaf module, so that the CLI's CommonJS start can begin the
 * hashing before it loads anything else: importing it brings nothing but `node:` modules.
 */
export {
  defaultHashHelper,
  hashHelperMode,
  hashWithHelper,
  HASH_HELPER_ENV,
  HELPER_BASE_TIMEOUT_MS,
  HELPER_DIRS,
  HELPER_HEAD_START_BYTES,
  HELPER_SHARE,
  helperBudget,
  HELPER_MAX_FILES,
  HELPER_MIN_BYTES,
  HELPER_MS_PER_MIB,
  isPlainRelative,
  openForHelper,
  PRESTART_MAX_SIG_BYTES,
  prestartHashes,
  type FileDigest,
  type HashHelperMode,
  type HashHelperSetting,
  type Opened,
  type PrestartedHashes,
} from './helper.ts';
