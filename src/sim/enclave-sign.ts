/**
 * Signs an enclave image: measures it and builds its SIGSTRUCT from the definition (attributes,
 * MISCSELECT, ISVPRODID, ISVSVN, KSS ids, masks, date).
 */
import type { KeyObject } from 'node:crypto';
import type { EnclaveImage } from './enclave-definition.ts';
import { measureEnclave } from './enclave-measure.ts';
import { signSigstruct } from './sigstruct-sign.ts';
import type { Sigstruct } from '../core/index.ts';

/** Measures `image` and signs its SIGSTRUCT with `key` (RSA-3072, e = 3). */
export function signEnclave(
  image: EnclaveImage,
  key: KeyObject | string | Uint8Array,
): { bytes: Uint8Array; sigstruct: Sigstruct; mrEnclave: Uint8Array; mrSigner: Uint8Array } {
  const def = image.definition;
  const { mrEnclave } = measureEnclave(image);
  const signed = signSigstruct(
    {
      enclaveHash: mrEnclave,
      attributes: def.attributes,
      attributeMask: def.signing.attributeMask,
      miscSelect: def.miscSelect,
      miscMask: def.signing.miscMask,
      isvProdId: def.isvProdId,
      isvSvn: def.isvSvn,
      ...(def.signing.date === undefined ? {} : { date: def.signing.date }),
      ...(def.kss ? { isvFamilyId: def.kss.isvFamilyId, isvExtProdId: def.kss.isvExtProdId } : {}),
    },
    key,
  );
  return { ...signed, mrEnclave };
}
