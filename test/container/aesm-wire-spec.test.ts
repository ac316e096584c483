/**
 * Specification of the hand-written AESM protobuf codec (src/container/aesm-wire.ts), byte by byte:
 * the exact encodings of requests (tags, varints at their size boundaries, bool false/true, empty
 * and long bytes), refusal of field numbers and values protobuf cannot carry, and the decoder's
 * reading of answers — multi-byte and ten-byte varints, fields that end exactly at the end of the
 * answer, unknown fields skipped, the last occurrence of a field winning — and its refusals
 * (truncated, over-long and oversize varints, lengths past the end, group and reserved wire types,
 * field numbers 0 and 2^29, a field of the wrong wire type), each an AesmWireError naming the byte
 * offset in the whole answer, also inside the inner message and when the answer is a view into a
 * larger buffer.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AESM_FIELDS,
  AesmWireError,
  decodeAesmResponse,
  encodeAesmRequest,
  type AesmField,
  type AesmRequestName,
} from '../../src/container/aesm-wire.ts';
import { seededRandom, withSeed } from '../support/seeded-random.ts';

const rng = seededRandom(import.meta.url);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const u8 = (...parts: (number | readonly number[] | Uint8Array)[]): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : [...p])));
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

/** `Response { getQuoteExRes (field 17) = inner }` with a one-byte length: the inner message starts at byte 3. */
const answer17 = (inner: readonly number[]): Uint8Array => u8(0x8a, 0x01, inner.length, inner);

/** The AesmWireError that decoding `bytes` (and reading fields 1 and 2 as `read` says) throws. */
function refusal(
  bytes: Uint8Array,
  read: (r: NonNullable<ReturnType<typeof decodeAesmResponse>>) => unknown = () => undefined,
  name: AesmRequestName = 'getQuoteExReq',
): AesmWireError {
  let r: ReturnType<typeof decodeAesmResponse>;
  try {
    r = decodeAesmResponse(name, bytes);
    if (r !== undefined) read(r);
  } catch (e) {
    assert.ok(e instanceof AesmWireError, `not an AesmWireError: ${String(e)}`);
    assert.match(e.message, new RegExp(` at byte ${e.offset}$`));
    return e;
  }
  assert.fail(`accepted ${hex(bytes)}`);
}

test('requests are encoded to the exact protobuf bytes: outer tag, length, then the inner fields in order', () => {
  // Field 21, wire type 2: tag 21*8+2 = 170 = 0xaa 0x01; an empty inner message.
  assert.equal(hex(encodeAesmRequest('getSupportedAttKeyIDNumReq', [])), 'aa0100');
  // buf_size 512: tag 0x08, varint 512 = 0x80 0x04.
  assert.equal(hex(encodeAesmRequest('getSupportedAttKeyIDsReq', [[1, 512]])), 'b20103088004');
  // bytes, bool false, bool true, uint64 at 2^53 − 1 (eight varint bytes).
  assert.equal(
    hex(
      encodeAesmRequest('initQuoteExReq', [
        [1, u8(1, 2, 3)],
        [3, false],
        [3, true],
        [4, 2 ** 53 - 1],
      ]),
    ),
    '7a12' + '0a03010203' + '1800' + '1801' + '20ffffffffffffff0f',
  );
  // Empty bytes; 127 and 128 (the one- to two-byte varint boundary); zero.
  assert.equal(
    hex(
      encodeAesmRequest('getQuoteSizeExReq', [
        [1, new Uint8Array(0)],
        [2, 127],
        [3, 128],
        [4, 0],
      ]),
    ),
    '820109' + '0a00' + '107f' + '188001' + '2000',
  );
  // A 128-byte value: its length takes two bytes, and so does the outer length (4 + 128 + 3).
  const report = new Uint8Array(128).fill(0x5a);
  const got = encodeAesmRequest('getQuoteExReq', [
    [1, report],
    [4, 4600],
  ]);
  assert.equal(hex(got.subarray(0, 7)), '8a0186010a8001');
  assert.equal(hex(got.subarray(7, 135)), hex(report));
  assert.equal(hex(got.subarray(135)), '20f823');
  // The largest field number, 2^29 − 1: a five-byte tag (0xfffffff8).
  assert.equal(hex(encodeAesmRequest('getQuoteExReq', [[0x1fff_ffff, 0]])), '8a0106' + 'f8ffffff0f00');
  assert.equal(hex(encodeAesmRequest('getQuoteExReq', [[0x1fff_ffff, u8(9)]])), '8a0107' + 'faffffff0f0109');
  // Field number 1 (the smallest).
  assert.equal(hex(encodeAesmRequest('getQuoteExReq', [[1, 1]])), '8a01020801');
});

