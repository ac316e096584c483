/** decodeBinaryInput: binary, hex and base64/base64url detection, strict on anything else. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { MAX_TEXT_INPUT_SIZE, decodeBinaryInput, decodeQuote, fromHex, toHex } from '../../src/core/index.ts';
import { testdataSkip } from '../support/testdata.ts';
import { assertFormatError, manifestQuotes } from './formats-helpers.ts';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

describe('decodeBinaryInput', () => {
  const data = new Uint8Array(randomBytes(301));
  data[0] = 3; // a non-text byte, as in every quote

  test('binary input is returned as is (a view, no copy)', () => {
    const out = decodeBinaryInput(data);
    assert.deepEqual(out, data);
    assert.equal(out.buffer, data.buffer);
  });

  test('hex: lower, upper, 0x prefix, line-wrapped', () => {
    const hex = toHex(data);
    assert.deepEqual(decodeBinaryInput(text(hex)), data);
    assert.deepEqual(decodeBinaryInput(text(hex.toUpperCase())), data);
    assert.deepEqual(decodeBinaryInput(text(`0x${hex}\n`)), data);
    assert.deepEqual(decodeBinaryInput(text(hex.replace(/(.{64})/g, '$1\r\n'))), data);
  });

  test('base64 and base64url, with and without padding, line-wrapped', () => {
    for (const n of [1, 2, 3, 301]) {
      const d = data.subarray(0, n);
      const b64 = Buffer.from(d).toString('base64');
      const url = Buffer.from(d).toString('base64url');
      assert.deepEqual(decodeBinaryInput(text(b64)), d, `base64 ${n}`);
      assert.deepEqual(decodeBinaryInput(text(b64.replace(/=+$/, ''))), d, `base64 unpadded ${n}`);
      assert.deepEqual(decodeBinaryInput(text(url)), d, `base64url ${n}`);
      assert.deepEqual(
        decodeBinaryInput(text(`${url}${'='.repeat((4 - (url.length % 4)) % 4)}`)),
        d,
        `base64url padded ${n}`,
      );
      assert.deepEqual(decodeBinaryInput(text(b64.replace(/(.{76})/g, '$1\n'))), d, `wrapped ${n}`);
    }
  });

  test('garbage text → ERR_FORMAT_ENCODING', () => {
    for (const [s, offset] of [
      ['hello world!', 10],
      ['abc$', 3],
      ['ab+_', 0],
      ['ab=c', 2],
    ] as const) {
      assertFormatError(() => decodeBinaryInput(text(s)), 'ERR_FORMAT_ENCODING', 'input', offset);
    }
    for (const s of ['', '   \n\t', 'a', 'abcde', 'ab=', 'abc==', 'abd', 'AB===']) {
      assert.throws(() => decodeBinaryInput(text(s)), { code: 'ERR_FORMAT_ENCODING' }, JSON.stringify(s));
    }
  });

  test('text input over the limit → ERR_FORMAT_LENGTH', () => {
    assertFormatError(
      () => decodeBinaryInput(new Uint8Array(MAX_TEXT_INPUT_SIZE + 1).fill(0x41)),
      'ERR_FORMAT_LENGTH',
      'input',
      0,
    );
  });

  test('fromHex is strict', () => {
    assert.deepEqual(fromHex('0x00ff'), new Uint8Array([0, 255]));
    assert.throws(() => fromHex('abc'), { code: 'ERR_FORMAT_ENCODING' });
    assertFormatError(() => fromHex('00zz', 'mrEnclave'), 'ERR_FORMAT_ENCODING', 'mrEnclave', 2);
  });

  test('real quotes decode the same from binary, hex, base64 and base64url', { skip: testdataSkip }, () => {
    for (const m of manifestQuotes()) {
      const b = Buffer.from(m.bytes);
      for (const form of [
        b,
        text(b.toString('hex')),
        text(b.toString('base64')),
        text(b.toString('base64url')),
      ]) {
        assert.deepEqual(decodeBinaryInput(form), m.bytes, m.id);
        assert.equal(decodeQuote(decodeBinaryInput(form)).raw.length, m.info.size);
      }
    }
  });
});
