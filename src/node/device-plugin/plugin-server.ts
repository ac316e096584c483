/**
 * A generic kubelet device plugin (API v1beta1) for one extended resource: serves the DevicePlugin
 * gRPC service on a unix socket in the device-plugin directory, then registers with kubelet, and keeps
 * doing both across kubelet restarts (spec §1.4–§1.6).
 *
 * Lifecycle, as kubelet expects it:
 * 1. remove a stale socket (refuse if something still answers on it), listen, serve;
 * 2. call `Registration.Register` on `kubelet.sock` — kubelet dials us back and calls
 *    GetDevicePluginOptions inside that call, so we are already serving and never block on it;
 * 3. watch the directory (fs.watch plus a periodic check as a safety net): when our socket disappears
 *    or is replaced (a restarted kubelet wipes the directory), stop and serve again; when `kubelet.sock`
 *    is new, register again;
 * 4. ListAndWatch streams stay open; {@link DevicePluginServer.update} pushes the complete device list
 *    to each of them (health changes);
 * 5. {@link DevicePluginServer.stop} ends the streams, shuts the server down and removes our socket.
 */
import { EventEmitter } from 'node:events';
import { watch, type FSWatcher } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { isCcnodesError } from '../../errors/index.ts';
import { KUBELET_SOCKET_NAME } from '../../contract/index.ts';
import {
  DEVICE_PLUGIN_API_VERSION,
  type AllocateRequest,
  type AllocateResponse,
  type ContainerAllocateRequest,
  type ContainerAllocateResponse,
  type ContainerPreferredAllocationRequest,
  type ContainerPreferredAllocationResponse,
  type Device,
  type DevicePluginOptions,
  type ListAndWatchResponse,
  type PreferredAllocationRequest,
  type PreferredAllocationResponse,
  type PreStartContainerRequest,
  type RegisterRequest,
} from './api-types.ts';
import { DevicePluginServerError } from './errors.ts';
import { silentLogger, type PluginLogger } from './logger.ts';
import { encodeListAndWatchResponse } from './list-and-watch-codec.ts';
import { devicePluginApi, unixTarget } from './proto.ts';
import { fileIdentity, isNotFound } from './socket-identity.ts';

/** What one resource contributes: its devices and its answers to kubelet's RPCs. */
export interface DevicePluginHandler {
  /** Extended resource name, e.g. `sgx.intel.com/enclave`. */
  readonly resourceName: string;
  /** Which optional RPCs kubelet should call. */
  readonly options: DevicePluginOptions;
  /** The complete current device list (sent whole in every ListAndWatch message). */
  listDevices(): Device[];
  /** Answer for one container; throw a CcnodesError to refuse (the pod is not admitted). */
  allocate(request: ContainerAllocateRequest): ContainerAllocateResponse;
  /** Advisory choice of `allocation_size` IDs. */
  preferredAllocation(request: ContainerPreferredAllocationRequest): ContainerPreferredAllocationResponse;
  /** Called before each container start when `pre_start_required`. */
  preStartContainer(request: PreStartContainerRequest): void;
}

/** Options of {@link DevicePluginServer}. */
export interface DevicePluginServerOptions {
  /** Kubelet's device-plugin directory (holds `kubelet.sock` and our socket). */
  readonly pluginDir: string;
  /** File name of our socket inside `pluginDir`. */
  readonly socketName: string;
  readonly handler: DevicePluginHandler;
  readonly logger?: PluginLogger;
  /** Period of the safety-net check of both sockets, in ms (default 1000). */
  readonly watchIntervalMs?: number;
  /** Deadline of one Register call, in ms (default 15000; kubelet's dial-back alone may take 10 s). */
  readonly registerTimeoutMs?: number;
}

/** Events of {@link DevicePluginServer}. */
export interface DevicePluginServerEvents {
  registered: [count: number];
  registerError: [error: DevicePluginServerError];
  served: [socketPath: string];
  allocate: [deviceIds: string[]];
  allocateFailed: [deviceIds: string[]];
}

