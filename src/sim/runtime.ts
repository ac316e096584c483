/**
 * The enclave runtime, host side: launches an enclave image on a {@link SimCpu} (EINIT), reads the
 * entry module back out of the measured pages, runs it in a worker thread (see enclave-worker.ts)
 * or, on request, on the host's own thread ({@link StartEnclaveOptions.thread}), and carries ECALLs
 * in and OCALLs out. The runtime reaches the simulated CPU only through the operations below,
 * always on behalf of its own enclave.
 *
 * Values crossing the boundary are JSON with `Uint8Array` carried as bytes; anything else
 * (functions, class instances, bigint) is refused with `ERR_ENCLAVE_ECALL`.
 */
import * as nodeCrypto from 'node:crypto';
import { EventEmitter } from 'node:events';
import * as nodeVm from 'node:vm';
import { createRequire } from 'node:module';
import type { MessagePort, Worker } from 'node:worker_threads';
import type * as WorkerThreads from 'node:worker_threads';
import { decodeKeyRequest, encodeTargetInfo } from '../core/index.ts';
import type { SimCpu, SimEnclave } from './cpu.ts';
import { EnclaveRuntimeError } from './enclave-errors.ts';
import type { EnclaveImage } from './enclave-definition.ts';
import { CONTEXT_SOURCE, WORKER_BOOT_SOURCE, WORKER_SOURCE } from './enclave-worker.ts';
import { type EnclaveLayout, readMeasuredFile } from './layout.ts';
import { sealData, unsealData } from './seal.ts';

let workerThreads: typeof WorkerThreads | undefined;
/**
 * node:worker_threads, loaded when the first worker thread is made: an enclave on the host's own
 * thread (`container run`) needs only `MessageChannel`, which is a global, and does not pay the
 * module's start-up.
 */
function loadWorkerThreads(): typeof WorkerThreads {
  workerThreads ??= createRequire(import.meta.url)('node:worker_threads') as typeof WorkerThreads;
  return workerThreads;
}

/** A host function the enclave may call (a declared OCALL). */
export type OcallHandler = (...args: unknown[]) => unknown;

/** Options of {@link startEnclave}. */
export interface StartEnclaveOptions {
  readonly cpu: SimCpu;
  readonly image: EnclaveImage;
  /** The 1808-byte SIGSTRUCT. */
  readonly sigstruct: Uint8Array;
  /** Handlers of the OCALLs declared in the definition. */
  readonly ocalls?: Readonly<Record<string, OcallHandler>>;
  /** Receives `enclave.log(...)` output; default: discarded. */
  readonly log?: (text: string) => void;
  /**
   * A worker from {@link prestartEnclaveWorker} to run the enclave in (used once). When it was
   * made for another heap size, or has died or been used, a fresh worker is started instead.
   */
  readonly worker?: EnclaveWorker;
  /**
   * Where the runtime runs. `worker` (the default): a worker thread of its own, with a heap limit
   * derived from `heapPages`; enclave code that loops forever or exhausts its heap stops only its
   * worker. `host`: on the calling thread, in its own V8 context (the same runtime text and the same
   * isolation of the context; ECALLs run on the host's event loop, as an SGX ECALL runs on the
   * thread that enters the enclave), with no worker start-up (tens of milliseconds of CPU) and no
   * heap limit of its own: for enclave code that ships with the host, such as the container
   * launcher's, never for code the host cannot vouch for. `worker` is ignored (and released).
   */
  readonly thread?: 'worker' | 'host';
}

/** The worker heap limit (MB) of an enclave with `heapPages` heap pages. */
export function enclaveWorkerHeapMb(heapPages: number): number {
  return Math.max(32, Math.ceil((heapPages * 4096) / (1024 * 1024)) * 2);
}

/**
 * A worker thread started ahead of its enclave ({@link prestartEnclaveWorker}). Until
 * {@link startEnclave} hands it an enclave it holds nothing, and it does not keep the process alive.
 */
export class EnclaveWorker {
  private state: 'standby' | 'taken' | 'dead' = 'standby';
  /** @internal */
  readonly worker: Worker;