test('a field number or value protobuf cannot carry is refused with a RangeError naming it', () => {
  for (const num of [0, -1, 1.5, 2 ** 29, Number.NaN]) {
    assert.throws(
      () => encodeAesmRequest('getQuoteExReq', [[num, 1]]),
      (e: unknown) => e instanceof RangeError && e.message.includes(`field number ${num}`),
      `field number ${num}`,
    );
    assert.throws(
      () => encodeAesmRequest('getQuoteExReq', [[num, u8(1)]]),
      (e: unknown) => e instanceof RangeError && e.message.includes(`field number ${num}`),
      `field number ${num} with bytes`,
    );
  }
  for (const value of [-1, 1.5, 2 ** 53, Number.NaN, Infinity]) {
    assert.throws(
      () => encodeAesmRequest('getQuoteExReq', [[4, value]]),
      (e: unknown) => e instanceof RangeError && e.message.includes('field 4: not an unsigned integer'),
      `value ${value}`,
    );
  }
});

test(
  'seeded round trip: random fields encoded as a request decode back as the answer with the same number',
  withSeed(rng, () => {
    for (let round = 0; round < 200; round++) {
      const name = rng.pick(Object.keys(AESM_FIELDS) as AesmRequestName[]);
      const fields: AesmField[] = [];
      const used = new Set<number>();
      for (let i = rng.int(6); i > 0; i--) {
        const num = rng.pick([1, 2, 15, 16, 2047, 2048, 0x1fff_ffff, 1 + rng.int(0x1fff_fffe)]);
        if (used.has(num)) continue;
        used.add(num);
        const kind = rng.int(3);
        fields.push([
          num,
          kind === 0
            ? rng.bytes(rng.pick([0, 1, 127, 128, 300]))
            : kind === 1
              ? rng.pick([0, 1, 127, 128, 2 ** 32, 2 ** 53 - 1, rng.int(2 ** 31)])
              : rng.int(2) === 1,
        ]);
      }
      const r = decodeAesmResponse(name, encodeAesmRequest(name, fields));
      assert.ok(r !== undefined, name);
      for (const [num, value] of fields) {
        if (value instanceof Uint8Array) assert.deepEqual(r.bytes(num), value);
        else assert.equal(r.uint(num), typeof value === 'boolean' ? Number(value) : value);
      }
    }
  }),
);

