/**
 * Shared helpers for the core format tests: the real quotes listed in the shared manifest, and an
 * assertion for FormatErrors that name a field and a byte offset.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { FormatError } from '../../src/core/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

export interface ManifestQuote {
  readonly id: string;
  readonly bytes: Uint8Array;
  readonly info: {
    readonly version: number;
    readonly teeType: 'SGX' | 'TDX';
    readonly certDataType: string;
    readonly qeSvn: number;
    readonly pceSvn: number;
    readonly size: number;
    readonly trailingBytes: number;
  };
}

interface ManifestSet {
  id: string;
  quote: string;
  quoteEncoding: string;
  quoteInfo: ManifestQuote['info'];
}

/** Every quote of `dcap/manifest.json` as a plain Uint8Array (empty when the data is absent). */
export function manifestQuotes(): ManifestQuote[] {
  if (testdataSkip !== false) return [];
  const manifest = JSON.parse(readFileSync(testdataPath('dcap', 'manifest.json'), 'utf8')) as {
    sets: ManifestSet[];
  };
  return manifest.sets.map((s) => {
    assert.equal(s.quoteEncoding, 'binary', `${s.id}: only binary quotes are expected in the manifest`);
    return {
      id: s.id,
      bytes: new Uint8Array(readFileSync(testdataPath('dcap', s.quote))),
      info: s.quoteInfo,
    };
  });
}

/** The first manifest quote with the given version and TEE. */
export function quoteOf(version: number, tee: 'SGX' | 'TDX'): Uint8Array {
  const q = manifestQuotes().find((m) => m.info.version === version && m.info.teeType === tee);
  assert.ok(q, `no v${version} ${tee} quote in the manifest`);
  return new Uint8Array(q.bytes);
}

/** Asserts `fn` throws a FormatError with `code` whose message and details name `field` and `offset`. */
export function assertFormatError(
  fn: () => unknown,
  code: string,
  field: string,
  offset: number,
): FormatError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof FormatError, `expected a FormatError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.details['field'], field, caught.message);
  assert.equal(caught.details['offset'], offset, caught.message);
  assert.ok(caught.message.includes(field), `message names the field: ${caught.message}`);
  assert.ok(caught.message.includes(`byte offset ${offset}`), `message names the offset: ${caught.message}`);
  return caught;
}

/** Little-endian writes into a copy. */
export function patched(bytes: Uint8Array, at: number, value: number, width: 1 | 2 | 4): Uint8Array {
  const out = new Uint8Array(bytes);
  const dv = new DataView(out.buffer);
  if (width === 1) dv.setUint8(at, value);
  else if (width === 2) dv.setUint16(at, value, true);
  else dv.setUint32(at, value, true);
  return out;
}

/** Reads a little-endian u32. */
export function u32At(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at, true);
}
