/**
 * Specification of the CBOR subset used by TCG DICE evidence (src/ratls/cbor.ts): the preferred
 * (shortest) encoding of every supported item, with the examples of RFC 8949 Appendix A and the
 * length boundaries; decoding of exactly one definite-length item; and every refusal as
 * ERR_RATLS_EXTENSION_PAYLOAD naming the field and the byte offset where the bad item starts (or
 * where the bytes ran out).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cbor, decodeCbor, encodeCbor, type CborItem } from '../../src/ratls/index.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));

/** Items with their preferred encodings (RFC 8949 Appendix A, and the boundaries of each head size). */
const VECTORS: readonly (readonly [string, CborItem, string])[] = [
  ['0', cbor.uint(0), '00'],
  ['23, the largest immediate value', cbor.uint(23), '17'],
  ['24, the smallest one-byte argument', cbor.uint(24), '1818'],
  ['100', cbor.uint(100), '1864'],
  ['255', cbor.uint(255), '18ff'],
  ['256', cbor.uint(256), '190100'],
  ['1000', cbor.uint(1000), '1903e8'],
  ['65535', cbor.uint(65535), '19ffff'],
  ['65536', cbor.uint(65536), '1a00010000'],
  ['1000000', cbor.uint(1000000), '1a000f4240'],
  ['2^32 - 1', cbor.uint(0xffffffff), '1affffffff'],
  ['2^32', cbor.uint(0x100000000n), '1b0000000100000000'],
  ['1000000000000', cbor.uint(1000000000000n), '1b000000e8d4a51000'],
  ['2^64 - 1', cbor.uint(0xffffffffffffffffn), '1bffffffffffffffff'],
  ["h''", cbor.bytes(new Uint8Array()), '40'],
  ["h'01020304'", cbor.bytes(unhex('01020304')), '4401020304'],
  ['24 bytes', cbor.bytes(new Uint8Array(24).fill(0xaa)), '5818' + 'aa'.repeat(24)],
  ['256 bytes', cbor.bytes(new Uint8Array(256).fill(0x0b)), '590100' + '0b'.repeat(256)],
  ['""', cbor.text(''), '60'],
  ['"a"', cbor.text('a'), '6161'],
  ['"IETF"', cbor.text('IETF'), '6449455446'],
  ['"\\u00fc" (UTF-8, two bytes)', cbor.text('\u00fc'), '62c3bc'],
  ['[]', cbor.array(), '80'],
  ['[1, 2, 3]', cbor.array(cbor.uint(1), cbor.uint(2), cbor.uint(3)), '83010203'],
  [
    '[1, [2, 3], [4, 5]]',
    cbor.array(cbor.uint(1), cbor.array(cbor.uint(2), cbor.uint(3)), cbor.array(cbor.uint(4), cbor.uint(5))),
    '8301820203820405',
  ],
  ['{}', cbor.map(), 'a0'],
  ['{1: 2, 3: 4}', cbor.map([cbor.uint(1), cbor.uint(2)], [cbor.uint(3), cbor.uint(4)]), 'a201020304'],
  [
    '{"a": 1, "b": [2, 3]}',
    cbor.map([cbor.text('a'), cbor.uint(1)], [cbor.text('b'), cbor.array(cbor.uint(2), cbor.uint(3))]),
    'a26161016162820203',
  ],
  ['1(1363896240)', cbor.tag(1, cbor.uint(1363896240)), 'c11a514b67b0'],
  ["60000(h'') (the DICE evidence tag)", cbor.tag(60000, cbor.bytes(new Uint8Array())), 'd9ea6040'],
];

describe('encoding', () => {
  for (const [name, item, encoded] of VECTORS)
    test(`${name} is ${encoded.length > 40 ? `${encoded.slice(0, 40)}…` : encoded}`, () => {
      assert.equal(hex(encodeCbor(item)), encoded);
    });
});

