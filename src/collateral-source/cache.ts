/**
 * Collateral cache: each item (TCB Info per FMSPC, QE Identity, PCK CRL per CA, Root CA CRL) is kept
 * until its own `nextUpdate` (optionally capped by `maxAgeMs`, to pick up new TCB evaluations
 * early), then fetched again. Concurrent misses for one item share one fetch. Assembled sets are
 * prepared once (`prepareCollateral`) and reused until one of their items is replaced.
 *
 * The cache lives in memory only (one per process): the attestation service keeps it for its
 * lifetime, a one-shot `quote verify --pccs-url` starts empty. Nothing is written to disk.
 */
import { parseCrl, prepareCollateral, type PreparedCollateral } from '../core/index.ts';
import type { PcsClient, PcsItem, PcsTee } from './pcs-client.ts';
import { PcsError } from './pcs-errors.ts';

/** Options of {@link CollateralCache}. */
export interface CollateralCacheOptions {
  readonly client: Pick<PcsClient, 'tcbInfo' | 'qeIdentity' | 'pckCrl' | 'rootCaCrl'> &
    Partial<Pick<PcsClient, 'rootCaCrlNeedsChain'>>;
  /** Refetch an item at the latest after this long, even before its nextUpdate (default 24 h). */
  readonly maxAgeMs?: number;
  readonly now?: () => Date;
}

interface Entry<T> {
  readonly value: T;
  readonly expiresAt: number;
  readonly generation: number;
}

function nextUpdateOfJson(text: string, member: string, path: string): Date {
  let v: unknown;
  try {
    v = (JSON.parse(text) as Record<string, Record<string, unknown> | undefined>)[member]?.['nextUpdate'];
  } catch (cause) {
    throw new PcsError('ERR_PCS_RESPONSE', `PCS ${path}: body is not JSON`, { path }, cause);
  }
  const d = typeof v === 'string' ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime()))
    throw new PcsError('ERR_PCS_RESPONSE', `PCS ${path}: ${member}.nextUpdate is missing`, { path });
  return d;
}

function nextUpdateOfCrl(der: Uint8Array, path: string): Date {
  const next = parseCrl(der, path).nextUpdate;
  if (next === undefined)
    throw new PcsError('ERR_PCS_RESPONSE', `PCS ${path}: CRL has no nextUpdate`, { path });
  return next;
}

export class CollateralCache {
  readonly #o: CollateralCacheOptions;
  readonly #items = new Map<string, Entry<unknown>>();
  readonly #inflight = new Map<string, Promise<Entry<unknown>>>();
  readonly #sets = new Map<string, { key: string; prepared: PreparedCollateral }>();
  #generation = 0;
  /** Fetch counts per item kind (for tests and metrics). */
  readonly fetches = new Map<string, number>();

  constructor(options: CollateralCacheOptions) {
    this.#o = options;
  }

  #now(): number {
    return (this.#o.now ?? (() => new Date()))().getTime();
  }

  async #item<T>(key: string, load: () => Promise<{ value: T; nextUpdate: Date }>): Promise<Entry<T>> {
    const hit = this.#items.get(key) as Entry<T> | undefined;
    if (hit !== undefined && hit.expiresAt > this.#now()) return hit;
    let pending = this.#inflight.get(key) as Promise<Entry<T>> | undefined;
    if (pending === undefined) {
      pending = (async () => {
        this.fetches.set(key.split(':')[0] ?? key, (this.fetches.get(key.split(':')[0] ?? key) ?? 0) + 1);
        const { value, nextUpdate } = await load();
        const cap = this.#now() + (this.#o.maxAgeMs ?? 24 * 3600_000);
        const entry: Entry<T> = {
          value,
          expiresAt: Math.min(nextUpdate.getTime(), cap),
          generation: ++this.#generation,
        };
        this.#items.set(key, entry);
        return entry;
      })().finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  /**
   * Prepared collateral for one FMSPC / PCK CA / TEE (`sgx` default; `tdx` reads the TDX TCB Info
   * and TD_QE identity), from cache where still valid. When the client needs an issuer chain to
   * locate the Root CA CRL (Intel PCS), the PCK CRL is fetched first and its chain used.
   */
  async get(fmspc: string, ca: 'processor' | 'platform', tee: PcsTee = 'sgx'): Promise<PreparedCollateral> {
    const f = fmspc.toUpperCase();
    const client = this.#o.client;
    const pckPromise = this.#item(`pckcrl:${ca}`, async () => {
      const item = await client.pckCrl(ca);
      return { value: item, nextUpdate: nextUpdateOfCrl(item.body, '/pckcrl') };
    });
    const [tcb, qe, pck, root] = await Promise.all([
      this.#item(`tcb:${tee}:${f}`, async () => {
        const item: PcsItem<string> = await client.tcbInfo(f, tee);
        return { value: item, nextUpdate: nextUpdateOfJson(item.body, 'tcbInfo', '/tcb') };
      }),
      this.#item(`qe:${tee}`, async () => {
        const item = await client.qeIdentity(tee);
        return { value: item, nextUpdate: nextUpdateOfJson(item.body, 'enclaveIdentity', '/qe/identity') };
      }),
      pckPromise,
      this.#item('rootcacrl:', async () => {
        const chain = client.rootCaCrlNeedsChain === true ? (await pckPromise).value.issuerChain : undefined;
        const der = await client.rootCaCrl(chain);
        return { value: der, nextUpdate: nextUpdateOfCrl(der, '/rootcacrl') };
      }),
    ]);
    const setKey = `${tee}/${f}/${ca}`;
    const generations = [tcb, qe, pck, root].map((e) => e.generation).join('.');
    const cached = this.#sets.get(setKey);
    if (cached !== undefined && cached.key === generations) return cached.prepared;
    const prepared = prepareCollateral({
      tcbInfo: tcb.value.body,
      tcbInfoIssuerChain: tcb.value.issuerChain,
      qeIdentity: qe.value.body,
      qeIdentityIssuerChain: qe.value.issuerChain,
      pckCrl: pck.value.body,
      pckCrlIssuerChain: pck.value.issuerChain,
      rootCaCrl: root.value,
    });
    this.#sets.set(setKey, { key: generations, prepared });
    return prepared;
  }
}
