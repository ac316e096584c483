/**
 * ccnodes sim: a software SGX platform (enclaves, simulated CPU, sealing, DCAP quoting).
 * Simulation only — no memory encryption, no protection from the host.
 */
// sim enclaves (owner: sim-enclave)
export * from './enclave-errors.ts';
export { aesCmac, equalBytes } from './cmac.ts';
export {
  MeasurementBuilder,
  measurePages,
  mrSignerFromModulus,
  PAGE_SIZE,
  SECINFO,
  type MeasuredPage,
  type MeasurementInput,
} from './measure.ts';
export {
  computeQ1Q2,
  generateEnclaveSigningKey,
  sigstructModulusOf,
  sigstructPublicKey,
  signSigstruct,
  verifySigstruct,
  type SigstructFields,
  type VerifiedSigstruct,
} from './sigstruct-sign.ts';
export {
  DEFAULT_SIGNING,
  enclaveImage,
  loadEnclaveImage,
  parseEnclaveDefinition,
  validateEnclaveDefinition,
  type EnclaveDefinition,
  type EnclaveFileSpec,
  type EnclaveImage,
  type FilePerms,
  type KssFields,
  type SigningSpec,
} from './enclave-definition.ts';
export {
  ENCLAVE_MANIFEST_FORMAT,
  layoutEnclave,
  readMeasuredFile,
  type EnclaveLayout,
  type EnclaveManifest,
  type LayoutPage,
  type PageArea,
} from './layout.ts';
export { measureEnclave } from './enclave-measure.ts';
export { signEnclave } from './enclave-sign.ts';
export {
  DEFAULT_SIM_CPUSVN,
  launchRequestFromImage,
  SimCpu,
  SimEnclave,
  type LaunchRequest,
  type SimCpuOptions,
} from './cpu.ts';
export {
  DERIVATION_BUFFER_SIZE,
  derivationBuffer,
  deriveKey,
  type DerivationInputs,
} from './key-derivation.ts';
export {
  loadOrCreatePlatformSecrets,
  PLATFORM_SECRETS_FILE,
  platformSecretsFromSeed,
  randomPlatformSecrets,
  type PlatformSecrets,
} from './platform-secrets.ts';
export {
  decodeSealedBlob,
  SEAL_DEFAULT_ATTRIBUTE_MASK,
  SEAL_DEFAULT_MISC_MASK,
  SEALED_HEADER_SIZE,
  sealData,
  unsealData,
  type SealedBlob,
  type SealOptions,
} from './seal.ts';
export { ENCLAVE_RUNTIME_ID } from './enclave-worker.ts';
export {
  EnclaveWorker,
  enclaveWorkerHeapMb,
  prestartEnclaveWorker,
  RunningEnclave,
  startEnclave,
  type OcallHandler,
  type StartEnclaveOptions,
} from './runtime.ts';
export {
  checkInterfaceMatches,
  checkValue,
  defineEnclaveInterface,
  interfaceJson,
  MAX_WIRE_LIMIT,
  startTypedEnclave,
  t,
  typedEnclave,
  typedOcallHandlers,
  type CallSpec,
  type Crossing,
  type EcallProxy,
  type EnclaveInterface,
  type Infer,
  type InferArgs,
  type InterfaceSpec,
  type OcallHandlers,
  type StartTypedEnclaveOptions,
  type TypedEnclave,
  type WireType,
} from './enclave-interface.ts';
export {
  ATTEST_OCALLS,
  enclavePrelude,
  QUOTE_OCALLS,
  simQuoteOcalls,
  withEnclaveInterface,
} from './enclave-interface-prelude.ts';
// sim DCAP (owner: sim-dcap)
export { SIM_ERRORS, SimConfigError, SimKeyStoreError, type SimErrorCode } from './errors.ts';
export {
  SimKeySource,
  SIM_DCAP_DIR,
  SIM_MASTER_KEY_FILE,
  ecdsaSignRfc6979,
  type SimEcKey,
  type SimKeySourceOptions,
} from './keys.ts';
export {
  createSimPki,
  SimPki,
  simName,
  SIM_ROOT_CA_CN,
  SIM_PROCESSOR_CA_CN,
  SIM_PLATFORM_CA_CN,
  SIM_TCB_SIGNING_CN,
  SIM_PCK_CERT_CN,
  SIM_ORGANIZATION,
  SIM_PCS_BASE_URL,
  type PckCaKind,
  type SimCert,
  type SimCrlOptions,
  type SimPckIssueOptions,
  type SimPkiOptions,
} from './pki.ts';
export {
  OID_SGX_EXTENSION,
  encodeSgxExtensionValue,
  type SgxExtensionFields,
  type SgxType,
} from './pki-sgx-extension.ts';
export {
  pcsTimestamp,
  signedQeIdentity,
  signedTcbInfo,
  type SimQeIdentitySpec,
  type SimQeTcbLevel,
  type SimTcbInfoSpec,
  type SimTcbLevel,
  type SimTcbStatus,
} from './collateral.ts';
export {
  SimPlatform,
  SIM_QE_ATTRIBUTES,
  SIM_QE_AUTH_DATA,
  SIM_QE_ISVPRODID,
  SIM_QE_MRENCLAVE,
  SIM_QE_MRSIGNER,
  type SimPlatformConfig,
  type SimQuoteOptions,
} from './platform.ts';
export {
  DEFAULT_SIM_PLATFORM,
  SIM_FMSPC_PLATFORM,
  SIM_FMSPC_PROCESSOR,
  SIM_PLATFORM_PRESETS,
  SIM_QE_IDENTITY,
  SIM_TCB_INFOS,
  SIM_TCB_LEVELS,
  simPlatformPreset,
  type SimExpectedOutcome,
  type SimPlatformPreset,
} from './platforms.ts';
export { createSimDcap, SimDcap, type SimCollateralOptions, type SimDcapOptions } from './dcap.ts';
export {
  SIM_TD_MRTD,
  SIM_TD_QE_IDENTITY,
  SIM_TD_QE_ISVPRODID,
  SIM_TD_QE_MRENCLAVE,
  SIM_TD_QE_MRSIGNER,
  SIM_TD_XFAM,
  SIM_TDX_MODULE,
  SIM_TDX_MODULE_MAJOR,
  SIM_TDX_MODULE_MRSEAM,
  SIM_TDX_MODULE_MRSIGNER,
  SIM_TDX_MODULE_SVN,
  SIM_TDX_TCB_COMPONENTS,
  SIM_TDX_TCB_INFOS,
  SimTdxPlatform,
  simTeeTcbSvn,
  tdxTcbInfoSpecOf,
  type SimTdInit,
  type SimTdQuoteOptions,
} from './tdx.ts';
export {
  signedTdQeIdentity,
  signedTdxTcbInfo,
  type SimTdxModuleLevel,
  type SimTdxModuleSpec,
  type SimTdxTcbInfoSpec,
} from './tdx-collateral.ts';
export {
  buildSimPcsApp,
  DEFAULT_SIM_PCS_HTTP_LIMITS,
  startSimPcs,
  PCS_HEADERS,
  PCS_SGX_V4_PREFIX,
  PCS_TDX_V4_PREFIX,
  type SimPcsAppOptions,
  type SimPcsOptions,
  type SimPcsServer,
} from './pcs-server.ts';
