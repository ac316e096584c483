/** HTTP over a unix socket for the quote helper's JSON API tests (node:http, no extra client). */
import { request } from 'node:http';

export interface UnixHttpResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
  json(): unknown;
}

/** One request to `path` on the server listening at `socketPath`. */
export function unixHttp(
  socketPath: string,
  method: string,
  path: string,
  body?: { contentType: string; data: Uint8Array | string },
): Promise<UnixHttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        method,
        path,
        headers: body === undefined ? {} : { 'content-type': body.contentType },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const data = Buffer.concat(chunks);
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            body: data,
            json: () => JSON.parse(data.toString('utf8')) as unknown,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body.data);
    req.end();
  });
}
