/**
 * The `aesmd` provider: the host runs Intel's aesmd (with the DCAP quote-ex plugin) and the quote
 * helper stands in front of it. AESM requests are relayed byte for byte (`forward`), so every
 * client gets exactly aesmd's answer while the helper adds metrics and per-client accounting; the
 * JSON API's calls are made as ordinary AESM requests to the same socket.
 */
import { AESM_STATUS, SGX_ATT_KEY_ID_SIZE, aesmStatusName } from '../../../contract/index.ts';
import { aesmExchange, type AesmTransportOptions } from '../aesm-transport.ts';
import { AesmProtocolError, AesmStatusError } from '../errors.ts';
import type {
  ProviderHealth,
  QeReportRequest,
  QuoteProvider,
  QuoteResult,
  QuoteTarget,
} from '../provider.ts';
import { decodeQeReportInfo, encodeQeReportInfo } from '../qe-report-info.ts';
import { aesmSchema, uint64ToNumber } from '../schema.ts';

export interface AesmdProviderOptions extends AesmTransportOptions {
  /** The host aesmd's socket (normally /var/run/aesmd/aesm.socket on the host, mounted elsewhere). */
  readonly socketPath: string;
}

type Fields = Record<string, unknown>;

/** Creates the pass-through provider. Nothing is contacted until the first request. */
export function createAesmdProvider(options: AesmdProviderOptions): QuoteProvider {
  const { socketPath } = options;
  const schema = aesmSchema();

  /** Sends one request sub-message and returns the matching response sub-message (status 0 only). */
  const call = async (request: string, response: string, fields: Fields): Promise<Fields> => {
    const body = schema.Request.encode(schema.Request.fromObject({ [request]: fields })).finish();
    const answer = await aesmExchange(socketPath, body, options);
    if (answer === undefined) {
      throw new AesmProtocolError(
        'ERR_AESM_UNKNOWN_REQUEST',
        `aesmd at ${socketPath} closed ${request} unanswered`,
      );
    }
    let decoded: Fields;
    try {
      decoded = schema.Response.decode(answer) as unknown as Fields;
    } catch (err) {
      throw new AesmProtocolError(
        'ERR_AESM_MALFORMED',
        `aesmd answered ${request} with an invalid Response`,
        {
          cause: String(err),
        },
      );
    }
    const sub = decoded[response] as Fields | undefined;
    if (sub === undefined) {
      throw new AesmProtocolError('ERR_AESM_MALFORMED', `aesmd answered ${request} without ${response}`);
    }
    const status = sub['errorCode'] as number;
    if (status !== AESM_STATUS.SUCCESS) {
      throw new AesmStatusError(
        status,
        `aesmd answered ${request} with ${aesmStatusName(status)} (${status})`,
        {
          request,
        },
      );
    }
    return sub;
  };

  const bytesOf = (sub: Fields, name: string, what: string): Uint8Array => {
    const v = sub[name];
    if (!(v instanceof Uint8Array))
      throw new AesmProtocolError('ERR_AESM_MALFORMED', `aesmd ${what}: ${name} missing`);
    return v;
  };

  const withKey = (attKeyId: Uint8Array | undefined): Fields =>
    attKeyId === undefined ? {} : { att_key_id: attKeyId };

  const provider: QuoteProvider = {
    name: 'aesmd',
    simulated: false,

    async supportedAttKeyIds() {
      const num = await call('getSupportedAttKeyIDNumReq', 'getSupportedAttKeyIDNumRes', {});
      const count = (num['att_key_id_num'] as number | undefined) ?? 0;
      const ids = await call('getSupportedAttKeyIDsReq', 'getSupportedAttKeyIDsRes', {
        buf_size: count * SGX_ATT_KEY_ID_SIZE,
      });
      const all = bytesOf(ids, 'att_key_ids', 'GetSupportedAttKeyIDs');
      const out: Uint8Array[] = [];
      for (let i = 0; i + SGX_ATT_KEY_ID_SIZE <= all.length; i += SGX_ATT_KEY_ID_SIZE) {
        out.push(all.slice(i, i + SGX_ATT_KEY_ID_SIZE));
      }
      return out;
    },

    async initQuote(attKeyId): Promise<QuoteTarget> {
      const first = await call('initQuoteExReq', 'initQuoteExRes', {
        ...withKey(attKeyId),
        b_pub_key_id: false,
      });
      const size = uint64ToNumber(first['pub_key_id_size']) ?? 32;
      const second = await call('initQuoteExReq', 'initQuoteExRes', {
        ...withKey(attKeyId),
        b_pub_key_id: true,
        buf_size: size,
      });
      return {
        targetInfo: bytesOf(second, 'target_info', 'InitQuoteEx'),
        pubKeyId: bytesOf(second, 'pub_key_id', 'InitQuoteEx'),
      };
    },

    async quoteSize(attKeyId) {
      const res = await call('getQuoteSizeExReq', 'getQuoteSizeExRes', withKey(attKeyId));
      return (res['quote_size'] as number | undefined) ?? 0;
    },

    async quote(report, attKeyId, qeReport?: QeReportRequest): Promise<QuoteResult> {
      const size = await provider.quoteSize(attKeyId);
      const fields: Fields = { report, ...withKey(attKeyId), buf_size: size };
      if (qeReport !== undefined) {
        fields['qe_report_info'] = encodeQeReportInfo({ ...qeReport, qeReport: new Uint8Array(432) });
      }
      const res = await call('getQuoteExReq', 'getQuoteExRes', fields);
      const quote = bytesOf(res, 'quote', 'GetQuoteEx').slice(0, size);
      if (qeReport === undefined) return { quote };
      const info = decodeQeReportInfo(bytesOf(res, 'qe_report_info', 'GetQuoteEx'));
      return { quote, qeReport: info.qeReport.slice() };
    },

    forward(requestBody) {
      return aesmExchange(socketPath, requestBody, options);
    },

    async health(): Promise<ProviderHealth> {
      try {
        const ids = await provider.supportedAttKeyIds();
        return { ok: ids.length > 0, detail: `aesmd at ${socketPath}: ${ids.length} attestation key ID(s)` };
      } catch (err) {
        return {
          ok: false,
          detail: `aesmd at ${socketPath}: ${err instanceof Error ? err.message : String(err)}`,
        };
      }
    },

    close() {
      return Promise.resolve();
    },
  };
  return provider;
}
