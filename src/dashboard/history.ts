/**
 * What the dashboard remembers between requests: a bounded ring of samples (EPC allocated per node,
 * attestation latency quantiles), taken by the server's sampler. Memory only; a restart starts over.
 */
import { bucketQuantile, histogramBuckets, type MetricsText } from './metrics-text.ts';
import type { NodeRow } from './model.ts';
import type { Series } from './svg.ts';

const MIB = 1024 * 1024;
export const LATENCY_FAMILY = 'ccnodes_attestation_attest_duration_seconds';
export const QUANTILES = [0.5, 0.9, 0.99] as const;

interface Sample<T> {
  readonly t: number;
  readonly v: T;
}

/** Bounded sample history. */
export class History {
  readonly maxSamples: number;
  readonly #epc: Sample<Record<string, number>>[] = [];
  readonly #latency: Sample<Record<string, number>>[] = [];
  #lastBuckets: { le: number; count: number }[] | undefined;

  constructor(maxSamples = 240) {
    this.maxSamples = maxSamples;
  }

  #push<T>(ring: Sample<T>[], s: Sample<T>): void {
    ring.push(s);
    if (ring.length > this.maxSamples) ring.splice(0, ring.length - this.maxSamples);
  }

  /** EPC allocated per node (MiB; the larger of the two dialects, bytes rounded up to MiB). */
  recordNodes(t: number, rows: readonly NodeRow[]): void {
    const v: Record<string, number> = {};
    for (const r of rows)
      v[r.name] = Math.max(r.epcMib.allocated, Math.ceil(r.intelEpcBytes.allocated / MIB));
    this.#push(this.#epc, { t, v });
  }

  /**
   * Token latency quantiles (ms) of the attestations since the previous sample (the whole histogram
   * at the first); no point when nothing was attested in between.
   */
  recordLatency(t: number, metrics: MetricsText): void {
    const now = histogramBuckets(metrics, LATENCY_FAMILY);
    const prev = this.#lastBuckets;
    this.#lastBuckets = now;
    const delta =
      prev === undefined || prev.length !== now.length || (prev.at(-1)?.count ?? 0) > (now.at(-1)?.count ?? 0)
        ? now
        : now.map((b, i) => ({ le: b.le, count: b.count - (prev[i]?.count ?? 0) }));
    const v: Record<string, number> = {};
    for (const q of QUANTILES) {
      const x = bucketQuantile(delta, q);
      if (x !== undefined) v[`p${Math.round(q * 100)}`] = x * 1000;
    }
    if (Object.keys(v).length > 0) this.#push(this.#latency, { t, v });
  }

  static #series(ring: readonly Sample<Record<string, number>>[]): Series[] {
    const names = new Set<string>();
    for (const s of ring) for (const k of Object.keys(s.v)) names.add(k);
    return [...names].sort().map((name) => ({
      name,
      points: ring.filter((s) => name in s.v).map((s) => ({ t: s.t, v: s.v[name] ?? 0 })),
    }));
  }

  epcSeries(): Series[] {
    return History.#series(this.#epc);
  }

  latencySeries(): Series[] {
    return History.#series(this.#latency);
  }
}
