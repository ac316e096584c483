/**
 * A direct protobuf encoder for `ListAndWatchResponse` (api.proto field numbers: devices = 1;
 * Device.ID = 1, health = 2, topology = 3; TopologyInfo.nodes = 1; NUMANode.ID = 1 int64).
 *
 * Every ListAndWatch message carries the complete list, up to ~205,000 EPC devices (4 MiB). The
 * reflection-based encoder behind @grpc/proto-loader takes seconds for that, blocking the event loop;
 * this one computes sizes first and writes once (about a tenth of the time). A test checks its output
 * byte for byte against protobufjs.
 */
import type { Device, ListAndWatchResponse, TopologyInfo } from './api-types.ts';

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size += 1;
  }
  return size;
}

/** int64 as a varint: negative values take 10 bytes (two's complement). */
function int64Size(n: number): number {
  return n < 0 ? 10 : varintSize(n);
}

function stringBytes(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

function topologySize(t: TopologyInfo): number {
  let size = 0;
  for (const node of t.nodes) {
    const body = node.ID === 0 ? 0 : 1 + int64Size(node.ID);
    size += 1 + varintSize(body) + body;
  }
  return size;
}

function deviceBodySize(d: Device, idLen: number, healthLen: number): number {
  let size = 0;
  if (idLen > 0) size += 1 + varintSize(idLen) + idLen;
  if (healthLen > 0) size += 1 + varintSize(healthLen) + healthLen;
  if (d.topology !== undefined && d.topology !== null) {
    const t = topologySize(d.topology);
    size += 1 + varintSize(t) + t;
  }
  return size;
}

class Out {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  byte(b: number): void {
    this.buf[this.pos++] = b;
  }
  varint(n: number): void {
    while (n >= 0x80) {
      this.byte((n % 0x80) | 0x80);
      n = Math.floor(n / 0x80);
    }
    this.byte(n);
  }
  int64(n: number): void {
    if (n >= 0) {
      this.varint(n);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }
  string(s: string, len: number): void {
    if (len === s.length) {
      for (let i = 0; i < len; i++) this.buf[this.pos + i] = s.charCodeAt(i);
      this.pos += len;
    } else {
      this.pos += this.buf.write(s, this.pos, 'utf8');
    }
  }
}

/** Encodes a ListAndWatchResponse exactly as protobuf's canonical proto3 encoding does. */
export function encodeListAndWatchResponse(message: ListAndWatchResponse): Buffer {
  const devices = message.devices;
  const idLens = new Array<number>(devices.length);
  const healthLens = new Array<number>(devices.length);
  const bodies = new Array<number>(devices.length);
  let total = 0;
  for (let i = 0; i < devices.length; i++) {
    const d = devices[i] as Device;
    const idLen = stringBytes(d.ID);
    const healthLen = stringBytes(d.health);
    const body = deviceBodySize(d, idLen, healthLen);
    idLens[i] = idLen;
    healthLens[i] = healthLen;
    bodies[i] = body;
    total += 1 + varintSize(body) + body;
  }
  const out = new Out(total);
  for (let i = 0; i < devices.length; i++) {
    const d = devices[i] as Device;
    const idLen = idLens[i] as number;
    const healthLen = healthLens[i] as number;
    out.byte(0x0a);
    out.varint(bodies[i] as number);
    if (idLen > 0) {
      out.byte(0x0a);
      out.varint(idLen);
      out.string(d.ID, idLen);
    }
    if (healthLen > 0) {
      out.byte(0x12);
      out.varint(healthLen);
      out.string(d.health, healthLen);
    }
    if (d.topology !== undefined && d.topology !== null) {
      out.byte(0x1a);
      out.varint(topologySize(d.topology));
      for (const node of d.topology.nodes) {
        const body = node.ID === 0 ? 0 : 1 + int64Size(node.ID);
        out.byte(0x0a);
        out.varint(body);
        if (node.ID !== 0) {
          out.byte(0x08);
          out.int64(node.ID);
        }
      }
    }
  }
  return out.buf;
}
