/**
 * The attestation client's HTTP transport (node:http / node:https, src/attestation-client/client.ts)
 * against raw servers that misbehave below the API: an endless body, a body that stalls past the
 * deadline, a connection cut in the middle of a body, and a process that must end once the client
 * is closed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AttestationClient,
  AttestationResponseError,
  AttestationUnreachableError,
  MAX_RESPONSE_BYTES,
} from '../../src/attestation-client/index.ts';

async function serve(
  handler: (res: ServerResponse) => void,
): Promise<{ url: string; hits: () => number; stop: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    handler(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    hits: () => hits,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => {
        server.close(() => {
          r();
        });
      });
    },
  };
}

test('a 2xx body longer than MAX_RESPONSE_BYTES is ERR_ATTESTATION_CLIENT_RESPONSE naming (body), not retried', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  const s = await serve((res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    let sent = 0;
    const more = (): void => {
      while (sent <= MAX_RESPONSE_BYTES + chunk.length && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', more);
          return;
        }
      }
      res.end();
    };
    more();
  });
  try {
    const c = new AttestationClient({ url: s.url, retry: { attempts: 3, baseDelayMs: 0 } });
    await assert.rejects(c.certs(), (e: unknown) => {
      assert.ok(e instanceof AttestationResponseError);
      assert.equal(e.code, 'ERR_ATTESTATION_CLIENT_RESPONSE');
      assert.equal(e.details['field'], '(body)');
      assert.equal(e.details['limit'], MAX_RESPONSE_BYTES);
      return true;
    });
    assert.equal(s.hits(), 1);
    await c.close();
  } finally {
    await s.stop();
  }
});

test('a body that stalls after the headers outlives timeoutMs: a transport failure, retried, then unreachable', async () => {
  const s = await serve((res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"keys":');
  });
  try {
    const reasons: string[] = [];
    const c = new AttestationClient({
      url: s.url,
      timeoutMs: 150,
      retry: { attempts: 2, baseDelayMs: 0 },
      onRetry: (_a, _d, reason) => reasons.push(reason),
    });
    await assert.rejects(c.certs(), (e: unknown) => {
      assert.ok(e instanceof AttestationUnreachableError);
      assert.equal(e.details['attempts'], 2);
      assert.match(String(e.details['reason']), /within 150 ms/);
      return true;
    });
    assert.equal(s.hits(), 2);
    assert.match(reasons[0] ?? '', /within 150 ms/);
    await c.close();
  } finally {
    await s.stop();
  }
});

test('a connection cut in the middle of a body is a transport failure, never a short answer', async () => {
  const s = await serve((res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"keys":[]}');
    setTimeout(() => res.socket?.destroy(), 20);
  });
  try {
    const c = new AttestationClient({ url: s.url, retry: { attempts: 2, baseDelayMs: 0 } });
    await assert.rejects(c.certs(), AttestationUnreachableError);
    assert.equal(s.hits(), 2);
    await c.close();
  } finally {
    await s.stop();
  }
});

test('a process that used the client (keep-alive connection left open by the server) ends once its work is done', async () => {
  const s = await serve((res) => {
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive' });
    res.end('{"keys":[]}');
  });
  try {
    const index = fileURLToPath(new URL('../../src/attestation-client/index.ts', import.meta.url));
    const script = [
      `import { AttestationClient } from ${JSON.stringify(index)};`,
      `const c = new AttestationClient({ url: ${JSON.stringify(s.url)} });`,
      `const n = (await c.certs()).size;`,
      `process.stdout.write(String(n));`,
    ].join('\n');
    // Asynchronous: the server lives in this process. A child that lingers is killed after 60 s.
    const r = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.stdout, '0');
  } finally {
    await s.stop();
  }
});
