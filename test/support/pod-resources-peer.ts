/**
 * Kubelet's side of the pod resources API (v1 PodResourcesLister.List) on a unix socket, answering
 * with whatever list the test sets. `stop()` closes it, as a kubelet restart would.
 */
import * as grpc from '@grpc/grpc-js';
import { podResourcesService, type PodResourcesList } from '../../src/node/device-plugin/index.ts';

export class PodResourcesPeer {
  readonly socketPath: string;
  /** The answer to List. */
  list: PodResourcesList = { pod_resources: [] };
  /** List calls served. */
  calls = 0;
  readonly #server: grpc.Server;

  private constructor(socketPath: string, server: grpc.Server) {
    this.socketPath = socketPath;
    this.#server = server;
  }

  static async start(socketPath: string): Promise<PodResourcesPeer> {
    const server = new grpc.Server();
    const peer = new PodResourcesPeer(socketPath, server);
    server.addService(podResourcesService().service, {
      List: (_call: unknown, callback: grpc.sendUnaryData<PodResourcesList>) => {
        peer.calls += 1;
        callback(null, peer.list);
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err === null) resolve();
        else reject(err);
      });
    });
    return peer;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.tryShutdown(() => {
        resolve();
      });
    });
  }
}
