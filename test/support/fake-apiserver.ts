/**
 * A fake Kubernetes API server for node updates: serves GET of nodes it was given and captures every
 * PATCH (path, content type, parsed body), answering with the stored node. Binds 127.0.0.1:0.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

export interface CapturedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export interface FakeApiServer {
  readonly url: string;
  readonly requests: CapturedRequest[];
  /** PATCH requests only. */
  patches(): CapturedRequest[];
  /** A KubeConfig pointing at this server. */
  kubeConfig(): KubeConfig;
  /** Writes a kubeconfig file pointing at this server (for commands and child processes). */
  writeKubeconfig(path: string): string;
  close(): Promise<void>;
}

export interface FakeApiServerOptions {
  /** Nodes by name, returned by GET /api/v1/nodes/<name>. */
  readonly nodes: Record<string, unknown>;
  /** Answer every PATCH with this status (e.g. 403) instead of 200. */
  readonly failPatchWith?: number;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeApiServer(options: FakeApiServerOptions): Promise<FakeApiServer> {
  const requests: CapturedRequest[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        // keep raw text
      }
      requests.push({ method: req.method ?? '', path, contentType: req.headers['content-type'], body });
      const m = /^\/api\/v1\/nodes\/([^/]+)(\/status)?$/.exec(path);
      const node = m === null ? undefined : options.nodes[decodeURIComponent(m[1] ?? '')];
      const send = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (node === undefined) {
        send(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 });
        return;
      }
      if (req.method === 'PATCH' && options.failPatchWith !== undefined) {
        send(options.failPatchWith, {
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Forbidden',
          code: options.failPatchWith,
        });
        return;
      }
      send(200, node);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    requests,
    patches: () => requests.filter((r) => r.method === 'PATCH'),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
        users: [{ name: 'fake', token: 'fake-token' }],
        contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
        currentContext: 'fake',
      });
      return kc;
    },
    writeKubeconfig: (path) => {
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'fake', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name: 'fake', user: { token: 'fake-token' } }],
          contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake' } }],
          'current-context': 'fake',
        }),
      );
      return path;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
