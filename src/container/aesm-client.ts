/**
 * Quoting through an AESM socket (Intel aesmd, or the ccnodes quote helper on a node), as the SGX
 * DCAP quote library does when `SGX_AESM_ADDR` is set: one framed protobuf request per connection
 * (u32 little-endian length, then `aesm.message.Request`), the quote-ex messages. The schema is
 * the repository's `proto/aesm/aesm.proto` (encoded by hand in aesm-wire.ts); the wire contract is
 * in src/contract/aesm.ts.
 */
import { connect } from 'node:net';
import { aesmStatusName, SGX_ATT_KEY_ID_SIZE } from '../contract/index.ts';
import {
  AesmWireError,
  decodeAesmResponse,
  encodeAesmRequest,
  type AesmField,
  type AesmRequestName,
  type AesmResponse,
} from './aesm-wire.ts';
import { ContainerLaunchError } from './errors.ts';

/** Where the quote helper's AESM socket is mounted in a pod (and where aesmd listens on a host). */
export const DEFAULT_AESM_SOCKET = '/var/run/aesmd/aesm.socket';

const MAX_RESPONSE = 1024 * 1024;

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
    /** The answer's length once its 4-byte prefix has arrived. */
    let length: number | undefined;
    // A promise settles once: the 'close' event that follows destroy() changes nothing.
    let settled = false;
    const finish = (err: Error | undefined, value?: Buffer): void => {
      settled = true;
      clearTimeout(deadline);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(value ?? Buffer.alloc(0));
    };
    // A deadline for the whole exchange, which bytes arriving do not push back (a peer trickling
    // its answer is cut off as one that sends nothing).
    const deadline = setTimeout(() => {
      finish(quoteError(`AESM socket ${socketPath} did not answer within ${timeoutMs} ms`, { socketPath }));
    }, timeoutMs);
    sock.on('connect', () => {
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      frame.set(body, 4);
      sock.write(frame);
    });
    sock.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
      // The pieces are joined only when the prefix, then the whole answer, can be complete: linear
      // in the answer's size however it is split.
      if (length === undefined) {
        if (received < 4) return;
        const head = Buffer.concat(chunks);
        chunks.splice(0, chunks.length, head);
        length = head.readUInt32LE(0);
        if (length === 0 || length > MAX_RESPONSE) {
          finish(quoteError(`AESM socket ${socketPath}: response frame of ${length} bytes`, { socketPath }));
          return;
        }
      }
      if (received >= 4 + length) finish(undefined, Buffer.concat(chunks).subarray(4, 4 + length));
    });
    const closed = (): void => {
      if (settled) return; // our own destroy() after the answer: no error to build
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

/** Response field numbers shared by every answer: the AESM status (sgx `aesm_error_t`). */
const ERROR_CODE = 1;

async function call(
  socketPath: string,
  field: AesmRequestName,
  message: readonly AesmField[],
  timeoutMs: number,
): Promise<AesmResponse> {
  const answer = await exchange(socketPath, encodeAesmRequest(field, message), timeoutMs);
  let res: AesmResponse | undefined;
  let status: number | undefined;
  try {
    res = decodeAesmResponse(field, answer);
    status = res?.uint(ERROR_CODE);
  } catch (cause) {
    const offset = cause instanceof AesmWireError ? cause.offset : undefined;
    throw quoteError(
      `AESM ${field}: undecodable answer: ${(cause as Error).message}`,
      { socketPath, ...(offset === undefined ? {} : { offset }) },
      cause,
    );
  }
  if (res === undefined) throw quoteError(`AESM ${field}: the answer is for another request`, { socketPath });
  // errorCode is required; a missing one is not success.
  const code = status ?? -1;
  if (code !== 0)
    throw quoteError(`AESM ${field}: ${aesmStatusName(code)}`, { socketPath, aesmStatus: code });
  return res;
}

/** Reads a field of an answer; a wrong wire type is an undecodable answer. */
function read<T>(socketPath: string, field: string, get: () => T): T {
  try {
    return get();
  } catch (cause) {
    const offset = cause instanceof AesmWireError ? cause.offset : undefined;
    throw quoteError(
      `AESM ${field}: undecodable answer: ${(cause as Error).message}`,
      { socketPath, ...(offset === undefined ? {} : { offset }) },
      cause,
    );
  }
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
  const num = await call(socketPath, 'getSupportedAttKeyIDNumReq', [], timeoutMs);
  // GetSupportedAttKeyIDNumResponse.att_key_id_num = 2
  const count = read(socketPath, 'getSupportedAttKeyIDNumReq', () => num.uint(2)) ?? 0;
  if (count < 1 || count > 64) throw quoteError(`AESM: ${count} attestation keys offered`, { socketPath });
  // GetSupportedAttKeyIDsRequest.buf_size = 1; the answer's att_key_ids = 2
  const ids = await call(
    socketPath,
    'getSupportedAttKeyIDsReq',
    [[1, count * SGX_ATT_KEY_ID_SIZE]],
    timeoutMs,
  );
  const all = read(socketPath, 'getSupportedAttKeyIDsReq', () => ids.bytes(2));
  if (all === undefined || all.length < SGX_ATT_KEY_ID_SIZE)
    throw quoteError('AESM: no attestation key ID', { socketPath });
  const attKeyId = all.slice(0, SGX_ATT_KEY_ID_SIZE);
  // InitQuoteExRequest: att_key_id = 1, b_pub_key_id = 3, buf_size = 4; the answer's target_info = 2,
  // pub_key_id_size = 3.
  const size = await call(
    socketPath,
    'initQuoteExReq',
    [
      [1, attKeyId],
      [3, false],
    ],
    timeoutMs,
  );
  const pubKeyIdSize = read(socketPath, 'initQuoteExReq', () => size.uint(3));
  const init = await call(
    socketPath,
    'initQuoteExReq',
    [[1, attKeyId], [3, true], ...(pubKeyIdSize === undefined ? [] : [[4, pubKeyIdSize] as const])],
    timeoutMs,
  );
  const targetInfo = read(socketPath, 'initQuoteExReq', () => init.bytes(2));
  if (targetInfo === undefined) throw quoteError('AESM: no target info', { socketPath });
  return { targetInfo, attKeyId };
}

/**
 * The size of a quote made with `target`'s attestation key (GetQuoteSizeEx), or `undefined` when the
 * answer names none. {@link aesmGetQuote} asks for it when not given it; asking first, while the
 * report is still being made, saves a round trip after it.
 * @throws ContainerLaunchError `ERR_CONTAINER_QUOTE`.
 */
export async function aesmQuoteSize(
  socketPath: string,
  target: AesmQuoteTarget,
  timeoutMs = 10_000,
): Promise<number | undefined> {
  // GetQuoteSizeExRequest.att_key_id = 1; the answer's quote_size = 2.
  const size = await call(socketPath, 'getQuoteSizeExReq', [[1, target.attKeyId]], timeoutMs);
  return read(socketPath, 'getQuoteSizeExReq', () => size.uint(2));
}

/**
 * Has the quoting enclave behind the AESM socket turn `report` (targeted at it) into a quote. The
 * quote's size is asked for first ({@link aesmQuoteSize}) unless `quoteSize` gives the answer.
 * @throws ContainerLaunchError `ERR_CONTAINER_QUOTE`.
 */
export async function aesmGetQuote(
  socketPath: string,
  target: AesmQuoteTarget,
  report: Uint8Array,
  timeoutMs = 10_000,
  quoteSize?: { readonly size: number | undefined },
): Promise<Uint8Array> {
  const size = quoteSize === undefined ? await aesmQuoteSize(socketPath, target, timeoutMs) : quoteSize.size;
  // GetQuoteExRequest: report = 1, att_key_id = 2, buf_size = 4 (required); the answer's quote = 2.
  const q = await call(
    socketPath,
    'getQuoteExReq',
    [
      [1, report],
      [2, target.attKeyId],
      [4, size ?? 0],
    ],
    timeoutMs,
  );
  const quote = read(socketPath, 'getQuoteExReq', () => q.bytes(2));
  if (quote === undefined || quote.length === 0) throw quoteError('AESM: empty quote', { socketPath });
  return quote;
}
