/**
 * Reading one AESM `Request` the way aesmd does (spec k8s-sgx.md §5.1–5.2): the wrapper's known
 * sub-messages are collected, the first present one in aesmd's dispatch order wins, and a
 * sub-message that fails its proto2 `required` checks is still identified, so that it gets the
 * matching response with the default error code. A request with no known sub-message, or bytes that
 * are not protobuf, is reported as such; aesmd closes those connections without answering.
 */
import protobuf from 'protobufjs';
import { AesmProtocolError } from './errors.ts';
import { aesmSchema, isMissingRequiredField } from './schema.ts';

/** One request kind: wrapper field, request/response field names and nested type names. */
export interface RequestKind {
  readonly field: number;
  readonly request: string;
  readonly response: string;
  readonly requestType: string;
  /** True for the quote-ex family the quote helper serves; false for EPID/launch/legacy requests. */
  readonly quoteEx: boolean;
}

const kind = (
  field: number,
  request: string,
  response: string,
  requestType: string,
  quoteEx: boolean,
): RequestKind => ({
  field,
  request,
  response,
  requestType,
  quoteEx,
});

/** Request kinds in aesmd's dispatch order (first present wins). */
export const REQUEST_KINDS: readonly RequestKind[] = [
  kind(3, 'getLicTokenReq', 'getLicTokenRes', 'GetLaunchTokenRequest', false),
  kind(1, 'initQuoteReq', 'initQuoteRes', 'InitQuoteRequest', false),
  kind(2, 'getQuoteReq', 'getQuoteRes', 'GetQuoteRequest', false),
  kind(4, 'reportErrReq', 'reportErrRes', 'ReportAttestationErrorRequest', false),
  kind(18, 'checkUpdateStatusReq', 'checkUpdateStatusRes', 'CheckUpdateStatusRequest', false),
  kind(10, 'getWhiteListSizeReq', 'getWhiteListSizeRes', 'GetWhiteListSizeRequest', false),
  kind(11, 'getWhiteListReq', 'getWhiteListRes', 'GetWhiteListRequest', false),
  kind(
    12,
    'sgxGetExtendedEpidGroupIdReq',
    'sgxGetExtendedEpidGroupIdRes',
    'SGXGetExtendedEpidGroupIdRequest',
    false,
  ),
  kind(
    13,
    'sgxSwitchExtendedEpidGroupReq',
    'sgxSwitchExtendedEpidGroupRes',
    'SGXSwitchExtendedEpidGroupRequest',
    false,
  ),
  kind(14, 'sgxRegisterReq', 'sgxRegisterRes', 'SGXRegisterRequest', false),
  kind(15, 'initQuoteExReq', 'initQuoteExRes', 'InitQuoteExRequest', true),
  kind(16, 'getQuoteSizeExReq', 'getQuoteSizeExRes', 'GetQuoteSizeExRequest', true),
  kind(17, 'getQuoteExReq', 'getQuoteExRes', 'GetQuoteExRequest', true),
  kind(19, 'selectAttKeyIDReq', 'selectAttKeyIDRes', 'SelectAttKeyIDRequest', true),
  kind(
    21,
    'getSupportedAttKeyIDNumReq',
    'getSupportedAttKeyIDNumRes',
    'GetSupportedAttKeyIDNumRequest',
    true,
  ),
  kind(22, 'getSupportedAttKeyIDsReq', 'getSupportedAttKeyIDsRes', 'GetSupportedAttKeyIDsRequest', true),
];

const BY_FIELD = new Map(REQUEST_KINDS.map((k) => [k.field, k]));
const WIRE_LENGTH_DELIMITED = 2;

/** A decoded sub-message: field names as in the schema, `Object.hasOwn` tells presence. */
export type AesmFields = Readonly<Record<string, unknown>>;

export type DecodedRequest =
  | {
      readonly status: 'ok';
      readonly kind: RequestKind;
      readonly fields: AesmFields;
      readonly legacyLayout: boolean;
    }
  | { readonly status: 'invalid'; readonly kind: RequestKind; readonly reason: string };

/**
 * Identifies and decodes one request body. Throws `AesmProtocolError` `ERR_AESM_MALFORMED` for
 * bytes that are not protobuf and `ERR_AESM_UNKNOWN_REQUEST` when no known sub-message is present.
 */
export function decodeAesmRequest(body: Uint8Array): DecodedRequest {
  const parts = collectSubMessages(body);
  let chosen: RequestKind | undefined;
  for (const k of REQUEST_KINDS) {
    if (parts.has(k.field)) {
      chosen = k;
      break;
    }
  }
  if (chosen === undefined) {
    throw new AesmProtocolError(
      'ERR_AESM_UNKNOWN_REQUEST',
      'AESM request carries no sub-message aesmd recognizes',
      {
        fields: [...parts.keys()],
      },
    );
  }
  const chunks = parts.get(chosen.field) ?? [];
  const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
  const schema = aesmSchema();
  const legacyLayout = chosen.field === 15 && hasField(bytes, 2);
  const type = legacyLayout ? schema.LegacyInitQuoteExRequest : schema.requestType(chosen.requestType);
  try {
    const message = type.decode(bytes);
    return { status: 'ok', kind: chosen, fields: message as unknown as AesmFields, legacyLayout };
  } catch (err) {
    const reason = isMissingRequiredField(err)
      ? (err as Error).message
      : `malformed ${chosen.request}: ${err instanceof Error ? err.message : String(err)}`;
    return { status: 'invalid', kind: chosen, reason };
  }
}

/** Walks the wrapper's top-level fields; known length-delimited ones are kept (repeats merge). */
function collectSubMessages(body: Uint8Array): Map<number, Uint8Array[]> {
  const parts = new Map<number, Uint8Array[]>();
  const reader = protobuf.Reader.create(body);
  try {
    while (reader.pos < reader.len) {
      const at = reader.pos;
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wire = tag & 7;
      if (field === 0) throw new Error(`field number 0 at byte offset ${at}`);
      if (wire === WIRE_LENGTH_DELIMITED && BY_FIELD.has(field)) {
        const sub = reader.bytes();
        const list = parts.get(field);
        if (list === undefined) parts.set(field, [sub]);
        else list.push(sub);
      } else {
        reader.skipType(wire);
      }
    }
  } catch (err) {
    if (err instanceof AesmProtocolError) throw err;
    throw new AesmProtocolError(
      'ERR_AESM_MALFORMED',
      `AESM request is not a valid protobuf message: ${err instanceof Error ? err.message : String(err)}`,
      { offset: reader.pos },
    );
  }
  return parts;
}

/** True when field `number` occurs at the top level of `bytes` (malformed input → false). */
function hasField(bytes: Uint8Array, number: number): boolean {
  const reader = protobuf.Reader.create(bytes);
  try {
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === number) return true;
      reader.skipType(tag & 7);
    }
  } catch {
    return false;
  }
  return false;
}