type AnyStream = grpc.ServerWritableStream<unknown, ListAndWatchResponse>;

/** One kubelet device plugin for one resource. See the module comment for the lifecycle. */
export class DevicePluginServer extends EventEmitter<DevicePluginServerEvents> {
  readonly socketPath: string;
  readonly kubeletSocketPath: string;
  readonly resourceName: string;
  readonly #opts: DevicePluginServerOptions;
  readonly #log: PluginLogger;
  #server: grpc.Server | undefined;
  #socketId: string | undefined;
  #registeredWith: string | undefined;
  #registrations = 0;
  readonly #streams = new Set<AnyStream>();
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #checkRunning: Promise<void> | undefined;
  #checkAgain = false;
  #stopped = false;

  constructor(options: DevicePluginServerOptions) {
    super();
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
    this.socketPath = join(options.pluginDir, options.socketName);
    this.kubeletSocketPath = join(options.pluginDir, KUBELET_SOCKET_NAME);
    this.resourceName = options.handler.resourceName;
  }

  /** Successful registrations so far (1 after start, +1 per kubelet restart). */
  get registrations(): number {
    return this.#registrations;
  }

  /** True while registered with the current `kubelet.sock`. */
  get registered(): boolean {
    return this.#registeredWith !== undefined;
  }

  /**
   * Serves, then tries to register once. A failed registration is logged and retried on the next
   * directory event or periodic check; it does not reject. Rejects when the socket cannot be served.
   */
  async start(): Promise<void> {
    await this.#refuseIfInUse();
    await this.#serve();
    this.#startWatching();
    await this.#check();
  }

