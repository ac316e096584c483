/**
 * The AESM protobuf schema (proto/aesm/aesm.proto, `package aesm.message`), loaded once with
 * protobufjs. Field names keep the schema's spelling (`b_pub_key_id`, `errorCode`).
 */
import { readFileSync } from 'node:fs';
import protobuf from 'protobufjs';

/** Location of the schema file in the repository. */
export const AESM_PROTO_URL = new URL('../../../proto/aesm/aesm.proto', import.meta.url);

/** The message types the quote helper uses. */
export interface AesmSchema {
  readonly root: protobuf.Root;
  readonly Request: protobuf.Type;
  readonly Response: protobuf.Type;
  readonly LegacyInitQuoteExRequest: protobuf.Type;
  /** A nested request type by its name inside `Request` (e.g. `InitQuoteExRequest`). */
  requestType(name: string): protobuf.Type;
}

let cached: AesmSchema | undefined;

/** Parses the schema on first use and returns the cached types afterwards. */
export function aesmSchema(): AesmSchema {
  if (cached !== undefined) return cached;
  const text = readFileSync(AESM_PROTO_URL, 'utf8');
  const root = protobuf.parse(text, { keepCase: true }).root;
  root.resolveAll();
  const Request = root.lookupType('aesm.message.Request');
  const schema: AesmSchema = {
    root,
    Request,
    Response: root.lookupType('aesm.message.Response'),
    LegacyInitQuoteExRequest: root.lookupType('aesm.message.LegacyInitQuoteExRequest'),
    requestType: (name) => Request.lookupType(name),
  };
  cached = schema;
  return schema;
}

/**
 * Encodes a `Response` already framed (u32 little-endian length, then the message) in one buffer:
 * protobufjs writes the 4-byte `fixed32` placeholder little-endian, which is patched afterwards.
 */
export function encodeFramedResponse(response: Record<string, unknown>): Buffer {
  const writer = protobuf.Writer.create();
  writer.fixed32(0);
  const out = aesmSchema().Response.encode(response, writer).finish();
  const buf = Buffer.from(out.buffer, out.byteOffset, out.length);
  buf.writeUInt32LE(out.length - 4, 0);
  return buf;
}

/** True when protobufjs rejected a message for a missing `required` field. */
export function isMissingRequiredField(err: unknown): boolean {
  return err instanceof protobuf.util.ProtocolError;
}

/** A protobuf `uint64` as protobufjs returns it (number or Long) → a safe JS number, or undefined. */
export function uint64ToNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'low' in value && 'high' in value) {
    const { low, high } = value as { low: number; high: number };
    const n = (high >>> 0) * 0x1_0000_0000 + (low >>> 0);
    return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
  }
  return undefined;
}
