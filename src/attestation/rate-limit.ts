/**
 * A token bucket per client key (the remote address): `burst` requests at once, refilled at
 * `perMinute` a minute. Used for draft-policy attestations, which run caller-supplied policies.
 * The table of buckets is bounded: when it is full, buckets that have refilled completely (clients
 * that stopped) are dropped first, then the oldest.
 */
import { ServiceLimitError } from './errors.ts';

/** Rate limit settings. `perMinute` 0 turns the limit off. */
export interface RateLimitOptions {
  readonly perMinute: number;
  readonly burst: number;
  /** Distinct clients tracked at once (default 10,000). */
  readonly maxClients?: number;
}

/** Default draft-policy limit per client address. */
export const DEFAULT_DRAFT_RATE_LIMIT: RateLimitOptions = { perMinute: 30, burst: 10 };

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #max: number;

  constructor(
    options: RateLimitOptions,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    if (!(options.perMinute >= 0) || !(options.burst >= 1)) {
      throw new RangeError('rate limit: perMinute must be ≥ 0 and burst ≥ 1');
    }
    this.#ratePerMs = options.perMinute / 60_000;
    this.#burst = options.burst;
    this.#max = options.maxClients ?? 10_000;
  }

  /** Takes one token for `key`, or throws `ERR_ATTEST_RATE_LIMITED` with `retryAfterSeconds`. */
  take(key: string, what: string): void {
    if (this.#ratePerMs === 0) return;
    const now = this.nowMs();
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size >= this.#max) this.#evict(now);
      b = { tokens: this.#burst, at: now };
    } else {
      b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#ratePerMs);
      b.at = now;
      this.#buckets.delete(key); // re-insert: the map stays in least-recently-used order
    }
    this.#buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((1 - b.tokens) / this.#ratePerMs / 1000));
    throw new ServiceLimitError(
      'ERR_ATTEST_RATE_LIMITED',
      `too many ${what} from this client; retry after ${retryAfterSeconds} s`,
      { retryAfterSeconds },
    );
  }

  #evict(now: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + (now - b.at) * this.#ratePerMs >= this.#burst) this.#buckets.delete(key);
    }
    while (this.#buckets.size >= this.#max) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done === true) break;
      this.#buckets.delete(oldest.value);
    }
  }
}
