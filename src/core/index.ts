/**
 * ccnodes core: SGX/DCAP binary formats, collateral, and quote verification. Pure: no I/O, no clock.
 */
export { ByteReader, ByteWriter } from './bytes.ts';
export {
  CORE_ERRORS,
  type CoreErrorCode,
  type FormatErrorCode,
  FormatError,
  formatErrorAt,
} from './errors.ts';
// core formats (owner: core-formats)
export {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  CERT_DATA_TYPE,
  INTEL_QE_VENDOR_ID,
  INTEL_QE_VENDOR_ID_HEX,
  MAX_QUOTE_SIZE,
  QUOTE_HEADER_SIZE,
  REPORT_BODY_SIZE,
  TD_REPORT_10_SIZE,
  TD_REPORT_15_SIZE,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
} from './constants.ts';
export {
  asUint8Array,
  decodeBinaryInput,
  decodeInput,
  fromHex,
  isPlausibleQuote,
  toHex,
  INPUT_ENCODINGS,
  MAX_TEXT_INPUT_SIZE,
  MIN_QUOTE_SIZE,
  type DecodeInputOptions,
  type DecodedInput,
  type DetectedEncoding,
  type InputEncoding,
} from './encoding.ts';
export {
  decodeReportBody,
  emptyReportBody,
  encodeReportBody,
  REPORT_BODY_OFFSETS,
  SGX_ATTRIBUTE_FLAGS,
  sgxAttributeFlagNames,
  writeReportBody,
  type ReportBody,
  type ReportBodyInit,
  type SgxAttributes,
} from './report-body.ts';
export {
  decodeTdReport,
  encodeTdReport,
  TD_ATTRIBUTE_FLAGS,
  tdAttributeFlagNames,
  type TdReport,
} from './td-report.ts';
export { decodeQuoteHeader, encodeQuoteHeader, type QuoteHeader } from './quote-header.ts';
export {
  decodeCertificationData,
  encodeCertificationData,
  pemChainToCertificationData,
  splitPemChain,
  type CertificationData,
} from './certification-data.ts';
export {
  decodeQeReportCertificationData,
  decodeSignatureData,
  encodeSignatureData,
  type QeReportCertificationData,
  type SignatureData,
  type SignatureDataInit,
} from './signature-data.ts';
export {
  decodeQuote,
  encodeQuote,
  encodeQuoteSignedData,
  type BodyDescriptor,
  type EncodeQuoteOptions,
  type Quote,
  type QuoteBody,
  type QuoteBodyInit,
  type QuoteInit,
} from './quote.ts';
// enclave structures (owner: sim-enclave)
export {
  decodeSigstruct,
  decodeSigstructDate,
  encodeSigstruct,
  encodeSigstructDate,
  SIGSTRUCT_HEADER2,
  SIGSTRUCT_HEADER_PREFIX,
  SIGSTRUCT_SIGNED_REGIONS,
  SIGSTRUCT_SIZE,
  SIGSTRUCT_VENDOR_INTEL,
  sigstructSignedBytes,
  type Sigstruct,
} from './sigstruct.ts';
export { decodeTargetInfo, encodeTargetInfo, TARGET_INFO_SIZE, type TargetInfo } from './targetinfo.ts';
export {
  decodeKeyRequest,
  encodeKeyRequest,
  KEY_NAME,
  KEY_POLICY,
  KEY_REQUEST_SIZE,
  type KeyRequest,
} from './keyrequest.ts';
export { decodeReport, encodeReport, REPORT_SIZE, type Report } from './report.ts';
// core verification (owner: core-verify)
export {
  CORE_VERIFY_ERRORS,
  CollateralFormatError,
  VERIFY_STEPS,
  VerificationError,
  type CoreVerifyErrorCode,
  type VerificationErrorCode,
  type VerifyStep,
} from './verify-errors.ts';
export {
  certificatesPem,
  isPreparedCollateral,
  parseCollateralBundle,
  prepareCollateral,
  serializeCollateralBundle,
  type PreparedCollateral,
  type RawCollateral,
} from './collateral.ts';
export { crlDer, parseCrl, type ParsedCrl } from './crl.ts';
export { DerError, derChildren, readDerElement, type DerElement } from './der.ts';
export { decodePckExtensions, pckExtensionsOf, type PckExtensions, type SgxType } from './pck-extensions.ts';
export { decodeQeIdentity, type QeIdentity } from './qe-identity.ts';
export { parseSignedJson, type SignedJson } from './signed-json.ts';
export { decodeTcbInfo, type TcbInfo, type TdxModuleIdentity } from './tcb-info.ts';
export {
  mergeQeStatus,
  mergeTdxModuleStatus,
  selectIsvSvnLevel,
  selectSgxLevel,
  selectTdxLevel,
  TCB_STATUSES,
  type IsvSvnLevel,
  type TcbLevel,
  type TcbStatus,
} from './tcb-status.ts';
export {
  INTEL_SGX_ROOT_CA_PEM,
  INTEL_SGX_ROOT_CA_PUBLIC_KEY,
  SIMULATED_ROOT_CN,
  type RootKind,
} from './trust-anchors.ts';
export { verifyQuote, type VerificationResult, type VerifyOptions } from './verify-quote.ts';
export {
  crlDistributionPointUris,
  parseCertificate,
  parsePemChain,
  pemCertificates,
  type ParsedCert,
} from './x509.ts';
