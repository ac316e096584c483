/**
 * The typed interface of the tutorial's key-value enclave (kv.js): the ECALLs it exposes and the
 * OCALLs it makes (persist, and the two behind `ccnodes.getQuote()`), with their types and size
 * limits — declared once, checked on every crossing.
 */
import { defineEnclaveInterface, QUOTE_OCALLS, t } from 'ccnodes/enclave';

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
    /**
     * RA-TLS: makes a fresh P-256 TLS key inside the enclave and returns its SubjectPublicKeyInfo and
     * a quote of this enclave whose REPORTDATA is SHA-256(SPKI) ‖ 0³² (the `ego` format's binding).
     * `privateKey` (the 32-byte scalar) is handed out for the host's TLS stack: simulation only,
     * see docs/tutorial-enclave.md.
     */
    tlsKey: {
      args: [],
      result: t.struct({
        spki: t.bytes({ length: 91 }),
        quote: t.bytes({ max: 65536 }),
        privateKey: t.bytes({ length: 32 }),
      }),
    },
  },
  ocalls: {
    /** The sealed store, for the host to keep (it cannot read it). */
    persist: { args: [t.bytes({ max: MAX_SEALED_BYTES })], result: t.void() },
    /** `ccnodes.getQuote()` in tlsKey: the host's quoting enclave (quote helper or simulated QE). */
    ...QUOTE_OCALLS,
  },
});
