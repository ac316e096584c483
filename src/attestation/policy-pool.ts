/**
 * Policy evaluation off the event loop, with a wall-clock deadline.
 *
 * The policy module bounds every evaluation by work steps and bytes touched, but a bound in work is
 * not a bound in time, and a synchronous evaluation on the service's event loop stalls every other
 * request while it runs. So evaluations run in worker threads (`policy-worker.ts`), in two lanes:
 *
 * - `stored`: policies set by an administrator (or the defaults) — every ordinary attestation;
 * - `draft`: `draftPolicyForAttestation` policies sent by anonymous clients, in their own worker(s),
 *   so that hostile drafts never delay ordinary attestations.
 *
 * Each evaluation gets `deadlineMs` from the moment a worker starts it; past the deadline the worker
 * is terminated (V8 stops it wherever it is), the request fails with `ERR_ATTEST_POLICY_TIMEOUT`,
 * and a fresh worker is started for the next evaluation. Evaluations wait in a bounded queue per
 * lane; when it is full the request fails at once with `ERR_ATTEST_BUSY` (503) instead of piling up.
 * Workers start on first use (or at {@link PolicyEvaluatorPool.warm}), never keep the process alive,
 * and are capped in heap.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PolicyEvaluationError, PolicySyntaxError, type Claim, type PolicyOutcome } from '../policy/index.ts';
import { ServiceLimitError } from './errors.ts';
import {
  POLICY_WORKER_MARKER,
  type PolicyErrorData,
  type PolicyTask,
  type PolicyWorkerMessage,
} from './policy-worker.ts';

/** Default wall-clock deadline of one evaluation. */
export const DEFAULT_POLICY_DEADLINE_MS = 1000;
/** Default evaluations waiting per lane before new ones are refused. */
export const DEFAULT_POLICY_QUEUE = 64;
/** Heap cap of one worker (old generation, MiB). */
const WORKER_HEAP_MB = 256;

/** Options of {@link PolicyEvaluatorPool}. */
export interface PolicyPoolOptions {
  /** Wall-clock deadline per evaluation in ms (default {@link DEFAULT_POLICY_DEADLINE_MS}). */
  readonly deadlineMs?: number;
  /** Workers for stored policies (default 1); drafts always get one worker of their own. */
  readonly workers?: number;
  /** Evaluations waiting per lane (default {@link DEFAULT_POLICY_QUEUE}). */
  readonly maxQueue?: number;
  /** Work budgets per evaluation (default: the policy module's `POLICY_LIMITS`). */
  readonly budget?: { readonly maxSteps?: number; readonly maxBytesTouched?: number };
}

/** Which lane an evaluation runs in. */
export type PolicyLane = 'stored' | 'draft';

interface Task {
  readonly message: PolicyTask;
  resolve(outcome: PolicyOutcome): void;
  reject(err: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  task?: Task;
  timer?: NodeJS.Timeout;
}

/**
 * Where the worker's code is. From the TypeScript sources, the worker registers tsx and imports
 * `policy-worker.ts`. In the precompiled build, `policy-worker.js` is a build entry next to the
 * chunks. `import.meta.filename` (not `import.meta.url`, which the build rewrites to the source
 * location) tells the two apart.
 */
function workerSpec(): { code: string | URL; eval: boolean; data: Record<string, unknown> } {
  const here = import.meta.filename;
  if (here.endsWith('.ts')) {
    const code = [
      "const { workerData } = require('node:worker_threads');",
      'import(workerData.tsx)',
      '  .then((m) => { m.register({ tsconfig: workerData.tsconfig }); return import(workerData.entry); })',
      '  .catch((err) => { setImmediate(() => { throw err; }); });',
    ].join('\n');
    const tsconfig = join(dirname(here), '..', '..', 'tsconfig.json');
    return {
      code,
      eval: true,
      data: {
        tsx: import.meta.resolve('tsx/esm/api'),
        entry: pathToFileURL(join(dirname(here), 'policy-worker.ts')).href,
        ...(existsSync(tsconfig) ? { tsconfig } : {}),
      },
    };
  }
  return { code: pathToFileURL(join(dirname(here), 'policy-worker.js')), eval: false, data: {} };
}

class Lane {
  readonly #slots = new Set<Slot>();
  readonly #queue: Task[] = [];

  constructor(
    readonly name: PolicyLane,
    private readonly size: number,
    private readonly deadlineMs: number,
    private readonly maxQueue: number,
  ) {}

  run(task: Task): void {
    if (this.#queue.length >= this.maxQueue) {
      task.reject(
        new ServiceLimitError(
          'ERR_ATTEST_BUSY',
          `${this.#queue.length} policy evaluations are already waiting; try again later`,
          { lane: this.name },
        ),
      );
      return;
    }
    this.#queue.push(task);
    this.#pump();
  }

