/**
 * ccnodes quote helper: an AESM-compatible daemon (Intel aesmd's unix socket protocol, the quote-ex
 * messages) with pluggable quote providers (`sim`, `aesmd`) and a JSON API.
 */
export {
  QUOTE_HELPER_ERRORS,
  type QuoteHelperErrorCode,
  AesmProtocolError,
  AesmStatusError,
  QuoteHelperInputError,
  QuoteHelperUpstreamError,
  QuoteHelperConfigError,
} from './errors.ts';
export type { QuoteProvider, QuoteTarget, QuoteResult, QeReportRequest, ProviderHealth } from './provider.ts';
export { startQuoteHelper, type QuoteHelper, type QuoteHelperOptions } from './daemon.ts';
export {
  DEFAULT_AESM_MAX_CONNECTIONS,
  startAesmServer,
  type AesmServer,
  type AesmServerOptions,
} from './aesm-server.ts';
export {
  DEFAULT_JSON_API_HTTP_LIMITS,
  buildJsonApi,
  type JsonApi,
  type JsonApiHttpLimits,
  type JsonApiOptions,
} from './json-api.ts';
export { createMetrics, type QuoteHelperMetrics, type Transport } from './metrics.ts';
export { createLogger, silentLogger } from './logger.ts';
export { aesmExchange, type AesmTransportOptions } from './aesm-transport.ts';
export { aesmSchema, type AesmSchema } from './schema.ts';
export {
  createSimProvider,
  type SimProviderOptions,
  type SimQuoteProvider,
} from './providers/sim-provider.ts';
export { createAesmdProvider, type AesmdProviderOptions } from './providers/aesmd-provider.ts';
export {
  ATT_KEY_ALGORITHM,
  decodeAttKeyId,
  decodeAttKeyIdList,
  encodeAttKeyId,
  sameAttKeyId,
  type AttKeyId,
} from './att-key-id.ts';
export { decodeQeReportInfo, encodeQeReportInfo, qeReportData, type QeReportInfo } from './qe-report-info.ts';
export { DEFAULT_MAX_REQUEST_BYTES, encodeFrame, FrameAssembler } from './framing.ts';
export { REQUEST_KINDS, decodeAesmRequest, type DecodedRequest, type RequestKind } from './aesm-request.ts';
export { MAX_QUOTE_BUFFER } from './aesm-dispatch.ts';
