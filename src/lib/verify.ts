/**
 * `ccnodes/verify`: parse and verify Intel SGX/TDX DCAP quotes offline.
 *
 * ```ts
 * import { loadCollateral, verifyQuote } from 'ccnodes/verify';
 * const collateral = await loadCollateral('collateral.json'); // a bundle file or a directory
 * const result = verifyQuote(quoteBytes, collateral, { now: new Date() });
 * ```
 *
 * Everything here is re-exported from the library modules (src/core, src/collateral-source); this
 * file adds no behaviour of its own except {@link loadCollateral}. See docs/api.md.
 */
import { loadCollateralPath } from '../collateral-source/index.ts';
import type { RawCollateral } from '../core/index.ts';

/**
 * Loads verification collateral from `fileOrDir`: a bundle JSON file (ccnodes' own schema or
 * dcap-qvl's) or a directory of PCS artefacts (docs/collateral.md). The result is what
 * {@link verifyQuote} takes. Throws `CollateralFormatError` (`ERR_COLLATERAL_FORMAT`) for content
 * that is not collateral, and Node's fs error for a path that cannot be read.
 */
export function loadCollateral(fileOrDir: string): Promise<RawCollateral> {
  return loadCollateralPath(fileOrDir);
}

export {
  loadCollateralDirectory,
  loadCollateralDirectoryWithReport,
  loadCollateralPathWithReport,
  COLLATERAL_FILES,
  COLLATERAL_ROOT_FILES,
  type CollateralDirectoryReport,
} from '../collateral-source/index.ts';

// Verification.
export {
  verifyQuote,
  prepareCollateral,
  isPreparedCollateral,
  parseCollateralBundle,
  serializeCollateralBundle,
  VERIFY_STEPS,
  TCB_STATUSES,
  INTEL_SGX_ROOT_CA_PEM,
  SIMULATED_ROOT_CN,
  type VerificationResult,
  type VerifyOptions,
  type VerifyStep,
  type PreparedCollateral,
  type RawCollateral,
  type TcbStatus,
  type RootKind,
} from '../core/index.ts';

// Parsing.
export {
  decodeQuote,
  decodeQuoteHeader,
  decodeReportBody,
  decodeTdReport,
  decodeCertificationData,
  decodeSignatureData,
  decodeQeReportCertificationData,
  decodeReport,
  decodeTargetInfo,
  decodeTcbInfo,
  decodeQeIdentity,
  decodePckExtensions,
  pckExtensionsOf,
  parseSignedJson,
  parseCertificate,
  parsePemChain,
  pemCertificates,
  parseCrl,
  decodeInput,
  decodeBinaryInput,
  isPlausibleQuote,
  fromHex,
  toHex,
  sgxAttributeFlagNames,
  tdAttributeFlagNames,
  INPUT_ENCODINGS,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  type Quote,
  type QuoteBody,
  type QuoteHeader,
  type ReportBody,
  type TdReport,
  type CertificationData,
  type SignatureData,
  type QeReportCertificationData,
  type Report,
  type TargetInfo,
  type TcbInfo,
  type TcbLevel,
  type QeIdentity,
  type PckExtensions,
  type SgxType,
  type SignedJson,
  type ParsedCert,
  type ParsedCrl,
  type SgxAttributes,
  type InputEncoding,
  type DecodedInput,
  type DecodeInputOptions,
} from '../core/index.ts';

// Errors: every failure is one of these classes with a stable `code` (docs/errors.md).
export {
  FormatError,
  CollateralFormatError,
  VerificationError,
  CORE_ERRORS,
  CORE_VERIFY_ERRORS,
  type CoreErrorCode,
  type FormatErrorCode,
  type CoreVerifyErrorCode,
  type VerificationErrorCode,
} from '../core/index.ts';
export { CcnodesError, isCcnodesError } from '../errors/index.ts';