describe('decoding', () => {
  for (const [name, item, encoded] of VECTORS)
    test(`${name} decodes from its encoding`, () => {
      assert.deepEqual(decodeCbor(unhex(encoded), 'x'), item);
    });
  test('a longer head than needed is accepted (the decoder does not insist on the preferred form)', () => {
    assert.deepEqual(decodeCbor(unhex('1800'), 'x'), cbor.uint(0));
    assert.deepEqual(decodeCbor(unhex('1b0000000000000001'), 'x'), cbor.uint(1));
    assert.deepEqual(decodeCbor(unhex('5a00000001ff'), 'x'), cbor.bytes(unhex('ff')));
  });
  test('a byte string may fill the input exactly', () => {
    assert.deepEqual(decodeCbor(unhex('43010203'), 'x'), cbor.bytes(unhex('010203')));
  });
  test('an item inside a larger buffer decodes from its own bytes (a subarray view)', () => {
    const outer = unhex('ff' + '1a000f4240' + 'ff');
    assert.deepEqual(decodeCbor(outer.subarray(1, 6), 'x'), cbor.uint(1000000));
    const outer8 = unhex('ff' + '1b000000e8d4a51000');
    assert.deepEqual(decodeCbor(outer8.subarray(1), 'x'), cbor.uint(1000000000000n));
  });
  test('nesting of 16 levels below the top item is accepted', () => {
    const deep = '81'.repeat(16) + '00';
    let item: CborItem = cbor.uint(0);
    for (let i = 0; i < 16; i++) item = cbor.array(item);
    assert.deepEqual(decodeCbor(unhex(deep), 'x'), item);
  });
});

/** Asserts ERR_RATLS_EXTENSION_PAYLOAD naming the field and the byte offset. */
function refused(encoded: string, offset: number, field = 'claims'): void {
  assert.throws(
    () => decodeCbor(unhex(encoded), field),
    (e: { code?: string; details?: { field?: unknown; offset?: unknown } }) => {
      assert.equal(e.code, 'ERR_RATLS_EXTENSION_PAYLOAD');
      assert.deepEqual(e.details, { field, offset });
      return true;
    },
  );
}

describe('refusals, each naming the field and byte offset', () => {
  test('empty input', () => {
    refused('', 0);
  });
  test('a one-byte argument with no byte after the head', () => {
    refused('18', 1);
  });
  test('a two-, four- or eight-byte argument cut short', () => {
    refused('1901', 1);
    refused('1a010203', 1);
    refused('1b01020304050607', 1);
    refused('811901', 2); // inside an array: where the bytes ran out
  });
  test('a byte or text string longer than the bytes left (offset of the string item)', () => {
    refused('4201', 0);
    refused('6261', 0);
    refused('820142ff', 2);
    refused('5a00000100', 0); // four-byte length 256, nothing left
  });
  test('an array or map announcing more items than there are bytes', () => {
    refused('83', 0);
    refused('a1', 0);
  });
  test('an array or map whose items run out', () => {
    refused('820118', 3);
    refused('a2010203', 4);
  });
  test('indefinite lengths and reserved additional information (28-31)', () => {
    refused('5f', 0);
    refused('9f', 0);
    refused('bf', 0);
    refused('1c', 0);
    refused('1d', 0);
    refused('1e', 0);
    refused('811f', 1);
  });
  test('negative integers, floats and simple values (major types 1 and 7)', () => {
    refused('20', 0);
    refused('8120', 1);
    refused('f4', 0);
    refused('f93c00', 0);
  });
  test('a text string that is not UTF-8', () => {
    refused('61ff', 0);
    refused('8262c3', 1);
  });
  test('nesting deeper than 16 levels (offset of the first item too deep)', () => {
    refused('81'.repeat(17) + '00', 17);
  });
  test('map keys, map values and tagged items count as nesting levels too', () => {
    // 16 maps nested through their keys, each closed by a value 00
    assert.doesNotThrow(() => decodeCbor(unhex('a1'.repeat(16) + '00' + '00'.repeat(16)), 'x'));
    refused('a1'.repeat(17) + '00' + '00'.repeat(17), 17);
    // through their values
    assert.doesNotThrow(() => decodeCbor(unhex('a100'.repeat(16) + '00'), 'x'));
    refused('a100'.repeat(17) + '00', 33); // the 17th map's key is the first item too deep
    // through tags
    assert.doesNotThrow(() => decodeCbor(unhex('c1'.repeat(16) + '00'), 'x'));
    refused('c1'.repeat(17) + '00', 17);
  });
  test('trailing bytes after the item (offset of the first extra byte)', () => {
    refused('0000', 1);
    refused('8201020304', 3);
  });
});
