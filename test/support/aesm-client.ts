/**
 * An AESM client for tests, written from the protocol notes (shared/spec/k8s-sgx.md §5) and
 * deliberately NOT from the server's code or .proto file: it carries its own minimal protobuf wire
 * encoder/decoder and its own field numbers, so a wrong number in proto/aesm/aesm.proto fails the
 * tests instead of agreeing with itself.
 *
 * Framing: u32 little-endian length + body; one request per connection.
 */
import { connect } from 'node:net';

// ---- minimal protobuf wire format --------------------------------------------------------------

/** A field value to encode: varint (number/bigint/boolean) or length-delimited (bytes). */
export type WireValue = number | bigint | boolean | Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('negative varint');
  const out: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    out.push(byte);
  } while (v !== 0n);
  return out;
}

/** Encodes `[fieldNumber, value]` pairs in order (undefined values are skipped). */
export function encodeFields(fields: ReadonlyArray<readonly [number, WireValue | undefined]>): Uint8Array {
  const parts: number[] = [];
  for (const [num, value] of fields) {
    if (value === undefined) continue;
    if (value instanceof Uint8Array) {
      parts.push(...varint((num << 3) | 2), ...varint(value.length), ...value);
    } else {
      const n = typeof value === 'boolean' ? (value ? 1 : 0) : value;
      parts.push(...varint((num << 3) | 0), ...varint(n));
    }
  }
  return Uint8Array.from(parts);
}

/** Decoded fields: varints as bigint, length-delimited as bytes; repeated numbers keep every value. */
export type DecodedFields = Map<number, Array<bigint | Uint8Array>>;

/** Decodes one message level. Throws on malformed input. */
export function decodeFields(bytes: Uint8Array): DecodedFields {
  const out: DecodedFields = new Map();
  let pos = 0;
  const readVarint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated varint');
      const b = bytes[pos++] as number;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  };
  while (pos < bytes.length) {
    const tag = Number(readVarint());
    const num = tag >>> 3;
    const wire = tag & 7;
    let value: bigint | Uint8Array;
    if (wire === 0) value = readVarint();
    else if (wire === 2) {
      const len = Number(readVarint());
      if (pos + len > bytes.length) throw new Error('truncated bytes field');
      value = bytes.slice(pos, pos + len);
      pos += len;
    } else if (wire === 5) {
      value = bytes.slice(pos, pos + 4);
      pos += 4;
    } else if (wire === 1) {
      value = bytes.slice(pos, pos + 8);
      pos += 8;
    } else throw new Error(`unsupported wire type ${wire}`);
    const list = out.get(num);
    if (list === undefined) out.set(num, [value]);
    else list.push(value);
  }
  return out;
}

function lastBytes(f: DecodedFields, num: number): Uint8Array | undefined {
  const v = f.get(num)?.at(-1);
  return v instanceof Uint8Array ? v : undefined;
}

function lastNumber(f: DecodedFields, num: number): number | undefined {
  const v = f.get(num)?.at(-1);
  return typeof v === 'bigint' ? Number(v) : undefined;
}

// ---- field numbers from the spec (k8s-sgx.md §5.2) ---------------------------------------------

/** Wrapper field numbers (same number for a request and its response). */
export const AESM_FIELD = {
  initQuote: 1,
  getQuote: 2,
  getLaunchToken: 3,
  reportAttestationError: 4,
  getWhiteListSize: 10,
  getWhiteList: 11,
  sgxGetExtendedEpidGroupId: 12,
  sgxSwitchExtendedEpidGroup: 13,
  sgxRegister: 14,
  initQuoteEx: 15,
  getQuoteSizeEx: 16,
  getQuoteEx: 17,
  checkUpdateStatus: 18,
  selectAttKeyId: 19,
  unsupportedRequest: 20,
  getSupportedAttKeyIdNum: 21,
  getSupportedAttKeyIds: 22,
} as const;

/** What one exchange produced: a response body, or the server closed without answering. */
export type Exchange = { readonly kind: 'response'; readonly body: Buffer } | { readonly kind: 'closed' };

