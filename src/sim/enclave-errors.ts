/**
 * Error codes of the simulated enclave platform (definitions, measurement, SIGSTRUCT signing,
 * the simulated CPU's EINIT/EREPORT/EGETKEY, sealing and the enclave runtime).
 *
 * Every failure names the field, rule or byte offset involved in its message and `details`.
 */
import { CcnodesError, type ErrorRegistry } from '../errors/index.ts';

export const SIM_ENCLAVE_ERRORS = {
  ERR_ENCLAVE_DEFINITION: {
    type: 'EnclaveDefinitionError',
    summary: 'An enclave definition field is missing, of the wrong type or out of range; names the field.',
  },
  ERR_ENCLAVE_DEFINITION_SYNTAX: {
    type: 'EnclaveDefinitionError',
    summary: 'An enclave definition file is not valid JSON or YAML.',
  },
  ERR_ENCLAVE_FILE: {
    type: 'EnclaveDefinitionError',
    summary: 'A file named by an enclave definition could not be read.',
  },
  ERR_ENCLAVE_LAYOUT: {
    type: 'EnclaveDefinitionError',
    summary: 'The enclave pages do not fit in the declared enclave size, or the layout is malformed.',
  },
  ERR_SIM_CMAC_KEY: {
    type: 'SimEnclaveError',
    summary: 'An AES-128-CMAC key is not 16 bytes.',
  },
  ERR_MEASURE_INPUT: {
    type: 'SimEnclaveError',
    summary: 'A measurement operation got a bad argument (unaligned offset, wrong chunk size, bad size).',
  },
  ERR_SIGSTRUCT_KEY: {
    type: 'SigstructError',
    summary: 'The signing key is not an RSA-3072 private key with public exponent 3.',
  },
  ERR_SIGSTRUCT_EXPONENT: {
    type: 'SigstructError',
    summary: 'SIGSTRUCT.EXPONENT is not 3.',
  },
  ERR_SIGSTRUCT_SIGNATURE: {
    type: 'SigstructError',
    summary: 'The SIGSTRUCT RSA signature does not verify over the signed bytes [0,128) and [900,1028).',
  },
  ERR_SIGSTRUCT_Q1Q2: {
    type: 'SigstructError',
    summary: 'SIGSTRUCT.Q1 or Q2 do not match the signature and modulus.',
  },
  ERR_SIGSTRUCT_FIELD: {
    type: 'SigstructError',
    summary: 'A value given for a SIGSTRUCT field is out of range (date, SVN, mask); names the field.',
  },
  ERR_EINIT_MRENCLAVE: {
    type: 'EinitError',
    summary: 'EINIT: SIGSTRUCT.ENCLAVEHASH differs from the MRENCLAVE measured from the loaded pages.',
  },
  ERR_EINIT_ATTRIBUTES: {
    type: 'EinitError',
    summary:
      'EINIT: the enclave attributes, XFRM, MISCSELECT or CET attributes differ from SIGSTRUCT under its masks, or are invalid.',
  },
  ERR_EINIT_KSS: {
    type: 'EinitError',
    summary:
      'EINIT: KSS identity fields (ISVFAMILYID, ISVEXTPRODID, CONFIGID, CONFIGSVN) are set without the KSS attribute.',
  },
  ERR_EINIT_PRIVILEGED_ATTRIBUTE: {
    type: 'EinitError',
    summary: 'EINIT: PROVISIONKEY or EINITTOKEN_KEY requested by a signer that is not on the CPU allow-list.',
  },
  ERR_EINIT_SIGSTRUCT: {
    type: 'EinitError',
    summary: 'EINIT: the SIGSTRUCT is malformed or its signature, exponent or Q1/Q2 do not verify.',
  },
  ERR_ENCLAVE_UNKNOWN: {
    type: 'SimCpuError',
    summary: 'An enclave handle was not initialised by this simulated CPU.',
  },
  ERR_EREPORT_DATA: {
    type: 'SimCpuError',
    summary: 'EREPORT: REPORTDATA is longer than 64 bytes.',
  },
  ERR_EGETKEY_KEYNAME: {
    type: 'EgetkeyError',
    summary: 'EGETKEY: unknown KEYNAME (INVALID_KEYNAME).',
  },
  ERR_EGETKEY_ATTRIBUTE: {
    type: 'EgetkeyError',
    summary:
      'EGETKEY: the key needs an attribute the enclave lacks (PROVISIONKEY, EINITTOKEN_KEY, KSS for policy bits 2-5).',
  },
  ERR_EGETKEY_ISVSVN: {
    type: 'EgetkeyError',
    summary: 'EGETKEY: requested ISVSVN is greater than the enclave ISVSVN (INVALID_ISVSVN).',
  },
  ERR_EGETKEY_CPUSVN: {
    type: 'EgetkeyError',
    summary: 'EGETKEY: requested CPUSVN is greater than the CPU current CPUSVN (INVALID_CPUSVN).',
  },
  ERR_EGETKEY_CONFIGSVN: {
    type: 'EgetkeyError',
    summary: 'EGETKEY: requested CONFIGSVN is greater than the enclave CONFIGSVN.',
  },
  ERR_EGETKEY_RESERVED: {
    type: 'EgetkeyError',
    summary: 'EGETKEY: reserved KEYPOLICY bits set (#GP).',
  },
  ERR_REPORT_MAC: {
    type: 'ReportVerificationError',
    summary: 'A REPORT MAC does not verify under the report key of the verifying (target) enclave.',
  },
  ERR_SEAL_FORMAT: {
    type: 'SealError',
    summary: 'A sealed blob is malformed (sizes, key request, reserved bytes); names the field and offset.',
  },
  ERR_SEAL_AUTH: {
    type: 'SealError',
    summary:
      'A sealed blob failed AES-GCM authentication: wrong enclave identity, wrong platform, or tampered data.',
  },
  ERR_SEAL_POLICY: {
    type: 'SealError',
    summary:
      'A sealing request names an unsupported key policy or mask (INIT and DEBUG must be in the mask).',
  },
  ERR_SIM_CPU_SECRETS: {
    type: 'SimCpuError',
    summary:
      'The simulated platform secrets file is unreadable, malformed, or readable by group/other (must be mode 0600).',
  },
  ERR_ENCLAVE_RUNTIME: {
    type: 'EnclaveRuntimeError',
    summary:
      'The enclave runtime failed: the entry module threw, the worker died, or the enclave was terminated.',
  },
  ERR_ENCLAVE_ECALL: {
    type: 'EnclaveRuntimeError',
    summary:
      'An ECALL or OCALL was not declared in the enclave definition, or its arguments are not transferable.',
  },
  ERR_ENCLAVE_INTERFACE: {
    type: 'EnclaveInterfaceError',
    summary:
      'A typed enclave interface is malformed (call name, type, limit) or does not match the ECALLs/OCALLs of the enclave definition.',
  },
  ERR_ENCLAVE_CALL_UNKNOWN: {
    type: 'EnclaveInterfaceError',
    summary: 'A call names an ECALL or OCALL that the typed enclave interface does not declare.',
  },
  ERR_ENCLAVE_CALL_TYPE: {
    type: 'EnclaveInterfaceError',
    summary:
      'An ECALL/OCALL argument or result crossing the enclave boundary has the wrong type or count; names the call, direction and path.',
  },
  ERR_ENCLAVE_CALL_SIZE: {
    type: 'EnclaveInterfaceError',
    summary:
      'A buffer, string, array or JSON value crossing the enclave boundary is larger than its declared maximum.',
  },
} as const satisfies ErrorRegistry;

