/**
 * The one place where a PCS/PCCS base URL is read (`--collateral https://…`, `--pccs-url`, the
 * deployment values). Users write it in several usual forms; all of them name the same service:
 *
 * | form                                           | example                                                |
 * |------------------------------------------------|--------------------------------------------------------|
 * | scheme and host (and port) only                | `https://api.trustedservices.intel.com`                |
 * | the SGX API v4 prefix                          | `https://pccs.local:8081/sgx/certification/v4`         |
 * | the TDX API v4 prefix                          | `https://api.trustedservices.intel.com/tdx/certification/v4` |
 *
 * each with or without trailing slashes. {@link normalizePcsBaseUrl} turns every form into the
 * service root (scheme, host and port, no path), from which the client builds both
 * `/sgx/certification/v4/…` and `/tdx/certification/v4/…`, so a prefix is never appended twice.
 * Anything else — another path (`/pccs`, `/sgx/certification/v3`, a doubled prefix), a query or
 * fragment, credentials in the URL, a scheme other than http(s) — is refused with
 * `ERR_PCS_BASE_URL` naming the URL, rather than guessed at.
 *
 * Where the Root CA CRL comes from depends on which API the base serves ({@link CollateralApi}):
 * Intel's PCS does not serve `/sgx/certification/v4/rootcacrl` (Intel publishes that CRL at the
 * CRL distribution point named in its root certificate), a PCCS does. `auto` picks `pcs` for
 * Intel's host `api.trustedservices.intel.com` and `pccs` for every other host.
 */
import { PcsError } from './pcs-errors.ts';

/** Host of Intel's Provisioning Certification Service. */
export const INTEL_PCS_HOST = 'api.trustedservices.intel.com';

/** Intel's PCS API v4 (SGX prefix), the default of `quote verify --pccs-url`. */
export const INTEL_PCS_BASE_URL = `https://${INTEL_PCS_HOST}/sgx/certification/v4`;

/** The two API flavours a base URL can serve. */
export type CollateralApi = 'pcs' | 'pccs';

/** What a user may ask for: one of the flavours, or `auto` (by host, see {@link resolveCollateralApi}). */
export type CollateralApiChoice = CollateralApi | 'auto';

/** A normalised PCS/PCCS base URL. */
export interface PcsBaseUrl {
  /** The URL as given. */
  readonly input: string;
  /** `scheme://host[:port]`, no path and no trailing slash. */
  readonly root: string;
  /** `<root>/sgx/certification/v4` */
  readonly sgx: string;
  /** `<root>/tdx/certification/v4` */
  readonly tdx: string;
  /** Host name, lower case. */
  readonly hostname: string;
}

const API_PREFIX = /^\/(sgx|tdx)\/certification\/v4$/;

function invalid(input: string, reason: string): PcsError {
  return new PcsError('ERR_PCS_BASE_URL', `PCS/PCCS base URL ${input}: ${reason}`, { url: input, reason });
}

/**
 * Normalises a PCS/PCCS base URL given in any of the usual forms (see the module comment).
 *
 * @example
 * normalizePcsBaseUrl('https://pccs:8081/sgx/certification/v4/').sgx
 * // 'https://pccs:8081/sgx/certification/v4'
 * @throws PcsError `ERR_PCS_BASE_URL` for any other form.
 */
export function normalizePcsBaseUrl(input: string): PcsBaseUrl {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw invalid(
      input,
      'not an absolute URL (expected e.g. https://pccs.example:8081/sgx/certification/v4)',
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw invalid(input, `scheme ${url.protocol} is not http or https`);
  if (url.username !== '' || url.password !== '')
    throw invalid(input, 'credentials in the URL are not accepted');
  if (url.search !== '' || url.hash !== '' || /[?#]/.test(input))
    throw invalid(input, 'a base URL has no query or fragment');
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && !API_PREFIX.test(path)) {
    const hint = /^\/(sgx|tdx)\/certification\/v[0-9]+$/.test(path)
      ? `path ${path} is not API v4; use /sgx/certification/v4 (or the host alone)`
      : `path ${path} is not a PCS/PCCS API prefix; give the host alone or /sgx/certification/v4 or /tdx/certification/v4`;
    throw invalid(input, hint);
  }
  const root = url.origin;
  return {
    input,
    root,
    sgx: `${root}/sgx/certification/v4`,
    tdx: `${root}/tdx/certification/v4`,
    hostname: url.hostname.toLowerCase(),
  };
}

/** Reads `--collateral-api`: `auto`, `pcs` or `pccs`. */
export function parseCollateralApiChoice(text: string): CollateralApiChoice {
  if (text === 'auto' || text === 'pcs' || text === 'pccs') return text;
  throw new PcsError('ERR_PCS_BASE_URL', `collateral API "${text}" is not one of auto, pcs, pccs`, {
    api: text,
  });
}

/**
 * Which API a base serves: the choice when it is `pcs` or `pccs`; for `auto`, `pcs` when the host is
 * Intel's PCS ({@link INTEL_PCS_HOST}) and `pccs` otherwise (a PCCS, a cloud cache, `sim pcs`).
 */
export function resolveCollateralApi(base: PcsBaseUrl, choice: CollateralApiChoice = 'auto'): CollateralApi {
  if (choice !== 'auto') return choice;
  return base.hostname === INTEL_PCS_HOST ? 'pcs' : 'pccs';
}
