/**
 * The artefacts the collateral service caches, how each is named (its cache key), which upstream
 * request fetches it, and which response headers are kept with it.
 *
 * An artefact is stored as the upstream sent it: the exact body bytes and the raw values of the
 * headers that belong to it (issuer chains still URL-encoded). Nothing derived from it (validity,
 * FMSPC, revocation state) is stored: it is recomputed by verification whenever the artefact is
 * loaded, so a tampered database row is refused like a tampered upstream response.
 */
import { CollateralRequestError } from './errors.ts';

/** What an artefact is. */
export type ArtefactKind = 'tcb' | 'qe' | 'qve' | 'pckcrl' | 'rootcacrl' | 'pckcert' | 'pckcerts';

/** The certification API an artefact belongs to. */
export type Tee = 'sgx' | 'tdx';

/** A TCB Info / identity variant asked for by the client (`update=` or `tcbEvaluationDataNumber=`). */
export interface Variant {
  readonly name: 'update' | 'tcbEvaluationDataNumber';
  readonly value: string;
}

/** Which artefact a request asks for (parsed and validated). */
export type ArtefactSpec =
  | {
      readonly kind: 'tcb';
      readonly tee: Tee;
      /** Upper-case hex, 12 digits. */
      readonly fmspc: string;
      /** `update=standard|early` or `tcbEvaluationDataNumber=N`, when the client gave one. */
      readonly variant?: Variant;
    }
  | {
      readonly kind: 'qe' | 'qve';
      readonly tee: Tee;
      readonly variant?: Variant;
    }
  | { readonly kind: 'pckcrl'; readonly tee: 'sgx'; readonly ca: 'processor' | 'platform' }
  | { readonly kind: 'rootcacrl'; readonly tee: 'sgx' }
  | {
      readonly kind: 'pckcert';
      readonly tee: 'sgx';
      /** Lower-case hex. */
      readonly cpusvn: string;
      readonly pcesvn: string;
      readonly pceid: string;
      /** At least one of the two (lower-case hex). */
      readonly encryptedPpid?: string;
      readonly qeid?: string;
    }
  | {
      /** All PCK certificates of a platform (`GET pckcerts?encrypted_ppid=&pceid=`), lower-case hex. */
      readonly kind: 'pckcerts';
      readonly tee: 'sgx';
      readonly encryptedPpid: string;
      readonly pceid: string;
    };

/** A cached artefact: exactly what the upstream sent (or what a bundle carried). */
export interface StoredArtefact {
  readonly key: string;
  readonly spec: ArtefactSpec;
  /** Response body bytes as received. */
  readonly body: Uint8Array;
  /** Kept response headers (canonical name → value as received, issuer chains URL-encoded). */
  readonly headers: Readonly<Record<string, string>>;
  /** When it was fetched or imported (ms since the epoch). */
  readonly fetchedAt: number;
  readonly source: 'upstream' | 'import';
}

/** Header names (API v4), as Intel's PCS and PCCS send them. */
export const H = {
  tcbInfoIssuerChain: 'TCB-Info-Issuer-Chain',
  tcbInfoIssuerChainV3: 'SGX-TCB-Info-Issuer-Chain',
  enclaveIdentityIssuerChain: 'SGX-Enclave-Identity-Issuer-Chain',
  enclaveIdentityIssuerChainAlt: 'Enclave-Identity-Issuer-Chain',
  pckCrlIssuerChain: 'SGX-PCK-CRL-Issuer-Chain',
  pckCertificateIssuerChain: 'SGX-PCK-Certificate-Issuer-Chain',
  tcbm: 'SGX-TCBm',
  fmspc: 'SGX-FMSPC',
  pckCertificateCaType: 'SGX-PCK-Certificate-CA-Type',
  contentType: 'Content-Type',
  warning: 'Warning',
  requestId: 'Request-ID',
  errorCode: 'Error-Code',
  errorMessage: 'Error-Message',
} as const;

/** The issuer-chain header of each kind (the one served), with the spellings accepted from upstream. */
export const CHAIN_HEADER: Readonly<Record<ArtefactKind, readonly string[]>> = {
  tcb: [H.tcbInfoIssuerChain, H.tcbInfoIssuerChainV3],
  qe: [H.enclaveIdentityIssuerChain, H.enclaveIdentityIssuerChainAlt],
  qve: [H.enclaveIdentityIssuerChain, H.enclaveIdentityIssuerChainAlt],
  pckcrl: [H.pckCrlIssuerChain],
  rootcacrl: [],
  pckcert: [H.pckCertificateIssuerChain],
  pckcerts: [H.pckCertificateIssuerChain],
};

/** The other headers kept with an artefact of each kind. */
export const KEPT_HEADERS: Readonly<Record<ArtefactKind, readonly string[]>> = {
  tcb: [H.warning],
  qe: [H.warning],
  qve: [H.warning],
  pckcrl: [H.warning],
  rootcacrl: [],
  pckcert: [H.tcbm, H.fmspc, H.pckCertificateCaType, H.warning],
  pckcerts: [H.fmspc, H.pckCertificateCaType, H.warning],
};

