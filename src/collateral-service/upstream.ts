/**
 * The collateral service's client of its upstream (Intel's PCS, another PCCS, or `ccnodes sim pcs`).
 * Unlike the verifier's `PcsClient`, it keeps every response exactly as received — body bytes and
 * the headers that go with the artefact — so that the service can serve them on unchanged. Paths
 * are built from the normalised base URL (any of the forms `normalizePcsBaseUrl` accepts); the Root
 * CA CRL location follows the same rule as the verifier's client (PCCS route, or the CRL
 * distribution point of Intel's root certificate, or `--root-ca-crl-url`). The Intel API key is
 * sent as `Ocp-Apim-Subscription-Key` on the PCK certificate routes only.
 */
import { PcsClient, type CollateralApiChoice } from '../collateral-source/index.ts';
import { CHAIN_HEADER, H, KEPT_HEADERS, describeSpec, type ArtefactSpec } from './artefacts.ts';
import { CollateralNotFoundError, CollateralUpstreamError } from './errors.ts';

/** Options of {@link Upstream}. */
export interface UpstreamOptions {
  readonly baseUrl: string;
  readonly api?: CollateralApiChoice;
  readonly rootCaCrlUrl?: string;
  /** Intel PCS subscription key (PCK certificate routes only). */
  readonly apiKey?: string;
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  /** Largest answer body read (default {@link MAX_UPSTREAM_BODY_BYTES}); a longer one is refused. */
  readonly maxBodyBytes?: number;
  readonly fetch?: typeof fetch;
}

/** Default bound on an upstream answer: Intel's largest artefacts (CRLs, pckcerts lists) are far smaller. */
export const MAX_UPSTREAM_BODY_BYTES = 8 * 1024 * 1024;

/** Reads a body up to `max` bytes; `undefined` when it is longer (the rest is not read). */
async function readBounded(res: Response, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > max) {
    void res.body?.cancel().catch(() => undefined); // not awaited: a tee'd body settles only with its twin
    return undefined;
  }
  if (res.body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      void reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return new Uint8Array(Buffer.concat(chunks));
}

/** One upstream answer, as received. */
export interface UpstreamResponse {
  readonly body: Uint8Array;
  /** Kept headers (canonical names), values as received. */
  readonly headers: Record<string, string>;
  readonly url: string;
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

export class Upstream {
  readonly #o: UpstreamOptions;
  readonly #pcs: PcsClient;
  readonly #fetch: typeof fetch;

