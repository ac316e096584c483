/**
 * Best-effort description of a relayed AESM exchange (aesmd provider): the request type, the
 * caller's accounting key and the response's error code, for metrics and logs. Never throws.
 */
import { AesmProtocolError } from './errors.ts';
import { decodeAesmRequest } from './aesm-request.ts';
import { aesmSchema } from './schema.ts';

export interface ExchangeInfo {
  readonly type: string;
  readonly errorCode: number;
  readonly client?: string;
  /** Set when upstream gave no usable answer. */
  readonly error?: AesmProtocolError;
}

/** Describes `request` and the raw `response` body (undefined: upstream closed unanswered). */
export function describeAesmResponse(request: Uint8Array, response: Uint8Array | undefined): ExchangeInfo {
  let type = 'unknown';
  let client: string | undefined;
  try {
    const decoded = decodeAesmRequest(request);
    type = decoded.kind.request;
    if (decoded.status === 'ok' && type === 'getQuoteExReq') {
      const report = decoded.fields['report'];
      if (report instanceof Uint8Array && report.length >= 96) {
        client = Buffer.from(report.buffer, report.byteOffset + 64, 8).toString('hex');
      }
    }
  } catch {
    // unknown or malformed: upstream decides; we only count it
  }
  if (response === undefined) {
    return {
      type,
      errorCode: -1,
      error: new AesmProtocolError(
        'ERR_AESM_UNKNOWN_REQUEST',
        `upstream aesmd closed the ${type} request unanswered`,
      ),
    };
  }
  let errorCode = -1;
  try {
    const message = aesmSchema().Response.decode(response) as unknown as Record<string, unknown>;
    for (const value of Object.values(message)) {
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { errorCode?: unknown }).errorCode === 'number'
      ) {
        errorCode = (value as { errorCode: number }).errorCode;
        break;
      }
    }
  } catch {
    errorCode = -1;
  }
  return client === undefined ? { type, errorCode } : { type, errorCode, client };
}
