/**
 * `sgx_att_key_id_ext_t` (256 bytes; spec k8s-sgx.md §5.3), little-endian, packed:
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 2 | id |
 * | 2 | 2 | version |
 * | 4 | 2 | mrsigner_length (32 or 48) |
 * | 6 | 48 | mrsigner |
 * | 54 | 4 | prod_id |
 * | 58 | 16 | extended_prod_id |
 * | 74 | 64 | config_id |
 * | 138 | 16 | family_id |
 * | 154 | 4 | algorithm_id (0/1 EPID, 2 ECDSA-P256, 3 ECDSA-P384) |
 * | 158 | 16 | spid |
 * | 174 | 2 | att_key_type |
 * | 176 | 80 | reserved |
 *
 * The first 158 bytes are `sgx_ql_att_key_id_t`, which names the quoting enclave and algorithm.
 */
import { ByteReader, ByteWriter } from '../../core/index.ts';
import { SGX_ATT_KEY_ID_SIZE, SGX_QL_ATT_KEY_ID_SIZE } from '../../contract/index.ts';

/** Attestation algorithm IDs. */
export const ATT_KEY_ALGORITHM = {
  EPID_UNLINKABLE: 0,
  EPID_LINKABLE: 1,
  ECDSA_P256: 2,
  ECDSA_P384: 3,
} as const;

export interface AttKeyId {
  readonly id: number;
  readonly version: number;
  /** The QE's MRSIGNER (the first `mrsigner_length` bytes of the 48-byte field). */
  readonly mrSigner: Uint8Array;
  readonly prodId: number;
  readonly extendedProdId: Uint8Array;
  readonly configId: Uint8Array;
  readonly familyId: Uint8Array;
  readonly algorithmId: number;
  readonly spid: Uint8Array;
  readonly attKeyType: number;
}

/** Encodes a 256-byte `sgx_att_key_id_ext_t`. */
export function encodeAttKeyId(key: AttKeyId): Uint8Array {
  if (key.mrSigner.length > 48) throw new RangeError('mrSigner is longer than 48 bytes');
  const w = new ByteWriter(SGX_ATT_KEY_ID_SIZE);
  w.u16(key.id, 'id').u16(key.version, 'version').u16(key.mrSigner.length, 'mrsigner_length');
  w.bytes(key.mrSigner).zeros(48 - key.mrSigner.length);
  w.u32(key.prodId, 'prod_id');
  w.bytes(key.extendedProdId, 16, 'extended_prod_id');
  w.bytes(key.configId, 64, 'config_id');
  w.bytes(key.familyId, 16, 'family_id');
  w.u32(key.algorithmId, 'algorithm_id');
  w.bytes(key.spid, 16, 'spid');
  w.u16(key.attKeyType, 'att_key_type');
  w.zeros(80);
  return w.finish();
}

/** Decodes an `sgx_ql_att_key_id_t` (158 bytes) or `sgx_att_key_id_ext_t` (256 bytes). */
export function decodeAttKeyId(bytes: Uint8Array, base = 0): AttKeyId {
  const r = new ByteReader(bytes, { base });
  const id = r.u16('att_key_id.id');
  const version = r.u16('att_key_id.version');
  const mrSignerLength = r.u16('att_key_id.mrsigner_length');
  const mrSignerField = r.bytesView(48, 'att_key_id.mrsigner');
  const prodId = r.u32('att_key_id.prod_id');
  const extendedProdId = r.bytesView(16, 'att_key_id.extended_prod_id');
  const configId = r.bytesView(64, 'att_key_id.config_id');
  const familyId = r.bytesView(16, 'att_key_id.family_id');
  const algorithmId = r.u32('att_key_id.algorithm_id');
  const ext = r.remaining > 0;
  const spid = ext ? r.bytesView(16, 'att_key_id.spid') : new Uint8Array(16);
  const attKeyType = ext ? r.u16('att_key_id.att_key_type') : 0;
  return {
    id,
    version,
    mrSigner: mrSignerField.subarray(0, Math.min(mrSignerLength, 48)),
    prodId,
    extendedProdId,
    configId,
    familyId,
    algorithmId,
    spid,
    attKeyType,
  };
}

/**
 * True when `candidate` (158 or more bytes) names the same quoting enclave and algorithm as `ours`:
 * the whole `sgx_ql_att_key_id_t` part is compared byte for byte.
 */
export function sameAttKeyId(candidate: Uint8Array, ours: Uint8Array): boolean {
  if (candidate.length < SGX_QL_ATT_KEY_ID_SIZE || ours.length < SGX_QL_ATT_KEY_ID_SIZE) return false;
  return Buffer.from(candidate.buffer, candidate.byteOffset, SGX_QL_ATT_KEY_ID_SIZE).equals(
    Buffer.from(ours.buffer, ours.byteOffset, SGX_QL_ATT_KEY_ID_SIZE),
  );
}

/**
 * Splits an attestation key ID list (SelectAttKeyID): header `id` u16, `version` u16,
 * `num_att_ids` u32, then `num_att_ids` entries of 256 (or 158) bytes each.
 */
export function decodeAttKeyIdList(bytes: Uint8Array): Uint8Array[] {
  const r = new ByteReader(bytes);
  r.u16('att_key_id_list.id');
  r.u16('att_key_id_list.version');
  const count = r.u32('att_key_id_list.num_att_ids');
  if (count === 0) return [];
  const entrySize = r.remaining / count;
  const size =
    entrySize >= SGX_ATT_KEY_ID_SIZE
      ? SGX_ATT_KEY_ID_SIZE
      : entrySize >= SGX_QL_ATT_KEY_ID_SIZE
        ? SGX_QL_ATT_KEY_ID_SIZE
        : SGX_ATT_KEY_ID_SIZE;
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) out.push(r.bytesView(size, `att_key_id_list.entry[${i}]`));
  return out;
}
