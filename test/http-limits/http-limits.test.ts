/**
 * The connection bounds every ccnodes HTTP server takes (src/http-limits): how given values are
 * merged with a server's defaults and checked, how often Node is told to check the deadlines, and
 * what is set where the server is made and on the server made. The servers' own tests
 * (test/security/*-slow-client.test.ts, slow-body-trickle) send the slow clients.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import {
  DEFAULT_HTTP_LIMITS,
  MAX_HTTP_CONNECTIONS,
  MAX_HTTP_TIMEOUT_MS,
  deadlineCheckIntervalMs,
  fastifyOptions,
  limitServer,
  resolveHttpLimits,
  serverOptions,
  type HttpLimits,
  type HttpLimitsProblem,
} from '../../src/http-limits/index.ts';

class Refused extends Error {
  constructor(readonly problem: HttpLimitsProblem) {
    super(problem.message);
  }
}
const refuse = (p: HttpLimitsProblem): Error => new Refused(p);
const resolve = (given?: HttpLimits): ReturnType<typeof resolveHttpLimits> =>
  resolveHttpLimits(given, DEFAULT_HTTP_LIMITS, refuse);

/** The problem `given` is refused with. */
function problemOf(given: HttpLimits): HttpLimitsProblem {
  try {
    resolve(given);
  } catch (err) {
    assert.ok(err instanceof Refused, String(err));
    return err.problem;
  }
  assert.fail(`${JSON.stringify(given)} was accepted`);
}

describe('resolveHttpLimits', () => {
  test('the defaults are 30 s per request, 10 s for headers, 30 s idle, 1,024 connections', () => {
    assert.deepEqual(resolve(), {
      requestTimeoutMs: 30_000,
      headerTimeoutMs: 10_000,
      idleTimeoutMs: 30_000,
      maxConnections: 1024,
    });
    assert.ok(Object.isFrozen(DEFAULT_HTTP_LIMITS));
  });

  test('given values replace the defaults one by one; an undefined member keeps its default', () => {
    assert.deepEqual(resolve({ headerTimeoutMs: 500, maxConnections: undefined } as unknown as HttpLimits), {
      ...DEFAULT_HTTP_LIMITS,
      headerTimeoutMs: 500,
    });
    const own = { ...DEFAULT_HTTP_LIMITS, maxConnections: 256 };
    assert.equal(resolveHttpLimits({}, own, refuse).maxConnections, 256);
    assert.equal(resolveHttpLimits({ maxConnections: 7 }, own, refuse).maxConnections, 7);
  });

  test('each bound must be an integer in its range, and the refusal names it', () => {
    const bad: [HttpLimits, keyof HttpLimits][] = [
      [{ requestTimeoutMs: 0 }, 'requestTimeoutMs'],
      [{ requestTimeoutMs: MAX_HTTP_TIMEOUT_MS + 1 }, 'requestTimeoutMs'],
      [{ headerTimeoutMs: -1 }, 'headerTimeoutMs'],
      [{ headerTimeoutMs: 2.5 }, 'headerTimeoutMs'],
      [{ idleTimeoutMs: Number.NaN }, 'idleTimeoutMs'],
      [{ idleTimeoutMs: Infinity }, 'idleTimeoutMs'],
      [{ maxConnections: 0 }, 'maxConnections'],
      [{ maxConnections: MAX_HTTP_CONNECTIONS + 1 }, 'maxConnections'],
      [{ maxConnections: '8' as unknown as number }, 'maxConnections'],
    ];
    for (const [given, field] of bad) {
      const p = problemOf(given);
      assert.equal(p.field, field, JSON.stringify(given));
      assert.match(p.message, new RegExp(`^${field} must be an integer in 1\\.\\.\\d+, got `));
    }
    // The bounds themselves are accepted.
    assert.equal(resolve({ requestTimeoutMs: MAX_HTTP_TIMEOUT_MS }).requestTimeoutMs, MAX_HTTP_TIMEOUT_MS);
    assert.equal(resolve({ headerTimeoutMs: 1 }).headerTimeoutMs, 1);
    assert.equal(resolve({ maxConnections: MAX_HTTP_CONNECTIONS }).maxConnections, MAX_HTTP_CONNECTIONS);
  });

  test('the header timeout may equal the request timeout, not exceed it (defaults included)', () => {
    assert.equal(resolve({ requestTimeoutMs: 4000, headerTimeoutMs: 4000 }).headerTimeoutMs, 4000);
    const p = problemOf({ requestTimeoutMs: 4000, headerTimeoutMs: 4001 });
    assert.equal(p.field, 'headerTimeoutMs');
    assert.match(
      p.message,
      /header timeout \(4001 ms\) must not be longer than the request timeout \(4000 ms\)/,
    );
    // A request timeout under the default header timeout alone is refused too.
    assert.equal(problemOf({ requestTimeoutMs: 5000 }).field, 'headerTimeoutMs');
  });
});

describe('what the servers are given', () => {
  test('deadlines are checked every quarter of the header timeout, from 50 ms to 1 s', () => {
    const at = (headerTimeoutMs: number): number =>
      deadlineCheckIntervalMs(resolve({ headerTimeoutMs, requestTimeoutMs: Math.max(headerTimeoutMs, 1) }));
    assert.equal(at(100), 50);
    assert.equal(at(200), 50);
    assert.equal(at(1000), 250);
    assert.equal(at(4000), 1000);
    assert.equal(at(10_000), 1000);
  });

  test('creation options, Fastify options and the server made carry the same values', () => {
    const l = resolve({
      requestTimeoutMs: 9000,
      headerTimeoutMs: 2000,
      idleTimeoutMs: 7000,
      maxConnections: 12,
    });
    assert.deepEqual(serverOptions(l), {
      requestTimeout: 9000,
      headersTimeout: 2000,
      keepAliveTimeout: 7000,
      connectionsCheckingInterval: 500,
    });
    const timeouts = { requestTimeout: 9000, connectionTimeout: 7000, keepAliveTimeout: 7000 };
    assert.deepEqual(fastifyOptions(l), { ...timeouts, http: serverOptions(l) });
    assert.deepEqual(fastifyOptions(l, { cert: 'C', key: 'K' }), {
      ...timeouts,
      https: { cert: 'C', key: 'K', ...serverOptions(l) },
    });
    assert.deepEqual(fastifyOptions(l, undefined), { ...timeouts, http: serverOptions(l) });
    const server = createServer();
    try {
      limitServer(server, l);
      assert.equal(server.requestTimeout, 9000);
      assert.equal(server.headersTimeout, 2000);
      assert.equal(server.keepAliveTimeout, 7000);
      assert.equal(server.timeout, 7000);
      assert.equal(server.maxConnections, 12);
    } finally {
      server.close();
    }
  });
});
