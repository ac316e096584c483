/**
 * A protocol-faithful kubelet peer, for tests and `ccnodes demo` (spec §1.4–§1.6): serves
 * `v1beta1.Registration` on `<dir>/kubelet.sock`, and for each Register call does what kubelet's
 * devicemanager does — validates version and resource name, dials the plugin's endpoint back (blocking,
 * 10 s), calls GetDevicePluginOptions inside the Register call, answers, then opens ListAndWatch and
 * keeps the latest device list. {@link KubeletPeer.restart} behaves like a new kubelet: it drops every
 * connection, removes every file of the directory except its checkpoint and recreates kubelet.sock.
 */
import { EventEmitter } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { devicePluginApi, unixTarget } from './proto.ts';
import type {
  AllocateResponse,
  ContainerPreferredAllocationRequest,
  Device,
  DevicePluginOptions,
  ListAndWatchResponse,
  PreferredAllocationResponse,
  RegisterRequest,
} from './api-types.ts';

/** Kubelet's checkpoint file, the one file a restarting kubelet keeps in the directory. */
export const KUBELET_CHECKPOINT = 'kubelet_internal_checkpoint';

/** One registered plugin as kubelet sees it. */
export class PluginEndpoint extends EventEmitter<{
  devices: [Device[]];
  streamEnd: [grpc.ServiceError | null];
}> {
  readonly request: RegisterRequest;
  readonly options: DevicePluginOptions;
  readonly client: grpc.Client;
  /** Latest complete device list from ListAndWatch (undefined until the first message). */
  devices: Device[] | undefined;
  /** How many ListAndWatch messages arrived. */
  messages = 0;
  /** The error that ended the stream, if it ended. */
  streamError: grpc.ServiceError | null | undefined;
  #stream: grpc.ClientReadableStream<ListAndWatchResponse> | undefined;

  constructor(request: RegisterRequest, options: DevicePluginOptions, client: grpc.Client) {
    super();
    this.request = request;
    this.options = options;
    this.client = client;
  }

  /** Opens ListAndWatch (kubelet does this right after Register returns). */
  startListAndWatch(): void {
    const stream = this.#method('ListAndWatch')({}) as grpc.ClientReadableStream<ListAndWatchResponse>;
    this.#stream = stream;
    stream.on('data', (msg: ListAndWatchResponse) => {
      this.devices = msg.devices;
      this.messages += 1;
      this.emit('devices', msg.devices);
    });
    stream.on('error', (err: grpc.ServiceError) => {
      this.streamError = err;
      this.emit('streamEnd', err);
    });
    stream.on('end', () => {
      this.streamError ??= null;
      this.emit('streamEnd', null);
    });
  }

  /** Resolves with the first device list (current or future) that satisfies `predicate`. */
  waitForDevices(predicate: (devices: Device[]) => boolean, timeoutMs = 3000): Promise<Device[]> {
    if (this.devices !== undefined && predicate(this.devices)) return Promise.resolve(this.devices);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('devices', onDevices);
        reject(new Error(`timed out waiting for devices of ${this.request.resource_name}`));
      }, timeoutMs);
      const onDevices = (devices: Device[]): void => {
        if (!predicate(devices)) return;
        clearTimeout(timer);
        this.off('devices', onDevices);
        resolve(devices);
      };
      this.on('devices', onDevices);
    });
  }

  /** Resolves when the ListAndWatch stream ends, with its error (null for a clean end). */
  waitForStreamEnd(timeoutMs = 3000): Promise<grpc.ServiceError | null> {
    if (this.streamError !== undefined) return Promise.resolve(this.streamError);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('timed out waiting for the ListAndWatch stream to end'));
      }, timeoutMs);
      this.once('streamEnd', (err) => {
        clearTimeout(timer);
        resolve(err);
      });
    });
  }

  /** Allocate: one inner array of device IDs per container. */
  allocate(containers: string[][]): Promise<AllocateResponse> {
    return this.#unary('Allocate', { container_requests: containers.map((ids) => ({ devices_ids: ids })) });
  }

  getPreferredAllocation(
    requests: ContainerPreferredAllocationRequest[],
  ): Promise<PreferredAllocationResponse> {
    return this.#unary('GetPreferredAllocation', { container_requests: requests });
  }

  preStartContainer(ids: string[]): Promise<Record<string, never>> {
    return this.#unary('PreStartContainer', { devices_ids: ids }, 30_000);
  }

  getDevicePluginOptions(): Promise<DevicePluginOptions> {
    return this.#unary('GetDevicePluginOptions', {});
  }

  close(): void {
    this.#stream?.cancel();
    this.client.close();
  }

  #method(name: string): (...args: unknown[]) => unknown {
    const fn = (this.client as unknown as Record<string, (...args: unknown[]) => unknown>)[name];
    if (fn === undefined) throw new Error(`no method ${name}`);
    return fn.bind(this.client);
  }

  #unary<T>(name: string, request: unknown, timeoutMs = 5000): Promise<T> {
    return new Promise((resolve, reject) => {
      this.#method(name)(
        request,
        { deadline: Date.now() + timeoutMs },
        (err: grpc.ServiceError | null, res: T) => {
          if (err === null) resolve(res);
          else reject(err);
        },
      );
    });
  }
}

