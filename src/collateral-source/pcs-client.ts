/**
 * Client of Intel's PCS and of PCCS (API v4, spec/dcap.md §6): TCB Info and QE Identity (SGX or
 * TDX), PCK CRL and Root CA CRL, with the issuer chains from the response headers (URL-encoded PEM;
 * both the v4 and the v3 header spellings). Per-request timeout and retries with backoff (network
 * errors, timeouts, 429 and 5xx are retried; other 4xx are not).
 *
 * The base URL may be given in any of the forms {@link normalizePcsBaseUrl} accepts; the client
 * builds every path from the normalised root, so `…/sgx/certification/v4/` given by a user is not
 * appended twice.
 *
 * Root CA CRL, in this order:
 * 1. `rootCaCrlUrl` when given (`--root-ca-crl-url`);
 * 2. API `pccs`: `<root>/sgx/certification/v4/rootcacrl` (a PCCS route; the body is hex or DER);
 * 3. API `pcs` (Intel): the CRL distribution point of the root certificate in the PCK CRL issuer
 *    chain that Intel sent (for the production root,
 *    `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`). Intel's PCS has no
 *    `/rootcacrl` route.
 * The API is chosen by `api` (`auto` by default: `pcs` for Intel's host, `pccs` otherwise).
 */
import {
  crlDer,
  crlDistributionPointUris,
  parseCertificate,
  pemCertificates,
  type ParsedCert,
  type RawCollateral,
} from '../core/index.ts';
import {
  normalizePcsBaseUrl,
  resolveCollateralApi,
  type CollateralApi,
  type CollateralApiChoice,
  type PcsBaseUrl,
} from './base-url.ts';
import { PcsError } from './pcs-errors.ts';

/** Which certification API a document comes from. */
export type PcsTee = 'sgx' | 'tdx';

/** One HTTP exchange of the client, reported through {@link PcsClientOptions.onFetch}. */
export interface PcsFetchEvent {
  readonly url: string;
  /** HTTP status, or undefined when no response came (network error, timeout). */
  readonly status: number | undefined;
  /** The `Request-ID` response header (Intel's id for support requests), when present. */
  readonly requestId: string | undefined;
  /** 0 for the first attempt, then 1, 2 … for retries. */
  readonly attempt: number;
  /** The error code when the exchange failed. */
  readonly error?: string;
}

/** Options of {@link PcsClient}. */
export interface PcsClientOptions {
  /**
   * Base URL in any accepted form: `https://api.trustedservices.intel.com`,
   * `https://pccs.local:8081/sgx/certification/v4/`, `…/tdx/certification/v4` (see base-url.ts).
   */
  readonly baseUrl: string;
  /** `pcs` (Intel), `pccs` (a caching service) or `auto` (default: by host). Decides the Root CA CRL source. */
  readonly api?: CollateralApiChoice;
  /** Per-request timeout in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  readonly retries?: number;
  /** First backoff delay in milliseconds, doubled per retry (default 200). */
  readonly retryDelayMs?: number;
  /** Fixed Root CA CRL URL (http or https), overriding both the PCCS route and the CRL distribution point. */
  readonly rootCaCrlUrl?: string;
  /** Injected fetch (tests); default the global one. */
  readonly fetch?: typeof fetch;
  /** Called after every HTTP exchange (progress output, logs). */
  readonly onFetch?: (event: PcsFetchEvent) => void;
}

/** A fetched signed document or CRL with its issuer chain. */
export interface PcsItem<T> {
  readonly body: T;
  readonly issuerChain: string;
}

const HEADERS = {
  tcbInfo: ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'],
  qeIdentity: ['SGX-Enclave-Identity-Issuer-Chain', 'Enclave-Identity-Issuer-Chain'],
  pckCrl: ['SGX-PCK-CRL-Issuer-Chain'],
} as const;

const CRL_DISTRIBUTION_POINTS_OID = '2.5.29.31';

// The backoff timer keeps the process alive on purpose: a one-shot command (`quote verify
// --pccs-url`) waiting between retries has nothing else pending, and an unref'd timer would let
// Node exit mid-fetch with status 0 and no verdict.
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/**
 * Largest PCS/PCCS answer read (8 MiB). Intel's largest documents (PCK CRLs, TCB info with many
 * levels) are tens of kilobytes; a longer answer is refused as it arrives, never buffered whole.
 */
