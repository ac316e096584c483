/**
 * Specification of the RA-TLS extension payloads `decodeExtensionValue` accepts, field by field:
 * the DICE evidence (tag 60000, [quote, claims], a claims map with exactly one "pubkey-hash"
 * [alg-id, hash] of SHA-256/384/512 with the matching length) and the Open Enclave report header
 * (version 1, type 2, size = the bytes that follow). Each refusal is ERR_RATLS_EXTENSION_PAYLOAD
 * naming the field.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OE_REPORT_HEADER_SIZE,
  cbor,
  decodeExtensionValue,
  encodeCbor,
  type CborItem,
  type RatlsFormat,
} from '../../src/ratls/index.ts';

const OID = '1.2.3';
const QUOTE = new Uint8Array([1, 2, 3, 4]);
const bytes = (n: number, fill = 7): Uint8Array => new Uint8Array(n).fill(fill);
const pubkeyHash = (alg: number | bigint, len: number): CborItem =>
  cbor.bytes(encodeCbor(cbor.array(cbor.uint(alg), cbor.bytes(bytes(len)))));
const claims = (...entries: [CborItem, CborItem][]): CborItem => cbor.bytes(encodeCbor(cbor.map(...entries)));
const dice = (evidence: CborItem, tag = 60000): Uint8Array => encodeCbor(cbor.tag(tag, evidence));
const good = (hash: CborItem = pubkeyHash(1, 32)): Uint8Array =>
  dice(
    cbor.array(
      cbor.bytes(QUOTE),
      claims([cbor.text('pubkey-hash'), hash], [cbor.text('nonce'), cbor.bytes(bytes(4))]),
    ),
  );

function refusedField(value: Uint8Array, field: string, format: RatlsFormat = 'gramine-dice'): void {
  assert.throws(
    () => decodeExtensionValue(format, OID, value),
    (e: { code?: string; details?: { field?: string; oid?: string } }) => {
      assert.equal(e.code, 'ERR_RATLS_EXTENSION_PAYLOAD');
      assert.equal(e.details?.field, field);
      assert.equal(e.details.oid, OID);
      return true;
    },
  );
}

describe('DICE evidence', () => {
  test('SHA-256, SHA-384 and SHA-512 key hashes of their own length are accepted', () => {
    for (const [alg, len, name] of [
      [1, 32, 'sha256'],
      [7, 48, 'sha384'],
      [8, 64, 'sha512'],
    ] as const) {
      const p = decodeExtensionValue('gramine-dice', OID, good(pubkeyHash(alg, len)));
      assert.deepEqual(p.quote, QUOTE);
      assert.deepEqual(p.binding, {
        kind: 'dice-claims',
        claims: p.binding.kind === 'dice-claims' ? p.binding.claims : undefined,
        hashAlgorithm: name,
        keyHash: bytes(len),
      });
    }
  });
  test('the evidence is an array of exactly two non-empty byte strings', () => {
    refusedField(dice(cbor.array(cbor.bytes(QUOTE))), 'evidence');
    refusedField(dice(cbor.array(cbor.bytes(QUOTE), cbor.bytes(QUOTE), cbor.bytes(QUOTE))), 'evidence');
    refusedField(dice(cbor.map([cbor.text('a'), cbor.bytes(QUOTE)])), 'evidence');
    refusedField(
      dice(cbor.array(cbor.bytes(new Uint8Array()), claims([cbor.text('pubkey-hash'), pubkeyHash(1, 32)]))),
      'quote',
    );
    refusedField(
      dice(cbor.array(cbor.text('quote'), claims([cbor.text('pubkey-hash'), pubkeyHash(1, 32)]))),
      'quote',
    );
    refusedField(dice(cbor.array(cbor.bytes(QUOTE), cbor.bytes(new Uint8Array()))), 'claims');
    refusedField(dice(cbor.array(cbor.bytes(QUOTE), claims())), 'claims');
  });
  test('claim keys are non-empty text; "pubkey-hash" is a non-empty byte string, present exactly once', () => {
    const ev = (...entries: [CborItem, CborItem][]): Uint8Array =>
      dice(cbor.array(cbor.bytes(QUOTE), claims(...entries)));
    refusedField(ev([cbor.uint(1), pubkeyHash(1, 32)]), 'claims');
    refusedField(
      ev([cbor.text(''), cbor.bytes(QUOTE)], [cbor.text('pubkey-hash'), pubkeyHash(1, 32)]),
      'claims',
    );
    refusedField(ev([cbor.text('pubkey-hash'), cbor.text('x')]), 'pubkey-hash');
    refusedField(ev([cbor.text('pubkey-hash'), cbor.bytes(new Uint8Array())]), 'pubkey-hash');
    refusedField(
      ev([cbor.text('pubkey-hash'), pubkeyHash(1, 32)], [cbor.text('pubkey-hash'), pubkeyHash(1, 32)]),
      'pubkey-hash',
    );
    refusedField(ev([cbor.text('nonce'), cbor.bytes(QUOTE)]), 'pubkey-hash');
  });
  test('the key hash names a known algorithm (an unsigned id) and has its length', () => {
    refusedField(good(pubkeyHash(2, 32)), 'pubkey-hash');
    refusedField(good(pubkeyHash(256 + 1, 32)), 'pubkey-hash');
    refusedField(good(pubkeyHash(1, 48)), 'pubkey-hash');
    refusedField(good(pubkeyHash(8, 32)), 'pubkey-hash');
    refusedField(
      good(cbor.bytes(encodeCbor(cbor.array(cbor.text('sha256'), cbor.bytes(bytes(32)))))),
      'pubkey-hash',
    );
    refusedField(good(cbor.bytes(encodeCbor(cbor.array(cbor.uint(1))))), 'pubkey-hash');
    refusedField(good(cbor.bytes(encodeCbor(cbor.array(cbor.uint(1), cbor.text('hash'))))), 'pubkey-hash');
  });
  test('another CBOR tag is refused', () => {
    refusedField(
      dice(cbor.array(cbor.bytes(QUOTE), claims([cbor.text('pubkey-hash'), pubkeyHash(1, 32)])), 60001),
      'tag',
    );
  });
});

describe('Open Enclave report', () => {
  const report = (version: number, type: number, size: bigint, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(OE_REPORT_HEADER_SIZE + body.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, version, true);
    v.setUint32(4, type, true);
    v.setBigUint64(8, size, true);
    out.set(body, OE_REPORT_HEADER_SIZE);
    return out;
  };
  test('a version-1, type-2 header whose size is the rest is accepted; the rest is the quote', () => {
    const p = decodeExtensionValue('ego', OID, report(1, 2, 4n, QUOTE));
    assert.deepEqual(p.quote, QUOTE);
    assert.deepEqual(p.binding, { kind: 'oe-report' });
    assert.deepEqual(
      decodeExtensionValue('ego', OID, report(1, 2, 0n, new Uint8Array())).quote,
      new Uint8Array(),
    );
  });
  test('each header field is checked, named with its byte offset', () => {
    refusedField(bytes(OE_REPORT_HEADER_SIZE - 1, 0), 'header', 'ego');
    refusedField(report(2, 2, 4n, QUOTE), 'version', 'ego');
    refusedField(report(0x01000000, 2, 4n, QUOTE), 'version', 'ego');
    refusedField(report(1, 1, 4n, QUOTE), 'reportType', 'ego');
    refusedField(report(1, 2, 3n, QUOTE), 'reportSize', 'ego');
    refusedField(report(1, 2, 5n, QUOTE), 'reportSize', 'ego');
  });
});

describe('Gramine legacy', () => {
  test('the value is the quote itself, never empty', () => {
    assert.deepEqual(decodeExtensionValue('gramine', OID, QUOTE), {
      quote: QUOTE,
      binding: { kind: 'spki-sha256' },
    });
    refusedField(new Uint8Array(), 'quote', 'gramine');
  });
});
