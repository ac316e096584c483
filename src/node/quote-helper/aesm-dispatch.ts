/**
 * Answers one decoded AESM request from a `QuoteProvider`: the quote-ex messages (InitQuoteEx in
 * both layouts, GetQuoteSizeEx, GetQuoteEx, SelectAttKeyID, GetSupportedAttKeyIDNum/IDs), the
 * default error code for requests that fail their `required` checks, and "service not available"
 * for the EPID and launch-token requests this helper does not serve.
 */
import {
  AESM_STATUS,
  SGX_ATT_KEY_ID_SIZE,
  SGX_QE_REPORT_INFO_SIZE,
  SGX_REPORT_SIZE,
} from '../../contract/index.ts';
import { decodeAttKeyIdList, sameAttKeyId } from './att-key-id.ts';
import type { AesmFields, DecodedRequest, RequestKind } from './aesm-request.ts';
import { AesmStatusError, QuoteHelperInputError } from './errors.ts';
import type { QuoteProvider } from './provider.ts';
import { decodeQeReportInfo, encodeQeReportInfo } from './qe-report-info.ts';
import { uint64ToNumber } from './schema.ts';

/** Largest GetQuoteEx `buf_size` served (aesmd allocates the whole buffer; we refuse absurd ones). */
export const MAX_QUOTE_BUFFER = 1024 * 1024;

/** The response to send, plus what metrics and logs need to know. */
export interface DispatchOutcome {
  /** The `Response` wrapper object to encode. */
  readonly response: Record<string, Record<string, unknown>>;
  readonly errorCode: number;
  /** Accounting key of the caller: MRENCLAVE prefix of the quoted report, when there is one. */
  readonly client?: string;
  /** Why a non-zero code was sent (for logs). */
  readonly reason?: string;
}

type Body = Record<string, unknown>;

/** Answers `request` using `provider`. Never throws for provider failures: they become codes. */
export async function dispatchAesmRequest(
  request: DecodedRequest,
  provider: QuoteProvider,
): Promise<DispatchOutcome> {
  const { kind } = request;
  if (request.status === 'invalid') {
    return answer(kind, { errorCode: AESM_STATUS.UNEXPECTED_ERROR }, { reason: request.reason });
  }
  if (!kind.quoteEx) {
    return answer(
      kind,
      { errorCode: AESM_STATUS.SERVICE_NOT_AVAILABLE },
      { reason: `${kind.request} (EPID/launch service) is not provided by the quote helper` },
    );
  }
  const client = kind.request === 'getQuoteExReq' ? clientOf(request.fields['report']) : undefined;
  try {
    const body = await handlers[kind.request]?.(request.fields, provider);
    if (body === undefined) throw new Error(`no handler for ${kind.request}`);
    return answer(kind, { errorCode: AESM_STATUS.SUCCESS, ...body }, client === undefined ? {} : { client });
  } catch (err) {
    const { status, reason } = statusOf(err);
    return answer(kind, { errorCode: status }, client === undefined ? { reason } : { reason, client });
  }
}

function answer(kind: RequestKind, body: Body, extra: { reason?: string; client?: string }): DispatchOutcome {
  const errorCode = body['errorCode'] as number;
  return { response: { [kind.response]: body }, errorCode, ...extra };
}

/** Maps a thrown error to the `aesm_error_t` to send. */
export function statusOf(err: unknown): { status: number; reason: string } {
  const reason = err instanceof Error ? err.message : String(err);
  if (err instanceof AesmStatusError) return { status: err.status, reason };
  if (err instanceof QuoteHelperInputError) {
    return {
      status:
        err.code === 'ERR_QUOTE_HELPER_REPORT_MAC' ? AESM_STATUS.INVALID_REPORT : AESM_STATUS.PARAMETER_ERROR,
      reason,
    };
  }
  return { status: AESM_STATUS.UNEXPECTED_ERROR, reason };
}

function parameterError(message: string): AesmStatusError {
  return new AesmStatusError(AESM_STATUS.PARAMETER_ERROR, message);
}

function bytesField(fields: AesmFields, name: string): Uint8Array | undefined {
  if (!Object.hasOwn(fields, name)) return undefined;
  const v = fields[name];
  return v instanceof Uint8Array ? v : undefined;
}

function numberField(fields: AesmFields, name: string): number | undefined {
  return Object.hasOwn(fields, name) ? uint64ToNumber(fields[name]) : undefined;
}

/** The provider's key ID that `requested` names (its default when absent). */
async function resolveAttKeyId(
  provider: QuoteProvider,
  requested: Uint8Array | undefined,
): Promise<Uint8Array> {
  const supported = await provider.supportedAttKeyIds();
  const fallback = supported[0];
  if (fallback === undefined)
    throw new AesmStatusError(AESM_STATUS.UNSUPPORTED_ATT_KEY_ID, 'no attestation key');
  if (requested === undefined) return fallback;
  const match = supported.find((k) => sameAttKeyId(requested, k));
  if (match === undefined) {
    throw new AesmStatusError(
      AESM_STATUS.UNSUPPORTED_ATT_KEY_ID,
      `att_key_id (${requested.length} bytes) names no attestation key this platform supports`,
    );
  }
  return match;
}

type Handler = (fields: AesmFields, provider: QuoteProvider) => Promise<Body>;