  /** @internal use {@link prestartEnclaveWorker}. */
  constructor(
    /** The worker's heap limit (MB). */
    readonly heapMb: number,
  ) {
    this.worker = new (loadWorkerThreads().Worker)(WORKER_BOOT_SOURCE, {
      eval: true,
      env: {},
      argv: [],
      execArgv: [],
      stdout: false,
      stderr: false,
      resourceLimits: { maxOldGenerationSizeMb: heapMb },
    });
    this.worker.unref();
    const died = (): void => {
      if (this.state === 'standby') this.state = 'dead';
    };
    this.worker.on('error', died);
    this.worker.on('exit', died);
  }

  /** @internal The worker, once, if it is still alive and made for `heapMb`. */
  take(heapMb: number): Worker | undefined {
    if (this.state !== 'standby' || heapMb !== this.heapMb) return undefined;
    this.state = 'taken';
    return this.worker;
  }

  /** Stops the worker unless an enclave runs in it (that enclave's `terminate()` stops it then). */
  async release(): Promise<void> {
    if (this.state === 'taken') return;
    this.state = 'dead';
    await this.worker.terminate();
  }
}

/**
 * What the host side uses of the thread an enclave runs on: its worker, or a {@link HostThread}.
 * `message` carries the runtime's messages (see WorkerMessage), `error` an uncaught failure of the
 * runtime, `exit` its end.
 */