export interface AesmClientOptions {
  readonly timeoutMs?: number;
  /** The `timeout` value clients put in requests (libsgx_quote_ex sends milliseconds). */
  readonly requestTimeout?: number;
}

/** The response sub-message of one call, decoded. */
export interface AesmAnswer {
  readonly errorCode: number;
  readonly fields: DecodedFields;
}

export class AesmClient {
  readonly timeoutMs: number;
  readonly requestTimeout: number;

  constructor(
    readonly socketPath: string,
    options: AesmClientOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.requestTimeout = options.requestTimeout ?? 60_000;
  }

  /** Sends `bytes` as they are (no framing added) and collects one framed answer or the close. */
  sendRaw(bytes: Uint8Array, options: { endAfterWrite?: boolean } = {}): Promise<Exchange> {
    return new Promise((resolve, reject) => {
      const sock = connect({ path: this.socketPath });
      const chunks: Buffer[] = [];
      let total = 0;
      let done = false;
      const finish = (err: Error | undefined, value?: Exchange): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        if (err !== undefined) reject(err);
        else resolve(value as Exchange);
      };
      const timer = setTimeout(() => {
        finish(new Error(`no answer from ${this.socketPath} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const tryComplete = (): boolean => {
        if (total < 4) return false;
        const all = Buffer.concat(chunks);
        const len = all.readUInt32LE(0);
        if (all.length < 4 + len) return false;
        finish(undefined, { kind: 'response', body: all.subarray(4, 4 + len) });
        return true;
      };
      sock.on('connect', () => {
        sock.write(bytes);
        if (options.endAfterWrite === true) sock.end();
      });
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        total += c.length;
        tryComplete();
      });
      const closed = (): void => {
        if (tryComplete()) return;
        if (total === 0) finish(undefined, { kind: 'closed' });
        else finish(new Error(`response truncated: ${total} bytes`));
      };
      sock.on('end', closed);
      sock.on('close', closed);
      sock.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ECONNRESET' || err.code === 'EPIPE') closed();
        else finish(err);
      });
    });
  }

  /** Frames `body` (u32 LE length) and sends it. */
  sendBody(body: Uint8Array): Promise<Exchange> {
    const frame = Buffer.alloc(4 + body.length);
    frame.writeUInt32LE(body.length, 0);
    frame.set(body, 4);
    return this.sendRaw(frame);
  }

  /** One wrapper call: request sub-message `sub` at `field`; returns the response sub-message. */
  async call(field: number, sub: Uint8Array): Promise<AesmAnswer> {
    const answer = await this.sendBody(encodeFields([[field, sub]]));
    if (answer.kind === 'closed')
      throw new Error(`AESM server closed request field ${field} without answering`);
    const wrapper = decodeFields(answer.body);
    const res = lastBytes(wrapper, field);
    if (res === undefined)
      throw new Error(`response lacks sub-message ${field} (has ${[...wrapper.keys()].join(',')})`);
    const fields = decodeFields(res);
    const errorCode = lastNumber(fields, 1);
    if (errorCode === undefined) throw new Error(`response ${field} lacks the required errorCode`);
    return { errorCode, fields };
  }

  async getSupportedAttKeyIdNum(): Promise<{ errorCode: number; num: number | undefined }> {
    const a = await this.call(AESM_FIELD.getSupportedAttKeyIdNum, encodeFields([[9, this.requestTimeout]]));
    return { errorCode: a.errorCode, num: lastNumber(a.fields, 2) };
  }

  async getSupportedAttKeyIds(
    bufSize: number,
  ): Promise<{ errorCode: number; attKeyIds: Uint8Array | undefined }> {
    const a = await this.call(
      AESM_FIELD.getSupportedAttKeyIds,
      encodeFields([
        [1, bufSize],
        [9, this.requestTimeout],
      ]),
    );
    return { errorCode: a.errorCode, attKeyIds: lastBytes(a.fields, 2) };
  }

  /** InitQuoteEx, current layout (PSW ≥ 2.6): att_key_id=1, b_pub_key_id=3, buf_size=4. */
  async initQuoteEx(req: {
    attKeyId?: Uint8Array;
    bPubKeyId: boolean;
    bufSize?: number;
  }): Promise<InitQuoteExAnswer> {
    const a = await this.call(
      AESM_FIELD.initQuoteEx,
      encodeFields([
        [1, req.attKeyId],
        [3, req.bPubKeyId],
        [4, req.bufSize],
        [9, this.requestTimeout],
      ]),
    );
    return initQuoteExAnswer(a);
  }

  /**
   * InitQuoteEx, old layout (PSW ≤ 2.5): att_key_id=1, certification_key_type=2, refresh_att_key=3,
   * b_pub_key_id=4, buf_size=5.
   */
  async initQuoteExLegacy(req: {
    attKeyId?: Uint8Array;
    certificationKeyType: number;
    refreshAttKey: boolean;
    bPubKeyId: boolean;
    bufSize?: number;
  }): Promise<InitQuoteExAnswer> {
    const a = await this.call(
      AESM_FIELD.initQuoteEx,
      encodeFields([
        [1, req.attKeyId],
        [2, req.certificationKeyType],
        [3, req.refreshAttKey],
        [4, req.bPubKeyId],
        [5, req.bufSize],
        [9, this.requestTimeout],
      ]),
    );
    return initQuoteExAnswer(a);
  }

  async getQuoteSizeEx(
    req: { attKeyId?: Uint8Array } = {},
  ): Promise<{ errorCode: number; quoteSize: number | undefined }> {
    const a = await this.call(
      AESM_FIELD.getQuoteSizeEx,
      encodeFields([
        [1, req.attKeyId],
        [9, this.requestTimeout],
      ]),
    );
    return { errorCode: a.errorCode, quoteSize: lastNumber(a.fields, 2) };
  }

  async getQuoteEx(req: {
    report: Uint8Array;
    attKeyId?: Uint8Array;
    qeReportInfo?: Uint8Array;
    bufSize: number;
  }): Promise<{ errorCode: number; quote: Uint8Array | undefined; qeReportInfo: Uint8Array | undefined }> {
    const a = await this.call(
      AESM_FIELD.getQuoteEx,
      encodeFields([
        [1, req.report],
        [2, req.attKeyId],
        [3, req.qeReportInfo],
        [4, req.bufSize],
        [9, this.requestTimeout],
      ]),
    );
    return { errorCode: a.errorCode, quote: lastBytes(a.fields, 2), qeReportInfo: lastBytes(a.fields, 3) };
  }

  /** SelectAttKeyID: att_key_id_list=1, timeout=2 (not 9). */
  async selectAttKeyId(list?: Uint8Array): Promise<{ errorCode: number; selected: Uint8Array | undefined }> {
    const a = await this.call(
      AESM_FIELD.selectAttKeyId,
      encodeFields([
        [1, list],
        [2, this.requestTimeout],
      ]),
    );
    return { errorCode: a.errorCode, selected: lastBytes(a.fields, 2) };
  }
}

export interface InitQuoteExAnswer {
  readonly errorCode: number;
  readonly targetInfo: Uint8Array | undefined;
  readonly pubKeyIdSize: number | undefined;
  readonly pubKeyId: Uint8Array | undefined;
}

function initQuoteExAnswer(a: AesmAnswer): InitQuoteExAnswer {
  return {
    errorCode: a.errorCode,
    targetInfo: lastBytes(a.fields, 2),
    pubKeyIdSize: lastNumber(a.fields, 3),
    pubKeyId: lastBytes(a.fields, 4),
  };
}

/** `algorithm_id` offset inside `sgx_att_key_id_ext_t` (after id, version, mrsigner_length, mrsigner, prod_id, extended_prod_id, config_id, family_id). */
export const ATT_KEY_ID_ALGORITHM_OFFSET = 2 + 2 + 2 + 48 + 4 + 16 + 64 + 16;

/** What the Open Enclave sequence produced. */
export interface OpenEnclaveQuoteResult {
  readonly attKeyId: Uint8Array;
  readonly targetInfo: Uint8Array;
  readonly pubKeyId: Uint8Array;
  readonly quoteSize: number;
  /** The quote buffer as returned (may be longer than the quote; trailing zeros). */
  readonly quote: Uint8Array;
  readonly qeReportInfo: Uint8Array | undefined;
}

/**
 * Runs Open Enclave's out-of-process quoting sequence (spec §5.3): GetSupportedAttKeyIDNum →
 * GetSupportedAttKeyIDs → pick the ECDSA-P256 key → InitQuoteEx(b_pub_key_id=false) →
 * InitQuoteEx(b_pub_key_id=true, buf_size) → the app makes its report for the returned target info
 * → GetQuoteSizeEx → GetQuoteEx. Every step must answer errorCode 0.
 */
export async function runOpenEnclaveSequence(
  client: AesmClient,
  makeReport: (targetInfo: Uint8Array) => Uint8Array | Promise<Uint8Array>,
  options: { qeReportInfo?: (targetInfo: Uint8Array) => Uint8Array } = {},
): Promise<OpenEnclaveQuoteResult> {
  const step = (name: string, code: number): void => {
    if (code !== 0) throw new Error(`${name} answered errorCode ${code}`);
  };
  const num = await client.getSupportedAttKeyIdNum();
  step('GetSupportedAttKeyIDNum', num.errorCode);
  const count = num.num ?? 0;
  const ids = await client.getSupportedAttKeyIds(count * 256);
  step('GetSupportedAttKeyIDs', ids.errorCode);
  const all = ids.attKeyIds ?? new Uint8Array(0);
  if (all.length !== count * 256)
    throw new Error(`GetSupportedAttKeyIDs returned ${all.length} bytes for ${count} IDs`);
  let attKeyId: Uint8Array | undefined;
  for (let i = 0; i < count; i++) {
    const id = all.subarray(i * 256, (i + 1) * 256);
    const algorithm = Buffer.from(id).readUInt32LE(ATT_KEY_ID_ALGORITHM_OFFSET);
    if (algorithm === 2) {
      attKeyId = id;
      break;
    }
  }
  if (attKeyId === undefined) throw new Error('no ECDSA-P256 attestation key ID offered');
  const first = await client.initQuoteEx({ attKeyId, bPubKeyId: false });
  step('InitQuoteEx(size)', first.errorCode);
  const pubKeyIdSize = first.pubKeyIdSize ?? 0;
  const second = await client.initQuoteEx({ attKeyId, bPubKeyId: true, bufSize: pubKeyIdSize });
  step('InitQuoteEx', second.errorCode);
  const targetInfo = second.targetInfo;
  const pubKeyId = second.pubKeyId;
  if (targetInfo?.length !== 512)
    throw new Error(`target_info is ${targetInfo?.length ?? 'absent'} bytes, expected 512`);
  if (pubKeyId?.length !== pubKeyIdSize) throw new Error('pub_key_id does not match pub_key_id_size');
  const report = await makeReport(targetInfo);
  const size = await client.getQuoteSizeEx({ attKeyId });
  step('GetQuoteSizeEx', size.errorCode);
  const quoteSize = size.quoteSize ?? 0;
  const qeReportInfo = options.qeReportInfo?.(targetInfo);
  const got = await client.getQuoteEx({
    report,
    attKeyId,
    bufSize: quoteSize,
    ...(qeReportInfo === undefined ? {} : { qeReportInfo }),
  });
  step('GetQuoteEx', got.errorCode);
  if (got.quote === undefined || got.quote.length > quoteSize)
    throw new Error('quote missing or larger than buf_size');
  return { attKeyId, targetInfo, pubKeyId, quoteSize, quote: got.quote, qeReportInfo: got.qeReportInfo };
}