  /** Pushes the handler's current device list to every open ListAndWatch stream. */
  update(): void {
    const message: ListAndWatchResponse = { devices: this.#opts.handler.listDevices() };
    for (const stream of this.#streams) stream.write(message);
  }

  /** Ends streams, stops serving and removes our socket. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#checkRunning;
    await this.#shutdownServer(true);
    this.#registeredWith = undefined;
  }

  // ---- serving ----------------------------------------------------------------------------

  async #refuseIfInUse(): Promise<void> {
    const answering = await new Promise<boolean>((resolve) => {
      const sock = connect(this.socketPath);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => {
        resolve(false);
      });
    });
    if (answering) {
      throw new DevicePluginServerError(
        'ERR_DEVICE_PLUGIN_SOCKET_IN_USE',
        `another process already serves ${this.socketPath}; is a second device plugin for ${this.resourceName} running?`,
        { socketPath: this.socketPath },
      );
    }
  }

  async #serve(): Promise<void> {
    await unlink(this.socketPath).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
    });
    const server = new grpc.Server();
    server.addService(fastDevicePluginService(), this.#implementation());
    try {
      await new Promise<void>((resolve, reject) => {
        server.bindAsync(unixTarget(this.socketPath), grpc.ServerCredentials.createInsecure(), (err) => {
          if (err === null) resolve();
          else reject(err);
        });
      });
    } catch (cause) {
      server.forceShutdown();
      throw new DevicePluginServerError(
        'ERR_DEVICE_PLUGIN_LISTEN',
        `cannot serve ${this.socketPath}: ${errorText(cause)}`,
        { socketPath: this.socketPath },
        cause,
      );
    }
    this.#server = server;
    this.#socketId = await fileIdentity(this.socketPath);
    this.#log.info({ resource: this.resourceName, socket: this.socketPath }, 'device plugin serving');
    this.emit('served', this.socketPath);
  }

  async #shutdownServer(removeSocket: boolean): Promise<void> {
    for (const stream of this.#streams) stream.end();
    this.#streams.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    }
    if (removeSocket && this.#socketId !== undefined) {
      // Remove the socket only if it is still ours.
      if ((await fileIdentity(this.socketPath)) === this.#socketId) {
        await unlink(this.socketPath).catch(() => undefined);
      }
    }
    this.#socketId = undefined;
  }

  #implementation(): grpc.UntypedServiceImplementation {
    const handler = this.#opts.handler;
    return {
      GetDevicePluginOptions: (_call: unknown, callback: grpc.sendUnaryData<DevicePluginOptions>) => {
        callback(null, handler.options);
      },
      ListAndWatch: (call: AnyStream) => {
        this.#streams.add(call);
        const forget = (): void => {
          this.#streams.delete(call);
        };
        call.on('cancelled', forget);
        call.on('close', forget);
        call.on('error', forget);
        call.write({ devices: handler.listDevices() });
      },
      GetPreferredAllocation: (
        call: grpc.ServerUnaryCall<PreferredAllocationRequest, PreferredAllocationResponse>,
        callback: grpc.sendUnaryData<PreferredAllocationResponse>,
      ) => {
        this.#answer(callback, () => ({
          container_responses: call.request.container_requests.map((r) => handler.preferredAllocation(r)),
        }));
      },
      Allocate: (
        call: grpc.ServerUnaryCall<AllocateRequest, AllocateResponse>,
        callback: grpc.sendUnaryData<AllocateResponse>,
      ) => {
        const ok = this.#answer(callback, () => ({
          container_responses: call.request.container_requests.map((r) => handler.allocate(r)),
        }));
        if (ok)
          this.emit(
            'allocate',
            call.request.container_requests.flatMap((r) => r.devices_ids),
          );
        else {
          this.emit(
            'allocateFailed',
            call.request.container_requests.flatMap((r) => r.devices_ids),
          );
          // Spec §1.5: after a failed allocation, push the current list so kubelet sees fresh health.
          this.update();
        }
      },
      PreStartContainer: (
        call: grpc.ServerUnaryCall<PreStartContainerRequest, Record<string, never>>,
        callback: grpc.sendUnaryData<Record<string, never>>,
      ) => {
        this.#answer(callback, () => {
          handler.preStartContainer(call.request);
          return {};
        });
      },
    };
  }

  #answer<T>(callback: grpc.sendUnaryData<T>, produce: () => T): boolean {
    let value: T;
    try {
      value = produce();
    } catch (err) {
      const code = isCcnodesError(err)
        ? err.code === 'ERR_DEVICE_PLUGIN_UNHEALTHY_DEVICE'
          ? grpc.status.FAILED_PRECONDITION
          : grpc.status.INVALID_ARGUMENT
        : grpc.status.INTERNAL;
      const details = isCcnodesError(err)
        ? `${err.code}: ${err.message}`
        : `internal error: ${errorText(err)}`;
      this.#log.warn({ resource: this.resourceName, error: details }, 'device plugin request refused');
      callback({ code, details });
      return false;
    }
    callback(null, value);
    return true;
  }

  // ---- watching and registration -----------------------------------------------------------

  #startWatching(): void {
    this.#timer = setInterval(() => {
      this.#ensureWatcher();
      this.#requestCheck();
    }, this.#opts.watchIntervalMs ?? 1000);
    this.#timer.unref();
    this.#ensureWatcher();
  }

  #ensureWatcher(): void {
    if (this.#watcher !== undefined || this.#stopped) return;
    try {
      const watcher = watch(this.#opts.pluginDir, { persistent: false }, () => {
        this.#requestCheck();
      });
      watcher.on('error', () => {
        // The directory itself went away; fall back to the periodic check until it is back.
        watcher.close();
        if (this.#watcher === watcher) this.#watcher = undefined;
      });
      this.#watcher = watcher;
    } catch {
      this.#watcher = undefined;
    }
  }

  #requestCheck(): void {
    if (this.#stopped) return;
    if (this.#checkRunning !== undefined) {
      this.#checkAgain = true;
      return;
    }
    this.#check().catch((err: unknown) => {
      this.#log.error({ resource: this.resourceName, error: errorText(err) }, 'device plugin check failed');
    });
  }

  /** One pass of the reconcile loop; runs are serialized and coalesced. */
  async #check(): Promise<void> {
    if (this.#checkRunning !== undefined) {
      this.#checkAgain = true;
      return this.#checkRunning;
    }
    const run = (async () => {
      do {
        this.#checkAgain = false;
        await this.#checkOnce();
      } while (this.#rerunRequested());
    })();
    this.#checkRunning = run;
    try {
      await run;
    } finally {
      this.#checkRunning = undefined;
    }
  }

  // Read through methods: the flags change across awaits, which flow analysis cannot see.
  #isStopped(): boolean {
    return this.#stopped;
  }

  #rerunRequested(): boolean {
    return this.#checkAgain && !this.#stopped;
  }