export type SimEnclaveErrorCode = keyof typeof SIM_ENCLAVE_ERRORS;

/** Base class of the simulated enclave platform's errors. `details.field` names the field where known. */
export class SimEnclaveError extends CcnodesError {
  declare readonly code: SimEnclaveErrorCode;
  constructor(
    code: SimEnclaveErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    cause?: unknown,
  ) {
    super(code, message, cause === undefined ? { details } : { details, cause });
  }
}

/** An enclave definition is invalid (`details.field` names the field, dotted path). */
export class EnclaveDefinitionError extends SimEnclaveError {}
/** SIGSTRUCT creation or verification failed. */
export class SigstructError extends SimEnclaveError {}
/** The simulated EINIT refused to initialise the enclave. */
export class EinitError extends SimEnclaveError {}
/** The simulated EGETKEY refused the key request. */
export class EgetkeyError extends SimEnclaveError {}
/** A REPORT did not verify for its target. */
export class ReportVerificationError extends SimEnclaveError {}
/** Sealing or unsealing failed. */
export class SealError extends SimEnclaveError {}
/** Simulated CPU state problems (platform secrets, unknown enclave handles). */
export class SimCpuError extends SimEnclaveError {}
/** The enclave runtime (worker) failed. */
export class EnclaveRuntimeError extends SimEnclaveError {}
/** A call across a typed enclave interface was refused (unknown call, wrong type, oversize value). */
export class EnclaveInterfaceError extends SimEnclaveError {}
