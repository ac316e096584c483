/**
 * The attacker process of `bench/policy-attack.ts`. It sends the crafted draft-policy attest
 * request (the body is read from a file) over and over, one request in flight per client address,
 * each address binding its sockets to that local address (127.0.0.2, 127.0.0.3, … reach a server
 * on 127.0.0.1 on Linux), so that a per-client rate limit sees several clients.
 *
 * Input: one JSON argument `{"url", "bodyFile", "addresses": [...], "durationMs"}`.
 * Output on stdout: `{"started": true}` once it sends, then, after `durationMs` and once every
 * request in flight has ended, one line `{"requests": [{"address", "status", "code", "ms"}, …]}`.
 * A request with no answer after 30 s is recorded with status 0 (as is a connection error).
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

interface AttackerInput {
  readonly url: string;
  readonly bodyFile: string;
  readonly addresses: readonly string[];
  readonly durationMs: number;
}

/** One attack request's outcome. */
export interface AttackRecord {
  readonly address: string;
  readonly status: number;
  readonly code: string | null;
  readonly ms: number;
}

const input = JSON.parse(process.argv[2] ?? '{}') as AttackerInput;
const body = readFileSync(input.bodyFile);
const target = new URL('/attest/SgxEnclave?api-version=2022-08-01', input.url);

function once(agent: Agent, address: string): Promise<AttackRecord> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, code: string | null): void => {
      resolve({ address, status, code, ms: performance.now() - started });
    };
    const req = request(
      target,
      {
        method: 'POST',
        agent,
        localAddress: address,
        timeout: 30_000,
        headers: { 'content-type': 'application/json', 'content-length': body.length },
      },
      (res) => {
        const code = res.headers['x-ccnodes-error-code'];
        res.resume();
        res.on('end', () => {
          done(res.statusCode ?? 0, typeof code === 'string' ? code : null);
        });
        res.on('error', () => {
          done(0, 'response error');
        });
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
    });
    req.on('error', (err) => {
      done(0, err.message);
    });
    req.end(body);
  });
}

const records: AttackRecord[] = [];
const until = performance.now() + input.durationMs;
process.stdout.write(`${JSON.stringify({ started: true })}\n`);
await Promise.all(
  input.addresses.map(async (address) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    while (performance.now() < until) records.push(await once(agent, address));
    agent.destroy();
  }),
);
process.stdout.write(`${JSON.stringify({ requests: records })}\n`);