/** The cache key of an artefact. */
export function artefactKey(spec: ArtefactSpec): string {
  switch (spec.kind) {
    case 'tcb':
      return `${spec.tee}:tcb:${spec.fmspc}${variantSuffix(spec.variant)}`;
    case 'qe':
    case 'qve':
      return `${spec.tee}:${spec.kind}${variantSuffix(spec.variant)}`;
    case 'pckcrl':
      return `sgx:pckcrl:${spec.ca}`;
    case 'rootcacrl':
      return 'sgx:rootcacrl';
    case 'pckcerts':
      return `sgx:pckcerts:${spec.pceid}:ppid=${spec.encryptedPpid}`;
    case 'pckcert':
      return `sgx:pckcert:${spec.pceid}:${spec.cpusvn}:${spec.pcesvn}:${spec.qeid !== undefined ? `qeid=${spec.qeid}` : `ppid=${spec.encryptedPpid ?? ''}`}`;
  }
}

function variantSuffix(v: { name: string; value: string } | undefined): string {
  return v === undefined ? '' : `:${v.name}=${v.value}`;
}

/** The inverse of {@link artefactKey} (for rows read back from storage and bundles). */
export function specOfKey(key: string): ArtefactSpec {
  const bad = (): CollateralRequestError =>
    new CollateralRequestError(`artefact key ${JSON.stringify(key)} is not one this service writes`, { key });
  const parts = key.split(':');
  const [tee, kind] = parts;
  if (tee !== 'sgx' && tee !== 'tdx') throw bad();
  const variant = (text: string | undefined): Variant | undefined => {
    if (text === undefined) return undefined;
    const m = /^(update|tcbEvaluationDataNumber)=(standard|early|\d{1,9})$/.exec(text);
    if (m === null) throw bad();
    return { name: m[1] as 'update' | 'tcbEvaluationDataNumber', value: m[2] as string };
  };
  let spec: ArtefactSpec;
  if (kind === 'tcb' && /^[0-9A-F]{12}$/.test(parts[2] ?? '') && parts.length <= 4) {
    const v = variant(parts[3]);
    spec = { kind: 'tcb', tee, fmspc: parts[2] as string, ...(v === undefined ? {} : { variant: v }) };
  } else if ((kind === 'qe' || (kind === 'qve' && tee === 'sgx')) && parts.length <= 3) {
    const v = variant(parts[2]);
    spec = { kind, tee, ...(v === undefined ? {} : { variant: v }) };
  } else if (
    kind === 'pckcrl' &&
    tee === 'sgx' &&
    (parts[2] === 'processor' || parts[2] === 'platform') &&
    parts.length === 3
  ) {
    spec = { kind: 'pckcrl', tee, ca: parts[2] };
  } else if (kind === 'rootcacrl' && tee === 'sgx' && parts.length === 2) {
    spec = { kind: 'rootcacrl', tee };
  } else if (
    kind === 'pckcerts' &&
    tee === 'sgx' &&
    parts.length === 4 &&
    /^[0-9a-f]{4}$/.test(parts[2] ?? '') &&
    /^ppid=[0-9a-f]+$/.test(parts[3] ?? '')
  ) {
    spec = { kind: 'pckcerts', tee, pceid: parts[2] as string, encryptedPpid: (parts[3] as string).slice(5) };
  } else if (kind === 'pckcert' && tee === 'sgx' && parts.length === 6) {
    const [, , pceid, cpusvn, pcesvn, id] = parts as [string, string, string, string, string, string];
    const m = /^(qeid|ppid)=([0-9a-f]+)$/.exec(id);
    if (
      m === null ||
      !/^[0-9a-f]{4}$/.test(pceid) ||
      !/^[0-9a-f]{32}$/.test(cpusvn) ||
      !/^[0-9a-f]{4}$/.test(pcesvn)
    )
      throw bad();
    spec = {
      kind: 'pckcert',
      tee,
      pceid,
      cpusvn,
      pcesvn,
      ...(m[1] === 'qeid' ? { qeid: m[2] as string } : { encryptedPpid: m[2] as string }),
    };
  } else throw bad();
  if (artefactKey(spec) !== key) throw bad();
  return spec;
}

/** Human name of an artefact (messages, logs). */
export function describeSpec(spec: ArtefactSpec): string {
  switch (spec.kind) {
    case 'tcb':
      return `${spec.tee.toUpperCase()} TCB Info for FMSPC ${spec.fmspc}`;
    case 'qe':
      return spec.tee === 'tdx' ? 'TDX QE (TD_QE) Identity' : 'SGX QE Identity';
    case 'qve':
      return 'QvE Identity';
    case 'pckcrl':
      return `PCK CRL (${spec.ca} CA)`;
    case 'rootcacrl':
      return 'Root CA CRL';
    case 'pckcerts':
      return `PCK certificates of a platform (pceid ${spec.pceid})`;
    case 'pckcert':
      return `PCK certificate (pceid ${spec.pceid}, cpusvn ${spec.cpusvn}, pcesvn ${spec.pcesvn})`;
  }
}
