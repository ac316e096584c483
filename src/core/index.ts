/**
 * ccnodes core: SGX/DCAP binary formats, collateral, and quote verification. Pure: no I/O, no clock.
 */
export { ByteReader, ByteWriter } from './bytes.ts';
export { CORE_ERRORS, type CoreErrorCode, type FormatErrorCode, FormatError } from './errors.ts';
