/**
 * Keeping the audit log bounded. Every failed unauthenticated attest or release appends a line, so
 * an attacker could grow the database without limit. Two mechanisms:
 *  - Aggregation (`AuditSampler`): a failure (`deny`/`error`) identical to one already logged
 *    within the window (same action, actor, subject, decision and reason) is not written at once;
 *    it is counted, and when the window ends one line with `count` = the number of suppressed
 *    repeats is written. Allowed events are always written, one line each.
 *  - Retention (`AuditRetentionRunner`): at start and periodically, lines older than the maximum age
 *    and lines beyond the maximum count (oldest first) are deleted, in bounded batches.
 */
import type { AttestationStorage, AuditEntry } from './types.ts';

/** Defaults: 30 days, 1,000,000 lines, pruned every minute; failures aggregated per minute. */
export const DEFAULT_AUDIT_MAX_AGE_MS = 30 * 86_400_000;
export const DEFAULT_AUDIT_MAX_ROWS = 1_000_000;
export const DEFAULT_AUDIT_PRUNE_INTERVAL_MS = 60_000;
export const DEFAULT_AUDIT_AGGREGATE_WINDOW_MS = 60_000;
/** Rows deleted per statement and statements per run: bounds the work (and lock time) of one run. */
export const AUDIT_PRUNE_BATCH = 5_000;
export const AUDIT_PRUNE_MAX_BATCHES = 20;

interface Group {
  readonly entry: AuditEntry;
  readonly since: number;
  suppressed: number;
}

/** Options of the aggregation. */
export interface AuditSamplerOptions {
  /** Window in ms; 0 disables aggregation (every line is written). */
  readonly windowMs: number;
  /** Distinct failure keys tracked at once (memory bound); when full, pending counts are written. */
  readonly maxKeys?: number;
  readonly now?: () => Date;
  /** Called once per failure that was counted instead of written. */
  readonly onAggregated?: (action: string) => void;
  /** Called when writing a summary line fails (nobody awaits those). */
  readonly onError?: (err: unknown) => void;
}

/** Aggregates repeated identical failures into one line with a count. */
export class AuditSampler {
  readonly #storage: AttestationStorage;
  readonly #o: AuditSamplerOptions;
  readonly #groups = new Map<string, Group>();
  readonly #timer: NodeJS.Timeout | undefined;

  constructor(storage: AttestationStorage, options: AuditSamplerOptions) {
    this.#storage = storage;
    this.#o = options;
    if (options.windowMs > 0) {
      this.#timer = setInterval(
        () => {
          void this.flush(false);
        },
        Math.max(1000, options.windowMs),
      );
      this.#timer.unref();
    }
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  /** Appends `entry`, or counts it when an identical failure was logged within the window. */
  append(entry: AuditEntry): Promise<void> {
    if (this.#o.windowMs <= 0 || entry.decision === 'allow') return this.#storage.appendAudit(entry);
    const key = JSON.stringify([entry.action, entry.actor, entry.subject, entry.decision, entry.reason]);
    const now = this.#now().getTime();
    const g = this.#groups.get(key);
    if (g !== undefined && now - g.since < this.#o.windowMs) {
      g.suppressed++;
      this.#o.onAggregated?.(entry.action);
      return Promise.resolve();
    }
    if (g !== undefined) this.#writeSummary(key, g);
    if (this.#groups.size >= (this.#o.maxKeys ?? 10_000)) void this.flush(true);
    this.#groups.set(key, { entry, since: now, suppressed: 0 });
    return this.#storage.appendAudit(entry);
  }

  #writeSummary(key: string, g: Group): void {
    this.#groups.delete(key);
    if (g.suppressed === 0) return;
    this.#storage
      .appendAudit({ ...g.entry, at: this.#now(), count: g.suppressed })
      .catch((err: unknown) => this.#o.onError?.(err));
  }

  /** Writes the counts of windows that ended (all of them with `all`). */
  async flush(all: boolean): Promise<void> {
    const now = this.#now().getTime();
    const writes: Promise<void>[] = [];
    for (const [key, g] of [...this.#groups]) {
      if (!all && now - g.since < this.#o.windowMs) continue;
      this.#groups.delete(key);
      if (g.suppressed > 0)
        writes.push(this.#storage.appendAudit({ ...g.entry, at: this.#now(), count: g.suppressed }));
    }
    const results = await Promise.allSettled(writes);
    for (const r of results) if (r.status === 'rejected') this.#o.onError?.(r.reason);
  }

  /** Stops the timer and writes every pending count (call before closing storage). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.flush(true);
  }
}

/** Options of the retention runner. */
export interface AuditRetentionOptions {
  readonly maxAgeMs: number;
  readonly maxRows: number;
  readonly intervalMs?: number;
  readonly batch?: number;
  readonly maxBatches?: number;
  readonly now?: () => Date;
  readonly onPruned?: (rows: number) => void;
  readonly onError?: (err: unknown) => void;
}

/** Deletes old and surplus audit lines at start and then periodically; one run at a time. */
export class AuditRetentionRunner {
  readonly #storage: AttestationStorage;
  readonly #o: AuditRetentionOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;

  constructor(storage: AttestationStorage, options: AuditRetentionOptions) {
    this.#storage = storage;
    this.#o = options;
  }

  /** One bounded run (at most `maxBatches` statements of `batch` rows); returns rows deleted. */
  runOnce(): Promise<number> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<number> {
    const batch = this.#o.batch ?? AUDIT_PRUNE_BATCH;
    let total = 0;
    for (let i = 0; i < (this.#o.maxBatches ?? AUDIT_PRUNE_MAX_BATCHES); i++) {
      const n = await this.#storage.pruneAudit({
        maxAgeMs: this.#o.maxAgeMs,
        maxRows: this.#o.maxRows,
        maxDeletes: batch,
        now: this.#o.now?.() ?? new Date(),
      });
      total += n;
      if (n < batch) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (total > 0) this.#o.onPruned?.(total);
    return total;
  }

  /** Runs once now (awaited), then every `intervalMs`. */
  async start(): Promise<void> {
    await this.runOnce();
    this.#timer = setInterval(() => {
      this.runOnce().catch((err: unknown) => this.#o.onError?.(err));
    }, this.#o.intervalMs ?? DEFAULT_AUDIT_PRUNE_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#running?.catch(() => 0);
  }
}