  async #checkOnce(): Promise<void> {
    if (this.#stopped) return;
    const socketId = await fileIdentity(this.socketPath);
    if (socketId === undefined || socketId !== this.#socketId) {
      this.#log.info(
        { resource: this.resourceName, socket: this.socketPath },
        'plugin socket removed or replaced (kubelet restart?); serving again',
      );
      await this.#shutdownServer(false);
      this.#registeredWith = undefined;
      if (this.#isStopped()) return;
      await this.#serve();
    }
    const kubeletId = await fileIdentity(this.kubeletSocketPath);
    if (kubeletId === undefined) {
      if (this.#registeredWith !== undefined) {
        this.#log.warn({ resource: this.resourceName }, 'kubelet.sock disappeared; waiting for kubelet');
      }
      this.#registeredWith = undefined;
      return;
    }
    if (kubeletId === this.#registeredWith) return;
    try {
      await this.#register();
      this.#registeredWith = kubeletId;
      this.#registrations += 1;
      this.#log.info(
        { resource: this.resourceName, registrations: this.#registrations },
        'registered with kubelet',
      );
      this.emit('registered', this.#registrations);
    } catch (err) {
      const error =
        err instanceof DevicePluginServerError
          ? err
          : new DevicePluginServerError('ERR_DEVICE_PLUGIN_REGISTER', errorText(err), {}, err);
      this.#log.warn(
        { resource: this.resourceName, error: error.message },
        'registration failed; will retry',
      );
      this.emit('registerError', error);
    }
  }

  async #register(): Promise<void> {
    const api = devicePluginApi();
    const client = new api.Registration(
      unixTarget(this.kubeletSocketPath),
      grpc.credentials.createInsecure(),
    );
    const request: RegisterRequest = {
      version: DEVICE_PLUGIN_API_VERSION,
      endpoint: this.#opts.socketName,
      resource_name: this.resourceName,
      options: this.#opts.handler.options,
    };
    const register = client['Register'] as (
      req: RegisterRequest,
      options: grpc.CallOptions,
      callback: (err: grpc.ServiceError | null) => void,
    ) => void;
    try {
      await new Promise<void>((resolve, reject) => {
        register.call(
          client,
          request,
          { deadline: Date.now() + (this.#opts.registerTimeoutMs ?? 15_000) },
          (err: grpc.ServiceError | null) => {
            if (err === null) resolve();
            else reject(err);
          },
        );
      });
    } catch (cause) {
      throw new DevicePluginServerError(
        'ERR_DEVICE_PLUGIN_REGISTER',
        `kubelet did not accept the registration of ${this.resourceName} on ${this.kubeletSocketPath}: ${errorText(cause)}`,
        { resourceName: this.resourceName, kubeletSocket: this.kubeletSocketPath },
        cause,
      );
    } finally {
      client.close();
    }
  }
}

/** The DevicePlugin service with the direct ListAndWatch encoder (see list-and-watch-codec.ts). */
function fastDevicePluginService(): grpc.ServiceDefinition {
  const service = devicePluginApi().DevicePlugin.service;
  const listAndWatch = service['ListAndWatch'];
  if (listAndWatch === undefined) throw new Error('api.proto lacks DevicePlugin.ListAndWatch');
  return {
    ...service,
    ListAndWatch: {
      ...listAndWatch,
      responseSerialize: (value: ListAndWatchResponse) => encodeListAndWatchResponse(value),
    },
  };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
