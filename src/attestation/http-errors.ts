/**
 * The one place where errors become HTTP responses. Every response body is MAA's CloudError shape
 * `{"error":{"code","message"}}`; the MAA code and status come from the table below, keyed by our
 * stable error code. Anything not raised on purpose becomes a 500 with a generic message — no stack,
 * no internal text leaks to the client.
 */
import { isCcnodesError } from '../errors/index.ts';
import { PolicyEvaluationError, PolicySyntaxError } from '../policy/index.ts';
import type { AttestationErrorCode } from './errors.ts';

/** MAA error codes (spec/maa.md §1.4) plus the two generic ones we need. */
export type MaaErrorCode =
  | 'InvalidParameter'
  | 'PolicyEvaluationError'
  | 'PolicyParsingError'
  | 'InvalidOperation'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'PayloadTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'ServiceUnavailable'
  | 'InternalError';

interface Mapping {
  readonly status: number;
  readonly maa: MaaErrorCode;
}

const TABLE: Readonly<Record<AttestationErrorCode, Mapping>> = {
  ERR_ATTEST_BAD_REQUEST: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_BAD_BASE64: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_BAD_API_VERSION: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_BAD_JSON_DATA: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_BAD_OE_REPORT: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_REPORT_DATA_MISMATCH: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_INIT_DATA_MISMATCH: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_EVIDENCE_REJECTED: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_UNSUPPORTED_TEE: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_TCB_REJECTED: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_COLLATERAL_UNAVAILABLE: { status: 503, maa: 'InternalError' },
  ERR_ATTEST_POLICY_DENIED: { status: 400, maa: 'PolicyEvaluationError' },
  ERR_ATTEST_POLICY_JWS: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_POLICY_UNSIGNED: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_POLICY_SIGNER_UNTRUSTED: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_POLICY_TYPE: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_CERT_LAST_SIGNER: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_POLICY_REPLAY: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_POLICY_ROLLBACK: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_POLICY_JWS_TIME: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_POLICY_TYPE_MISMATCH: { status: 400, maa: 'InvalidParameter' },
  ERR_ATTEST_NOT_ISOLATED: { status: 400, maa: 'InvalidOperation' },
  ERR_ATTEST_UNAUTHORIZED: { status: 401, maa: 'Unauthorized' },
  ERR_SECRET_TOKEN_INVALID: { status: 401, maa: 'Unauthorized' },
  ERR_SECRET_POLICY_DENIED: { status: 403, maa: 'Forbidden' },
  ERR_SECRET_TOKEN_PURPOSE: { status: 401, maa: 'Unauthorized' },
  ERR_SECRET_ATTESTATION_TYPE: { status: 403, maa: 'Forbidden' },
  ERR_SECRET_POLICY_HASH: { status: 403, maa: 'Forbidden' },
  ERR_SECRET_NOT_FOUND: { status: 404, maa: 'NotFound' },
  ERR_SECRET_RELEASE_POLICY: { status: 400, maa: 'InvalidParameter' },
  ERR_SECRET_NO_ENCLAVE_KEY: { status: 400, maa: 'InvalidParameter' },
  ERR_STORAGE_MIGRATION: { status: 500, maa: 'InternalError' },
  ERR_STORAGE_KEK: { status: 500, maa: 'InternalError' },
  ERR_STORAGE_INTEGRITY: { status: 500, maa: 'InternalError' },
  ERR_STORAGE_BACKEND: { status: 500, maa: 'InternalError' },
  ERR_STORAGE_UNAVAILABLE: { status: 503, maa: 'ServiceUnavailable' },
  ERR_ATTEST_CONFIG: { status: 500, maa: 'InternalError' },
  ERR_ATTEST_POLICY_TIMEOUT: { status: 400, maa: 'PolicyEvaluationError' },
  ERR_ATTEST_RATE_LIMITED: { status: 429, maa: 'TooManyRequests' },
  ERR_ATTEST_BUSY: { status: 503, maa: 'ServiceUnavailable' },
  ERR_ATTEST_POLICY_WORKER: { status: 500, maa: 'InternalError' },
};

/** Fastify's own request errors we expose (they describe the client's request, not our internals). */
const FASTIFY: Readonly<Record<string, Mapping & { message: string }>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, maa: 'PayloadTooLarge', message: 'request body is too large' },
  FST_ERR_CTP_INVALID_JSON_BODY: {
    status: 400,
    maa: 'InvalidParameter',
    message: 'request body is not valid JSON',
  },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, maa: 'InvalidParameter', message: 'request body is empty' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    maa: 'UnsupportedMediaType',
    message: 'unsupported Content-Type for this endpoint',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    status: 400,
    maa: 'InvalidParameter',
    message: 'Content-Length does not match the body',
  },
};

/** Core verification and format errors (raised below us) are all bad evidence: 400 InvalidParameter. */
const EVIDENCE_PREFIXES = ['ERR_FORMAT_', 'ERR_VERIFY_', 'ERR_COLLATERAL_', 'ERR_QUOTE_'];

/** The HTTP reply for an error: status, MAA body, and our stable code (logged, sent as a header). */
export interface HttpErrorReply {
  readonly status: number;
  readonly body: { error: { code: MaaErrorCode; message: string } };
  readonly ccnodesCode: string;
}

/** Maps any thrown value to the reply the client sees. */
export function toHttpError(err: unknown): HttpErrorReply {
  if (err instanceof PolicySyntaxError) {
    return reply({ status: 400, maa: 'PolicyParsingError' }, err.message, err.code);
  }
  if (err instanceof PolicyEvaluationError) {
    return reply({ status: 400, maa: 'PolicyEvaluationError' }, err.message, err.code);
  }
  if (isCcnodesError(err)) {
    const known = (TABLE as Record<string, Mapping | undefined>)[err.code];
    if (known !== undefined) return reply(known, err.message, err.code);
    if (EVIDENCE_PREFIXES.some((p) => err.code.startsWith(p))) {
      return reply({ status: 400, maa: 'InvalidParameter' }, err.message, err.code);
    }
    return reply({ status: 500, maa: 'InternalError' }, 'internal error', err.code);
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    const fst = FASTIFY[code];
    if (fst !== undefined) return reply(fst, fst.message, code);
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply({ status, maa: 'InvalidParameter' }, 'invalid request', code);
    }
  }
  return reply({ status: 500, maa: 'InternalError' }, 'internal error', 'ERR_INTERNAL');
}

function reply(m: Mapping, message: string, ccnodesCode: string): HttpErrorReply {
  return { status: m.status, body: { error: { code: m.maa, message } }, ccnodesCode };
}