test('answers: multi-byte and ten-byte varints, fields ending at the very end, fixed-size and unknown fields skipped', () => {
  // errorCode 300 (two bytes), quote of 3 bytes ending the answer.
  const r = decodeAesmResponse('getQuoteExReq', answer17([0x08, 0xac, 0x02, 0x12, 0x03, 7, 8, 9]));
  assert.ok(r !== undefined);
  assert.equal(r.uint(1), 300);
  assert.deepEqual(r.bytes(2), u8(7, 8, 9));
  assert.equal(r.uint(3), undefined);
  assert.equal(r.bytes(4), undefined);
  // 2^53 − 1 is the largest uint; a non-minimal ten-byte zero is zero.
  const big = decodeAesmResponse(
    'getQuoteExReq',
    answer17([0x08, ...fill(7, 0xff), 0x0f, 0x10, ...fill(9, 0x80), 0x00]),
  );
  assert.equal(big?.uint(1), 2 ** 53 - 1);
  assert.equal(big.uint(2), 0);
  // The largest 64-bit varint (ten bytes) is read, and too large for a uint.
  const max64 = decodeAesmResponse('getQuoteExReq', answer17([0x08, 0x00, 0x18, ...fill(9, 0xff), 0x01]));
  assert.equal(max64?.uint(1), 0);
  const tooLarge = refusal(answer17([0x08, 0x00, 0x18, ...fill(9, 0xff), 0x01]), (x) => x.uint(3));
  assert.equal(tooLarge.offset, 5);
  assert.match(tooLarge.message, /field 3: 18446744073709551615 is too large/);
  // 2^53 is one too many.
  assert.equal(refusal(answer17([0x08, ...fill(7, 0x80), 0x10]), (x) => x.uint(1)).offset, 3);
  // A fixed 64-bit field and a fixed 32-bit field, each ending the inner message, are skipped.
  const fixed = decodeAesmResponse('getQuoteExReq', answer17([0x08, 0x05, 0x19, ...fill(8, 1)]));
  assert.equal(fixed?.uint(1), 5);
  assert.equal(decodeAesmResponse('getQuoteExReq', answer17([0x1d, 1, 2, 3, 4, 0x08, 0x06]))?.uint(1), 6);
  assert.equal(decodeAesmResponse('getQuoteExReq', answer17([0x08, 0x06, 0x1d, 1, 2, 3, 4]))?.uint(1), 6);
  // The largest field number is a field; an unknown one (here 2^29 − 1) is skipped.
  const far = decodeAesmResponse('getQuoteExReq', answer17([0xf8, 0xff, 0xff, 0xff, 0x0f, 0x2a, 0x08, 0x01]));
  assert.equal(far?.uint(0x1fff_ffff), 42);
  assert.equal(far.uint(1), 1);
  // The answer field may come after unknown outer fields and ends the answer; the outer
  // answer field read last when repeated (the last occurrence wins, as for every field).
  const outer = u8(0x90, 0x01, 0x01, 0x8a, 0x01, 0x02, 0x08, 0x01, 0x8a, 0x01, 0x02, 0x08, 0x02);
  assert.equal(decodeAesmResponse('getQuoteExReq', outer)?.uint(1), 2);
  assert.equal(decodeAesmResponse('getQuoteExReq', answer17([0x08, 0x01, 0x08, 0x03]))?.uint(1), 3);
  // No answer field: an empty answer, another request's answer, aesmd's unsupportedRequestResponse.
  assert.equal(decodeAesmResponse('getQuoteExReq', new Uint8Array(0)), undefined);
  assert.equal(decodeAesmResponse('getQuoteExReq', u8(0x82, 0x01, 0x02, 0x08, 0x00)), undefined);
  assert.equal(decodeAesmResponse('getQuoteExReq', u8(0xa2, 0x01, 0x02, 0x08, 0x01)), undefined);
  // bytes() returns a copy: changing it changes nothing in the answer.
  const copy = r.bytes(2);
  assert.ok(copy !== undefined);
  copy[0] = 0xff;
  assert.deepEqual(r.bytes(2), u8(7, 8, 9));
});

