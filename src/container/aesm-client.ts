/**
 * Quoting through an AESM socket (Intel aesmd, or the ccnodes quote helper on a node), as the SGX
 * DCAP quote library does when `SGX_AESM_ADDR` is set: one framed protobuf request per connection
 * (u32 little-endian length, then `aesm.message.Request`), the quote-ex messages. The schema is
 * the repository's `proto/aesm/aesm.proto`; the wire contract is in src/contract/aesm.ts.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import protobuf from 'protobufjs';
import { aesmStatusName, SGX_ATT_KEY_ID_SIZE } from '../contract/index.ts';
import { ContainerLaunchError } from './errors.ts';

/** Where the quote helper's AESM socket is mounted in a pod (and where aesmd listens on a host). */
export const DEFAULT_AESM_SOCKET = '/var/run/aesmd/aesm.socket';

const PROTO_URL = new URL('../../proto/aesm/aesm.proto', import.meta.url);
const MAX_RESPONSE = 1024 * 1024;

let schema: { Request: protobuf.Type; Response: protobuf.Type } | undefined;

function types(): { Request: protobuf.Type; Response: protobuf.Type } {
  if (schema !== undefined) return schema;
  // Each type resolves its fields when its codec is first set up (protobufjs Type#setup).
  const root = protobuf.parse(readFileSync(PROTO_URL, 'utf8'), { keepCase: true }).root;
  schema = {
    Request: root.lookupType('aesm.message.Request'),
    Response: root.lookupType('aesm.message.Response'),
  };
  return schema;
}

function quoteError(
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): ContainerLaunchError {
  // CcnodesError leaves an undefined cause out.
  return new ContainerLaunchError('ERR_CONTAINER_QUOTE', message, { details, cause });
}

/** One exchange: connect, send a framed request, read one framed response. */
function exchange(socketPath: string, body: Uint8Array, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    const chunks: Buffer[] = [];
    let received = 0;
    // A promise settles once: the 'close' event that follows destroy() calls this again and changes
    // nothing.
    const finish = (err: Error | undefined, value?: Buffer): void => {
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(value ?? Buffer.alloc(0));
    };
    sock.setTimeout(timeoutMs, () => {
      finish(quoteError(`AESM socket ${socketPath} did not answer within ${timeoutMs} ms`, { socketPath }));
    });
    sock.on('connect', () => {
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      frame.set(body, 4);
      sock.write(frame);
    });
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      const all = Buffer.concat(chunks);
      if (all.length < 4) return;
      const len = all.readUInt32LE(0);
      if (len === 0 || len > MAX_RESPONSE)
        finish(quoteError(`AESM socket ${socketPath}: response frame of ${len} bytes`, { socketPath }));
      else if (all.length >= 4 + len) finish(undefined, all.subarray(4, 4 + len));
    });
    const closed = (): void => {
      finish(
        quoteError(`AESM socket ${socketPath} closed after ${received} bytes without a complete answer`, {
          socketPath,
        }),
      );
    };
    // 'close' follows the peer's end (sockets are not half-open), a reset and our own destroy().
    sock.on('close', closed);
    sock.on('error', (err) => {
      finish(quoteError(`cannot reach the AESM socket ${socketPath}: ${err.message}`, { socketPath }, err));
    });
  });
}

async function call(
  socketPath: string,
  field: string,
  message: Record<string, unknown>,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  const t = types();
  const request = t.Request.encode(t.Request.fromObject({ [field]: message })).finish();
  const answer = await exchange(socketPath, request, timeoutMs);
  let decoded: Record<string, Record<string, unknown> | undefined>;
  try {
    decoded = t.Response.toObject(t.Response.decode(answer), {
      bytes: Uint8Array,
      longs: Number,
    });
  } catch (cause) {
    throw quoteError(`AESM ${field}: undecodable answer`, { socketPath }, cause);
  }
  const res = decoded[field.replace(/Req$/, 'Res')];
  if (res === undefined) throw quoteError(`AESM ${field}: the answer is for another request`, { socketPath });
  const status = Number(res['errorCode'] ?? -1);
  if (status !== 0)
    throw quoteError(`AESM ${field}: ${aesmStatusName(status)}`, { socketPath, aesmStatus: status });
  return res;
}

/** The quoting enclave's TARGETINFO and the attestation key to quote with. */
export interface AesmQuoteTarget {
  readonly targetInfo: Uint8Array;
  readonly attKeyId: Uint8Array;
}

/**
 * Asks the AESM socket for the quoting enclave's TARGETINFO (supported key IDs, then InitQuoteEx).
 * @throws ContainerLaunchError `ERR_CONTAINER_QUOTE`.
 */
export async function aesmQuoteTarget(socketPath: string, timeoutMs = 10_000): Promise<AesmQuoteTarget> {
  const num = await call(socketPath, 'getSupportedAttKeyIDNumReq', {}, timeoutMs);
  const count = Number(num['att_key_id_num'] ?? 0);
  if (count < 1 || count > 64) throw quoteError(`AESM: ${count} attestation keys offered`, { socketPath });
  const ids = await call(
    socketPath,
    'getSupportedAttKeyIDsReq',
    { buf_size: count * SGX_ATT_KEY_ID_SIZE },
    timeoutMs,
  );
  const all = ids['att_key_ids'];
  if (!(all instanceof Uint8Array) || all.length < SGX_ATT_KEY_ID_SIZE)
    throw quoteError('AESM: no attestation key ID', { socketPath });
  const attKeyId = all.slice(0, SGX_ATT_KEY_ID_SIZE);
  const size = await call(
    socketPath,
    'initQuoteExReq',
    { att_key_id: attKeyId, b_pub_key_id: false },
    timeoutMs,
  );
  const init = await call(
    socketPath,
    'initQuoteExReq',
    { att_key_id: attKeyId, b_pub_key_id: true, buf_size: size['pub_key_id_size'] },
    timeoutMs,
  );
  const targetInfo = init['target_info'];
  if (!(targetInfo instanceof Uint8Array)) throw quoteError('AESM: no target info', { socketPath });
  return { targetInfo, attKeyId };
}

/**
 * Has the quoting enclave behind the AESM socket turn `report` (targeted at it) into a quote.
 * @throws ContainerLaunchError `ERR_CONTAINER_QUOTE`.
 */
export async function aesmGetQuote(
  socketPath: string,
  target: AesmQuoteTarget,
  report: Uint8Array,
  timeoutMs = 10_000,
): Promise<Uint8Array> {
  const size = await call(socketPath, 'getQuoteSizeExReq', { att_key_id: target.attKeyId }, timeoutMs);
  const q = await call(
    socketPath,
    'getQuoteExReq',
    { report, att_key_id: target.attKeyId, buf_size: size['quote_size'] },
    timeoutMs,
  );
  const quote = q['quote'];
  if (!(quote instanceof Uint8Array) || quote.length === 0)
    throw quoteError('AESM: empty quote', { socketPath });
  return quote;
}
