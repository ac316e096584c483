/**
 * The collateral service's cache logic, independent of HTTP: modes, verification before caching,
 * persistence, scheduled refresh, metrics, import/export.
 *
 * - LAZY: a miss is fetched from the upstream, verified, stored and served.
 * - REQ: PCK certificates are fetched when a platform is registered (`POST /platforms`); a
 *   certificate request for a platform never registered is refused (HTTP 461). TCB Info,
 *   identities and CRLs are fetched at registration and, like LAZY, on a miss.
 * - OFFLINE: only imported artefacts are served; nothing is fetched.
 *
 * Every artefact — fetched, imported or read back from storage at start — is verified
 * (`verify.ts`) before it is cached or served. The Root CA CRL is loaded first (others are checked
 * against it), then the PCK CRLs, then the rest; an artefact that fails is dropped and counted.
 */
import { randomBytes } from 'node:crypto';
import client from 'prom-client';
import type { ParsedCrl } from '../core/index.ts';
import {
  artefactKey,
  describeSpec,
  specOfKey as specOfKeyForBundle,
  type ArtefactSpec,
  type StoredArtefact,
} from './artefacts.ts';
import {
  CollateralBundleError,
  CollateralNotFoundError,
  CollateralServiceConfigError,
  CollateralServiceError,
  CollateralUpstreamError,
  CollateralVerifyError,
} from './errors.ts';
import type { ArtefactStore, PlatformRegistration } from './store.ts';
import { Upstream, type UpstreamOptions } from './upstream.ts';
import {
  caKindOfChain,
  issuerChainOf,
  trustRoot,
  verifyArtefact,
  type TrustRoot,
  type VerifiedArtefact,
} from './verify.ts';

/** Caching modes (Intel's PCCS names). */
export type CollateralMode = 'lazy' | 'req' | 'offline';

/** A repeating timer (injectable for tests). */
export interface RefreshTimer {
  every(ms: number, fn: () => void): { stop(): void };
}

const realTimer: RefreshTimer = {
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return {
      stop: () => {
        clearInterval(t);
      },
    };
  },
};

/** Options of {@link CollateralService.open}. */
export interface CollateralServiceOptions {
  readonly mode: CollateralMode;
  /** Upstream PCS/PCCS (required for LAZY and REQ). */
  readonly upstream?: Omit<UpstreamOptions, 'fetch'>;
  readonly store: ArtefactStore;
  /** PEM of the ccnodes simulated root: trust it instead of Intel's root (tests, simulation). */
  readonly trustSimulatedRoot?: string;
  readonly now?: () => Date;
  readonly fetch?: typeof fetch;
  /** Renew an artefact when its nextUpdate is closer than this (ms; default 24 h). */
  readonly refreshBeforeMs?: number;
  /** How often the refresh looks for due artefacts (ms; default 5 min; 0 = no scheduled refresh). */
  readonly refreshIntervalMs?: number;
  readonly timer?: RefreshTimer;
  /** Prometheus registry (default: a new one). */
  readonly registry?: client.Registry;
  readonly log?: (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string) => void;
}

interface Entry {
  readonly artefact: StoredArtefact;
  readonly verified: VerifiedArtefact;
}

/** Metrics of the service. */
export interface CollateralMetrics {
  readonly registry: client.Registry;
  readonly requests: client.Counter<'kind' | 'result'>;
  readonly upstreamErrors: client.Counter<'kind' | 'reason'>;
  readonly verifyFailures: client.Counter<'kind' | 'source'>;
  readonly refreshes: client.Counter<'result'>;
}

/** An exported cache: every artefact as received, to be verified again on import. */
export interface CollateralCacheBundle {
  readonly format: 'ccnodes-collateral-cache/1';
  readonly artefacts: readonly {
    readonly key: string;
    /** base64 of the body bytes as received. */
    readonly body: string;
    readonly headers: Readonly<Record<string, string>>;
    readonly fetchedAt: string;
  }[];
  readonly platforms?: readonly PlatformRegistration[];
}

const ORDER: Record<ArtefactSpec['kind'], number> = {
  rootcacrl: 0,
  pckcrl: 1,
  tcb: 2,
  qe: 2,
  qve: 2,
  pckcert: 3,
  pckcerts: 3,
};

