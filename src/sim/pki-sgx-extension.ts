/**
 * The SGX extension of PCK certificates (OID 1.2.840.113741.1.13.1, spec/dcap.md §2.1), encoded the
 * way Intel's PCK certificates carry it: an OCTET STRING wrapping `SEQUENCE OF SEQUENCE { OID, value }`
 * in the order PPID, TCB, PCE-ID, FMSPC, SGX Type [, Platform Instance ID, Configuration].
 */
import type { Extension } from '@peculiar/x509';
import { SimConfigError } from './errors.ts';
import { pkiLib } from './pki-lib.ts';

/** Intel's SGX extension arc. */
export const OID_SGX_EXTENSION = '1.2.840.113741.1.13.1';
const OID_PPID = `${OID_SGX_EXTENSION}.1`;
const OID_TCB = `${OID_SGX_EXTENSION}.2`;
const OID_PCESVN = `${OID_TCB}.17`;
const OID_CPUSVN = `${OID_TCB}.18`;
const OID_PCEID = `${OID_SGX_EXTENSION}.3`;
const OID_FMSPC = `${OID_SGX_EXTENSION}.4`;
const OID_SGX_TYPE = `${OID_SGX_EXTENSION}.5`;
const OID_PLATFORM_INSTANCE_ID = `${OID_SGX_EXTENSION}.6`;
const OID_CONFIGURATION = `${OID_SGX_EXTENSION}.7`;

/** DER of one `SEQUENCE { OID, value }` entry (value already DER). */
type Entry = Uint8Array;

/** DER length octets. */
function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/** DER `SEQUENCE` of already-encoded elements. */
function derSequence(elements: readonly Uint8Array[]): Uint8Array {
  const length = elements.reduce((n, e) => n + e.length, 0);
  const len = derLength(length);
  const out = new Uint8Array(1 + len.length + length);
  out[0] = 0x30;
  out.set(len, 1);
  let at = 1 + len.length;
  for (const e of elements) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** SGX Type values (`.5`). */
export const SGX_TYPE = { standard: 0, scalable: 1, scalableWithIntegrity: 2 } as const;
export type SgxType = keyof typeof SGX_TYPE;

/** What a simulated PCK certificate states about its platform. */
export interface SgxExtensionFields {
  /** PPID, 16 bytes. */
  readonly ppid: Uint8Array;
  /** SGX TCB component SVNs 1..16 (the certified CPUSVN, one byte each). */
  readonly cpuSvn: Uint8Array;
  /** Certified PCE SVN. */
  readonly pceSvn: number;
  /** PCE-ID, 2 bytes. */
  readonly pceId: Uint8Array;
  /** FMSPC, 6 bytes. */
  readonly fmspc: Uint8Array;
  readonly sgxType: SgxType;
  /** Platform CA certificates only: 16-byte platform instance ID and configuration flags. */
  readonly platform?: {
    readonly instanceId: Uint8Array;
    readonly dynamicPlatform: boolean;
    readonly cachedKeys: boolean;
    readonly smtEnabled: boolean;
  };
}

function ber(value: { toBER(sizeOnly?: boolean): ArrayBuffer }): Uint8Array {
  return new Uint8Array(value.toBER(false));
}

function octets(bytes: Uint8Array): Uint8Array {
  return ber(pkiLib().asn1Schema.AsnOctetStringConverter.toASN(Uint8Array.from(bytes).buffer));
}

function entry(id: string, value: Uint8Array): Entry {
  return derSequence([ber(pkiLib().asn1Schema.AsnObjectIdentifierConverter.toASN(id)), value]);
}

function sequence(entries: readonly Entry[]): Uint8Array {
  return derSequence(entries);
}

function requireSize(field: string, bytes: Uint8Array, size: number): void {
  if (bytes.length !== size) {
    throw new SimConfigError(
      'ERR_SIM_PLATFORM_CONFIG',
      `${field}: expected ${size} bytes, got ${bytes.length}`,
      {
        field,
      },
    );
  }
}

/** DER of the extension value (the `SEQUENCE OF`), before wrapping in the extension's OCTET STRING. */
export function encodeSgxExtensionValue(fields: SgxExtensionFields): Uint8Array {
  requireSize('ppid', fields.ppid, 16);
  requireSize('cpuSvn', fields.cpuSvn, 16);
  requireSize('pceId', fields.pceId, 2);
  requireSize('fmspc', fields.fmspc, 6);
  if (!Number.isInteger(fields.pceSvn) || fields.pceSvn < 0 || fields.pceSvn > 0xffff) {
    throw new SimConfigError('ERR_SIM_PLATFORM_CONFIG', `pceSvn: ${fields.pceSvn} is not a 16-bit SVN`, {
      field: 'pceSvn',
    });
  }
  const { AsnBooleanConverter, AsnEnumeratedConverter, AsnIntegerConverter } = pkiLib().asn1Schema;
  const tcb: Entry[] = [];
  fields.cpuSvn.forEach((svn, i) => {
    tcb.push(entry(`${OID_TCB}.${i + 1}`, ber(AsnIntegerConverter.toASN(svn))));
  });
  tcb.push(entry(OID_PCESVN, ber(AsnIntegerConverter.toASN(fields.pceSvn))));
  tcb.push(entry(OID_CPUSVN, octets(fields.cpuSvn)));
  const entries = [
    entry(OID_PPID, octets(fields.ppid)),
    entry(OID_TCB, sequence(tcb)),
    entry(OID_PCEID, octets(fields.pceId)),
    entry(OID_FMSPC, octets(fields.fmspc)),
    entry(OID_SGX_TYPE, ber(AsnEnumeratedConverter.toASN(SGX_TYPE[fields.sgxType]))),
  ];
  if (fields.platform !== undefined) {
    requireSize('platformInstanceId', fields.platform.instanceId, 16);
    entries.push(entry(OID_PLATFORM_INSTANCE_ID, octets(fields.platform.instanceId)));
    entries.push(
      entry(
        OID_CONFIGURATION,
        sequence([
          entry(`${OID_CONFIGURATION}.1`, ber(AsnBooleanConverter.toASN(fields.platform.dynamicPlatform))),
          entry(`${OID_CONFIGURATION}.2`, ber(AsnBooleanConverter.toASN(fields.platform.cachedKeys))),
          entry(`${OID_CONFIGURATION}.3`, ber(AsnBooleanConverter.toASN(fields.platform.smtEnabled))),
        ]),
      ),
    );
  }
  return sequence(entries);
}

/** The non-critical SGX extension for a PCK certificate. */
export function sgxExtension(fields: SgxExtensionFields): Extension {
  return new (pkiLib().x509.Extension)(OID_SGX_EXTENSION, false, encodeSgxExtensionValue(fields));
}
