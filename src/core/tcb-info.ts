/**
 * TCB Info (Intel PCS `/sgx|tdx/certification/v4/tcb`), versions 2 (SGX) and 3 (SGX and TDX,
 * with the TDX module and module identities). The signature covers the exact received text of
 * the `tcbInfo` member (see signed-json.ts); this file turns the parsed body into typed fields.
 */
import {
  JsonFieldError,
  asObject,
  getArray,
  getDate,
  getDateText,
  getHex,
  getInt,
  getString,
  getStringArray,
  type JsonObject,
} from './json-fields.ts';
import { isTcbStatus, type IsvSvnLevel, type TcbLevel, type TcbStatus } from './tcb-status.ts';

/** TDX module identity of TCB Info v3 (`tdxModule` / `tdxModuleIdentities[]`). */
export interface TdxModuleIdentity {
  /** `TDX_01` etc.; empty for the top-level `tdxModule`. */
  readonly id: string;
  readonly mrsigner: Uint8Array;
  readonly attributes: Uint8Array;
  readonly attributesMask: Uint8Array;
  readonly tcbLevels: readonly IsvSvnLevel[];
}

/** A parsed TCB Info body. */
export interface TcbInfo {
  readonly id: 'SGX' | 'TDX';
  readonly version: 2 | 3;
  readonly issueDate: Date;
  readonly nextUpdate: Date;
  readonly fmspc: Uint8Array;
  readonly fmspcHex: string;
  readonly pceId: Uint8Array;
  readonly pceIdHex: string;
  readonly tcbType: number;
  readonly tcbEvaluationDataNumber: number;
  readonly tdxModule: TdxModuleIdentity | undefined;
  readonly tdxModuleIdentities: readonly TdxModuleIdentity[];
  readonly tcbLevels: readonly TcbLevel[];
}

function status(obj: JsonObject, path: string): TcbStatus {
  const s = getString(obj, 'tcbStatus', path);
  if (!isTcbStatus(s))
    throw new JsonFieldError(`${path}.tcbStatus is not a known status: ${s}`, `${path}.tcbStatus`);
  return s;
}

function components(obj: JsonObject, key: string, path: string): number[] {
  const arr = getArray(obj, key, path);
  if (arr.length !== 16)
    throw new JsonFieldError(`${path}.${key} has ${arr.length} entries, expected 16`, `${path}.${key}`);
  return arr.map((c, i) => getInt(asObject(c, `${path}.${key}[${i}]`), 'svn', `${path}.${key}[${i}]`, 255));
}

function levelV3(value: unknown, path: string, tdx: boolean): TcbLevel {
  const obj = asObject(value, path);
  const tcb = asObject(obj['tcb'], `${path}.tcb`);
  return {
    sgxComponents: components(tcb, 'sgxtcbcomponents', `${path}.tcb`),
    pceSvn: getInt(tcb, 'pcesvn', `${path}.tcb`, 0xffff),
    tdxComponents: tdx ? components(tcb, 'tdxtcbcomponents', `${path}.tcb`) : undefined,
    tcbDate: getDateText(obj, 'tcbDate', path),
    tcbStatus: status(obj, path),
    advisoryIds: getStringArray(obj, 'advisoryIDs', path),
  };
}

function levelV2(value: unknown, path: string): TcbLevel {
  const obj = asObject(value, path);
  const tcb = asObject(obj['tcb'], `${path}.tcb`);
  const sgx: number[] = [];
  for (let i = 1; i <= 16; i++) {
    sgx.push(getInt(tcb, `sgxtcbcomp${String(i).padStart(2, '0')}svn`, `${path}.tcb`, 255));
  }
  return {
    sgxComponents: sgx,
    pceSvn: getInt(tcb, 'pcesvn', `${path}.tcb`, 0xffff),
    tdxComponents: undefined,
    tcbDate: getDateText(obj, 'tcbDate', path),
    tcbStatus: status(obj, path),
    advisoryIds: getStringArray(obj, 'advisoryIDs', path),
  };
}

