/**
 * The body of a policy evaluation worker thread (started by `policy-pool.ts`): it receives a
 * policy text and incoming claims, evaluates them with the policy module and posts the outcome or
 * the policy error back. Parsed policies are cached by text, so a stored policy is parsed once per
 * worker. Evaluation is bounded by the policy module's step and byte budgets; the pool adds the
 * wall-clock deadline by terminating this thread, which is why evaluation runs here and not on the
 * service's event loop.
 *
 * Importing this module in any other thread does nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { evaluatePolicy, parsePolicy, PolicyError, type Claim, type Policy } from '../policy/index.ts';

/** Marker in `workerData` that makes this module start serving. */
export const POLICY_WORKER_MARKER = 'ccnodesPolicyWorker';

/** A request to the worker. */
export interface PolicyTask {
  readonly id: number;
  readonly policyText: string;
  readonly claims: readonly Claim[];
  /** Work budgets (defaults: the policy module's limits). */
  readonly maxSteps?: number;
  readonly maxBytesTouched?: number;
}

/** A policy error as it crosses the thread boundary. */
export interface PolicyErrorData {
  readonly name: string;
  readonly code: string;
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly details: Record<string, unknown>;
}

/** What the worker posts: `ready` once, then one reply per task. */
export type PolicyWorkerMessage =
  | { readonly ready: true }
  | {
      readonly id: number;
      readonly ok: true;
      readonly outcome: ReturnType<typeof evaluatePolicy>;
    }
  | { readonly id: number; readonly ok: false; readonly error: PolicyErrorData | null };

const MAX_CACHED = 64;
const cache = new Map<string, Policy>();

function compiled(text: string): Policy {
  let p = cache.get(text);
  if (p === undefined) {
    p = parsePolicy(text);
    if (cache.size >= MAX_CACHED) cache.clear();
    cache.set(text, p);
  }
  return p;
}

function run(task: PolicyTask): PolicyWorkerMessage {
  try {
    const outcome = evaluatePolicy(compiled(task.policyText), task.claims, {
      ...(task.maxSteps === undefined ? {} : { maxSteps: task.maxSteps }),
      ...(task.maxBytesTouched === undefined ? {} : { maxBytesTouched: task.maxBytesTouched }),
    });
    return { id: task.id, ok: true, outcome };
  } catch (err) {
    if (err instanceof PolicyError) {
      return {
        id: task.id,
        ok: false,
        error: {
          name: err.name,
          code: err.code,
          message: err.message,
          line: err.line,
          column: err.column,
          details: err.details,
        },
      };
    }
    // Anything else is a bug in the evaluator; the pool reports it as an internal error.
    return { id: task.id, ok: false, error: null };
  }
}

const port = parentPort;
const data = workerData as Record<string, unknown> | null | undefined;
if (port !== null && typeof data === 'object' && data !== null && data[POLICY_WORKER_MARKER] === true) {
  port.on('message', (task: PolicyTask) => {
    port.postMessage(run(task));
  });
  port.postMessage({ ready: true } satisfies PolicyWorkerMessage);
}