test('malformed inner messages are refused at the byte offset in the whole answer', () => {
  // Truncated in the middle of a multi-byte varint (value of field 1, at byte 4).
  const cut = refusal(answer17([0x08, 0x80]));
  assert.equal(cut.offset, 4);
  assert.match(cut.message, /truncated varint/);
  assert.equal(refusal(answer17([0x08, 0xff, 0xff])).offset, 4);
  // Over 64 bits in ten bytes.
  const over = refusal(answer17([0x08, ...fill(9, 0x80), 0x02]));
  assert.equal(over.offset, 4);
  assert.match(over.message, /varint over 64 bits/);
  // Eleven bytes, even when the eleventh would end it with value 0.
  const long = refusal(answer17([0x08, ...fill(10, 0x80), 0x00]));
  assert.equal(long.offset, 4);
  assert.match(long.message, /varint longer than 10 bytes/);
  const longer = refusal(answer17([0x08, ...fill(11, 0xff)]));
  assert.equal(longer.offset, 4);
  assert.match(longer.message, /varint longer than 10 bytes/);
  // Field number 0, and 2^29 (one past the largest), after a first field: the tag's offset.
  const zero = refusal(answer17([0x08, 0x00, 0x00, 0x00]));
  assert.equal(zero.offset, 5);
  assert.match(zero.message, /field number 0 /);
  const past = refusal(answer17([0x08, 0x00, 0x80, 0x80, 0x80, 0x80, 0x10, 0x00]));
  assert.equal(past.offset, 5);
  assert.match(past.message, /field number 536870912 /);
  // A fixed-size value cut short, one byte short of the end: the offset of the value.
  const fixed64 = refusal(answer17([0x08, 0x00, 0x19, ...fill(7, 1)]));
  assert.equal(fixed64.offset, 6);
  assert.match(fixed64.message, /field 3: truncated fixed-size value/);
  assert.equal(refusal(answer17([0x08, 0x00, 0x1d, 1, 2, 3])).offset, 6);
  // Group and reserved wire types: the tag's offset.
  for (const w of [3, 4, 6, 7]) {
    const e = refusal(answer17([0x08, 0x00, (3 << 3) | w, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.equal(e.offset, 5, `wire type ${w}`);
    assert.match(e.message, new RegExp(`field 3: unsupported wire type ${w}`));
  }
  // A length one past the end: the length's offset and what is left.
  const len = refusal(answer17([0x08, 0x00, 0x12, 0x03, 1, 2]));
  assert.equal(len.offset, 6);
  assert.match(len.message, /field 2: length 3 runs past the end \(2 left\)/);
  // A field of the wrong wire type for how it is read: the offset of its tag.
  const notVarint = refusal(answer17([0x08, 0x00, 0x12, 0x00]), (x) => x.uint(2));
  assert.equal(notVarint.offset, 5);
  assert.match(notVarint.message, /field 2: wire type 2, expected a varint/);
  assert.match(
    refusal(answer17([0x08, 0x00, 0x11, ...fill(8, 0)]), (x) => x.uint(2)).message,
    /wire type 1, expected a varint/,
  );
  for (const [w, value] of [
    [0, [0x00]],
    [1, fill(8, 0)],
    [5, fill(4, 0)],
  ] as const) {
    const e = refusal(answer17([0x08, 0x00, (2 << 3) | w, ...value]), (x) => x.bytes(2));
    assert.equal(e.offset, 5, `wire type ${w}`);
    assert.match(e.message, new RegExp(`field 2: wire type ${w}, expected length-delimited bytes`));
  }
});

test('malformed outer answers are refused at their offset; the answer field must be a message', () => {
  assert.equal(refusal(u8(0x8a)).offset, 0);
  assert.equal(refusal(u8(0x8a, 0x01, 0x80)).offset, 2);
  for (const [w, value] of [
    [0, [0x00]],
    [1, fill(8, 0)],
    [5, fill(4, 0)],
  ] as const) {
    const e = refusal(u8(0x08, 0x00, 0x88 | w, 0x01, ...value));
    assert.equal(e.offset, 2, `wire type ${w}`);
    assert.match(e.message, new RegExp(`field 17: wire type ${w}, expected a message`));
  }
});

test('an answer that is a view into a larger buffer: offsets count from the start of the answer', () => {
  const frame = new Uint8Array(64).fill(0xee);
  const bytes = [0x90, 0x01, 0x00, 0x8a, 0x01, 0x06, 0x08, 0x00, 0x12, 0x02, 0x09, 0x09];
  frame.set(bytes, 7);
  const view = frame.subarray(7, 7 + bytes.length);
  const r = decodeAesmResponse('getQuoteExReq', view);
  assert.deepEqual(r?.bytes(2), u8(9, 9));
  const cut = new Uint8Array(64).fill(0xee);
  const bad = [0x90, 0x01, 0x00, 0x8a, 0x01, 0x04, 0x08, 0x00, 0x12, 0x05];
  cut.set(bad, 9);
  const e = refusal(cut.subarray(9, 9 + bad.length));
  assert.equal(e.offset, 9);
  assert.match(e.message, /field 2: length 5 runs past the end \(0 left\) at byte 9$/);
  // A field of the wrong type inside the view: the offset of its tag in the answer.
  const typed = new Uint8Array(32);
  typed.set([0x90, 0x01, 0x00, 0x8a, 0x01, 0x02, 0x12, 0x00], 5);
  const t = refusal(typed.subarray(5, 13), (x) => x.uint(2));
  assert.equal(t.offset, 6);
  assert.match(t.message, /field 2: wire type 2, expected a varint at byte 6$/);
});
