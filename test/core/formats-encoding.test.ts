/**
 * decodeInput / decodeBinaryInput: binary, hex and base64/base64url detection (the rule documented on
 * `decodeInput`), explicit encodings, and strictness on anything else. Random inputs are seeded
 * (test/support/seeded-random.ts): a failure prints the seed and the command that reruns it.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_TEXT_INPUT_SIZE,
  MIN_QUOTE_SIZE,
  decodeBinaryInput,
  decodeInput,
  decodeQuote,
  fromHex,
  isPlausibleQuote,
  toHex,
  type FormatError,
} from '../../src/core/index.ts';
import { seededRandom, testSeeds, withSeed } from '../support/seeded-random.ts';
import { testdataSkip } from '../support/testdata.ts';
import { assertFormatError, manifestQuotes } from './formats-helpers.ts';

const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** True when base64 text is also valid hex (optional 0x, then an even number of hex digits). */
const alsoHex = (s: string): boolean => /^(0[xX])?([0-9a-fA-F]{2})+$/.test(s);

/** One run of the seeded cases per seed (CCNODES_TEST_SEED, CCNODES_TEST_SEED_COUNT). */
for (const seed of testSeeds()) {
  describe(`decodeBinaryInput on seeded random inputs (seed 0x${seed.toString(16)})`, () => {
    const rng = seededRandom(import.meta.url, seed);
    const data = rng.bytes(301);
    data[0] = 3; // a non-text byte, as in every quote

    test('binary input is returned as is (a view, no copy)', () => {
      const out = decodeBinaryInput(data);
      assert.deepEqual(out, data);
      assert.equal(out.buffer, data.buffer);
      assert.equal(decodeInput(data).encoding, 'binary');
    });

    test(
      'hex: lower, upper, 0x prefix, line-wrapped',
      withSeed(rng, () => {
        const hex = toHex(data);
        assert.deepEqual(decodeBinaryInput(text(hex)), data);
        assert.deepEqual(decodeBinaryInput(text(hex.toUpperCase())), data);
        assert.deepEqual(decodeBinaryInput(text(`0x${hex}\n`)), data);
        assert.deepEqual(decodeBinaryInput(text(hex.replace(/(.{64})/g, '$1\r\n'))), data);
        assert.equal(decodeInput(text(hex)).encoding, 'hex');
      }),
    );

    test(
      'base64 and base64url, with and without padding, line-wrapped: the documented rule on 200 inputs',
      withSeed(rng, () => {
        for (let i = 0; i < 200; i++) {
          // Lengths 1, 2, 3 and 301 as the old test had, then short random ones (the ambiguous zone).
          const n = i < 3 ? i + 1 : i === 3 ? 301 : 1 + rng.int(40);
          const d = n === 301 ? data : rng.bytes(n);
          const std = b64(d);
          const url = Buffer.from(d).toString('base64url');
          const forms = [
            ['base64', std],
            ['base64 unpadded', std.replace(/=+$/, '')],
            ['base64url', url],
            ['base64url padded', `${url}${'='.repeat((4 - (url.length % 4)) % 4)}`],
            ['wrapped', std.replace(/(.{4})/g, '$1\n')],
          ] as const;
          for (const [what, s] of forms) {
            const label = `${what} of ${toHex(d)}: ${JSON.stringify(s)}`;
            const compact = s.replace(/\s/g, '');
            // The documented rule: text that is valid hex too is read as hex unless told otherwise.
            const auto = decodeInput(text(s));
            if (alsoHex(compact)) {
              assert.deepEqual(auto, { bytes: fromHex(compact), encoding: 'hex' }, label);
            } else {
              assert.deepEqual(auto.bytes, d, label);
              assert.match(auto.encoding, /^base64(url)?$/, label);
            }
            assert.deepEqual(decodeBinaryInput(text(s), { encoding: 'base64' }), d, `explicit ${label}`);
            const expected = (b: Uint8Array): boolean => Buffer.from(b).equals(d);
            assert.deepEqual(decodeBinaryInput(text(s), { expect: expected }), d, `expect ${label}`);
          }
        }
      }),
    );
  });
}

