/**
 * The start-up node PATCH (capacity, labels, taints) as a background task: the daemon registers
 * with kubelet first, then brings its node to the planned settings through the API server, retrying
 * with capped exponential backoff while the API server is unreachable or refuses. A transient API
 * outage at boot therefore never keeps kubelet from seeing the SGX devices; its state is visible in
 * `/healthz`, the metrics and the logs.
 */
import { silentLogger, type PluginLogger } from './logger.ts';
import type { DevicePluginMetrics } from './metrics.ts';
import type { NodePatches } from './node-patch.ts';

/** `pending`: no attempt finished yet; `applied`: the node has the settings; `failing`: retrying. */
export type NodePatchState = 'pending' | 'applied' | 'failing';

/** Every value of {@link NodePatchState}, in the order the metric lists them. */
export const NODE_PATCH_STATES: readonly NodePatchState[] = ['pending', 'applied', 'failing'];

/** Retry timing of the node PATCH. */
export interface NodePatchBackoff {
  /** Delay after the first failure, ms (default 1000). */
  readonly initialMs?: number;
  /** Upper bound of the delay, ms (default 60000). */
  readonly maxMs?: number;
  /**
   * Jitter source in [0, 1): the delay becomes `d/2 + r·d/2` so that many nodes retrying after one
   * API outage spread out. Absent: no jitter (deterministic delays).
   */
  readonly random?: () => number;
}

/** Delay before retry number `failures` (1 after the first failure): doubling, capped, jittered. */
export function nodePatchRetryDelay(failures: number, backoff: NodePatchBackoff = {}): number {
  const initial = backoff.initialMs ?? 1000;
  const max = backoff.maxMs ?? 60_000;
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const capped = Math.min(max, initial * 2 ** exponent);
  if (backoff.random === undefined) return capped;
  const r = Math.min(Math.max(backoff.random(), 0), 1);
  return Math.round(capped / 2 + (r * capped) / 2);
}

/** What `/healthz` and the logs report about the node PATCH. */
export interface NodePatchStatus {
  readonly state: NodePatchState;
  readonly node: string;
  /** Attempts started so far (successful or not). */
  readonly attempts: number;
  /** Message and code of the last failure (kept after success, for the record). */
  readonly lastError?: string;
  readonly lastErrorCode?: string;
  readonly lastAttemptAt?: string;
  readonly appliedAt?: string;
  /** When failing: the delay before the next attempt, ms. */
  readonly nextRetryMs?: number;
}

/** Options of {@link NodePatchLoop}. */
export interface NodePatchLoopOptions {
  readonly nodeName: string;
  /** One attempt: brings the node to the settings (rejects on failure). */
  readonly apply: () => Promise<NodePatches>;
  readonly backoff?: NodePatchBackoff;
  readonly logger?: PluginLogger;
  readonly metrics?: DevicePluginMetrics;
  readonly now?: () => Date;
}

/** Runs the node PATCH until it succeeds or the loop is stopped. */
export class NodePatchLoop {
  readonly #opts: NodePatchLoopOptions;
  readonly #log: PluginLogger;
  #state: NodePatchState = 'pending';
  #attempts = 0;
  #failures = 0;
  #lastError: { message: string; code?: string } | undefined;
  #lastAttemptAt: Date | undefined;
  #appliedAt: Date | undefined;
  #nextRetryMs: number | undefined;
  #patches: NodePatches = { statusPatch: [], nodePatch: [] };
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;
  #started = false;
  readonly #applied: Promise<NodePatches>;
  #resolveApplied!: (p: NodePatches) => void;
  #rejectApplied!: (err: Error) => void;
  readonly #settled: Promise<NodePatchStatus>;
  #resolveSettled!: (s: NodePatchStatus) => void;

