/**
 * What collateral a quote needs: its FMSPC and PCK CA (from the SGX extensions and the issuer of
 * the PCK certificate in the quote's certification data, type 5 — also when wrapped in type 6),
 * and whether it is an SGX or a TDX quote (which TCB Info and QE Identity apply).
 */
import {
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  decodeQuote,
  parseCertificate,
  pckExtensionsOf,
  pemCertificates,
  type Quote,
} from '../core/index.ts';
import type { PcsTee } from './pcs-client.ts';
import { PcsError } from './pcs-errors.ts';

/** The collateral a quote needs. */
export interface QuoteCollateralRequest {
  /** FMSPC, upper-case hex (as PCS expects it). */
  readonly fmspc: string;
  /** Which PCK CA issued the PCK certificate (selects the PCK CRL). */
  readonly ca: 'processor' | 'platform';
  /** `sgx` or `tdx`: which TCB Info and QE Identity. */
  readonly tee: PcsTee;
}

/**
 * Reads the collateral request of a quote.
 *
 * @throws PcsError `ERR_PCS_QUOTE` when the quote does not decode, is of another TEE type, carries
 *   no PCK certificate chain, or its PCK certificate lacks the SGX extensions.
 */
export function collateralRequestOfQuote(quoteBytes: Uint8Array): QuoteCollateralRequest {
  let quote: Quote;
  try {
    quote = decodeQuote(quoteBytes);
  } catch (cause) {
    throw new PcsError(
      'ERR_PCS_QUOTE',
      `the quote does not decode: ${cause instanceof Error ? cause.message : String(cause)}`,
      {},
      cause,
    );
  }
  const teeType = quote.header.teeType;
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX)
    throw new PcsError(
      'ERR_PCS_QUOTE',
      `the quote's TEE type 0x${teeType.toString(16)} is neither SGX nor TDX`,
      {
        teeType,
      },
    );
  const pem = quote.certification.pckChainPem?.join('\n');
  if (pem === undefined)
    throw new PcsError(
      'ERR_PCS_QUOTE',
      `quote certification data type ${quote.certification.type} carries no PCK certificate chain (type 5 is needed to know which collateral to fetch)`,
      { certificationDataType: quote.certification.type },
    );
  try {
    const certs = pemCertificates(pem).map((der) => parseCertificate(der));
    const pck = certs.find((c) => c.extensions.has('1.2.840.113741.1.13.1'));
    if (pck === undefined) throw new Error('no certificate in the chain has the SGX extensions');
    return {
      fmspc: pckExtensionsOf(pck).fmspcHex.toUpperCase(),
      ca: /platform/i.test(pck.issuerCn) ? 'platform' : 'processor',
      tee: teeType === TEE_TYPE_TDX ? 'tdx' : 'sgx',
    };
  } catch (cause) {
    throw new PcsError(
      'ERR_PCS_QUOTE',
      `the quote's PCK certificate chain does not name an FMSPC: ${cause instanceof Error ? cause.message : String(cause)}`,
      {},
      cause,
    );
  }
}
