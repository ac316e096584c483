/**
 * Client of Intel's PCS and of PCCS (API v4, spec/dcap.md §6): TCB Info, QE Identity, PCK CRL and
 * Root CA CRL with their issuer chains from the response headers (URL-encoded PEM; both the v4 and
 * the v3 header spellings). Configurable base URL, per-request timeout and retries with backoff
 * (network errors, timeouts, 429 and 5xx are retried; other 4xx are not).
 */
import { crlDer, type RawCollateral } from '../core/index.ts';
import { PcsError } from './pcs-errors.ts';

/** Options of {@link PcsClient}. */
export interface PcsClientOptions {
  /** Base URL, e.g. `https://api.trustedservices.intel.com` or `https://pccs.local:8081`. */
  readonly baseUrl: string;
  /** Per-request timeout in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
  /** Retries after the first attempt (default 2). */
  readonly retries?: number;
  /** First backoff delay in milliseconds, doubled per retry (default 200). */
  readonly retryDelayMs?: number;
  /**
   * Where the Root CA CRL comes from (default `<base>/sgx/certification/v4/rootcacrl`, the PCCS
   * route; for Intel's PCS use `https://certificates.trustedservices.intel.com/IntelSGXRootCA.der`).
   */
  readonly rootCaCrlUrl?: string;
  /** Injected fetch (tests); default the global one. */
  readonly fetch?: typeof fetch;
}

/** A fetched signed document or CRL with its issuer chain. */
export interface PcsItem<T> {
  readonly body: T;
  readonly issuerChain: string;
}

const PREFIX = '/sgx/certification/v4';
const HEADERS = {
  tcbInfo: ['TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'],
  qeIdentity: ['SGX-Enclave-Identity-Issuer-Chain', 'Enclave-Identity-Issuer-Chain'],
  pckCrl: ['SGX-PCK-CRL-Issuer-Chain'],
} as const;

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms).unref();
  });

export class PcsClient {
  readonly #base: string;
  readonly #o: PcsClientOptions;
  readonly #fetch: typeof fetch;

  constructor(options: PcsClientOptions) {
    this.#base = options.baseUrl.replace(/\/+$/, '');
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
          ? new PcsError('ERR_PCS_TIMEOUT', `PCS request ${path} timed out`, { path }, cause)
          : new PcsError(
              'ERR_PCS_UNREACHABLE',
              `PCS request ${path} failed: cannot connect`,
              { path },
              cause,
            );
        continue;
      }
      const body = Buffer.from(await res.arrayBuffer());
      if (res.ok) return { body, headers: res.headers };
      last = new PcsError('ERR_PCS_HTTP', `PCS request ${path} answered HTTP ${res.status}`, {
        path,
        status: res.status,
        pcsError: res.headers.get('Error-Code') ?? undefined,
      });
      if (res.status !== 429 && res.status < 500) break;
    }
    throw last ?? new PcsError('ERR_PCS_UNREACHABLE', `PCS request ${path} failed`, { path });
  }

  #chain(headers: Headers, names: readonly string[], path: string): string {
    for (const name of names) {
      const v = headers.get(name);
      if (v !== null && v !== '') {
        try {
          return decodeURIComponent(v);
        } catch (cause) {
          throw new PcsError(
            'ERR_PCS_RESPONSE',
            `PCS ${path}: header ${name} is not URL-encoded PEM`,
            { path },
            cause,
          );
        }
      }
    }
    throw new PcsError('ERR_PCS_RESPONSE', `PCS ${path}: response lacks the ${names[0] ?? ''} header`, {
      path,
    });
  }

  #url(path: string, query: Record<string, string> = {}): string {
    const q = new URLSearchParams(query).toString();
    return `${this.#base}${PREFIX}${path}${q === '' ? '' : `?${q}`}`;
  }

  /** `GET /tcb?fmspc=…`: the exact TCB Info body text and its issuer chain. */
  async tcbInfo(fmspc: string): Promise<PcsItem<string>> {
    if (!/^[0-9a-fA-F]{12}$/.test(fmspc))
      throw new PcsError('ERR_PCS_RESPONSE', `fmspc ${fmspc} is not 6 bytes of hex`);
    const { body, headers } = await this.#get(this.#url('/tcb', { fmspc: fmspc.toUpperCase() }), '/tcb');
    return { body: body.toString('utf8'), issuerChain: this.#chain(headers, HEADERS.tcbInfo, '/tcb') };
  }

  /** `GET /qe/identity`. */
  async qeIdentity(): Promise<PcsItem<string>> {
    const { body, headers } = await this.#get(this.#url('/qe/identity'), '/qe/identity');
    return {
      body: body.toString('utf8'),
      issuerChain: this.#chain(headers, HEADERS.qeIdentity, '/qe/identity'),
    };
  }

  /** `GET /pckcrl?ca=…&encoding=der` (PEM and hex bodies are accepted too). */
  async pckCrl(ca: 'processor' | 'platform'): Promise<PcsItem<Uint8Array>> {
    const { body, headers } = await this.#get(this.#url('/pckcrl', { ca, encoding: 'der' }), '/pckcrl');
    return { body: this.#crl(body, '/pckcrl'), issuerChain: this.#chain(headers, HEADERS.pckCrl, '/pckcrl') };
  }

  /** The Root CA CRL (PCCS `/rootcacrl` by default; DER, PEM or hex). */
  async rootCaCrl(): Promise<Uint8Array> {
    const url = this.#o.rootCaCrlUrl ?? this.#url('/rootcacrl');
    const { body } = await this.#get(url, '/rootcacrl');
    return this.#crl(body, '/rootcacrl');
  }

  #crl(body: Buffer, path: string): Uint8Array {
    try {
      return crlDer(new Uint8Array(body), path);
    } catch (cause) {
      throw new PcsError('ERR_PCS_RESPONSE', `PCS ${path}: body is not a CRL`, { path }, cause);
    }
  }

  /** Everything needed to verify quotes of one FMSPC / PCK CA, fetched in parallel. */
  async collateral(fmspc: string, ca: 'processor' | 'platform'): Promise<RawCollateral> {
    const [tcb, qe, pck, root] = await Promise.all([
      this.tcbInfo(fmspc),
      this.qeIdentity(),
      this.pckCrl(ca),
      this.rootCaCrl(),
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
