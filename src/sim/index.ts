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
