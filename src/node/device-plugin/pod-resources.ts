/**
 * Kubelet's pod resources API (v1, proto/podresources/v1/api.proto): which device IDs the running
 * containers hold. Kubelet never tells a device plugin when a container releases its devices, so
 * this is how the plugin knows how much EPC is in use *now* (ccnodes_device_plugin_devices_in_use).
 *
 * One List call per question; the connection is kept and re-dialled by grpc-js as kubelet restarts.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { unixTarget } from './proto.ts';

/** Absolute path of the .proto file. */
export const POD_RESOURCES_PROTO_PATH: string = fileURLToPath(
  new URL('../../../proto/podresources/v1/api.proto', import.meta.url),
);

/** One container's devices of one resource. */
export interface ContainerDevices {
  readonly resource_name: string;
  readonly device_ids: readonly string[];
}

/** The List answer, as decoded (field names as in the proto). */
export interface PodResourcesList {
  readonly pod_resources: readonly {
    readonly name: string;
    readonly namespace: string;
    readonly containers: readonly {
      readonly name: string;
      readonly devices: readonly ContainerDevices[];
    }[];
  }[];
}

let cachedService: grpc.ServiceClientConstructor | undefined;

/** The PodResourcesLister service (loaded once per process). */
export function podResourcesService(): grpc.ServiceClientConstructor {
  if (cachedService !== undefined) return cachedService;
  const definition = protoLoader.loadSync(POD_RESOURCES_PROTO_PATH, {
    keepCase: true,
    defaults: true,
    arrays: true,
  });
  const pkg = grpc.loadPackageDefinition(definition)['v1'] as grpc.GrpcObject;
  cachedService = pkg['PodResourcesLister'] as grpc.ServiceClientConstructor;
  return cachedService;
}

/**
 * Distinct device IDs in use per resource, for the resources asked about (0 when none). A device
 * shared by containers of one pod (init and app) is counted once.
 */
export function devicesInUse(list: PodResourcesList, resources: readonly string[]): Record<string, number> {
  const ids = new Map(resources.map((r) => [r, new Set<string>()]));
  for (const pod of list.pod_resources) {
    for (const container of pod.containers) {
      for (const d of container.devices) {
        const set = ids.get(d.resource_name);
        if (set === undefined) continue;
        for (const id of d.device_ids) set.add(id);
      }
    }
  }
  return Object.fromEntries([...ids].map(([r, set]) => [r, set.size]));
}

/** A client of kubelet's pod resources socket. */
export class PodResourcesClient {
  readonly socketPath: string;
  readonly #client: grpc.Client & Record<string, unknown>;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
    const Service = podResourcesService();
    this.#client = new Service(unixTarget(socketPath), grpc.credentials.createInsecure());
  }

  /** Lists every pod's devices; rejects with the gRPC error (e.g. UNAVAILABLE) after `timeoutMs`. */
  list(timeoutMs = 2_000): Promise<PodResourcesList> {
    const call = this.#client['List'] as (
      req: object,
      options: grpc.CallOptions,
      callback: (err: grpc.ServiceError | null, res?: PodResourcesList) => void,
    ) => void;
    return new Promise((resolve, reject) => {
      call.call(this.#client, {}, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err !== null) reject(err);
        else resolve(res ?? { pod_resources: [] });
      });
    });
  }

  close(): void {
    this.#client.close();
  }
}