describe('decodeBinaryInput', () => {
  /** The start of a binary quote: version 3, little-endian (a non-text byte first). */
  const data = new Uint8Array([3, 0, 2, 0, 0, 0, 0, 0]);

  test('text valid as both hex and base64: hex by default, the plausible one with `expect`', () => {
    assert.deepEqual(decodeInput(text('A0CB')), { bytes: new Uint8Array([0xa0, 0xcb]), encoding: 'hex' });
    assert.deepEqual(decodeInput(text('A0CB'), { encoding: 'base64' }), {
      bytes: new Uint8Array([0x03, 0x40, 0x81]),
      encoding: 'base64',
    });
    assert.deepEqual(decodeBinaryInput(text('AAAA')), new Uint8Array([0xaa, 0xaa]));
    assert.deepEqual(decodeBinaryInput(text('AAAA'), { encoding: 'base64' }), new Uint8Array(3));
    // `expect` decides only when exactly one decoding passes it.
    const three = (b: Uint8Array): boolean => b.length === 3;
    assert.deepEqual(decodeInput(text('AAAA'), { expect: three }).encoding, 'base64');
    assert.deepEqual(decodeInput(text('AAAA'), { expect: () => true }).encoding, 'hex');
    assert.deepEqual(decodeInput(text('AAAA'), { expect: () => false }).encoding, 'hex');
    // `expect` is never consulted when only one encoding is valid.
    assert.deepEqual(decodeInput(text('AAAAAQ'), { expect: () => false }).encoding, 'base64');
    // `0x…` text is hex-looking too: the same rule applies ("0xzzzw" is only base64).
    assert.deepEqual(decodeInput(text('0x00ff')), { bytes: new Uint8Array([0, 255]), encoding: 'hex' });
    assert.deepEqual(decodeInput(text('0xzzzw')).encoding, 'base64');
  });

  test('a quote is read the way that yields a quote (isPlausibleQuote), whichever text form', () => {
    // A version-4 quote outline whose base64 is made only of hex digits: "BAAC" + "AAAA"….
    const quote = new Uint8Array(438);
    quote.set([4, 0, 2]);
    const base64Text = b64(quote);
    assert.ok(alsoHex(base64Text), base64Text.slice(0, 16));
    assert.equal(decodeInput(text(base64Text)).encoding, 'hex', 'without expect: hex');
    assert.deepEqual(decodeInput(text(base64Text), { expect: isPlausibleQuote }), {
      bytes: quote,
      encoding: 'base64',
    });
    // Its hex form ("0400…") is read as hex: the base64 reading of "0400…" is no quote.
    assert.deepEqual(decodeInput(text(toHex(quote)), { expect: isPlausibleQuote }), {
      bytes: quote,
      encoding: 'hex',
    });
  });

  test('isPlausibleQuote: version 3, 4 or 5 little-endian and at least 436 bytes', () => {
    assert.equal(MIN_QUOTE_SIZE, 436);
    for (const v of [3, 4, 5]) {
      const q: Uint8Array = new Uint8Array(MIN_QUOTE_SIZE);
      q[0] = v;
      assert.equal(isPlausibleQuote(q), true, `v${v}`);
      assert.equal(isPlausibleQuote(q.subarray(0, MIN_QUOTE_SIZE - 1)), false, `v${v} short`);
      q[1] = 1;
      assert.equal(isPlausibleQuote(q), false, `v${v} high byte`);
    }
    for (const v of [0, 2, 6, 0xaa]) assert.equal(isPlausibleQuote(new Uint8Array(600).fill(v, 0, 1)), false);
  });

  test('explicit encodings read only that encoding', () => {
    // binary: the bytes as they are, even when they look like text.
    assert.deepEqual(decodeInput(text('A0CB'), { encoding: 'binary' }), {
      bytes: text('A0CB'),
      encoding: 'binary',
    });
    assert.deepEqual(decodeBinaryInput(text(' 0xA0cb\n'), { encoding: 'hex' }), new Uint8Array([0xa0, 0xcb]));
    assert.deepEqual(decodeInput(text('_-8'), { encoding: 'base64' }), {
      bytes: new Uint8Array([0xff, 0xef]),
      encoding: 'base64url',
    });
    // The binary form of a quote is no hex or base64 text.
    assert.throws(() => decodeBinaryInput(data, { encoding: 'hex' }), { code: 'ERR_FORMAT_ENCODING' });
  });

  test('explicit encoding errors name the encoding and the offset of the first bad character', () => {
    const cases = [
      // [input, encoding, offset in the input as given (whitespace counted)]
      ['00zz', 'hex', 2],
      ['  00\n1g', 'hex', 6],
      ['0x0g', 'hex', 3],
      ['abc', 'hex', 2],
      ['aGVsbG8!', 'base64', 7],
      ['ab+_', 'base64', 3],
      ['ab=c', 'base64', 2],
      ['AB===', 'base64', 4],
      ['abcde', 'base64', 4],
      ['AB', 'base64', 1],
      ['A\nB', 'base64', 2],
      ['AB=', 'base64', 2],
    ] as const;
    for (const [input, encoding, offset] of cases) {
      const err: FormatError = assertFormatError(
        () => decodeBinaryInput(text(input), { encoding }),
        'ERR_FORMAT_ENCODING',
        'input',
        offset,
      );
      assert.equal(err.details['encoding'], encoding, input);
      assert.ok(err.message.includes(`not valid ${encoding}`), err.message);
    }
    for (const encoding of ['hex', 'base64'] as const) {
      assertFormatError(
        () => decodeBinaryInput(text(' \n'), { encoding }),
        'ERR_FORMAT_ENCODING',
        'input',
        0,
      );
    }
    assert.throws(() => decodeBinaryInput(text('00'), { encoding: 'base32' as 'hex' }), {
      code: 'ERR_FORMAT_ENCODING',
      message: /unknown input encoding "base32"/,
    });
  });

  test('garbage text → ERR_FORMAT_ENCODING at its offset in the input as given', () => {
    for (const [s, offset] of [
      ['hello world!', 11],
      ['abc$', 3],
      ['ab+_', 3],
      ['ab=c', 2],
      ['0x1!', 3],
      ['0x12 34 5', 8],
    ] as const) {
      const err = assertFormatError(() => decodeBinaryInput(text(s)), 'ERR_FORMAT_ENCODING', 'input', offset);
      assert.equal(err.details['encoding'], 'auto');
    }
    for (const s of ['', '   \n\t', 'a', 'abcde', 'ab=', 'abc==', 'abd', 'AB===']) {
      assert.throws(() => decodeBinaryInput(text(s)), { code: 'ERR_FORMAT_ENCODING' }, JSON.stringify(s));
    }
  });

  test('input over the limit → ERR_FORMAT_LENGTH, whatever the encoding', () => {
    for (const encoding of ['auto', 'binary', 'hex', 'base64'] as const) {
      assertFormatError(
        () => decodeBinaryInput(new Uint8Array(MAX_TEXT_INPUT_SIZE + 1).fill(0x41), { encoding }),
        'ERR_FORMAT_LENGTH',
        'input',
        0,
      );
    }
  });

  test('fromHex is strict', () => {
    assert.deepEqual(fromHex('0x00ff'), new Uint8Array([0, 255]));
    assert.throws(() => fromHex('abc'), { code: 'ERR_FORMAT_ENCODING' });
    assertFormatError(() => fromHex('00zz', 'mrEnclave'), 'ERR_FORMAT_ENCODING', 'mrEnclave', 2);
  });

  test('real quotes decode the same from binary, hex, base64 and base64url', { skip: testdataSkip }, () => {
    for (const m of manifestQuotes()) {
      const b = Buffer.from(m.bytes);
      for (const [encoding, form] of [
        ['binary', b],
        ['hex', text(b.toString('hex'))],
        ['base64', text(b.toString('base64'))],
        ['base64url', text(b.toString('base64url'))],
      ] as const) {
        const auto = decodeInput(form, { expect: isPlausibleQuote });
        assert.equal(auto.encoding, encoding, m.id);
        assert.deepEqual(auto.bytes, m.bytes, m.id);
        assert.deepEqual(decodeBinaryInput(form), m.bytes, m.id);
        const explicit = encoding === 'base64url' ? 'base64' : encoding;
        assert.deepEqual(decodeBinaryInput(form, { encoding: explicit }), m.bytes, `${m.id} ${explicit}`);
        assert.equal(decodeQuote(auto.bytes).raw.length, m.info.size);
      }
    }
  });
});
