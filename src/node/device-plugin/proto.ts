/**
 * Loads the kubelet device plugin API (proto/deviceplugin/v1beta1/api.proto) into grpc-js service
 * definitions. Field names keep their proto spelling (`keepCase`), so the objects match api-types.ts.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Absolute path of our .proto file. */
export const DEVICE_PLUGIN_PROTO_PATH: string = fileURLToPath(
  new URL('../../../proto/deviceplugin/v1beta1/api.proto', import.meta.url),
);

/** The two services of the API, as grpc-js definitions. */
export interface DevicePluginApi {
  readonly Registration: grpc.ServiceClientConstructor;
  readonly DevicePlugin: grpc.ServiceClientConstructor;
}

let cached: DevicePluginApi | undefined;

/** Returns the loaded services (loaded once per process). */
export function devicePluginApi(): DevicePluginApi {
  if (cached !== undefined) return cached;
  const definition = protoLoader.loadSync(DEVICE_PLUGIN_PROTO_PATH, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
  });
  const root = grpc.loadPackageDefinition(definition);
  const pkg = root['v1beta1'] as grpc.GrpcObject;
  cached = {
    Registration: pkg['Registration'] as grpc.ServiceClientConstructor,
    DevicePlugin: pkg['DevicePlugin'] as grpc.ServiceClientConstructor,
  };
  return cached;
}

/** `unix://` target for a socket path, as grpc-js expects it. */
export function unixTarget(socketPath: string): string {
  return `unix://${socketPath}`;
}
