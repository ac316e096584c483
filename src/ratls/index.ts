/**
 * `ratls`: RA-TLS: X.509 certificates carrying SGX/TDX quotes (Gramine, Gramine DICE, EGo/Open Enclave formats), their verification, TLS helpers.
 * Other modules import this module only through this file (docs/architecture.md).
 */
export * from './errors.ts';
export { cbor, decodeCbor, encodeCbor, type CborItem } from './cbor.ts';
export {
  DICE_TEE_QUOTE_CBOR_TAG,
  FORMAT_OIDS,
  NAMED_INFO_HASH,
  OE_REPORT_HEADER_SIZE,
  RATLS_FORMATS,
  RATLS_OIDS,
  decodeExtensionValue,
  diceClaims,
  extensionOid,
  extensionValue,
  oePublicKeyPem,
  reportDataFor,
  type ExtensionPayload,
  type KeyBinding,
  type RatlsFormat,
} from './formats.ts';
export {
  createRatlsCertificate,
  createRatlsCsr,
  parseRatlsCertificate,
  privateKeyOf,
  readCertificateInput,
  type CreateRatlsOptions,
  type CreatedRatls,
  type ParsedRatlsCertificate,
  type Quoter,
  type RatlsEvidence,
} from './certificate.ts';
export {
  checkExpectedIdentity,
  checkIdentity,
  checkKeyBinding,
  createRatlsVerifier,
  identityOf,
  verifyRatlsCertificate,
  type CheckedIdentity,
  type RatlsExpectedIdentity,
  type RatlsIdentity,
  type RatlsVerification,
  type RatlsVerifier,
  type RatlsVerifierOptions,
  type RatlsVerifyOptions,
} from './verify.ts';
export { simulatedQuoter, type SimulatedEnclaveIdentity } from './sim.ts';
export {
  RatlsHttpsAgent,
  connectRatls,
  createRatlsHttpsServer,
  createRatlsServer,
  ratlsUndiciAgent,
  type ConnectRatlsOptions,
  type RatlsCredentials,
  type RatlsServerOptions,
  type RatlsSocket,
} from './tls.ts';
