/**
 * The hand-written AESM protobuf codec (src/container/aesm-wire.ts) checked against the schema
 * (proto/aesm/aesm.proto read by protobufjs, here in the test only), and the launcher's AESM client
 * refusing malformed answers with ERR_CONTAINER_QUOTE naming the byte offset.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import protobuf from 'protobufjs';
import { AesmWireError, decodeAesmResponse, encodeAesmRequest } from '../../src/container/aesm-wire.ts';
import { aesmQuoteTarget, ContainerLaunchError } from '../../src/container/index.ts';

const root = protobuf.parse(readFileSync(new URL('../../proto/aesm/aesm.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const Request = root.lookupType('aesm.message.Request');
const Response = root.lookupType('aesm.message.Response');
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
/** Byte fields as hex, so that a Buffer and a Uint8Array of the same bytes compare equal. */
const plain = (v: unknown): unknown =>
  v instanceof Uint8Array
    ? Buffer.from(v).toString('hex')
    : typeof v === 'object' && v !== null
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
      : v;

test('requests decode with the schema to the fields given (bytes, bool false and true, 64-bit sizes)', () => {
  const key = bytes(256, 7);
  const report = bytes(432, 9);
  const cases: [Parameters<typeof encodeAesmRequest>, Record<string, unknown>][] = [
    [['getSupportedAttKeyIDNumReq', []], { getSupportedAttKeyIDNumReq: {} }],
    [['getSupportedAttKeyIDsReq', [[1, 512]]], { getSupportedAttKeyIDsReq: { buf_size: 512 } }],
    [
      [
        'initQuoteExReq',
        [
          [1, key],
          [3, false],
        ],
      ],
      { initQuoteExReq: { att_key_id: key, b_pub_key_id: false } },
    ],
    [
      [
        'initQuoteExReq',
        [
          [1, key],
          [3, true],
          [4, 2 ** 40 + 3],
        ],
      ],
      { initQuoteExReq: { att_key_id: key, b_pub_key_id: true, buf_size: 2 ** 40 + 3 } },
    ],
    [['getQuoteSizeExReq', [[1, key]]], { getQuoteSizeExReq: { att_key_id: key } }],
    [
      [
        'getQuoteExReq',
        [
          [1, report],
          [2, key],
          [4, 4600],
        ],
      ],
      { getQuoteExReq: { report, att_key_id: key, buf_size: 4600 } },
    ],
  ];
  for (const [args, want] of cases) {
    const got = Request.toObject(Request.decode(encodeAesmRequest(...args)), {
      bytes: Uint8Array,
      longs: Number,
    });
    assert.deepEqual(plain(got), plain(want), args[0]);
  }
});

test('answers encoded with the schema decode to their fields; unknown fields are skipped; absent is undefined', () => {
  const ti = bytes(512, 3);
  const enc = (o: Record<string, unknown>): Uint8Array => Response.encode(Response.fromObject(o)).finish();
  const init = decodeAesmResponse(
    'initQuoteExReq',
    enc({
      initQuoteExRes: { errorCode: 0, target_info: ti, pub_key_id_size: 2 ** 33, pub_key_id: bytes(5, 1) },
    }),
  );
  assert.ok(init !== undefined);
  assert.equal(init.uint(1), 0);
  assert.deepEqual(init.bytes(2), ti);
  assert.equal(init.uint(3), 2 ** 33);
  assert.equal(init.uint(9), undefined);
  const num = decodeAesmResponse(
    'getSupportedAttKeyIDNumReq',
    enc({ getSupportedAttKeyIDNumRes: { errorCode: 5 } }),
  );
  assert.equal(num?.uint(1), 5);
  assert.equal(num.uint(2), undefined);
  // Another request's answer, and aesmd's unsupportedRequestResponse, carry no answer to this one.
  assert.equal(
    decodeAesmResponse('getQuoteExReq', enc({ getQuoteSizeExRes: { errorCode: 0, quote_size: 1 } })),
    undefined,
  );
  assert.equal(
    decodeAesmResponse('getQuoteExReq', enc({ unsupportedRequestResponse: { errorCode: 1 } })),
    undefined,
  );
  // Fixed-size and unknown fields around the answer are skipped.
  const extra = Buffer.concat([
    // Field 30, fixed 64-bit; field 31, fixed 32-bit (two-byte tags).
    Buffer.from([0xf1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xfd, 0x01, 1, 2, 3, 4]),
    Buffer.from(enc({ getQuoteSizeExRes: { errorCode: 0, quote_size: 4600 } })),
  ]);
  assert.equal(decodeAesmResponse('getQuoteSizeExReq', extra)?.uint(2), 4600);
});