export class CollateralService {
  readonly mode: CollateralMode;
  readonly metrics: CollateralMetrics;
  readonly trust: TrustRoot;
  readonly #o: CollateralServiceOptions;
  readonly #upstream: Upstream | undefined;
  readonly #entries = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<Entry>>();
  readonly #platforms = new Map<string, PlatformRegistration>();
  #timer: { stop(): void } | undefined;
  #refreshing: Promise<unknown> | undefined;

  private constructor(o: CollateralServiceOptions, trust: TrustRoot, upstream: Upstream | undefined) {
    this.#o = o;
    this.mode = o.mode;
    this.trust = trust;
    this.#upstream = upstream;
    this.metrics = this.#createMetrics(o.registry ?? new client.Registry());
  }

  /**
   * Builds the service over `store`: loads and verifies every stored artefact, and starts the
   * scheduled refresh (LAZY and REQ).
   *
   * @throws CollateralServiceConfigError for a mode that needs an upstream without one, or a bad
   *   trusted root; PcsError `ERR_PCS_BASE_URL` for an upstream URL in no accepted form.
   */
  static async open(o: CollateralServiceOptions): Promise<CollateralService> {
    if (!(['lazy', 'req', 'offline'] as readonly string[]).includes(o.mode))
      throw new CollateralServiceConfigError(`mode ${o.mode} is not lazy, req or offline`, {
        field: 'mode',
      });
    if (o.mode !== 'offline' && o.upstream === undefined)
      throw new CollateralServiceConfigError(`mode ${o.mode} needs an upstream PCS/PCCS URL (--upstream)`, {
        field: 'upstream',
      });
    const trust = trustRoot(o.trustSimulatedRoot);
    const upstream =
      o.upstream === undefined
        ? undefined
        : new Upstream({ ...o.upstream, ...(o.fetch === undefined ? {} : { fetch: o.fetch }) });
    const service = new CollateralService(o, trust, upstream);
    await service.#load();
    const interval = o.refreshIntervalMs ?? 5 * 60_000;
    if (o.mode !== 'offline' && interval > 0) {
      service.#timer = (o.timer ?? realTimer).every(interval, () => {
        void service.refreshDue();
      });
    }
    return service;
  }

  #now(): Date {
    return (this.#o.now ?? ((): Date => new Date()))();
  }

  #log(level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, message: string): void {
    this.#o.log?.(level, fields, message);
  }

  #createMetrics(registry: client.Registry): CollateralMetrics {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    new client.Gauge({
      name: 'ccnodes_collateral_seconds_until_next_update',
      help: 'Seconds until each cached artefact passes its nextUpdate (PCK certificates: notAfter); negative when expired.',
      labelNames: ['artefact', 'kind'],
      registers: [registry],
      collect() {
        this.reset();
        const now = self.#now().getTime();
        for (const [key, e] of self.#entries)
          this.set(
            { artefact: key, kind: e.artefact.spec.kind },
            (e.verified.expiresAt.getTime() - now) / 1000,
          );
      },
    });
    new client.Gauge({
      name: 'ccnodes_collateral_expired',
      help: 'Number of cached artefacts past their nextUpdate (alert when > 0: relying parties will see expired collateral).',
      registers: [registry],
      collect() {
        this.set(self.expiredKeys().length);
      },
    });
    new client.Gauge({
      name: 'ccnodes_collateral_cached_artefacts',
      help: 'Number of verified artefacts in the cache.',
      registers: [registry],
      collect() {
        this.set(self.#entries.size);
      },
    });
    return {
      registry,
      requests: new client.Counter({
        name: 'ccnodes_collateral_cache_requests_total',
        help: 'Artefact requests by kind and result (hit, miss, stale: served expired because the upstream failed).',
        labelNames: ['kind', 'result'],
        registers: [registry],
      }),
      upstreamErrors: new client.Counter({
        name: 'ccnodes_collateral_upstream_errors_total',
        help: 'Failed upstream fetches by artefact kind and reason (unreachable, status, response, not-found, verify).',
        labelNames: ['kind', 'reason'],
        registers: [registry],
      }),
      verifyFailures: new client.Counter({
        name: 'ccnodes_collateral_verify_failures_total',
        help: 'Artefacts refused by verification, by kind and source (upstream, import, storage).',
        labelNames: ['kind', 'source'],
        registers: [registry],
      }),
      refreshes: new client.Counter({
        name: 'ccnodes_collateral_refreshes_total',
        help: 'Scheduled renewals of artefacts before their nextUpdate, by result.',
        labelNames: ['result'],
        registers: [registry],
      }),
    };
  }

  #crls(): { rootCaCrl: ParsedCrl | undefined; pckCrl(ca: 'processor' | 'platform'): ParsedCrl | undefined } {
    return {
      rootCaCrl: this.#entries.get('sgx:rootcacrl')?.verified.crl,
      pckCrl: (ca) => this.#entries.get(`sgx:pckcrl:${ca}`)?.verified.crl,
    };
  }

  async #load(): Promise<void> {
    const rows = await this.#o.store.list();
    rows.sort((a, b) => ORDER[a.spec.kind] - ORDER[b.spec.kind]);
    for (const row of rows) {
      try {
        this.#entries.set(row.key, {
          artefact: row,
          verified: verifyArtefact(row, this.trust, this.#crls()),
        });
      } catch (err) {
        if (!(err instanceof CollateralVerifyError)) throw err;
        this.metrics.verifyFailures.inc({ kind: row.spec.kind, source: 'storage' });
        this.#log(
          'error',
          { code: err.code, key: row.key, ...err.details },
          `stored artefact refused: ${err.message}`,
        );
      }
    }
    for (const p of await this.#o.store.listPlatforms()) this.#platforms.set(`${p.qeId}:${p.pceId}`, p);
  }

  /** Keys of cached artefacts past their nextUpdate (PCK certificates: notAfter). */
  expiredKeys(): string[] {
    const now = this.#now().getTime();
    return [...this.#entries].filter(([, e]) => e.verified.expiresAt.getTime() < now).map(([k]) => k);
  }

  /** The cached artefacts (key, kind, expiry), for status output. */
  list(): { key: string; kind: string; expiresAt: string; source: string }[] {
    return [...this.#entries].map(([key, e]) => ({
      key,
      kind: e.artefact.spec.kind,
      expiresAt: e.verified.expiresAt.toISOString(),
      source: e.artefact.source,
    }));
  }

  /** Verifies `a` against what is cached, stores it, then caches it. */
  async #admit(a: StoredArtefact, source: 'upstream' | 'import'): Promise<Entry> {
    let verified: VerifiedArtefact;
    try {
      verified = verifyArtefact(a, this.trust, this.#crls());
    } catch (err) {
      if (err instanceof CollateralVerifyError) {
        this.metrics.verifyFailures.inc({ kind: a.spec.kind, source });
        if (source === 'upstream') this.metrics.upstreamErrors.inc({ kind: a.spec.kind, reason: 'verify' });
        this.#log(
          'error',
          { code: err.code, key: a.key, ...err.details },
          `artefact refused: ${err.message}`,
        );
      }
      throw err;
    }
    await this.#o.store.put(a);
    const entry = { artefact: a, verified };
    this.#entries.set(a.key, entry);
    return entry;
  }

  /** Fetches, verifies and caches one artefact (and, first, the CRLs it is checked against). */
  #fetch(spec: ArtefactSpec): Promise<Entry> {
    const key = artefactKey(spec);
    let pending = this.#inflight.get(key);
    if (pending === undefined) {
      pending = this.#fetchNow(spec).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
    }
    return pending;
  }

  async #fetchNow(spec: ArtefactSpec): Promise<Entry> {
    const upstream = this.#upstream;
    if (upstream === undefined)
      throw new CollateralNotFoundError(`${describeSpec(spec)} is not cached (mode offline)`);
    let res;
    try {
      res = await upstream.fetch(
        spec,
        spec.kind === 'rootcacrl' ? await this.#chainForRootCrl(upstream) : undefined,
      );
    } catch (err) {
      if (err instanceof CollateralServiceError) {
        const reason =
          err instanceof CollateralNotFoundError
            ? 'not-found'
            : typeof err.details['reason'] === 'string'
              ? err.details['reason']
              : 'error';
        this.metrics.upstreamErrors.inc({ kind: spec.kind, reason });
      } else if (err instanceof Error && 'code' in err) {
        // PcsError (e.g. ERR_PCS_ROOT_CA_CRL_URL): no Root CA CRL location.
        this.metrics.upstreamErrors.inc({ kind: spec.kind, reason: 'config' });
        throw new CollateralUpstreamError(err.message, { reason: 'config' }, err);
      }
      throw err;
    }
    const artefact: StoredArtefact = {
      key: artefactKey(spec),
      spec,
      body: res.body,
      headers: res.headers,
      fetchedAt: this.#now().getTime(),
      source: 'upstream',
    };
    // The CRLs this artefact is checked against come first (fetched when missing).
    if (spec.kind !== 'rootcacrl') {
      const chain = issuerChainOf(artefact);
      this.#lastChain = chain;
      await this.#ensure({ kind: 'rootcacrl', tee: 'sgx' });
      if (spec.kind === 'pckcert' || spec.kind === 'pckcerts') {
        const ca = caKindOfChain(chain);
        await this.#ensure({ kind: 'pckcrl', tee: 'sgx', ca });
      }
    }
    return this.#admit(artefact, 'upstream');
  }

  #lastChain: string | undefined;

  /**
   * An issuer chain Intel sent (to locate the Root CA CRL on Intel's PCS): from the last fetch or the
   * cache, else from the headers of the SGX QE Identity, fetched for its chain only (not cached here).
   */
  async #chainForRootCrl(upstream: Upstream): Promise<string | undefined> {
    if (!upstream.rootCaCrlNeedsChain) return undefined;
    if (this.#lastChain !== undefined) return this.#lastChain;
    for (const e of this.#entries.values()) {
      if (e.artefact.spec.kind !== 'rootcacrl') return issuerChainOf(e.artefact);
    }
    const spec: ArtefactSpec = { kind: 'qe', tee: 'sgx' };
    const probe = await upstream.fetch(spec);
    return issuerChainOf({ spec, headers: probe.headers });
  }

  async #ensure(spec: ArtefactSpec): Promise<void> {
    const hit = this.#entries.get(artefactKey(spec));
    if (hit !== undefined && hit.verified.expiresAt.getTime() >= this.#now().getTime()) return;
    await this.#fetch(spec);
  }

  /**
   * The artefact for a request: from cache when current; else (LAZY/REQ) fetched, verified and
   * cached. An expired cached artefact is renewed, and served as it is (stale) when the upstream
   * fails.
   *
   * @throws CollateralNotFoundError (404 / 461), CollateralUpstreamError (502), CollateralVerifyError (460).
   */
  async get(spec: ArtefactSpec): Promise<StoredArtefact> {
    const key = artefactKey(spec);
    const hit = this.#entries.get(key);
    const now = this.#now().getTime();
    if (hit !== undefined && hit.verified.expiresAt.getTime() >= now) {
      this.metrics.requests.inc({ kind: spec.kind, result: 'hit' });
      return hit.artefact;
    }
    const fetchable =
      this.mode === 'lazy' ||
      (this.mode === 'req' &&
        ((spec.kind !== 'pckcert' && spec.kind !== 'pckcerts') || this.#registered(spec)));
    if (!fetchable) {
      if (hit !== undefined) {
        this.metrics.requests.inc({ kind: spec.kind, result: 'stale' });
        return hit.artefact;
      }
      this.metrics.requests.inc({ kind: spec.kind, result: 'miss' });
      throw new CollateralNotFoundError(
        spec.kind === 'pckcert' || spec.kind === 'pckcerts'
          ? `${describeSpec(spec)}: platform not found in the cache (mode ${this.mode})`
          : `${describeSpec(spec)} is not cached (mode ${this.mode})`,
        { key, ...(spec.kind === 'pckcert' || spec.kind === 'pckcerts' ? { platformUnknown: true } : {}) },
      );
    }
    this.metrics.requests.inc({ kind: spec.kind, result: 'miss' });
    try {
      return (await this.#fetch(spec)).artefact;
    } catch (err) {
      if (hit !== undefined && err instanceof CollateralUpstreamError) {
        this.#log('warn', { key, code: err.code }, `serving expired ${describeSpec(spec)}: ${err.message}`);
        this.metrics.requests.inc({ kind: spec.kind, result: 'stale' });
        return hit.artefact;
      }
      throw err;
    }
  }

  #registered(spec: ArtefactSpec & { kind: 'pckcert' | 'pckcerts' }): boolean {
    if (spec.kind === 'pckcert' && spec.qeid !== undefined)
      return this.#platforms.has(`${spec.qeid}:${spec.pceid}`);
    return [...this.#platforms.values()].some(
      (p) => p.encPpid === spec.encryptedPpid && p.pceId === spec.pceid,
    );
  }

  /**
   * Registers a platform (`POST /platforms`). REQ mode fetches its PCK certificate and the
   * collateral of its FMSPC and CA at once (any failure is the request's failure).
   */
  async registerPlatform(p: PlatformRegistration): Promise<void> {
    await this.#o.store.putPlatform(p);
    this.#platforms.set(`${p.qeId}:${p.pceId}`, p);
    if (this.mode !== 'req') return;
    const cert = await this.#fetch({
      kind: 'pckcert',
      tee: 'sgx',
      cpusvn: p.cpuSvn,
      pcesvn: p.pceSvn,
      pceid: p.pceId,
      qeid: p.qeId,
      ...(p.encPpid === '' ? {} : { encryptedPpid: p.encPpid }),
    });
    const pck = cert.verified.pck;
    if (pck === undefined) return;
    await Promise.all([
      this.#ensure({ kind: 'tcb', tee: 'sgx', fmspc: pck.fmspc }),
      this.#ensure({ kind: 'qe', tee: 'sgx' }),
      this.#ensure({ kind: 'pckcrl', tee: 'sgx', ca: pck.ca }),
    ]);
  }

  /** Registered platforms (for export). */
  platforms(): PlatformRegistration[] {
    return [...this.#platforms.values()];
  }

  /**
   * Renews every cached artefact (except PCK certificates) whose nextUpdate is closer than
   * `refreshBeforeMs`. Failures are counted and logged; the old artefact stays in service.
   */
  async refreshDue(): Promise<{ refreshed: string[]; failed: string[] }> {
    if (this.#refreshing !== undefined) await this.#refreshing.catch(() => undefined);
    const run = this.#refreshNow();
    this.#refreshing = run;
    try {
      return await run;
    } finally {
      this.#refreshing = undefined;
    }
  }

  async #refreshNow(): Promise<{ refreshed: string[]; failed: string[] }> {
    const refreshed: string[] = [];
    const failed: string[] = [];
    if (this.mode === 'offline') return { refreshed, failed };
    const horizon = this.#now().getTime() + (this.#o.refreshBeforeMs ?? 24 * 3600_000);
    const due = [...this.#entries.values()]
      .filter(
        (e) =>
          e.artefact.spec.kind !== 'pckcert' &&
          e.artefact.spec.kind !== 'pckcerts' &&
          e.verified.expiresAt.getTime() < horizon,
      )
      .sort((a, b) => ORDER[a.artefact.spec.kind] - ORDER[b.artefact.spec.kind]);
    for (const e of due) {
      try {
        await this.#fetch(e.artefact.spec);
        refreshed.push(e.artefact.key);
        this.metrics.refreshes.inc({ result: 'ok' });
      } catch (err) {
        failed.push(e.artefact.key);
        this.metrics.refreshes.inc({ result: 'failed' });
        this.#log('warn', { key: e.artefact.key, err }, `refresh of ${describeSpec(e.artefact.spec)} failed`);
      }
    }
    return { refreshed, failed };
  }

  /** Every cached artefact as received, plus the registered platforms. */
  exportBundle(): CollateralCacheBundle {
    return {
      format: 'ccnodes-collateral-cache/1',
      artefacts: [...this.#entries.values()]
        .sort((a, b) => (a.artefact.key < b.artefact.key ? -1 : 1))
        .map((e) => ({
          key: e.artefact.key,
          body: Buffer.from(e.artefact.body).toString('base64'),
          headers: e.artefact.headers,
          fetchedAt: new Date(e.artefact.fetchedAt).toISOString(),
        })),
      platforms: this.platforms(),
    };
  }

  /**
   * Imports a bundle: every artefact is verified (CRLs first) before it is stored; the whole import
   * fails on the first artefact that does not verify, naming it (artefacts before it stay imported).
   *
   * @throws CollateralBundleError for a malformed bundle; CollateralVerifyError for an artefact that fails.
   */
  async importBundle(bundle: unknown): Promise<{ imported: string[] }> {
    const parsed = parseCacheBundle(bundle);
    const imported: string[] = [];
    for (const a of parsed.artefacts) {
      await this.#admit({ ...a, source: 'import' }, 'import');
      imported.push(a.key);
    }
    for (const p of parsed.platforms) {
      await this.#o.store.putPlatform(p);
      this.#platforms.set(`${p.qeId}:${p.pceId}`, p);
    }
    return { imported };
  }

  /** Stops the refresh and closes the store. */
  async close(): Promise<void> {
    this.#timer?.stop();
    await this.#refreshing?.catch(() => undefined);
    await Promise.allSettled([...this.#inflight.values()]);
    await this.#o.store.close();
  }

  /** A fresh `Request-ID` value (32 hex digits, like Intel's). */
  static requestId(): string {
    return randomBytes(16).toString('hex');
  }
}

/** Parses an exported bundle (artefacts sorted CRLs first). */
export function parseCacheBundle(bundle: unknown): {
  artefacts: (Omit<StoredArtefact, 'source'> & { source?: undefined })[];
  platforms: PlatformRegistration[];
} {
  const fail = (member: string, why: string): never => {
    throw new CollateralBundleError(`collateral bundle: ${member} ${why}`, { member });
  };
  if (typeof bundle !== 'object' || bundle === null || Array.isArray(bundle))
    return fail('(top level)', 'is not a JSON object');
  const b = bundle as Record<string, unknown>;
  if (b['format'] !== 'ccnodes-collateral-cache/1')
    return fail('format', 'is not "ccnodes-collateral-cache/1"');
  if (!Array.isArray(b['artefacts'])) return fail('artefacts', 'is not an array');
  const artefacts = (b['artefacts'] as unknown[]).map((x, i) => {
    const at = `artefacts[${i}]`;
    if (typeof x !== 'object' || x === null) return fail(at, 'is not an object');
    const o = x as Record<string, unknown>;
    if (typeof o['key'] !== 'string') return fail(`${at}.key`, 'is not a string');
    if (typeof o['body'] !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(o['body']))
      return fail(`${at}.body`, 'is not base64');
    const headers = o['headers'];
    if (
      typeof headers !== 'object' ||
      headers === null ||
      Array.isArray(headers) ||
      !Object.values(headers).every((v) => typeof v === 'string')
    )
      return fail(`${at}.headers`, 'is not an object of strings');
    const fetchedAt = typeof o['fetchedAt'] === 'string' ? Date.parse(o['fetchedAt']) : NaN;
    if (Number.isNaN(fetchedAt)) return fail(`${at}.fetchedAt`, 'is not a date');
    let spec: ArtefactSpec;
    try {
      spec = specOfKeyForBundle(o['key']);
    } catch {
      return fail(`${at}.key`, `"${o['key']}" is not an artefact key`);
    }
    return {
      key: o['key'],
      spec,
      body: new Uint8Array(Buffer.from(o['body'], 'base64')),
      headers: headers as Record<string, string>,
      fetchedAt,
    };
  });
  artefacts.sort((a, c) => ORDER[a.spec.kind] - ORDER[c.spec.kind]);
  const platforms = b['platforms'] === undefined ? [] : b['platforms'];
  if (!Array.isArray(platforms)) return fail('platforms', 'is not an array');
  return {
    artefacts,
    platforms: (platforms as unknown[]).map((p, i) => parsePlatform(p, `platforms[${i}]`)),
  };
}

/** Checks a platform registration (bundle member or `POST /platforms` body, normalised). */
export function parsePlatform(p: unknown, at: string): PlatformRegistration {
  const fail = (member: string, why: string): never => {
    throw new CollateralBundleError(`${at}.${member} ${why}`, { member: `${at}.${member}` });
  };
  if (typeof p !== 'object' || p === null) return fail('(object)', 'is not an object');
  const o = p as Record<string, unknown>;
  const hex = (name: string, digits?: number): string => {
    const v = o[name];
    if (typeof v !== 'string' || !/^[0-9a-fA-F]*$/.test(v) || (digits !== undefined && v.length !== digits))
      return fail(name, digits === undefined ? 'is not hex' : `is not ${digits} hex digits`);
    return v.toLowerCase();
  };
  return {
    qeId: hex('qeId', 32),
    pceId: hex('pceId', 4),
    cpuSvn: hex('cpuSvn', 32),
    pceSvn: hex('pceSvn', 4),
    encPpid: hex('encPpid'),
    // optional; when given, hex like the rest (a number or an object was once ignored silently)
    ...(o['platformManifest'] === undefined ? {} : { platformManifest: hex('platformManifest') }),
  };
}
