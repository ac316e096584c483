/**
 * The RA-TLS extension formats ccnodes reads and writes (docs/ratls.md has the references):
 *
 * - `gramine` (legacy): extension `0.6.9.42.840.113741.1337.6` — Gramine passes the DER bytes of
 *   1.2.840.113741.1337.6 *with* their tag and length as the OID content, so the OID that ends up in
 *   the certificate is this odd one; `1.2.840.113741.1337.6` itself is accepted when reading. The value
 *   is the raw quote; REPORTDATA[0..32] = SHA-256(DER SubjectPublicKeyInfo).
 * - `gramine-dice`: extension 2.23.133.5.4.9 (TCG DICE tagged evidence). The value is CBOR
 *   `tag 60000 [ bstr quote, bstr claims ]`, claims = CBOR map `{ "pubkey-hash": bstr(CBOR
 *   [ hash-alg-id, bstr SHA-x(DER SPKI) ]) }`; REPORTDATA[0..32] = SHA-256(claims bytes).
 * - `ego`: extension 1.3.6.1.4.1.311.105.1 (Open Enclave's "new quote" OID, as EGo and MarbleRun
 *   write it; Open Enclave's older 1.2.840.113556.10.1.1 is accepted when reading). The value is an
 *   Open Enclave report: 16-byte header (version 1, type 2 = remote, u64 size; little-endian) ‖ quote.
 *   REPORTDATA[0..32] = SHA-256(DER SPKI) (EGo) or SHA-256(PEM public key ‖ NUL) (Open Enclave).
 */
import { createHash } from 'node:crypto';
import { cbor, decodeCbor, encodeCbor, type CborItem } from './cbor.ts';
import { RatlsFormatError } from './errors.ts';

/** The formats of `ccnodes ratls create --format`. */
export const RATLS_FORMATS = ['gramine', 'gramine-dice', 'ego'] as const;
export type RatlsFormat = (typeof RATLS_FORMATS)[number];

/** Extension OIDs (dotted), as found in certificates. */
export const RATLS_OIDS = {
  /** What Gramine actually writes for its legacy quote extension (see the module comment). */
  gramineLegacy: '0.6.9.42.840.113741.1337.6',
  /** The OID Gramine meant; accepted when reading. */
  gramineLegacyIntended: '1.2.840.113741.1337.6',
  /** TCG DICE tagged evidence (conceptual message wrapper). */
  tcgDiceTaggedEvidence: '2.23.133.5.4.9',
  /** Open Enclave "new" quote OID, used by EGo/MarbleRun. */
  oeNewQuote: '1.3.6.1.4.1.311.105.1',
  /** Open Enclave's older quote OID; same payload. */
  oeQuote: '1.2.840.113556.10.1.1',
} as const;

/** CBOR tag of Gramine's TCG DICE evidence: "TEE quote" (IANA CBOR tags registry). */
export const DICE_TEE_QUOTE_CBOR_TAG = 60000n;
/** Hash algorithm IDs of the IANA Named Information registry that Gramine's claims use. */
export const NAMED_INFO_HASH = { sha256: 1, sha384: 7, sha512: 8 } as const;
const HASH_BY_ID: Readonly<Record<number, { name: string; size: number }>> = {
  1: { name: 'sha256', size: 32 },
  7: { name: 'sha384', size: 48 },
  8: { name: 'sha512', size: 64 },
};

/** Open Enclave report header: version 1, report type 2 (SGX remote). */
export const OE_REPORT_HEADER_SIZE = 16;
export const OE_REPORT_HEADER_VERSION = 1;
export const OE_REPORT_TYPE_SGX_REMOTE = 2;

/** Extension OIDs of each format, in the order they are looked for. */
export const FORMAT_OIDS: Readonly<Record<RatlsFormat, readonly string[]>> = {
  'gramine-dice': [RATLS_OIDS.tcgDiceTaggedEvidence],
  gramine: [RATLS_OIDS.gramineLegacy, RATLS_OIDS.gramineLegacyIntended],
  ego: [RATLS_OIDS.oeNewQuote, RATLS_OIDS.oeQuote],
};

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