/** Extended resource name rule kubelet applies at registration (simplified IsExtendedResourceName). */
function isExtendedResourceName(name: string): boolean {
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return false;
  const domain = name.slice(0, slash);
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io')) return false;
  if (name.startsWith('requests.')) return false;
  return (
    /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(domain) &&
    /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/.test(name.slice(slash + 1))
  );
}

/** The kubelet side of the device plugin API, on a directory of the test's choosing. */
export class KubeletPeer extends EventEmitter<{ registered: [PluginEndpoint] }> {
  readonly dir: string;
  readonly socketPath: string;
  /** Every Register request accepted, in order, across restarts. */
  readonly registrations: RegisterRequest[] = [];
  /** Register requests refused, with the reason. */
  readonly refusals: { request: RegisterRequest; reason: string }[] = [];
  /** Current endpoint per resource name (re-registration replaces it, as in kubelet). */
  readonly endpoints = new Map<string, PluginEndpoint>();
  #server: grpc.Server | undefined;

  private constructor(dir: string) {
    super();
    this.dir = dir;
    this.socketPath = join(dir, 'kubelet.sock');
  }

  /** Starts a kubelet peer serving Registration on `<dir>/kubelet.sock`. */
  static async start(dir: string): Promise<KubeletPeer> {
    const peer = new KubeletPeer(dir);
    await peer.#listen();
    return peer;
  }

  /** Resolves with the endpoint of the next (or an existing, if `existing`) registration of `resource`. */
  waitForRegistration(resource: string, timeoutMs = 3000, existing = true): Promise<PluginEndpoint> {
    const current = this.endpoints.get(resource);
    if (existing && current !== undefined) return Promise.resolve(current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('registered', onRegistered);
        reject(new Error(`timed out waiting for ${resource} to register`));
      }, timeoutMs);
      const onRegistered = (ep: PluginEndpoint): void => {
        if (ep.request.resource_name !== resource) return;
        clearTimeout(timer);
        this.off('registered', onRegistered);
        resolve(ep);
      };
      this.on('registered', onRegistered);
    });
  }

  /** A kubelet restart: connections dropped, directory wiped (checkpoint kept), kubelet.sock recreated. */
  async restart(): Promise<void> {
    await this.#close();
    for (const name of await readdir(this.dir)) {
      if (name !== KUBELET_CHECKPOINT) await rm(join(this.dir, name), { force: true, recursive: true });
    }
    await this.#listen();
  }

  async stop(): Promise<void> {
    await this.#close();
  }

  async #close(): Promise<void> {
    for (const ep of this.endpoints.values()) ep.close();
    this.endpoints.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) server.forceShutdown();
    await rm(this.socketPath, { force: true });
  }

  async #listen(): Promise<void> {
    const server = new grpc.Server();
    server.addService(devicePluginApi().Registration.service, {
      Register: (
        call: grpc.ServerUnaryCall<RegisterRequest, unknown>,
        callback: grpc.sendUnaryData<Record<string, never>>,
      ) => {
        this.#onRegister(call.request).then(
          (ep) => {
            callback(null, {});
            // Kubelet starts ListAndWatch after answering Register.
            ep.startListAndWatch();
            this.emit('registered', ep);
          },
          (err: unknown) => {
            const reason = err instanceof Error ? err.message : String(err);
            this.refusals.push({ request: call.request, reason });
            callback({ code: grpc.status.INVALID_ARGUMENT, details: reason });
          },
        );
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(unixTarget(this.socketPath), grpc.ServerCredentials.createInsecure(), (err) => {
        if (err === null) resolve();
        else reject(err);
      });
    });
    this.#server = server;
  }

  async #onRegister(request: RegisterRequest): Promise<PluginEndpoint> {
    if (request.version !== 'v1beta1') {
      throw new Error(
        `requested device plugin API version ${request.version} is not supported; supported: v1beta1`,
      );
    }
    if (!isExtendedResourceName(request.resource_name)) {
      throw new Error(`invalid extended resource name ${request.resource_name}`);
    }
    if (request.endpoint.includes('/')) throw new Error(`endpoint must be a file name: ${request.endpoint}`);
    const client = new (devicePluginApi().DevicePlugin)(
      unixTarget(join(this.dir, request.endpoint)),
      grpc.credentials.createInsecure(),
    );
    // Blocking dial with a 10 s timeout, then GetDevicePluginOptions inside the Register call.
    await new Promise<void>((resolve, reject) => {
      client.waitForReady(Date.now() + 10_000, (err) => {
        if (err === undefined) resolve();
        else reject(err);
      });
    });
    const provisional = new PluginEndpoint(request, request.options, client);
    const options = await provisional.getDevicePluginOptions();
    const ep = new PluginEndpoint(request, options, client);
    this.endpoints.get(request.resource_name)?.close();
    this.endpoints.set(request.resource_name, ep);
    this.registrations.push(request);
    return ep;
  }
}
