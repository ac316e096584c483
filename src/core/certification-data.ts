/**
 * Certification data block: type (u16), size (u32), then `size` bytes (spec/dcap.md §1.4).
 *
 * Types 1..3 (PPID with CPUSVN, PCESVN, PCE-ID) are split into their fields; type 5 (PCK
 * certificate chain) is split into its PEM blocks, leaf first; types 4 and 7 are kept as raw data;
 * the payload of type 6 (QE report certification data) is decoded by signature-data.ts.
 */
import { Buffer } from 'node:buffer';
import { ByteReader, ByteWriter } from './bytes.ts';
import { formatErrorAt } from './errors.ts';
import {
  CERT_DATA_TYPE,
  CPUSVN_SIZE,
  PPID_CLEARTEXT_SIZE,
  PPID_RSA2048_SIZE,
  PPID_RSA3072_SIZE,
} from './constants.ts';

/** A decoded certification data block. `data` is a view of its payload. */
export interface CertificationData {
  /** 1..7. */
  readonly type: number;
  /** The payload exactly as in the quote (type 5 includes any trailing NUL). */
  readonly data: Uint8Array;
  /** Type 5: the PEM certificates, leaf first, each `-----BEGIN…END CERTIFICATE-----\n`. */
  readonly pckChainPem?: string[];
  /** Types 1..3: the PPID (clear, or RSA-OAEP encrypted). */
  readonly ppid?: Uint8Array;
  /** Types 1..3: the platform's raw CPUSVN (16). */
  readonly cpuSvn?: Uint8Array;
  /** Types 1..3: PCESVN. */
  readonly pceSvn?: number;
  /** Types 1..3: PCE-ID. */
  readonly pceId?: number;
}

/** Which types the caller allows at this position (e.g. v3: 1..5). */
export interface CertificationDataOptions {
  /** Field name prefix for errors, e.g. `signatureData.certification`. */
  readonly field: string;
  readonly minType: number;
  readonly maxType: number;
}

const PPID_SIZE_BY_TYPE: Readonly<Record<number, number>> = {
  [CERT_DATA_TYPE.PPID_CLEARTEXT]: PPID_CLEARTEXT_SIZE,
  [CERT_DATA_TYPE.PPID_RSA2048_OAEP]: PPID_RSA2048_SIZE,
  [CERT_DATA_TYPE.PPID_RSA3072_OAEP]: PPID_RSA3072_SIZE,
};

/**
 * Reads one certification data block and checks its type is in the allowed range and its size fits
 * the remaining bytes.
 * @throws FormatError `ERR_FORMAT_CERT_TYPE`, `ERR_FORMAT_LENGTH`, `ERR_FORMAT_TRUNCATED` or
 *   `ERR_FORMAT_ENCODING` (type 5 that is not a PEM chain), naming the field and offset.
 */
