/**
 * Parses the body of `POST /attest/SgxEnclave`, `/attest/OpenEnclave` (spec/maa.md §1.3) and
 * `/attest/TdxVm` (docs/tdx.md §1) into bytes and options. Everything is checked here, before any cryptography runs; each failure names
 * the field.
 */
import { ByteReader } from '../core/index.ts';
import { POLICY_LIMITS } from '../policy/index.ts';
import { decodeBase64Field } from './base64.ts';
import { AttestRequestError } from './errors.ts';

/** API versions accepted on attest, policy and certificate calls (spec/maa.md §8 item 1). */
export const API_VERSIONS = [
  '2018-09-01-preview',
  '2020-10-01',
  '2022-08-01',
  '2022-09-01-preview',
  '2023-04-01-preview',
  '2025-06-01',
] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/** Endpoints that carry evidence. */
export type EvidenceKind = 'SgxEnclave' | 'OpenEnclave' | 'TdxVm';

/** The first API version of MAA's TDX attestation (`/attest/TdxVm`); older versions have no such call. */
export const TDX_MIN_API_VERSION: ApiVersion = '2023-04-01-preview';

/** `runtimeData` / `initTimeData` after decoding. */
export interface AttestData {
  readonly bytes: Uint8Array;
  readonly dataType: 'Binary' | 'JSON';
  /** The parsed object when `dataType` is JSON. */
  readonly json?: Record<string, unknown>;
}

/** A decoded attest request. */
export interface AttestRequest {
  readonly kind: EvidenceKind;
  readonly apiVersion: ApiVersion;
  /** The DCAP quote (for OpenEnclave: the report with its 16-byte header stripped; for TdxVm: a TDX quote). */
  readonly quote: Uint8Array;
  readonly runtimeData?: AttestData;
  readonly initTimeData?: AttestData;
  readonly draftPolicy?: string;
  readonly nonce?: string;
}

/** Validates `api-version` (required on attest, policy and certificate calls). */
export function parseApiVersion(value: unknown): ApiVersion {
  if (typeof value !== 'string' || value === '') {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_API_VERSION',
      'the api-version query parameter is required',
      {
        field: 'api-version',
      },
    );
  }
  const found = API_VERSIONS.find((v) => v === value);
  if (found === undefined) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_API_VERSION',
      `api-version ${JSON.stringify(value.slice(0, 40))} is not supported (use one of ${API_VERSIONS.join(', ')})`,
      { field: 'api-version' },
    );
  }
  return found;
}

const MAX_NONCE = 1024;
const MAX_DRAFT_POLICY = 64 * 1024;

/** Decodes an attest request body. */
export function parseAttestRequest(body: unknown, kind: EvidenceKind, apiVersion: ApiVersion): AttestRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', 'request body must be a JSON object', {
      field: 'body',
    });
  }
  const b = body as Record<string, unknown>;
  if (kind === 'TdxVm' && apiVersion < TDX_MIN_API_VERSION) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_API_VERSION',
      `api-version ${apiVersion} has no TdxVm attestation (use ${TDX_MIN_API_VERSION} or later)`,
      { field: 'api-version' },
    );
  }
  const evidenceField = kind === 'OpenEnclave' ? 'report' : 'quote';
  if (b[evidenceField] === undefined) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', `${evidenceField} is required`, {
      field: evidenceField,
    });
  }
  const evidence = decodeBase64Field(b[evidenceField], evidenceField);
  if (evidence.length === 0) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', `${evidenceField} is empty`, {
      field: evidenceField,
    });
  }
  const quote = kind === 'OpenEnclave' ? stripOeReportHeader(evidence) : evidence;

  const runtimeData = parseData(b['runtimeData'], 'runtimeData');
  const initTimeData = parseData(b['initTimeData'], 'initTimeData');
  const draft = b['draftPolicyForAttestation'];
  if (
    draft !== undefined &&
    draft !== null &&
    (typeof draft !== 'string' || draft.length > MAX_DRAFT_POLICY)
  ) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_REQUEST',
      `draftPolicyForAttestation must be policy text of at most ${MAX_DRAFT_POLICY} characters`,
      { field: 'draftPolicyForAttestation' },
    );
  }
  const nonceRaw = b['nonce'];
  if (
    nonceRaw !== undefined &&
    nonceRaw !== null &&
    (typeof nonceRaw !== 'string' || nonceRaw.length > MAX_NONCE)
  ) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_REQUEST',
      `nonce must be a string of at most ${MAX_NONCE} characters`,
      {
        field: 'nonce',
      },
    );
  }
  // `nonce` exists from 2022-08-01 on; older versions ignore it, as their schema has no such field.
  const nonceAllowed = apiVersion >= '2022-08-01';
  return {
    kind,
    apiVersion,
    quote,
    ...(runtimeData === undefined ? {} : { runtimeData }),
    ...(initTimeData === undefined ? {} : { initTimeData }),
    ...(typeof draft === 'string' ? { draftPolicy: draft } : {}),
    ...(typeof nonceRaw === 'string' && nonceAllowed ? { nonce: nonceRaw } : {}),
  };
}