/** The Open Enclave form of a public key for hashing: PEM "PUBLIC KEY" with a terminating NUL. */
export function oePublicKeyPem(spki: Uint8Array): Uint8Array {
  const b64 = Buffer.from(spki).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  const pem = `-----BEGIN PUBLIC KEY-----\n${lines.join('\n')}\n-----END PUBLIC KEY-----\n`;
  const out = new Uint8Array(pem.length + 1);
  out.set(Buffer.from(pem, 'latin1'));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Writing

/** Gramine claims map bytes binding `spki` with SHA-256. */
export function diceClaims(spki: Uint8Array): Uint8Array {
  const hashEntry = encodeCbor(cbor.array(cbor.uint(NAMED_INFO_HASH.sha256), cbor.bytes(sha256(spki))));
  return encodeCbor(cbor.map([cbor.text('pubkey-hash'), cbor.bytes(hashEntry)]));
}

/** The 64-byte REPORTDATA a quote must carry for `format` and `spki`. */
export function reportDataFor(format: RatlsFormat, spki: Uint8Array): Uint8Array {
  const out = new Uint8Array(64);
  out.set(format === 'gramine-dice' ? sha256(diceClaims(spki)) : sha256(spki));
  return out;
}

/** The extension value carrying `quote` for `format` (the quote must bind `spki` as `reportDataFor`). */
export function extensionValue(format: RatlsFormat, quote: Uint8Array, spki: Uint8Array): Uint8Array {
  if (format === 'gramine') return quote;
  if (format === 'gramine-dice')
    return encodeCbor(
      cbor.tag(DICE_TEE_QUOTE_CBOR_TAG, cbor.array(cbor.bytes(quote), cbor.bytes(diceClaims(spki)))),
    );
  const out = new Uint8Array(OE_REPORT_HEADER_SIZE + quote.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, OE_REPORT_HEADER_VERSION, true);
  view.setUint32(4, OE_REPORT_TYPE_SGX_REMOTE, true);
  view.setBigUint64(8, BigInt(quote.length), true);
  out.set(quote, OE_REPORT_HEADER_SIZE);
  return out;
}

/** The OID `create` writes for `format`. */
export function extensionOid(format: RatlsFormat): string {
  const oid = FORMAT_OIDS[format][0];
  if (oid === undefined) throw new Error(`no OID for ${format}`);
  return oid;
}

// ---------------------------------------------------------------------------------------------
// Reading

/** How a format binds the certificate key into the quote. */
export type KeyBinding =
  | { readonly kind: 'spki-sha256' }
  | {
      readonly kind: 'dice-claims';
      /** The serialized claims map; REPORTDATA[0..32] must be its SHA-256. */
      readonly claims: Uint8Array;
      readonly hashAlgorithm: 'sha256' | 'sha384' | 'sha512';
      /** The pubkey-hash claim's value. */
      readonly keyHash: Uint8Array;
    }
  | { readonly kind: 'oe-report' };

/** What an RA-TLS extension carries, before any check. */
export interface ExtensionPayload {
  readonly quote: Uint8Array;
  readonly binding: KeyBinding;
}

function payloadError(oid: string, message: string, details: Record<string, unknown> = {}): RatlsFormatError {
  return new RatlsFormatError('ERR_RATLS_EXTENSION_PAYLOAD', `extension ${oid}: ${message}`, {
    details: { oid, ...details },
  });
}

function textKey(item: CborItem): string | undefined {
  return item.type === 'text' ? item.value : undefined;
}

function decodeDice(value: Uint8Array, oid: string): ExtensionPayload {
  const top = decodeCbor(value, `extension ${oid}`);
  if (top.type !== 'tag' || top.tag !== DICE_TEE_QUOTE_CBOR_TAG)
    throw payloadError(
      oid,
      `expected CBOR tag ${DICE_TEE_QUOTE_CBOR_TAG} (TEE quote), got ${top.type === 'tag' ? `tag ${top.tag}` : top.type}`,
      {
        field: 'tag',
      },
    );
  const arr = top.item;
  if (arr.type !== 'array' || arr.items.length !== 2)
    throw payloadError(oid, 'tagged item must be an array of two byte strings [quote, claims]', {
      field: 'evidence',
    });
  const [quote, claims] = arr.items;
  if (quote?.type !== 'bytes' || quote.value.length === 0)
    throw payloadError(oid, 'evidence[0] (quote) must be a non-empty byte string', { field: 'quote' });
  if (claims?.type !== 'bytes' || claims.value.length === 0)
    throw payloadError(oid, 'evidence[1] (claims) must be a non-empty byte string', { field: 'claims' });
  const map = decodeCbor(claims.value, `extension ${oid} claims`);
  if (map.type !== 'map' || map.entries.length === 0)
    throw payloadError(oid, 'claims must be a non-empty CBOR map', { field: 'claims' });
  let entry: Uint8Array | undefined;
  for (const [k, v] of map.entries) {
    const key = textKey(k);
    if (key === undefined || key === '')
      throw payloadError(oid, 'claim keys must be non-empty text strings', { field: 'claims' });
    if (key === 'pubkey-hash') {
      if (v.type !== 'bytes' || v.value.length === 0)
        throw payloadError(oid, 'claim "pubkey-hash" must be a non-empty byte string', {
          field: 'pubkey-hash',
        });
      if (entry !== undefined)
        throw payloadError(oid, 'claim "pubkey-hash" appears twice', { field: 'pubkey-hash' });
      entry = v.value;
    }
  }
  if (entry === undefined) throw payloadError(oid, 'claims have no "pubkey-hash"', { field: 'pubkey-hash' });
  const hashEntry = decodeCbor(entry, `extension ${oid} pubkey-hash`);
  if (hashEntry.type !== 'array' || hashEntry.items.length !== 2)
    throw payloadError(oid, 'pubkey-hash must be [hash-alg-id, hash-value]', { field: 'pubkey-hash' });
  const [alg, hash] = hashEntry.items;
  if (alg?.type !== 'uint')
    throw payloadError(oid, 'hash-alg-id must be an unsigned integer', { field: 'pubkey-hash' });
  const known = alg.value <= 255n ? HASH_BY_ID[Number(alg.value)] : undefined;
  if (known === undefined)
    throw payloadError(oid, `hash-alg-id ${alg.value} is not SHA-256 (1), SHA-384 (7) or SHA-512 (8)`, {
      field: 'pubkey-hash',
    });
  if (hash?.type !== 'bytes' || hash.value.length !== known.size)
    throw payloadError(oid, `hash-value must be a ${known.size}-byte string for ${known.name}`, {
      field: 'pubkey-hash',
    });
  return {
    quote: quote.value,
    binding: {
      kind: 'dice-claims',
      claims: claims.value,
      hashAlgorithm: known.name as 'sha256' | 'sha384' | 'sha512',
      keyHash: hash.value,
    },
  };
}

function decodeOeReport(value: Uint8Array, oid: string): ExtensionPayload {
  if (value.length < OE_REPORT_HEADER_SIZE)
    throw payloadError(
      oid,
      `Open Enclave report of ${value.length} bytes is shorter than its 16-byte header`,
      {
        field: 'header',
      },
    );
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
  const version = view.getUint32(0, true);
  const type = view.getUint32(4, true);
  const size = view.getBigUint64(8, true);
  if (version !== OE_REPORT_HEADER_VERSION)
    throw payloadError(oid, `report header version ${version} at byte 0 (expected 1)`, {
      field: 'version',
      offset: 0,
    });
  if (type !== OE_REPORT_TYPE_SGX_REMOTE)
    throw payloadError(oid, `report type ${type} at byte 4 is not 2 (SGX remote report)`, {
      field: 'reportType',
      offset: 4,
    });
  if (size !== BigInt(value.length - OE_REPORT_HEADER_SIZE))
    throw payloadError(
      oid,
      `report size ${size} at byte 8 does not match the ${value.length - OE_REPORT_HEADER_SIZE} bytes that follow the header`,
      {
        field: 'reportSize',
        offset: 8,
      },
    );
  return { quote: value.subarray(OE_REPORT_HEADER_SIZE), binding: { kind: 'oe-report' } };
}

/**
 * Decodes the value of an RA-TLS extension of `format`.
 * @throws RatlsFormatError `ERR_RATLS_EXTENSION_PAYLOAD`.
 */
export function decodeExtensionValue(format: RatlsFormat, oid: string, value: Uint8Array): ExtensionPayload {
  if (format === 'gramine-dice') return decodeDice(value, oid);
  if (format === 'ego') return decodeOeReport(value, oid);
  if (value.length === 0) throw payloadError(oid, 'empty quote', { field: 'quote' });
  return { quote: value, binding: { kind: 'spki-sha256' } };
}

/** The hash of `spki` with a named algorithm. */
export function hashSpki(spki: Uint8Array, algorithm: 'sha256' | 'sha384' | 'sha512'): Uint8Array {
  return new Uint8Array(createHash(algorithm).update(spki).digest());
}