/** Parses an ISVSVN-keyed level list (QE identity, TDX module identity). */
export function isvSvnLevels(obj: JsonObject, path: string): IsvSvnLevel[] {
  return getArray(obj, 'tcbLevels', path).map((value, i) => {
    const p = `${path}.tcbLevels[${i}]`;
    const level = asObject(value, p);
    return {
      isvSvn: getInt(asObject(level['tcb'], `${p}.tcb`), 'isvsvn', `${p}.tcb`, 0xffff),
      tcbDate: getDateText(level, 'tcbDate', p),
      tcbStatus: status(level, p),
      advisoryIds: getStringArray(level, 'advisoryIDs', p),
    };
  });
}

function moduleIdentity(value: unknown, path: string, withLevels: boolean): TdxModuleIdentity {
  const obj = asObject(value, path);
  return {
    id: withLevels ? getString(obj, 'id', path) : '',
    mrsigner: getHex(obj, 'mrsigner', path, 48),
    attributes: getHex(obj, 'attributes', path, 8),
    attributesMask: getHex(obj, 'attributesMask', path, 8),
    tcbLevels: withLevels ? isvSvnLevels(obj, path) : [],
  };
}

/** Turns a parsed `tcbInfo` value into typed fields. Throws `JsonFieldError` naming the member. */
export function decodeTcbInfo(body: unknown): TcbInfo {
  const path = 'tcbInfo';
  const obj = asObject(body, path);
  const version = getInt(obj, 'version', path);
  if (version !== 2 && version !== 3) {
    throw new JsonFieldError(`tcbInfo.version ${version} is not supported (2 or 3)`, 'tcbInfo.version');
  }
  const idRaw = version === 2 ? (obj['id'] ?? 'SGX') : getString(obj, 'id', path);
  if (idRaw !== 'SGX' && idRaw !== 'TDX') {
    throw new JsonFieldError(`tcbInfo.id ${JSON.stringify(idRaw)} is not SGX or TDX`, 'tcbInfo.id');
  }
  if (version === 2 && idRaw === 'TDX')
    throw new JsonFieldError('tcbInfo v2 cannot describe TDX', 'tcbInfo.id');
  const tdx = idRaw === 'TDX';
  const fmspc = getHex(obj, 'fmspc', path, 6);
  const pceId = getHex(obj, 'pceId', path, 2);
  const levels = getArray(obj, 'tcbLevels', path);
  if (levels.length === 0) throw new JsonFieldError('tcbInfo.tcbLevels is empty', 'tcbInfo.tcbLevels');
  const tcbLevels = levels.map((l, i) =>
    version === 2 ? levelV2(l, `${path}.tcbLevels[${i}]`) : levelV3(l, `${path}.tcbLevels[${i}]`, tdx),
  );
  const identities = obj['tdxModuleIdentities'];
  return {
    id: idRaw,
    version,
    issueDate: getDate(obj, 'issueDate', path),
    nextUpdate: getDate(obj, 'nextUpdate', path),
    fmspc,
    fmspcHex: Buffer.from(fmspc).toString('hex'),
    pceId,
    pceIdHex: Buffer.from(pceId).toString('hex'),
    tcbType: getInt(obj, 'tcbType', path),
    tcbEvaluationDataNumber: getInt(obj, 'tcbEvaluationDataNumber', path),
    tdxModule:
      obj['tdxModule'] === undefined
        ? undefined
        : moduleIdentity(obj['tdxModule'], `${path}.tdxModule`, false),
    tdxModuleIdentities:
      identities === undefined
        ? []
        : getArray(obj, 'tdxModuleIdentities', path).map((m, i) =>
            moduleIdentity(m, `${path}.tdxModuleIdentities[${i}]`, true),
          ),
    tcbLevels,
  };
}
