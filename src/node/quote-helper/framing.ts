/**
 * AESM framing (spec k8s-sgx.md §5.1): a uint32 length in little-endian byte order, then that many
 * bytes of protobuf. One frame each way per connection; no magic, version or checksum.
 */
import { AesmProtocolError } from './errors.ts';

/** Size of the length prefix. */
export const FRAME_HEADER_SIZE = 4;
/**
 * Default cap on a request frame. The largest quote-ex request (GetQuoteEx with report, key ID and
 * QE report info) is under 2 KiB; 64 KiB leaves room for the legacy messages.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
/** Default cap on a response frame read from an upstream aesmd (quotes with large buffers). */
export const DEFAULT_MAX_RESPONSE_BYTES = 2 * 1024 * 1024;

/** Prefixes `body` with its little-endian uint32 length. */
export function encodeFrame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.length);
  out.writeUInt32LE(body.length, 0);
  out.set(body, FRAME_HEADER_SIZE);
  return out;
}

/**
 * Collects one frame from stream chunks. `push` returns the body once it is complete (bytes after
 * it are ignored: aesmd reads exactly the declared length). A declared length of zero or above the
 * cap fails at once with `ERR_AESM_FRAME_TOO_LARGE`, before any body byte is buffered.
 */
export class FrameAssembler {
  private readonly chunks: Buffer[] = [];
  private received = 0;
  private declared: number | undefined;

  constructor(private readonly maxBytes: number = DEFAULT_MAX_REQUEST_BYTES) {}

  /** Bytes received so far, prefix included. */
  get receivedBytes(): number {
    return this.received;
  }

  /** The length the peer declared, once its prefix arrived. */
  get declaredLength(): number | undefined {
    return this.declared;
  }

  push(chunk: Buffer): Buffer | undefined {
    this.chunks.push(chunk);
    this.received += chunk.length;
    if (this.declared === undefined) {
      if (this.received < FRAME_HEADER_SIZE) return undefined;
      const head = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
      const length = head.readUInt32LE(0);
      if (length === 0 || length > this.maxBytes) {
        throw new AesmProtocolError(
          'ERR_AESM_FRAME_TOO_LARGE',
          `AESM frame length ${length} at byte offset 0 is outside 1..${this.maxBytes}`,
          { field: 'length', offset: 0, length, max: this.maxBytes },
        );
      }
      this.declared = length;
    }
    const total = FRAME_HEADER_SIZE + this.declared;
    if (this.received < total) return undefined;
    const all = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks);
    return all.subarray(FRAME_HEADER_SIZE, total);
  }

  /** The error for a stream that ended before the frame was complete. */
  truncated(reason: string): AesmProtocolError {
    const expected = this.declared === undefined ? FRAME_HEADER_SIZE : FRAME_HEADER_SIZE + this.declared;
    return new AesmProtocolError(
      'ERR_AESM_FRAME_TRUNCATED',
      `AESM frame truncated (${reason}): ${this.received} of ${expected} bytes at byte offset ${this.received}`,
      { field: this.declared === undefined ? 'length' : 'body', offset: this.received, expected },
    );
  }
}