function parseData(value: unknown, field: string): AttestData | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', `${field} must be an object {data, dataType}`, {
      field,
    });
  }
  const v = value as Record<string, unknown>;
  const bytes = decodeBase64Field(v['data'], `${field}.data`);
  const typeRaw = v['dataType'] ?? 'Binary';
  const dataType =
    typeof typeRaw === 'string' && typeRaw.toLowerCase() === 'json'
      ? 'JSON'
      : typeof typeRaw === 'string' && typeRaw.toLowerCase() === 'binary'
        ? 'Binary'
        : undefined;
  if (dataType === undefined) {
    throw new AttestRequestError('ERR_ATTEST_BAD_REQUEST', `${field}.dataType must be "Binary" or "JSON"`, {
      field: `${field}.dataType`,
    });
  }
  if (dataType === 'Binary') return { bytes, dataType };
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_JSON_DATA',
      `${field}.data is not UTF-8 JSON`,
      { field },
      cause,
    );
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new AttestRequestError('ERR_ATTEST_BAD_JSON_DATA', `${field}.data must hold a JSON object`, {
      field,
    });
  }
  // The JSON becomes a claim (x-ms-runtime / x-ms-inittime) that is serialised again for the policy
  // and the token; recursion over hostile nesting would overflow the stack. Same bound as the
  // policy engine's JSON functions.
  const depth = jsonDepthExceeds(json, POLICY_LIMITS.maxJsonDepth);
  if (depth) {
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_JSON_DATA',
      `${field}.data: JSON nested deeper than ${POLICY_LIMITS.maxJsonDepth} levels`,
      { field, maxDepth: POLICY_LIMITS.maxJsonDepth },
    );
  }
  return { bytes, dataType, json: json as Record<string, unknown> };
}

/**
 * True when a parsed JSON value nests deeper than `max`, counted as the policy engine counts (the
 * root is level 1, every value inside a container one level deeper). Iterative, stops early.
 */
function jsonDepthExceeds(root: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number];
    if (d > max) return true;
    if (typeof v !== 'object' || v === null) continue;
    for (const x of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) stack.push([x, d + 1]);
  }
  return false;
}

/** `oe_report_header_t`: u32 version (1), u32 report type (2 = SGX remote), u64 size, then the quote. */
export const OE_REPORT_HEADER_SIZE = 16;
const OE_HEADER_VERSION = 1;
const OE_TYPE_SGX_REMOTE = 2;

/** Strips the OpenEnclave report header, returning the embedded DCAP quote. */
export function stripOeReportHeader(report: Uint8Array): Uint8Array {
  try {
    const r = new ByteReader(report);
    const version = r.u32('oe_report_header.version');
    const type = r.u32('oe_report_header.report_type');
    const size = r.u64('oe_report_header.report_size');
    if (version !== OE_HEADER_VERSION) {
      throw new AttestRequestError(
        'ERR_ATTEST_BAD_OE_REPORT',
        `report: OE header version ${version} is not 1`,
        {
          field: 'report',
          offset: 0,
        },
      );
    }
    if (type !== OE_TYPE_SGX_REMOTE) {
      throw new AttestRequestError(
        'ERR_ATTEST_BAD_OE_REPORT',
        `report: OE report type ${type} is not 2 (SGX remote attestation)`,
        { field: 'report', offset: 4 },
      );
    }
    if (size !== BigInt(r.remaining)) {
      throw new AttestRequestError(
        'ERR_ATTEST_BAD_OE_REPORT',
        `report: OE header size ${size} does not match the ${r.remaining} bytes that follow`,
        { field: 'report', offset: 8 },
      );
    }
    return report.subarray(OE_REPORT_HEADER_SIZE);
  } catch (err) {
    if (err instanceof AttestRequestError) throw err;
    throw new AttestRequestError(
      'ERR_ATTEST_BAD_OE_REPORT',
      'report: shorter than the 16-byte OE report header',
      {
        field: 'report',
      },
      err,
    );
  }
}