export const MAX_PCS_RESPONSE_BYTES = 8 * 1024 * 1024;

/**
 * The body of `res`, refused with `ERR_PCS_RESPONSE` once it is (or declares itself) longer than
 * `max` bytes. Stream errors, including the request's timeout firing mid-body, are thrown as they are.
 */
async function readBody(res: Response, max: number, url: string, path: string): Promise<Buffer> {
  const tooLarge = (): PcsError =>
    new PcsError('ERR_PCS_RESPONSE', `PCS request GET ${url}: the answer is larger than ${max} bytes`, {
      url,
      path,
      maxBytes: max,
    });
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  if (res.body === null) return Buffer.alloc(0);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function header(headers: Headers, name: string): string | undefined {
  const v = headers.get(name);
  return v === null || v === '' ? undefined : v;
}

/** The http(s) URIs in a certificate's CRL Distribution Points extension (empty when it has none). */
export function crlDistributionPointUrls(cert: ParsedCert): string[] {
  const ext = cert.extensions.get(CRL_DISTRIBUTION_POINTS_OID);
  if (ext === undefined) return [];
  return crlDistributionPointUris(ext).filter((uri) => /^https?:\/\//i.test(uri));
}

/**
 * The Root CA CRL URL named by an issuer chain: the CRL distribution point of its self-issued
 * (root) certificate, https preferred.
 *
 * @throws PcsError `ERR_PCS_RESPONSE` when the chain is not PEM certificates,
 *   `ERR_PCS_ROOT_CA_CRL_URL` when it has no root certificate or the root names no http(s) CRL
 *   distribution point.
 */
export function rootCaCrlUrlOfChain(issuerChainPem: string, what = 'issuer chain'): string {
  let certs: ParsedCert[];
  try {
    certs = pemCertificates(issuerChainPem).map((der) => parseCertificate(der));
  } catch (cause) {
    throw new PcsError('ERR_PCS_RESPONSE', `${what}: not PEM certificates`, { what }, cause);
  }
  const root = certs.find((c) => c.selfIssued);
  if (root === undefined)
    throw new PcsError(
      'ERR_PCS_ROOT_CA_CRL_URL',
      `${what} has no root certificate, so it names no Root CA CRL distribution point (set --root-ca-crl-url)`,
      { what },
    );
  let urls: string[];
  try {
    urls = crlDistributionPointUrls(root);
  } catch (cause) {
    throw new PcsError(
      'ERR_PCS_RESPONSE',
      `${what}: malformed CRL distribution points in ${root.subjectCn}`,
      { what },
      cause,
    );
  }
  const url = urls.find((u) => /^https:/i.test(u)) ?? urls[0];
  if (url === undefined)
    throw new PcsError(
      'ERR_PCS_ROOT_CA_CRL_URL',
      `root certificate ${root.subjectCn} in the ${what} names no http(s) CRL distribution point (set --root-ca-crl-url)`,
      { what, root: root.subjectText },
    );
  return url;
}

export class PcsClient {
  readonly #o: PcsClientOptions;
  readonly #fetch: typeof fetch;
  /** The normalised base URL. */
  readonly base: PcsBaseUrl;
  /** The API this client speaks (`auto` resolved). */
  readonly api: CollateralApi;

  /** @throws PcsError `ERR_PCS_BASE_URL` for a base URL (or `rootCaCrlUrl`) in no accepted form. */
  constructor(options: PcsClientOptions) {
    this.base = normalizePcsBaseUrl(options.baseUrl);
    this.api = resolveCollateralApi(this.base, options.api ?? 'auto');
    if (options.rootCaCrlUrl !== undefined && !/^https?:\/\/[^/?#]+/i.test(options.rootCaCrlUrl)) {
      throw new PcsError(
        'ERR_PCS_BASE_URL',
        `Root CA CRL URL ${options.rootCaCrlUrl} is not an http(s) URL`,
        {
          url: options.rootCaCrlUrl,
        },
      );
    }
    this.#o = options;
    this.#fetch = options.fetch ?? fetch;
  }

  async #get(url: string, path: string): Promise<{ body: Buffer; headers: Headers }> {
    const retries = this.#o.retries ?? 2;
    let delay = this.#o.retryDelayMs ?? 200;
    let last: PcsError | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        await sleep(delay);
        delay *= 2;
      }
      let res: Response;
      try {
        res = await this.#fetch(url, { signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000) });
      } catch (cause) {
        const timedOut =
          cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
        last = timedOut
          ? new PcsError('ERR_PCS_TIMEOUT', `PCS request GET ${url} timed out`, { url, path }, cause)
          : new PcsError(
              'ERR_PCS_UNREACHABLE',
              `PCS request GET ${url} failed: cannot connect`,
              { url, path },
              cause,
            );
        this.#o.onFetch?.({ url, status: undefined, requestId: undefined, attempt, error: last.code });
        continue;
      }
      let body: Buffer;
      try {
        body = await readBody(res, MAX_PCS_RESPONSE_BYTES, url, path);
      } catch (cause) {
        if (cause instanceof PcsError) throw cause; // too large: asking again gets the same
        const timedOut =
          cause instanceof Error && (cause.name === 'TimeoutError' || cause.name === 'AbortError');
        last = timedOut
          ? new PcsError(
              'ERR_PCS_TIMEOUT',
              `PCS request GET ${url} timed out while its answer was read`,
              { url, path },
              cause,
            )
          : new PcsError(
              'ERR_PCS_UNREACHABLE',
              `PCS request GET ${url} failed: the connection was lost while its answer was read`,
              { url, path },
              cause,
            );
        this.#o.onFetch?.({ url, status: res.status, requestId: undefined, attempt, error: last.code });
        continue;
      }
      const requestId = header(res.headers, 'Request-ID');
      if (res.ok) {
        this.#o.onFetch?.({ url, status: res.status, requestId, attempt });
        return { body, headers: res.headers };
      }
      const pcsError = header(res.headers, 'Error-Code');
      const pcsErrorMessage = header(res.headers, 'Error-Message');
      last = new PcsError(
        'ERR_PCS_HTTP',
        `PCS request GET ${url} answered HTTP ${res.status}${pcsError === undefined ? '' : ` (${pcsError}${pcsErrorMessage === undefined ? '' : `: ${pcsErrorMessage}`})`}`,
        {
          url,
          path,
          status: res.status,
          ...(pcsError === undefined ? {} : { pcsError }),
          ...(pcsErrorMessage === undefined ? {} : { pcsErrorMessage }),
          ...(requestId === undefined ? {} : { requestId }),
        },
      );
      this.#o.onFetch?.({ url, status: res.status, requestId, attempt, error: last.code });
      if (res.status !== 429 && res.status < 500) break;
    }
    throw last ?? new PcsError('ERR_PCS_UNREACHABLE', `PCS request GET ${url} failed`, { url, path });
  }

  #chain(headers: Headers, names: readonly string[], url: string, path: string): string {
    for (const name of names) {
      const v = header(headers, name);
      if (v !== undefined) {
        try {
          return decodeURIComponent(v);
        } catch (cause) {
          throw new PcsError(
            'ERR_PCS_RESPONSE',
            `PCS ${url}: header ${name} is not URL-encoded PEM`,
            { url, path, header: name },
            cause,
          );
        }
      }
    }
    throw new PcsError('ERR_PCS_RESPONSE', `PCS ${url}: response lacks the ${names[0] ?? ''} header`, {
      url,
      path,
      header: names[0],
    });
  }

  #url(tee: PcsTee, path: string, query: Record<string, string> = {}): string {
    const q = new URLSearchParams(query).toString();
    return `${tee === 'tdx' ? this.base.tdx : this.base.sgx}${path}${q === '' ? '' : `?${q}`}`;
  }

  /** `GET /sgx|tdx/certification/v4/tcb?fmspc=…`: the exact TCB Info body text and its issuer chain. */
  async tcbInfo(fmspc: string, tee: PcsTee = 'sgx'): Promise<PcsItem<string>> {
    if (!/^[0-9a-fA-F]{12}$/.test(fmspc))
      throw new PcsError('ERR_PCS_RESPONSE', `fmspc ${fmspc} is not 6 bytes of hex`, { fmspc });
    const url = this.#url(tee, '/tcb', { fmspc: fmspc.toUpperCase() });
    const { body, headers } = await this.#get(url, '/tcb');
    return { body: body.toString('utf8'), issuerChain: this.#chain(headers, HEADERS.tcbInfo, url, '/tcb') };
  }

  /** `GET /sgx|tdx/certification/v4/qe/identity` (the TDX one is the TD_QE identity). */
  async qeIdentity(tee: PcsTee = 'sgx'): Promise<PcsItem<string>> {
    const url = this.#url(tee, '/qe/identity');
    const { body, headers } = await this.#get(url, '/qe/identity');
    return {
      body: body.toString('utf8'),
      issuerChain: this.#chain(headers, HEADERS.qeIdentity, url, '/qe/identity'),
    };
  }

  /** `GET /sgx/certification/v4/pckcrl?ca=…&encoding=der` (PEM and hex bodies are accepted too). */
  async pckCrl(ca: 'processor' | 'platform'): Promise<PcsItem<Uint8Array>> {
    const url = this.#url('sgx', '/pckcrl', { ca, encoding: 'der' });
    const { body, headers } = await this.#get(url, '/pckcrl');
    return {
      body: this.#crl(body, url, '/pckcrl'),
      issuerChain: this.#chain(headers, HEADERS.pckCrl, url, '/pckcrl'),
    };
  }

  /** True when the Root CA CRL URL comes from an issuer chain (API `pcs` without an override). */
  get rootCaCrlNeedsChain(): boolean {
    return this.#o.rootCaCrlUrl === undefined && this.api === 'pcs';
  }

  /**
   * Where the Root CA CRL is fetched from (see the module comment for the rule).
   *
   * @param issuerChain an issuer chain Intel sent (the PCK CRL's), needed for API `pcs`.
   */
  rootCaCrlUrl(issuerChain?: string): string {
    if (this.#o.rootCaCrlUrl !== undefined) return this.#o.rootCaCrlUrl;
    if (this.api === 'pccs') return this.#url('sgx', '/rootcacrl');
    if (issuerChain === undefined)
      throw new PcsError(
        'ERR_PCS_ROOT_CA_CRL_URL',
        `Intel PCS ${this.base.root} has no Root CA CRL route: the CRL distribution point of an issuer chain's root certificate is needed (or set --root-ca-crl-url)`,
        { url: this.base.root },
      );
    return rootCaCrlUrlOfChain(issuerChain, 'PCK CRL issuer chain');
  }

  /** The Root CA CRL (DER, PEM or hex body), from {@link rootCaCrlUrl}. */
  async rootCaCrl(issuerChain?: string): Promise<Uint8Array> {
    const url = this.rootCaCrlUrl(issuerChain);
    const { body } = await this.#get(url, '/rootcacrl');
    return this.#crl(body, url, '/rootcacrl');
  }

  #crl(body: Buffer, url: string, path: string): Uint8Array {
    try {
      return crlDer(new Uint8Array(body), path);
    } catch (cause) {
      throw new PcsError('ERR_PCS_RESPONSE', `PCS ${url}: body is not a CRL`, { url, path }, cause);
    }
  }

  /** Everything needed to verify quotes of one FMSPC / PCK CA / TEE, fetched in parallel where possible. */
  async collateral(fmspc: string, ca: 'processor' | 'platform', tee: PcsTee = 'sgx'): Promise<RawCollateral> {
    const pckPromise = this.pckCrl(ca);
    const rootPromise = this.rootCaCrlNeedsChain
      ? pckPromise.then((pck) => this.rootCaCrl(pck.issuerChain))
      : this.rootCaCrl();
    const [tcb, qe, pck, root] = await Promise.all([
      this.tcbInfo(fmspc, tee),
      this.qeIdentity(tee),
      pckPromise,
      rootPromise,
    ]);
    return {
      tcbInfo: tcb.body,
      tcbInfoIssuerChain: tcb.issuerChain,
      qeIdentity: qe.body,
      qeIdentityIssuerChain: qe.issuerChain,
      pckCrl: pck.body,
      pckCrlIssuerChain: pck.issuerChain,
      rootCaCrl: root,
    };
  }
}