  /** @throws PcsError `ERR_PCS_BASE_URL` for a base URL in no accepted form. */
  constructor(options: UpstreamOptions) {
    this.#o = options;
    this.#pcs = new PcsClient({
      baseUrl: options.baseUrl,
      ...(options.api === undefined ? {} : { api: options.api }),
      ...(options.rootCaCrlUrl === undefined ? {} : { rootCaCrlUrl: options.rootCaCrlUrl }),
    });
    this.#fetch = options.fetch ?? fetch;
  }

  /** The normalised service root. */
  get root(): string {
    return this.#pcs.base.root;
  }

  /** True when the Root CA CRL location comes from an issuer chain (Intel's PCS). */
  get rootCaCrlNeedsChain(): boolean {
    return this.#pcs.rootCaCrlNeedsChain;
  }

  /** The upstream URL of an artefact; `chain` is an issuer chain Intel sent (Root CA CRL on Intel's PCS). */
  urlOf(spec: ArtefactSpec, chain?: string): string {
    const base = spec.tee === 'tdx' ? this.#pcs.base.tdx : this.#pcs.base.sgx;
    const q = (params: Record<string, string | undefined>): string => {
      const s = new URLSearchParams(
        Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
      ).toString();
      return s === '' ? '' : `?${s}`;
    };
    const variant = (v: { name: string; value: string } | undefined): Record<string, string> =>
      v === undefined ? {} : { [v.name]: v.value };
    switch (spec.kind) {
      case 'tcb':
        return `${base}/tcb${q({ fmspc: spec.fmspc, ...variant(spec.variant) })}`;
      case 'qe':
        return `${base}/qe/identity${q(variant(spec.variant))}`;
      case 'qve':
        return `${base}/qve/identity${q(variant(spec.variant))}`;
      case 'pckcrl':
        return `${base}/pckcrl${q({ ca: spec.ca, encoding: 'der' })}`;
      case 'rootcacrl':
        return this.#pcs.rootCaCrlUrl(chain);
      case 'pckcerts':
        return `${base}/pckcerts${q({ encrypted_ppid: spec.encryptedPpid, pceid: spec.pceid })}`;
      case 'pckcert':
        return `${base}/pckcert${q({
          encrypted_ppid: spec.encryptedPpid,
          cpusvn: spec.cpusvn,
          pcesvn: spec.pcesvn,
          pceid: spec.pceid,
          qeid: spec.qeid,
        })}`;
    }
  }

  /**
   * Fetches one artefact. Network errors, timeouts, 429 and 5xx are retried.
   *
   * @throws CollateralNotFoundError when the upstream answers 404;
   *   CollateralUpstreamError for everything else that is not a 200 with the artefact's issuer chain header.
   */
  async fetch(spec: ArtefactSpec, chain?: string): Promise<UpstreamResponse> {
    const url = this.urlOf(spec, chain);
    const headers: Record<string, string> = {};
    if ((spec.kind === 'pckcert' || spec.kind === 'pckcerts') && this.#o.apiKey !== undefined)
      headers['Ocp-Apim-Subscription-Key'] = this.#o.apiKey;
    const retries = this.#o.retries ?? 2;
    let delay = this.#o.retryDelayMs ?? 200;
    let last: Error | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) {
        await sleep(delay);
        delay *= 2;
      }
      let res: Response;
      let body: Uint8Array | undefined;
      try {
        res = await this.#fetch(url, { headers, signal: AbortSignal.timeout(this.#o.timeoutMs ?? 10_000) });
        // The body is read under the same deadline; a connection that fails while it arrives is
        // as unreachable as one that fails before the headers.
        body = await readBounded(res, this.#o.maxBodyBytes ?? MAX_UPSTREAM_BODY_BYTES);
      } catch (cause) {
        last = new CollateralUpstreamError(
          `upstream GET ${url} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          { url, reason: 'unreachable' },
          cause,
        );
        continue;
      }
      if (body === undefined)
        throw new CollateralUpstreamError(
          `upstream ${url}: the answer is longer than ${this.#o.maxBodyBytes ?? MAX_UPSTREAM_BODY_BYTES} bytes`,
          { url, reason: 'response' },
        );
      const requestId = res.headers.get(H.requestId) ?? undefined;
      if (res.status === 404)
        throw new CollateralNotFoundError(`upstream has no ${describeSpec(spec)} (HTTP 404 from ${url})`, {
          url,
          ...(requestId === undefined ? {} : { requestId }),
        });
      if (res.status !== 200) {
        last = new CollateralUpstreamError(`upstream GET ${url} answered HTTP ${res.status}`, {
          url,
          status: res.status,
          reason: 'status',
          ...(requestId === undefined ? {} : { requestId }),
          ...(res.headers.get(H.errorCode) === null ? {} : { pcsError: res.headers.get(H.errorCode) }),
        });
        if (res.status === 429 || res.status >= 500) continue;
        break;
      }
      const kept: Record<string, string> = {};
      const chainNames = CHAIN_HEADER[spec.kind];
      const chainName = chainNames.find((n) => res.headers.get(n) !== null);
      if (chainNames.length > 0) {
        if (chainName === undefined)
          throw new CollateralUpstreamError(
            `upstream ${url}: the response lacks the ${chainNames[0] ?? ''} header`,
            {
              url,
              reason: 'response',
            },
          );
        kept[chainNames[0] as string] = res.headers.get(chainName) as string;
      }
      for (const name of KEPT_HEADERS[spec.kind]) {
        const v = res.headers.get(name);
        if (v !== null) kept[name] = v;
      }
      return { body, headers: kept, url };
    }
    throw last ?? new CollateralUpstreamError(`upstream GET ${url} failed`, { url, reason: 'unreachable' });
  }
}
