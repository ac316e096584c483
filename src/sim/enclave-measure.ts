/** MRENCLAVE of a whole enclave image: its page layout, measured. */
import type { EnclaveImage } from './enclave-definition.ts';
import { type EnclaveLayout, layoutEnclave } from './layout.ts';
import { measurePages } from './measure.ts';

/** Computes MRENCLAVE of an enclave image by laying it out ({@link layoutEnclave}) and measuring it. */
export function measureEnclave(
  image: EnclaveImage,
  options: { keepLog?: boolean } = {},
): {
  mrEnclave: Uint8Array;
  layout: EnclaveLayout;
  log?: Uint8Array;
} {
  const layout = layoutEnclave(image);
  const m = measurePages(
    { enclaveSize: layout.enclaveSize, ssaFrameSize: layout.ssaFrameSize, pages: layout.pages },
    options,
  );
  return m.log === undefined
    ? { mrEnclave: m.mrEnclave, layout }
    : { mrEnclave: m.mrEnclave, layout, log: m.log };
}