export function decodeCertificationData(r: ByteReader, opts: CertificationDataOptions): CertificationData {
  const { field } = opts;
  const typeAt = r.absoluteOffset;
  const type = r.u16(`${field}.type`);
  if (type < opts.minType || type > opts.maxType) {
    throw formatErrorAt(
      'ERR_FORMAT_CERT_TYPE',
      `${field}.type`,
      typeAt,
      `certification data type ${type} not allowed here (${opts.minType}..${opts.maxType})`,
      { actual: type },
    );
  }
  const sizeAt = r.absoluteOffset;
  const size = r.u32(`${field}.size`);
  if (size > r.remaining) {
    throw formatErrorAt(
      'ERR_FORMAT_LENGTH',
      `${field}.size`,
      sizeAt,
      `declared size ${size} exceeds the ${r.remaining} bytes left`,
      { declared: size, remaining: r.remaining },
    );
  }
  const dataAt = r.absoluteOffset;
  const data = r.bytesView(size, `${field}.data`);
  const ppidSize = PPID_SIZE_BY_TYPE[type];
  if (ppidSize !== undefined) {
    const expected = ppidSize + CPUSVN_SIZE + 4;
    if (size !== expected) {
      throw formatErrorAt(
        'ERR_FORMAT_LENGTH',
        `${field}.size`,
        sizeAt,
        `certification data type ${type} must be ${expected} bytes, declared ${size}`,
        { declared: size, expected },
      );
    }
    const s = new ByteReader(data, { base: dataAt });
    return {
      type,
      data,
      ppid: s.bytesView(ppidSize, `${field}.ppid`),
      cpuSvn: s.bytesView(CPUSVN_SIZE, `${field}.cpuSvn`),
      pceSvn: s.u16(`${field}.pceSvn`),
      pceId: s.u16(`${field}.pceId`),
    };
  }
  if (type === CERT_DATA_TYPE.PCK_CERT_CHAIN) {
    return { type, data, pckChainPem: splitPemChain(data, `${field}.data`, dataAt) };
  }
  return { type, data };
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';

/** 1 for characters allowed inside a PEM block body (base64 and whitespace), 2 for whitespace. */
const PEM_CHAR = (() => {
  const t = new Uint8Array(256);
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=') t[c.charCodeAt(0)] = 1;
  for (const c of ' \t\r\n') t[c.charCodeAt(0)] = 2;
  return t;
})();

/**
 * Splits a type-5 payload into PEM certificate blocks: trailing NUL bytes are ignored; block bodies
 * may hold only base64 characters and whitespace; only whitespace may appear between blocks; at
 * least one block is required. Block contents are not decoded here (certificate parsing is the
 * verifier's job).
 * @throws FormatError `ERR_FORMAT_ENCODING` naming the field and the offset of the first stray byte.
 */
export function splitPemChain(data: Uint8Array, field = 'pckChain', base = 0): string[] {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  // latin1 maps each byte to one character, so string indices are byte offsets.
  const text = Buffer.from(data.buffer, data.byteOffset, end).toString('latin1');
  const blocks: string[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(PEM_BEGIN, pos);
    checkRange(
      text,
      pos,
      begin < 0 ? text.length : begin,
      2,
      field,
      base,
      'text outside PEM certificate blocks',
    );
    if (begin < 0) break;
    const bodyStart = begin + PEM_BEGIN.length;
    const stop = text.indexOf(PEM_END, bodyStart);
    if (stop < 0) {
      throw formatErrorAt(
        'ERR_FORMAT_ENCODING',
        field,
        base + begin,
        'PEM certificate block without an END line',
      );
    }
    checkRange(text, bodyStart, stop, 1, field, base, 'non-base64 character in a PEM certificate block');
    pos = stop + PEM_END.length;
    blocks.push(`${text.slice(begin, pos)}\n`);
  }
  if (blocks.length === 0) {
    throw formatErrorAt(
      'ERR_FORMAT_ENCODING',
      field,
      base,
      'no PEM certificate in the PCK certificate chain',
    );
  }
  return blocks;
}

const RUN_RE: Readonly<Record<1 | 2, RegExp>> = { 1: /[A-Za-z0-9+/= \t\r\n]*/y, 2: /[ \t\r\n]*/y };

/**
 * Every character in [from, to) must be base64 or whitespace (`minClass` 1) or whitespace only (2).
 * A sticky regular expression does the scan; the table finds the offending offset on failure.
 */
function checkRange(
  text: string,
  from: number,
  to: number,
  minClass: 1 | 2,
  field: string,
  base: number,
  problem: string,
): void {
  if (from >= to) return;
  const re = RUN_RE[minClass];
  re.lastIndex = from;
  re.exec(text);
  if (re.lastIndex >= to) return;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if ((PEM_CHAR[c] ?? 0) < minClass) {
      throw formatErrorAt('ERR_FORMAT_ENCODING', field, base + i, `${problem} (byte 0x${c.toString(16)})`);
    }
  }
}

/** Builds a type-5 payload from PEM certificates (leaf first): concatenated, then one NUL byte. */
export function pemChainToCertificationData(pems: readonly string[]): Uint8Array {
  const text = pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  const out = new Uint8Array(text.length + 1);
  out.set(Buffer.from(text, 'latin1'));
  return out;
}

/** Appends a certification data block (type, size, data). No range checks on the type. */
export function writeCertificationData(
  w: ByteWriter,
  cert: Pick<CertificationData, 'type' | 'data'>,
  field = 'certification',
): void {
  w.u16(cert.type, `${field}.type`)
    .u32(cert.data.length, `${field}.size`)
    .bytes(cert.data, undefined, `${field}.data`);
}

/** Encodes a certification data block (type u16, size u32, data). */
export function encodeCertificationData(cert: Pick<CertificationData, 'type' | 'data'>): Uint8Array {
  const w = new ByteWriter(6 + cert.data.length);
  writeCertificationData(w, cert);
  return w.finish();
}
