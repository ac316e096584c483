/**
 * Client side of one AESM exchange over a unix socket: connect, write one framed request, read one
 * framed response, close. Used by the aesmd provider to talk to the host's Intel aesmd.
 */
import { connect } from 'node:net';
import { QuoteHelperUpstreamError } from './errors.ts';
import { DEFAULT_MAX_RESPONSE_BYTES, FrameAssembler, encodeFrame } from './framing.ts';

export interface AesmTransportOptions {
  /** Whole exchange deadline (default 30 s). */
  readonly timeoutMs?: number;
  /** Largest accepted response body (default 2 MiB). */
  readonly maxResponseBytes?: number;
}

/**
 * Sends `body` framed to the AESM socket at `socketPath` and resolves with the response body, or
 * `undefined` when the server closed the connection without answering (what aesmd does for
 * requests it does not recognize). Rejects with `QuoteHelperUpstreamError` when the socket cannot
 * be reached or the exchange times out, and `AesmProtocolError` for a malformed or truncated frame.
 */
export function aesmExchange(
  socketPath: string,
  body: Uint8Array,
  options: AesmTransportOptions = {},
): Promise<Buffer | undefined> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const frame = new FrameAssembler(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
  return new Promise((resolve, reject) => {
    let settled = false;
    const sock = connect({ path: socketPath });
    const finish = (err: Error | undefined, value?: Buffer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      sock.destroy();
      if (err !== undefined) reject(err);
      else resolve(value);
    };
    // A deadline for the whole exchange, which bytes arriving do not push back (an aesmd that
    // trickles its answer is given up on as one that says nothing).
    const deadline = setTimeout(() => {
      finish(
        new QuoteHelperUpstreamError(`aesmd at ${socketPath} did not answer within ${timeoutMs} ms`, {
          details: { socketPath },
        }),
      );
    }, timeoutMs);
    sock.on('connect', () => {
      sock.write(encodeFrame(body));
    });
    sock.on('data', (chunk: Buffer) => {
      try {
        const answer = frame.push(chunk);
        if (answer !== undefined) finish(undefined, Buffer.from(answer));
      } catch (err) {
        finish(err as Error);
      }
    });
    sock.on('end', () => {
      if (frame.receivedBytes === 0) finish(undefined, undefined);
      else finish(frame.truncated('upstream closed mid-response'));
    });
    sock.on('close', () => {
      if (frame.receivedBytes === 0) finish(undefined, undefined);
      else finish(frame.truncated('upstream closed mid-response'));
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        // aesmd closed on us; same meaning as an unanswered close
        if (frame.receivedBytes === 0) {
          finish(undefined, undefined);
          return;
        }
        finish(frame.truncated(err.code));
        return;
      }
      finish(
        new QuoteHelperUpstreamError(`cannot reach aesmd at ${socketPath}: ${err.message}`, {
          cause: err,
          details: { socketPath, errno: err.code },
        }),
      );
    });
  });
}