  warm(): void {
    while (this.#slots.size < this.size) this.#spawn();
  }

  async close(): Promise<void> {
    const slots = [...this.#slots];
    this.#slots.clear();
    for (const task of this.#queue.splice(0)) task.reject(this.#closed());
    await Promise.all(
      slots.map(async (s) => {
        if (s.timer !== undefined) clearTimeout(s.timer);
        s.task?.reject(this.#closed());
        await s.worker.terminate();
      }),
    );
  }

  #closed(): ServiceLimitError {
    return new ServiceLimitError('ERR_ATTEST_BUSY', 'the service is shutting down', { lane: this.name });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.ready && slot.task === undefined) this.#dispatch(slot, this.#queue.shift() as Task);
    }
    if (this.#queue.length > 0 && this.#slots.size < this.size) this.#spawn();
  }

  #dispatch(slot: Slot, task: Task): void {
    slot.task = task;
    slot.timer = setTimeout(() => {
      this.#retire(slot);
      task.reject(
        new ServiceLimitError(
          'ERR_ATTEST_POLICY_TIMEOUT',
          `policy evaluation ran past its ${this.deadlineMs} ms deadline and was stopped`,
          { deadlineMs: this.deadlineMs, lane: this.name },
        ),
      );
      this.#pump();
    }, this.deadlineMs);
    slot.worker.postMessage(task.message);
  }

  #retire(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    this.#slots.delete(slot);
    slot.worker.removeAllListeners();
    slot.worker.on('error', () => undefined);
    void slot.worker.terminate();
  }

  #spawn(): void {
    const spec = workerSpec();
    const worker = new Worker(spec.code, {
      eval: spec.eval,
      workerData: { [POLICY_WORKER_MARKER]: true, ...spec.data },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = { worker, ready: false };
    this.#slots.add(slot);
    worker.on('message', (msg: PolicyWorkerMessage) => {
      if ('ready' in msg) {
        slot.ready = true;
        this.#pump();
        return;
      }
      const task = slot.task;
      if (task === undefined || task.message.id !== msg.id) return;
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      delete slot.task;
      delete slot.timer;
      if (msg.ok) task.resolve(msg.outcome);
      else task.reject(rebuildError(msg.error));
      this.#pump();
    });
    const failed = (cause: unknown): void => {
      if (!this.#slots.has(slot)) return;
      const wasReady = slot.ready;
      const task = slot.task;
      this.#retire(slot);
      const outOfMemory = (cause as { code?: unknown } | null)?.code === 'ERR_WORKER_OUT_OF_MEMORY';
      task?.reject(
        outOfMemory
          ? new ServiceLimitError(
              'ERR_ATTEST_POLICY_TIMEOUT',
              `policy evaluation ran out of its ${WORKER_HEAP_MB} MiB of memory and was stopped`,
              { lane: this.name },
            )
          : workerFailure(cause),
      );
      if (!wasReady && ![...this.#slots].some((s) => s.ready)) {
        // The worker cannot even start: fail what is waiting rather than retrying forever.
        for (const t of this.#queue.splice(0)) t.reject(workerFailure(cause));
        return;
      }
      this.#pump();
    };
    worker.on('error', failed);
    worker.on('exit', (code) => {
      failed(new Error(`policy worker exited with code ${code}`));
    });
  }
}

function workerFailure(cause: unknown): ServiceLimitError {
  return new ServiceLimitError('ERR_ATTEST_POLICY_WORKER', 'the policy evaluation worker failed', {}, cause);
}

/** Turns a policy error posted by a worker back into the class the HTTP error mapper knows. */
function rebuildError(data: PolicyErrorData | null): Error {
  if (data === null) return workerFailure(new Error('unexpected error in the policy evaluator'));
  const pos = data.line > 0 ? { line: data.line, column: data.column, offset: 0 } : undefined;
  const prefix = pos === undefined ? '' : `${data.line}:${data.column}: `;
  const message = data.message.startsWith(prefix) ? data.message.slice(prefix.length) : data.message;
  const details = { ...data.details };
  delete details['line'];
  delete details['column'];
  if (data.name === 'PolicySyntaxError' && pos !== undefined) {
    return new PolicySyntaxError(data.code as PolicySyntaxError['code'], message, pos, details);
  }
  return new PolicyEvaluationError(data.code as PolicyEvaluationError['code'], message, pos, details);
}

/** Evaluates policies in worker threads; see the module comment. */
export class PolicyEvaluatorPool {
  readonly #lanes: Record<PolicyLane, Lane>;
  readonly #budget: { readonly maxSteps?: number; readonly maxBytesTouched?: number };
  #nextId = 1;

  constructor(options: PolicyPoolOptions = {}) {
    const deadline = options.deadlineMs ?? DEFAULT_POLICY_DEADLINE_MS;
    const queue = options.maxQueue ?? DEFAULT_POLICY_QUEUE;
    if (!(deadline > 0) || !(queue > 0) || !((options.workers ?? 1) >= 1)) {
      throw new RangeError('policy pool: deadlineMs, maxQueue and workers must be positive');
    }
    this.#budget = options.budget ?? {};
    this.#lanes = {
      stored: new Lane('stored', options.workers ?? 1, deadline, queue),
      draft: new Lane('draft', 1, deadline, queue),
    };
  }

  /** Evaluates `policyText` over `claims` in `lane`; rejects with the policy error, or a limit error. */
  evaluate(policyText: string, claims: readonly Claim[], lane: PolicyLane): Promise<PolicyOutcome> {
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#lanes[lane].run({ message: { id, policyText, claims, ...this.#budget }, resolve, reject });
    });
  }

  /** Starts the workers now instead of on first use. */
  warm(): void {
    this.#lanes.stored.warm();
    this.#lanes.draft.warm();
  }

  /** Terminates every worker; waiting evaluations fail. */
  async close(): Promise<void> {
    await Promise.all([this.#lanes.stored.close(), this.#lanes.draft.close()]);
  }
}
