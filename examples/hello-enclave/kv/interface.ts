/**
 * The typed interface of the tutorial's key-value enclave (kv.js): the ECALLs it exposes and the one
 * OCALL it makes, with their types and size limits — declared once, checked on every crossing.
 */
import { defineEnclaveInterface, t } from 'ccnodes/enclave';

export const MAX_KEY_BYTES = 64;
export const MAX_VALUE_BYTES = 4096;
export const MAX_KEYS = 256;
/** A sealed store: every value and key, hex in JSON, plus the 560-byte sealed-blob header. */
export const MAX_SEALED_BYTES = 4 * 1024 * 1024;

export const KV_INTERFACE = defineEnclaveInterface({
  ecalls: {
    /** Opens the store from the last sealed blob (or empty with null); returns the number of keys. */
    open: { args: [t.optional(t.bytes({ max: MAX_SEALED_BYTES }))], result: t.u32() },
    /** Sets a key; the enclave seals the store and hands it to the host (persist) before returning. */
    put: { args: [t.string({ max: MAX_KEY_BYTES }), t.bytes({ max: MAX_VALUE_BYTES })], result: t.void() },
    get: { args: [t.string({ max: MAX_KEY_BYTES })], result: t.optional(t.bytes({ max: MAX_VALUE_BYTES })) },
    keys: { args: [], result: t.array(t.string({ max: MAX_KEY_BYTES }), { max: MAX_KEYS }) },
  },
  ocalls: {
    /** The sealed store, for the host to keep (it cannot read it). */
    persist: { args: [t.bytes({ max: MAX_SEALED_BYTES })], result: t.void() },
  },
});
