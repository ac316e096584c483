/**
 * The Intel SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1): a SEQUENCE of
 * {OID, value} pairs carrying PPID, the TCB (16 CPUSVN components, PCESVN, CPUSVN), PCE-ID,
 * FMSPC, SGX type and, for Platform-CA certificates, the platform instance and configuration.
 */
import { decodeOid, decodeSmallUint, derChildren, readDerElement, type DerElement } from './der.ts';
import { OID, toHex, type ParsedCert } from './x509.ts';

/** SGX type of the platform (`.5`). */
export type SgxType = 'Standard' | 'Scalable' | 'ScalableWithIntegrity';

/** Typed content of the SGX extension. Byte fields are raw; hex forms are lower case. */
export interface PckExtensions {
  /** `.1` PPID, 16 bytes. */
  readonly ppid: Uint8Array;
  /** `.2.1`–`.2.16`: the 16 SGX TCB component SVNs. */
  readonly tcbComponents: readonly number[];
  /** `.2.17` PCESVN. */
  readonly pceSvn: number;
  /** `.2.18` raw CPUSVN (16 bytes). */
  readonly cpuSvn: Uint8Array;
  /** `.3` PCE-ID (2 bytes) and its hex. */
  readonly pceId: Uint8Array;
  readonly pceIdHex: string;
  /** `.4` FMSPC (6 bytes) and its hex. */
  readonly fmspc: Uint8Array;
  readonly fmspcHex: string;
  /** `.5` SGX type. */
  readonly sgxType: SgxType;
  /** `.6` Platform instance ID (Platform-CA certificates only). */
  readonly platformInstanceId?: Uint8Array;
  /** `.7` Configuration (Platform-CA certificates only). */
  readonly configuration?: {
    readonly dynamicPlatform?: boolean;
    readonly cachedKeys?: boolean;
    readonly smtEnabled?: boolean;
  };
}

/** The extension is missing or malformed; `field` names the OID/member at fault. */
export class PckExtensionError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
    this.name = 'PckExtensionError';
  }
}

const SGX = OID.sgxExtensions;
const SGX_TYPES: readonly SgxType[] = ['Standard', 'Scalable', 'ScalableWithIntegrity'];

function pairs(content: Uint8Array, where: string): Map<string, DerElement> {
  const out = new Map<string, DerElement>();
  for (const item of derChildren(content)) {
    if (item.tag !== 0x30) throw new PckExtensionError(`${where}: entry is not a SEQUENCE`, where);
    const [oidEl, valueEl] = derChildren(item.content);
    if (oidEl?.tag !== 0x06 || valueEl === undefined) {
      throw new PckExtensionError(`${where}: entry is not {OID, value}`, where);
    }
    out.set(decodeOid(oidEl.content), valueEl);
  }
  return out;
}

function need(map: Map<string, DerElement>, oid: string, tag: number, name: string): DerElement {
  const el = map.get(oid);
  if (el === undefined) throw new PckExtensionError(`SGX extension lacks ${name} (${oid})`, name);
  if (el.tag !== tag) throw new PckExtensionError(`SGX extension ${name} (${oid}) has tag ${el.tag}`, name);
  return el;
}

function octets(map: Map<string, DerElement>, oid: string, name: string, size: number): Uint8Array {
  const el = need(map, oid, 0x04, name);
  if (el.content.length !== size) {
    throw new PckExtensionError(
      `SGX extension ${name} is ${el.content.length} bytes, expected ${size}`,
      name,
    );
  }
  return Uint8Array.from(el.content);
}

/** Decodes the SGX extension value (the content of its extnValue OCTET STRING). */
export function decodePckExtensions(value: Uint8Array): PckExtensions {
  try {
    const top = readDerElement(value);
    if (top.tag !== 0x30) throw new PckExtensionError('SGX extension is not a SEQUENCE', 'sgxExtensions');
    const map = pairs(top.content, 'sgxExtensions');
    const tcbEl = need(map, `${SGX}.2`, 0x30, 'TCB');
    const tcb = pairs(tcbEl.content, 'TCB');
    const tcbComponents: number[] = [];
    for (let i = 1; i <= 16; i++) {
      const el = need(tcb, `${SGX}.2.${i}`, 0x02, `SGX TCB Comp${String(i).padStart(2, '0')} SVN`);
      const v = decodeSmallUint(el.content);
      if (v > 255) throw new PckExtensionError(`TCB component ${i} out of range: ${v}`, `comp${i}`);
      tcbComponents.push(v);
    }
    const pceSvn = decodeSmallUint(need(tcb, `${SGX}.2.17`, 0x02, 'PCESVN').content);
    if (pceSvn > 0xffff) throw new PckExtensionError(`PCESVN out of range: ${pceSvn}`, 'PCESVN');
    const cpuSvn = octets(tcb, `${SGX}.2.18`, 'CPUSVN', 16);
    const pceId = octets(map, `${SGX}.3`, 'PCE-ID', 2);
    const fmspc = octets(map, `${SGX}.4`, 'FMSPC', 6);
    const typeNum = decodeSmallUint(need(map, `${SGX}.5`, 0x0a, 'SGX Type').content);
    const sgxType = SGX_TYPES[typeNum];
    if (sgxType === undefined) throw new PckExtensionError(`unknown SGX type ${typeNum}`, 'SGX Type');
    const result: PckExtensions = {
      ppid: octets(map, `${SGX}.1`, 'PPID', 16),
      tcbComponents,
      pceSvn,
      cpuSvn,
      pceId,
      pceIdHex: toHex(pceId),
      fmspc,
      fmspcHex: toHex(fmspc),
      sgxType,
    };
    const instance = map.get(`${SGX}.6`);
    const configEl = map.get(`${SGX}.7`);
    let configuration: PckExtensions['configuration'];
    if (configEl?.tag === 0x30) {
      const conf = pairs(configEl.content, 'Configuration');
      const flag = (n: number): boolean | undefined => {
        const el = conf.get(`${SGX}.7.${n}`);
        return el?.tag === 0x01 ? el.content[0] !== 0 : undefined;
      };
      configuration = {
        ...optional('dynamicPlatform', flag(1)),
        ...optional('cachedKeys', flag(2)),
        ...optional('smtEnabled', flag(3)),
      };
    }
    return {
      ...result,
      ...(instance?.tag === 0x04 ? { platformInstanceId: Uint8Array.from(instance.content) } : {}),
      ...(configuration !== undefined ? { configuration } : {}),
    };
  } catch (err) {
    if (err instanceof PckExtensionError) throw err;
    throw new PckExtensionError(`malformed SGX extension: ${(err as Error).message}`, 'sgxExtensions');
  }
}

function optional<K extends string>(key: K, value: boolean | undefined): Partial<Record<K, boolean>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, boolean>);
}

const extCache = new WeakMap<ParsedCert, PckExtensions>();

/** The SGX extension of a PCK certificate (cached per parsed certificate). */
export function pckExtensionsOf(cert: ParsedCert): PckExtensions {
  const hit = extCache.get(cert);
  if (hit !== undefined) return hit;
  const value = cert.extensions.get(SGX);
  if (value === undefined) throw new PckExtensionError('certificate has no SGX extension', 'sgxExtensions');
  const parsed = decodePckExtensions(value);
  extCache.set(cert, parsed);
  return parsed;
}