test('malformed answers are AesmWireError with the byte offset of the fault', () => {
  const wire = (name: Parameters<typeof decodeAesmResponse>[0], b: number[]): AesmWireError => {
    try {
      const r = decodeAesmResponse(name, Uint8Array.from(b));
      r?.uint(1);
      r?.uint(2);
      r?.bytes(2);
    } catch (e) {
      assert.ok(e instanceof AesmWireError, String(e));
      return e;
    }
    assert.fail(`accepted ${JSON.stringify(b)}`);
  };
  // A varint cut at the end (the tag, then a length).
  assert.equal(wire('getQuoteExReq', [0x8a]).offset, 0);
  assert.equal(wire('getQuoteExReq', [0x8a, 0x01]).offset, 2);
  // Eleven continuation bytes: longer than 10.
  assert.equal(wire('getQuoteExReq', [0x08, ...new Array<number>(11).fill(0xff)]).offset, 1);
  // A ten-byte varint over 64 bits.
  assert.match(
    wire('getQuoteExReq', [0x08, ...new Array<number>(9).fill(0xff), 0x7f]).message,
    /over 64 bits/,
  );
  // Field 17 (getQuoteExRes) with a length past the end: offset of the length.
  assert.equal(wire('getQuoteExReq', [0x8a, 0x01, 0x05, 0x08, 0x00]).offset, 2);
  // Inside it: quote (field 2) claims 100 bytes; the offset is in the whole answer.
  const inner = wire('getQuoteExReq', [0x8a, 0x01, 0x04, 0x08, 0x00, 0x12, 0x64]);
  assert.equal(inner.offset, 6);
  assert.match(inner.message, /field 2: length 100 runs past the end \(0 left\) at byte 6/);
  // Group wire types (3, 4) and reserved ones (6, 7), field number 0.
  for (const w of [3, 4, 6, 7])
    assert.match(wire('getQuoteExReq', [(1 << 3) | w]).message, new RegExp(`wire type ${w}`));
  assert.match(wire('getQuoteExReq', [0x00, 0x00]).message, /field number 0/);
  // The answer field not a message; errorCode not a varint; quote not bytes.
  assert.match(
    wire('getQuoteExReq', [0x88, 0x01, 0x00]).message,
    /field 17: wire type 0, expected a message/,
  );
  assert.match(
    wire('getQuoteExReq', [0x8a, 0x01, 0x02, 0x0a, 0x00]).message,
    /field 1: wire type 2, expected a varint/,
  );
  const q = wire('getQuoteExReq', [0x8a, 0x01, 0x04, 0x08, 0x00, 0x10, 0x01]);
  assert.match(q.message, /field 2: wire type 0, expected length-delimited bytes at byte 5/);
  // A fixed-size field cut short.
  assert.match(wire('getQuoteExReq', [0x09, 1, 2, 3]).message, /truncated fixed-size value at byte 1/);
});

test('the AESM client refuses a malformed answer with ERR_CONTAINER_QUOTE carrying the offset and the cause', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ccnodes-aesm-wire-'));
  const path = join(dir, 'aesm.socket');
  // getSupportedAttKeyIDNumRes = { errorCode: 0, att_key_id_num: <bytes, not a varint> }
  const body = Buffer.from([0xaa, 0x01, 0x05, 0x08, 0x00, 0x12, 0x01, 0x01]);
  const server = createServer((s) => {
    s.once('data', () => {
      const f = Buffer.alloc(4);
      f.writeUInt32LE(body.length, 0);
      s.end(Buffer.concat([f, body]));
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await assert.rejects(aesmQuoteTarget(path, 5000), (e: unknown) => {
      assert.ok(e instanceof ContainerLaunchError);
      assert.equal(e.code, 'ERR_CONTAINER_QUOTE');
      assert.equal(e.details['offset'], 5);
      assert.match(
        e.message,
        /getSupportedAttKeyIDNumReq: undecodable answer: field 2: wire type 2, expected a varint at byte 5/,
      );
      assert.ok(e.cause instanceof AesmWireError);
      return true;
    });
  } finally {
    await new Promise<void>((r) => {
      server.close(() => {
        r();
      });
    });
    await rm(dir, { recursive: true, force: true });
  }
});
