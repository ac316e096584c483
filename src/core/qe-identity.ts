/**
 * QE Identity (Intel PCS `/sgx|tdx/certification/v4/qe/identity`), version 2 (3 accepted): the
 * expected identity of Intel's Quoting Enclave and the TCB levels of its ISVSVN. The signature
 * covers the exact received text of the `enclaveIdentity` member (see signed-json.ts).
 */
import { JsonFieldError, asObject, getDate, getHex, getInt, getString } from './json-fields.ts';
import type { IsvSvnLevel } from './tcb-status.ts';
import { isvSvnLevels } from './tcb-info.ts';

/** A parsed enclave identity body. */
export interface QeIdentity {
  /** `QE` (SGX), `TD_QE` (TDX) or `QVE`. */
  readonly id: string;
  readonly version: number;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly tcbEvaluationDataNumber: number;
  readonly miscselect: number;
  readonly miscselectMask: number;
  /** 16 bytes: flags (8) then XFRM (8), as in the report ATTRIBUTES field. */
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly mrsigner: Uint8Array;
  readonly isvProdId: number;
  readonly tcbLevels: readonly IsvSvnLevel[];
}

/** Turns a parsed `enclaveIdentity` value into typed fields. Throws `JsonFieldError`. */
export function decodeQeIdentity(body: unknown): QeIdentity {
  const path = 'enclaveIdentity';
  const obj = asObject(body, path);
  const version = getInt(obj, 'version', path);
  if (version !== 2 && version !== 3) {
    throw new JsonFieldError(
      `enclaveIdentity.version ${version} is not supported (2 or 3)`,
      `${path}.version`,
    );
  }
  const levels = isvSvnLevels(obj, path);
  if (levels.length === 0)
    throw new JsonFieldError('enclaveIdentity.tcbLevels is empty', `${path}.tcbLevels`);
  return {
    id: getString(obj, 'id', path),
    version,
    issueDate: getDate(obj, 'issueDate', path),
    nextUpdate: getDate(obj, 'nextUpdate', path),
    tcbEvaluationDataNumber: getInt(obj, 'tcbEvaluationDataNumber', path),
    miscselect: Buffer.from(getHex(obj, 'miscselect', path, 4)).readUInt32BE(0),
    miscselectMask: Buffer.from(getHex(obj, 'miscselectMask', path, 4)).readUInt32BE(0),
    attributes: getHex(obj, 'attributes', path, 16),
    attributesMask: getHex(obj, 'attributesMask', path, 16),
    mrsigner: getHex(obj, 'mrsigner', path, 32),
    isvProdId: getInt(obj, 'isvprodid', path, 0xffff),
    tcbLevels: levels,
  };
}