const handlers: Readonly<Record<string, Handler>> = {
  // Both InitQuoteEx layouts decode to the same field names (b_pub_key_id, buf_size, att_key_id).
  async initQuoteExReq(fields, provider) {
    const key = await resolveAttKeyId(provider, bytesField(fields, 'att_key_id'));
    const target = await provider.initQuote(key);
    const wantsKeyId = fields['b_pub_key_id'] === true;
    const bufSize = numberField(fields, 'buf_size');
    const body: Body = { target_info: target.targetInfo, pub_key_id_size: target.pubKeyId.length };
    if (wantsKeyId) {
      if (bufSize === undefined || bufSize < target.pubKeyId.length) {
        throw parameterError(
          `buf_size ${bufSize ?? 'absent'} is smaller than the ${target.pubKeyId.length}-byte pub_key_id`,
        );
      }
      body['pub_key_id'] = target.pubKeyId;
    }
    return body;
  },

  async getQuoteSizeExReq(fields, provider) {
    const key = await resolveAttKeyId(provider, bytesField(fields, 'att_key_id'));
    return { quote_size: await provider.quoteSize(key) };
  },

  async getQuoteExReq(fields, provider) {
    const report = bytesField(fields, 'report') ?? new Uint8Array(0);
    if (report.length !== SGX_REPORT_SIZE)
      throw parameterError(`report is ${report.length} bytes, expected ${SGX_REPORT_SIZE}`);
    const bufSize = numberField(fields, 'buf_size') ?? 0;
    if (bufSize > MAX_QUOTE_BUFFER) throw parameterError(`buf_size ${bufSize} exceeds ${MAX_QUOTE_BUFFER}`);
    const key = await resolveAttKeyId(provider, bytesField(fields, 'att_key_id'));
    const infoBytes = bytesField(fields, 'qe_report_info');
    if (infoBytes !== undefined && infoBytes.length !== SGX_QE_REPORT_INFO_SIZE) {
      throw parameterError(
        `qe_report_info is ${infoBytes.length} bytes, expected ${SGX_QE_REPORT_INFO_SIZE}`,
      );
    }
    const info = infoBytes === undefined ? undefined : decodeQeReportInfo(infoBytes);
    const needed = await provider.quoteSize(key);
    if (bufSize < needed)
      throw parameterError(`buf_size ${bufSize} is smaller than the quote (${needed} bytes)`);
    const result = await provider.quote(
      report,
      key,
      info === undefined ? undefined : { nonce: info.nonce, appEnclaveTargetInfo: info.appEnclaveTargetInfo },
    );
    if (result.quote.length > bufSize)
      throw parameterError(`quote (${result.quote.length} bytes) exceeds buf_size ${bufSize}`);
    // aesmd returns the caller's whole buffer: the quote, then zeros.
    let quote = result.quote;
    if (bufSize > quote.length) {
      quote = new Uint8Array(bufSize);
      quote.set(result.quote, 0);
    }
    const body: Body = { quote };
    if (info !== undefined) {
      if (result.qeReport === undefined) {
        throw new AesmStatusError(AESM_STATUS.UNABLE_TO_GENERATE_QE_REPORT, 'provider returned no QE report');
      }
      body['qe_report_info'] = encodeQeReportInfo({ ...info, qeReport: result.qeReport });
    }
    return body;
  },

  async selectAttKeyIDReq(fields, provider) {
    const supported = await provider.supportedAttKeyIds();
    const listBytes = bytesField(fields, 'att_key_id_list');
    if (listBytes === undefined || listBytes.length === 0) {
      const first = supported[0];
      if (first === undefined)
        throw new AesmStatusError(AESM_STATUS.UNSUPPORTED_ATT_KEY_ID, 'no attestation key');
      return { selected_att_key_id: first };
    }
    let candidates: Uint8Array[];
    try {
      candidates = decodeAttKeyIdList(listBytes);
    } catch (err) {
      throw parameterError(`att_key_id_list: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const candidate of candidates) {
      const match = supported.find((k) => sameAttKeyId(candidate, k));
      if (match !== undefined) return { selected_att_key_id: match };
    }
    throw new AesmStatusError(AESM_STATUS.UNSUPPORTED_ATT_KEY_ID, 'no listed attestation key is supported');
  },

  async getSupportedAttKeyIDNumReq(_fields, provider) {
    return { att_key_id_num: (await provider.supportedAttKeyIds()).length };
  },

  async getSupportedAttKeyIDsReq(fields, provider) {
    const supported = await provider.supportedAttKeyIds();
    const expected = supported.length * SGX_ATT_KEY_ID_SIZE;
    const bufSize = numberField(fields, 'buf_size');
    if (bufSize !== expected)
      throw parameterError(
        `buf_size ${bufSize ?? 'absent'} is not ${supported.length} x ${SGX_ATT_KEY_ID_SIZE}`,
      );
    return { att_key_ids: Buffer.concat(supported) };
  },
};

/** Accounting key of a quote request: the first 8 bytes of the report's MRENCLAVE, hex. */
function clientOf(report: unknown): string | undefined {
  if (!(report instanceof Uint8Array) || report.length < 96) return undefined;
  return Buffer.from(report.buffer, report.byteOffset + 64, 8).toString('hex');
}