  constructor(opts: NodePatchLoopOptions) {
    this.#opts = opts;
    this.#log = opts.logger ?? silentLogger;
    this.#applied = new Promise((resolve, reject) => {
      this.#resolveApplied = resolve;
      this.#rejectApplied = reject;
    });
    // Nobody has to wait for it: a loop stopped before success must not leave an unhandled rejection.
    this.#applied.catch(() => undefined);
    this.#settled = new Promise((resolve) => {
      this.#resolveSettled = resolve;
    });
    this.#publishState();
  }

  /** Starts the attempts (the first one at once). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#run();
  }

  /** The current state, for `/healthz` and tests. */
  status(): NodePatchStatus {
    return {
      state: this.#state,
      node: this.#opts.nodeName,
      attempts: this.#attempts,
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError.message }),
      ...(this.#lastError?.code === undefined ? {} : { lastErrorCode: this.#lastError.code }),
      ...(this.#lastAttemptAt === undefined ? {} : { lastAttemptAt: this.#lastAttemptAt.toISOString() }),
      ...(this.#appliedAt === undefined ? {} : { appliedAt: this.#appliedAt.toISOString() }),
      ...(this.#state === 'failing' && this.#nextRetryMs !== undefined
        ? { nextRetryMs: this.#nextRetryMs }
        : {}),
    };
  }

  get state(): NodePatchState {
    return this.#state;
  }

  /** The PATCH bodies of the successful attempt (empty before). */
  get patches(): NodePatches {
    return this.#patches;
  }

  /** Resolves with the patches once applied; rejects if the loop is stopped first. */
  whenApplied(): Promise<NodePatches> {
    return this.#applied;
  }

  /** Resolves with the status once the first attempt has finished (applied or failing). */
  whenFirstAttemptDone(): Promise<NodePatchStatus> {
    return this.#settled;
  }

  /** Ends the retries (an attempt in flight finishes on its own; its result is ignored). */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#wake?.();
    if (this.#state !== 'applied')
      this.#rejectApplied(new Error('node patch loop stopped before the node was patched'));
    this.#resolveSettled(this.status());
  }

  #now(): Date {
    return (this.#opts.now ?? (() => new Date()))();
  }

  #publishState(): void {
    const m = this.#opts.metrics;
    if (m === undefined) return;
    for (const s of NODE_PATCH_STATES) m.nodePatchState.set({ state: s }, s === this.#state ? 1 : 0);
  }

  async #run(): Promise<void> {
    const node = this.#opts.nodeName;
    while (!this.#stopped) {
      this.#attempts += 1;
      this.#lastAttemptAt = this.#now();
      let patches: NodePatches;
      try {
        patches = await this.#opts.apply();
      } catch (err) {
        if (this.#isStopped()) return;
        this.#failures += 1;
        const message = err instanceof Error ? err.message : String(err);
        const code = (err as { code?: unknown } | null)?.code;
        this.#lastError = { message, ...(typeof code === 'string' ? { code } : {}) };
        this.#state = 'failing';
        this.#nextRetryMs = nodePatchRetryDelay(this.#failures, this.#opts.backoff);
        this.#opts.metrics?.nodePatchAttempts.inc({ result: 'error' });
        this.#publishState();
        this.#log.warn(
          {
            node,
            attempt: this.#attempts,
            error: message,
            ...(typeof code === 'string' ? { code } : {}),
            retryInMs: this.#nextRetryMs,
          },
          'node patch failed; kubelet is served meanwhile, retrying with backoff',
        );
        this.#resolveSettled(this.status());
        await this.#sleep(this.#nextRetryMs);
        continue;
      }
      if (this.#isStopped()) return;
      this.#patches = patches;
      this.#state = 'applied';
      this.#appliedAt = this.#now();
      this.#nextRetryMs = undefined;
      this.#opts.metrics?.nodePatchAttempts.inc({ result: 'ok' });
      this.#publishState();
      this.#log.info({ node, attempts: this.#attempts }, 'node patched');
      this.#resolveSettled(this.status());
      this.#resolveApplied(patches);
      return;
    }
  }

  /** Read through a method: stop() may have run while an attempt was awaited. */
  #isStopped(): boolean {
    return this.#stopped;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      // Not unref'd: a pending retry is work to do; stop() clears it.
      this.#timer = setTimeout(resolve, ms);
    });
  }
}