interface EnclaveThread {
  postMessage(message: unknown): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<unknown>;
  on(event: 'message', listener: (message: WorkerMessage) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

/** The modules the runtime's source loads (`require` inside {@link WORKER_SOURCE}). */
const RUNTIME_MODULES: Readonly<Record<string, unknown>> = { 'node:vm': nodeVm, 'node:crypto': nodeCrypto };

/** The runtime's source as a function of its `require`, compiled once per process. */
let hostRuntime: ((require: (id: string) => unknown) => void) | undefined;

/**
 * An enclave's runtime on the host's own thread ({@link StartEnclaveOptions.thread} `host`): the
 * same source a worker runs ({@link WORKER_SOURCE}, which the runtime id covers), evaluated here
 * with one end of a `MessageChannel` as its port. Messages cross the channel as they cross a
 * worker's port (structured clone, delivered on a later turn of the event loop), so the host side
 * runs unchanged. An exception thrown out of the runtime's message handler, or out of its top
 * level, is reported as the worker's `error` would be, and ends the runtime. The runtime's end of
 * the channel never keeps the process alive; the host's end does while it is ref'd (as a worker).
 */
class HostThread extends EventEmitter implements EnclaveThread {
  readonly #host: MessagePort;
  readonly #runtime: MessagePort;
  #ended = false;

  constructor(workerData: unknown) {
    super();
    // The global MessageChannel: the same class as node:worker_threads' (see loadWorkerThreads).
    const { port1, port2 } = new MessageChannel();
    this.#host = port1;
    this.#runtime = port2;
    port1.on('message', (m: unknown) => {
      if (!this.#ended) this.emit('message', m);
    });
    const guarded =
      (listener: (m: unknown) => void) =>
      (m: unknown): void => {
        if (this.#ended) return;
        try {
          listener(m);
        } catch (err) {
          this.#fail(err);
        }
      };
    const parentPort = {
      on: (event: string, listener: (m: unknown) => void): void => {
        port2.on(event, guarded(listener));
        port2.unref();
      },
      once: (event: string, listener: (m: unknown) => void): void => {
        port2.once(event, guarded(listener));
        port2.unref();
      },
      postMessage: (m: unknown): void => {
        if (!this.#ended) port2.postMessage(m);
      },
    };
    const require = (id: string): unknown => {
      if (id === 'node:worker_threads') return { parentPort, workerData };
      const m = RUNTIME_MODULES[id];
      if (m === undefined) throw new Error(`the enclave runtime cannot load ${id}`);
      return m;
    };
    try {
      hostRuntime ??= nodeVm.runInThisContext(`(function (require) {\n${WORKER_SOURCE}\n})`, {
        filename: 'ccnodes:enclave-host-runtime',
      }) as (require: (id: string) => unknown) => void;
      hostRuntime(require);
    } catch (err) {
      this.#fail(err);
    }
  }

  /** Reports `err` as `error` (on a later turn: no listener may be attached yet), then ends. */
  #fail(err: unknown): void {
    if (this.#ended) return;
    const error = err instanceof Error ? err : new Error(String(err));
    setImmediate(() => this.emit('error', error));
    void this.terminate();
  }

  postMessage(message: unknown): void {
    if (!this.#ended) this.#host.postMessage(message);
  }

  ref(): void {
    if (!this.#ended) this.#host.ref();
  }

  unref(): void {
    this.#host.unref();
  }

  /** Closes the channel (the runtime's keys go with it) and emits `exit` (code 1, as a terminated worker). */
  terminate(): Promise<number> {
    if (!this.#ended) {
      this.#ended = true;
      this.#host.close();
      this.#runtime.close();
      setImmediate(() => this.emit('exit', 1));
    }
    return Promise.resolve(1);
  }
}

/**
 * Starts a worker thread for an enclave that does not exist yet: Node's worker start-up (tens of
 * milliseconds) then runs on another core while the host prepares the enclave, and
 * {@link startEnclave} (`options.worker`) only has to send it the enclave. A worker that is not
 * used should be {@link EnclaveWorker.release}d.
 */
export function prestartEnclaveWorker(options: { readonly heapPages?: number } = {}): EnclaveWorker {
  return new EnclaveWorker(enclaveWorkerHeapMb(options.heapPages ?? 64));
}

function encodeValue(v: unknown): string {
  // `this[k]` is the value before toJSON (a Buffer would otherwise arrive as {type, data}).
  return JSON.stringify(v, function (this: Record<string, unknown>, k: string, value: unknown) {
    const x = this[k] instanceof Uint8Array ? this[k] : value;
    if (x instanceof Uint8Array) return { $b: Buffer.from(x).toString('hex') };
    if (typeof x === 'bigint' || typeof x === 'function' || typeof x === 'symbol') {
      throw new EnclaveRuntimeError('ERR_ENCLAVE_ECALL', `a ${typeof x} cannot cross the enclave boundary`);
    }
    return x;
  });
}

function decodeValue(s: string): unknown {
  return JSON.parse(s, (_k, x: unknown) => {
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
      const o = x as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && typeof o['$b'] === 'string')
        return new Uint8Array(Buffer.from(o['$b'], 'hex'));
    }
    return x;
  });
}

/**
 * Largest message (characters of its JSON) carried into the worker for each MB of its heap limit.
 * A message is parsed into one string inside the worker; one allocation bigger than the worker's
 * whole heap is not the recoverable "worker reached its memory limit" error but a fatal V8
 * out-of-memory that aborts the entire process. A quarter of the heap keeps a wide margin: bigger
 * arguments or results are refused with `ERR_ENCLAVE_ECALL` before they are sent.
 */
const MESSAGE_CHARS_PER_HEAP_MB = (1024 * 1024) / 4;

function bytesArg(args: Record<string, unknown>, name: string): Uint8Array {
  const v = args[name];
  if (!(v instanceof Uint8Array)) throw new EnclaveRuntimeError('ERR_ENCLAVE_ECALL', `${name} must be bytes`);
  return v;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type WorkerMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'log'; text: string }
  | { type: 'ecall-result'; payload: string }
  | { type: 'op'; id: number; op: string; args: string };

/** A running enclave: call its ECALLs, then `terminate()`. */
export class RunningEnclave {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: EnclaveRuntimeError | undefined;

  /** @internal use {@link startEnclave}. */
  constructor(
    /** The enclave's identity as initialised by the CPU. */
    readonly enclave: SimEnclave,
    /** Its page layout (what was measured). */
    readonly layout: EnclaveLayout,
    private readonly worker: EnclaveThread,
    /** Largest message carried into the worker (characters). */
    private readonly maxMessageChars: number = Number.POSITIVE_INFINITY,
  ) {}

  /** Calls a declared ECALL with JSON-compatible arguments (`Uint8Array` allowed). */
  ecall(name: string, ...args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    if (!this.layout.manifest.ecalls.includes(name)) {
      return Promise.reject(
        new EnclaveRuntimeError(
          'ERR_ENCLAVE_ECALL',
          `ECALL ${name} is not declared in the enclave definition`,
          { ecall: name },
        ),
      );
    }
    let payload: string;
    try {
      payload = encodeValue(args);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    if (payload.length > this.maxMessageChars)
      return Promise.reject(
        new EnclaveRuntimeError(
          'ERR_ENCLAVE_ECALL',
          `ECALL ${name}: arguments of ${payload.length} characters exceed the ${this.maxMessageChars} the enclave heap can take`,
          { ecall: name },
        ),
      );
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'ecall', id, name, args: payload });
    });
  }

  /** This enclave's 512-byte TARGETINFO. */
  targetInfo(): Uint8Array {
    return encodeTargetInfo(this.enclave.targetInfo());
  }

  /** Stops the worker; pending ECALLs reject with `ERR_ENCLAVE_RUNTIME`. */
  async terminate(): Promise<void> {
    this.fail(new EnclaveRuntimeError('ERR_ENCLAVE_RUNTIME', 'the enclave was terminated'));
    await this.worker.terminate();
  }

  /** @internal */
  fail(err: EnclaveRuntimeError): void {
    this.dead ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.worker.unref();
  }

  /** @internal */
  settle(payload: string): void {
    const r = decodeValue(payload) as {
      id: number;
      ok: boolean;
      value?: unknown;
      error?: { code: string; message: string };
    };
    const p = this.pending.get(r.id);
    if (p === undefined) return;
    this.pending.delete(r.id);
    if (this.pending.size === 0) this.worker.unref();
    if (r.ok) p.resolve(r.value);
    else {
      const code = r.error?.code === 'ERR_ENCLAVE_ECALL' ? 'ERR_ENCLAVE_ECALL' : 'ERR_ENCLAVE_RUNTIME';
      p.reject(
        new EnclaveRuntimeError(code, `enclave ECALL failed: ${r.error?.message ?? '?'}`, {
          enclaveCode: r.error?.code,
        }),
      );
    }
  }
}

/**
 * EINITs `image` with `sigstruct` on `cpu` (throws `EinitError` on a failed check), then starts its
 * entry module in a worker and resolves once the module has run its top level.
 */
export async function startEnclave(options: StartEnclaveOptions): Promise<RunningEnclave> {
  const { cpu, image } = options;
  const { enclave, layout } = cpu.einitImage(image, options.sigstruct);
  const entryBytes = readMeasuredFile(layout, layout.manifest.entry);
  let entrySource: string;
  try {
    entrySource = new TextDecoder('utf-8', { fatal: true }).decode(entryBytes);
  } catch (cause) {
    throw new EnclaveRuntimeError(
      'ERR_ENCLAVE_RUNTIME',
      `entry module ${layout.manifest.entry} is not UTF-8 text`,
      {},
      cause,
    );
  }
  const identity = encodeValue({
    mrEnclave: enclave.mrEnclave,
    mrSigner: enclave.mrSigner,
    isvProdId: enclave.isvProdId,
    isvSvn: enclave.isvSvn,
    debug: enclave.debug,
  });
  const heapMb = enclaveWorkerHeapMb(image.definition.heapPages);
  const workerData = {
    contextSource: CONTEXT_SOURCE,
    entrySource,
    entryName: layout.manifest.entry,
    identity,
    config: encodeValue({ ecalls: layout.manifest.ecalls, ocalls: layout.manifest.ocalls }),
  };
  let worker: EnclaveThread;
  if (options.thread === 'host') {
    if (options.worker !== undefined) void options.worker.release();
    // The runtime and the entry module's top level run here and now; `ready` (or `failed`) is
    // already on its way through the channel.
    worker = new HostThread(workerData);
  } else {
    const standby = options.worker?.take(heapMb);
    if (options.worker !== undefined && standby === undefined) void options.worker.release();
    const thread = standby ?? new EnclaveWorker(heapMb).worker;
    thread.postMessage({ type: 'start', workerData });
    worker = thread;
  }
  // Until `ready` the runtime keeps the process alive (a standby worker does not).
  worker.ref();
  const maxMessageChars = heapMb * MESSAGE_CHARS_PER_HEAP_MB;
  const running = new RunningEnclave(enclave, layout, worker, maxMessageChars);
  const ocalls = options.ocalls ?? {};

  const operation = async (op: string, args: Record<string, unknown>): Promise<unknown> => {
    switch (op) {
      case 'ereport':
        return cpu.ereport(enclave, bytesArg(args, 'targetInfo'), bytesArg(args, 'reportData'));
      case 'targetInfo':
        return running.targetInfo();
      case 'verifyReport': {
        const r = cpu.verifyReport(enclave, bytesArg(args, 'report'));
        return {
          mrEnclave: r.body.mrEnclave,
          mrSigner: r.body.mrSigner,
          isvProdId: r.body.isvProdId,
          isvSvn: r.body.isvSvn,
          reportData: r.body.reportData,
        };
      }
      case 'egetkey':
        return cpu.egetkey(enclave, decodeKeyRequest(bytesArg(args, 'keyRequest')));
      case 'seal': {
        const policy =
          args['policy'] === 'mrenclave'
            ? 'mrenclave'
            : args['policy'] === 'mrsigner'
              ? 'mrsigner'
              : undefined;
        if (policy === undefined)
          throw new EnclaveRuntimeError('ERR_ENCLAVE_ECALL', 'seal policy must be "mrsigner" or "mrenclave"');
        return sealData(cpu, enclave, bytesArg(args, 'plaintext'), {
          policy,
          additionalData: bytesArg(args, 'additionalData'),
        });
      }
      case 'unseal':
        return unsealData(cpu, enclave, bytesArg(args, 'blob'));
      case 'ocall': {
        const name = String(args['name']);
        const handler = layout.manifest.ocalls.includes(name) ? ocalls[name] : undefined;
        if (handler === undefined)
          throw new EnclaveRuntimeError('ERR_ENCLAVE_ECALL', `OCALL ${name} has no host handler`);
        return await handler(...(Array.isArray(args['args']) ? (args['args'] as unknown[]) : []));
      }
      default:
        throw new EnclaveRuntimeError('ERR_ENCLAVE_ECALL', `unknown enclave operation ${op}`);
    }
  };

  const reply = (id: number, result: Promise<unknown>): void => {
    result.then(
      (value) => {
        let payload: string;
        try {
          payload = encodeValue({ ok: true, value: value ?? null });
          if (payload.length > maxMessageChars)
            throw new Error(
              `a result of ${payload.length} characters exceeds the ${maxMessageChars} the enclave heap can take`,
            );
        } catch (err) {
          payload = encodeValue({
            ok: false,
            error: { code: 'ERR_ENCLAVE_ECALL', message: (err as Error).message },
          });
        }
        worker.postMessage({ type: 'op-result', id, payload });
      },
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        const code = typeof e.code === 'string' ? e.code : 'ERR_ENCLAVE_RUNTIME';
        worker.postMessage({
          type: 'op-result',
          id,
          payload: encodeValue({ ok: false, error: { code, message: String(e.message) } }),
        });
      },
    );
  };

  // The worker keeps the process alive only while it starts and while ECALLs are pending, so an
  // enclave the host forgot to terminate does not hold a finished program open.
  await new Promise<void>((resolve, reject) => {
    let started = false;
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          started = true;
          worker.unref();
          resolve();
          break;
        case 'failed': {
          const err = new EnclaveRuntimeError(
            'ERR_ENCLAVE_RUNTIME',
            `enclave entry module failed: ${m.message}`,
          );
          running.fail(err);
          void worker.terminate();
          reject(err);
          break;
        }
        case 'log':
          options.log?.(m.text);
          break;
        case 'ecall-result':
          running.settle(m.payload);
          break;
        case 'op': {
          let args: Record<string, unknown>;
          try {
            args = (decodeValue(m.args) ?? {}) as Record<string, unknown>;
          } catch (err) {
            reply(m.id, Promise.reject(err instanceof Error ? err : new Error(String(err))));
            break;
          }
          reply(
            m.id,
            Promise.resolve().then(() => operation(m.op, args)),
          );
          break;
        }
      }
    });
    const died = (message: string): void => {
      const err = new EnclaveRuntimeError('ERR_ENCLAVE_RUNTIME', message);
      running.fail(err);
      if (!started) reject(err);
    };
    worker.on('error', (e: Error) => {
      died(`enclave worker failed: ${e.message}`);
    });
    worker.on('exit', (code: number) => {
      died(`enclave worker exited (code ${code})`);
    });
  });
  return running;
}
