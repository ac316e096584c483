/**
 * Specification of the collateral service's upstream client (`Upstream`), driven through its
 * `fetch` option (no network): the URL of each artefact, the Intel API key on the PCK certificate
 * routes only, which failures are retried (network errors, 429, 5xx; with a doubling delay) and
 * which are not (404, other statuses), the issuer-chain header an answer must carry (either
 * spelling, served under one name), and the headers kept with the body as received.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Upstream, type ArtefactSpec, type UpstreamOptions } from '../../src/collateral-service/index.ts';

const BASE = 'https://pccs.example:8081';
const V4 = `${BASE}/sgx/certification/v4`;
const FMSPC = '00906ED50000';
const TCB: ArtefactSpec = { kind: 'tcb', tee: 'sgx', fmspc: FMSPC };
const PCKCERT: ArtefactSpec = {
  kind: 'pckcert',
  tee: 'sgx',
  cpusvn: '01',
  pcesvn: '0b00',
  pceid: '0000',
  qeid: 'cc',
};
const PCKCERTS: ArtefactSpec = { kind: 'pckcerts', tee: 'sgx', encryptedPpid: 'aa', pceid: '0000' };
const CHAIN = '-----BEGIN%20CERTIFICATE-----chain';

interface Call {
  url: string;
  headers: Record<string, string>;
  signal: AbortSignal | undefined;
}

/** An upstream answering from `answers` in turn (the last one repeats); a thrown Error plays a network failure. */
function scripted(
  answers: (Response | Error | (() => Promise<Response>))[],
  options: Partial<UpstreamOptions> = {},
): { upstream: Upstream; calls: Call[] } {
  const calls: Call[] = [];
  const fake = (input: string, init?: RequestInit): Promise<Response> => {
    calls.push({
      url: input, // Upstream passes the URL as a string
      headers: { ...(init?.headers as Record<string, string> | undefined) },
      signal: init?.signal ?? undefined,
    });
    const a = answers[Math.min(calls.length - 1, answers.length - 1)];
    if (a instanceof Error) return Promise.reject(a);
    if (typeof a === 'function') return a();
    if (a === undefined) return Promise.reject(new Error('no answer scripted'));
    return Promise.resolve(a.clone());
  };
  return {
    upstream: new Upstream({ baseUrl: BASE, retryDelayMs: 1, ...options, fetch: fake as typeof fetch }),
    calls,
  };
}

const ok = (
  headers: Record<string, string> = { 'TCB-Info-Issuer-Chain': CHAIN },
  body = '{"tcbInfo":1}',
): Response => new Response(body, { status: 200, headers });
const status = (code: number, headers: Record<string, string> = {}): Response =>
  new Response('no', { status: code, headers });

async function failure(p: Promise<unknown>): Promise<{ code?: string; details?: Record<string, unknown> }> {
  try {
    await p;
  } catch (err) {
    return err as { code?: string; details?: Record<string, unknown> };
  }
  assert.fail('expected a rejection');
}

describe('upstream URLs', () => {
  const u = new Upstream({ baseUrl: BASE });
  test('each artefact has its PCS v4 route and query, TDX artefacts under /tdx', () => {
    const cases: [ArtefactSpec, string][] = [
      [TCB, `${V4}/tcb?fmspc=${FMSPC}`],
      [
        { kind: 'tcb', tee: 'tdx', fmspc: FMSPC, variant: { name: 'update', value: 'early' } },
        `${BASE}/tdx/certification/v4/tcb?fmspc=${FMSPC}&update=early`,
      ],
      [{ kind: 'qe', tee: 'tdx' }, `${BASE}/tdx/certification/v4/qe/identity`],
      [{ kind: 'qe', tee: 'sgx' }, `${V4}/qe/identity`],
      [
        { kind: 'qve', tee: 'sgx', variant: { name: 'tcbEvaluationDataNumber', value: '17' } },
        `${V4}/qve/identity?tcbEvaluationDataNumber=17`,
      ],
      [{ kind: 'pckcrl', tee: 'sgx', ca: 'platform' }, `${V4}/pckcrl?ca=platform&encoding=der`],
      [{ kind: 'rootcacrl', tee: 'sgx' }, `${V4}/rootcacrl`],
      [PCKCERTS, `${V4}/pckcerts?encrypted_ppid=aa&pceid=0000`],
      [PCKCERT, `${V4}/pckcert?cpusvn=01&pcesvn=0b00&pceid=0000&qeid=cc`],
      [
        { kind: 'pckcert', tee: 'sgx', cpusvn: '01', pcesvn: '0b00', pceid: '0000', encryptedPpid: 'ee' },
        `${V4}/pckcert?encrypted_ppid=ee&cpusvn=01&pcesvn=0b00&pceid=0000`,
      ],
    ];
    for (const [spec, url] of cases) assert.equal(u.urlOf(spec), url);
    assert.equal(u.root, BASE);
    assert.equal(u.rootCaCrlNeedsChain, false);
  });
  test('the Root CA CRL comes from --root-ca-crl-url when given', () => {
    const own = new Upstream({ baseUrl: BASE, rootCaCrlUrl: 'https://crl.example/root.der' });
    assert.equal(own.urlOf({ kind: 'rootcacrl', tee: 'sgx' }), 'https://crl.example/root.der');
  });
  test('the api option decides where the Root CA CRL comes from (pcs: the issuer chain)', () => {
    assert.equal(new Upstream({ baseUrl: BASE, api: 'pcs' }).rootCaCrlNeedsChain, true);
    assert.equal(new Upstream({ baseUrl: BASE, api: 'pccs' }).rootCaCrlNeedsChain, false);
  });
});

describe('the Intel API key', () => {
  test('is sent on the PCK certificate routes only', async () => {
    const pck = { 'SGX-PCK-Certificate-Issuer-Chain': CHAIN };
    const { upstream, calls } = scripted([ok(pck)], { apiKey: 'secret-key' });
    await upstream.fetch(PCKCERT);
    await upstream.fetch(PCKCERTS);
    assert.deepEqual(
      calls.map((c) => c.headers['Ocp-Apim-Subscription-Key']),
      ['secret-key', 'secret-key'],
    );
    const tcb = scripted([ok()], { apiKey: 'secret-key' });
    await tcb.upstream.fetch(TCB);
    assert.deepEqual(tcb.calls[0]?.headers, {});
  });
  test('is not sent when none is configured', async () => {
    const { upstream, calls } = scripted([ok({ 'SGX-PCK-Certificate-Issuer-Chain': CHAIN })]);
    await upstream.fetch(PCKCERT);
    assert.deepEqual(calls[0]?.headers, {});
  });
});

describe('retries', () => {
  test('network errors, 429 and 5xx are retried, twice by default; then the last failure is reported', async () => {
    const { upstream, calls } = scripted([new Error('connection reset'), status(429), status(503)]);
    const e = await failure(upstream.fetch(TCB));
    assert.equal(calls.length, 3);
    assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_UPSTREAM');
    assert.deepEqual(e.details, { url: `${V4}/tcb?fmspc=${FMSPC}`, status: 503, reason: 'status' });
  });
  test('a retry that succeeds returns the answer', async () => {
    const { upstream, calls } = scripted([status(500), new Error('reset'), ok()]);
    const r = await upstream.fetch(TCB);
    assert.equal(calls.length, 3);
    assert.equal(new TextDecoder().decode(r.body), '{"tcbInfo":1}');
  });
  test('the number of retries is configurable (0: one attempt)', async () => {
    const none = scripted([status(502)], { retries: 0 });
    await failure(none.upstream.fetch(TCB));
    assert.equal(none.calls.length, 1);
    const four = scripted([status(502)], { retries: 4 });
    await failure(four.upstream.fetch(TCB));
    assert.equal(four.calls.length, 5);
  });
  test('a network failure last is reported as unreachable, with its cause', async () => {
    const { upstream } = scripted([status(500), new Error('ECONNREFUSED')]);
    const e = (await failure(upstream.fetch(TCB))) as { details?: unknown; cause?: unknown };
    assert.deepEqual(e.details, { url: `${V4}/tcb?fmspc=${FMSPC}`, reason: 'unreachable' });
    assert.ok(e.cause instanceof Error);
  });
  test('a body that fails while it arrives is unreachable (retried), not a crash', async () => {
    const broken = (): Promise<Response> =>
      Promise.resolve(
        new Response(
          new ReadableStream({
            start(c) {
              c.enqueue(new TextEncoder().encode('{"tcbInfo":'));
              c.error(new Error('socket hang up'));
            },
          }),
          { status: 200, headers: { 'TCB-Info-Issuer-Chain': CHAIN } },
        ),
      );
    const { upstream, calls } = scripted([broken], { retries: 1 });
    const e = (await failure(upstream.fetch(TCB))) as { code?: string; details?: unknown; cause?: unknown };
    assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_UPSTREAM');
    assert.deepEqual(e.details, { url: `${V4}/tcb?fmspc=${FMSPC}`, reason: 'unreachable' });
    assert.equal(calls.length, 2, 'retried like a failed connection');
    const later = scripted([broken, ok()]);
    assert.equal(Buffer.from((await later.upstream.fetch(TCB)).body).toString(), '{"tcbInfo":1}');
  });
  test('an answer longer than maxBodyBytes is refused, declared or streamed', async () => {
    const big = 'x'.repeat(65);
    const declared = scripted([ok(undefined, big)], { maxBodyBytes: 64 });
    const e1 = await failure(declared.upstream.fetch(TCB));
    assert.equal(e1.code, 'ERR_COLLATERAL_SERVICE_UPSTREAM');
    assert.equal(e1.details?.['reason'], 'response');
    const streamed = scripted(
      [
        () =>
          Promise.resolve(
            new Response(
              new ReadableStream({
                start(c) {
                  c.enqueue(new TextEncoder().encode(big.slice(0, 40)));
                  c.enqueue(new TextEncoder().encode(big.slice(40)));
                  c.close();
                },
              }),
              { status: 200, headers: { 'TCB-Info-Issuer-Chain': CHAIN } },
            ),
          ),
      ],
      { maxBodyBytes: 64 },
    );
    assert.equal((await failure(streamed.upstream.fetch(TCB))).details?.['reason'], 'response');
    const fits = scripted([ok(undefined, 'y'.repeat(64))], { maxBodyBytes: 64 });
    assert.equal((await fits.upstream.fetch(TCB)).body.length, 64);
  });
  test('the delay doubles between attempts', async () => {
    // 3 retries at 40 ms doubling: at least 40 + 80 + 160 ms (a halving delay would be 70 ms)
    const { upstream } = scripted([status(500)], { retries: 3, retryDelayMs: 40 });
    const start = performance.now();
    await failure(upstream.fetch(TCB));
    assert.ok(performance.now() - start >= 275, `${performance.now() - start} ms`);
  });
  test('other statuses are not retried: 404 is not found, the rest an upstream error naming the PCS error', async () => {
    const missing = scripted([status(404, { 'Request-ID': 'r-1' })]);
    const nf = await failure(missing.upstream.fetch(TCB));
    assert.equal(missing.calls.length, 1);
    assert.equal(nf.code, 'ERR_COLLATERAL_SERVICE_NOT_FOUND');
    assert.deepEqual(nf.details, { url: `${V4}/tcb?fmspc=${FMSPC}`, requestId: 'r-1' });
    const bare404 = scripted([status(404)]);
    assert.deepEqual((await failure(bare404.upstream.fetch(TCB))).details, {
      url: `${V4}/tcb?fmspc=${FMSPC}`,
    });
    const bad = scripted([status(400, { 'Request-ID': 'r-2', 'Error-Code': 'InvalidParameter' }), ok()]);
    const e = await failure(bad.upstream.fetch(TCB));
    assert.equal(bad.calls.length, 1);
    assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_UPSTREAM');
    assert.deepEqual(e.details, {
      url: `${V4}/tcb?fmspc=${FMSPC}`,
      status: 400,
      reason: 'status',
      requestId: 'r-2',
      pcsError: 'InvalidParameter',
    });
    const conflict = scripted([status(409), ok()]);
    await failure(conflict.upstream.fetch(TCB));
    assert.equal(conflict.calls.length, 1);
  });
  test('each attempt carries a timeout signal', async () => {
    const hanging = (): Promise<Response> => new Promise(() => undefined);
    const { upstream, calls } = scripted([hanging], { retries: 0, timeoutMs: 1 });
    // the fake never answers: only the signal can end the wait, so observe it firing
    const fired = new Promise<unknown>((resolve) => {
      const wait = (): void => {
        const s = calls[0]?.signal;
        if (s === undefined) {
          setImmediate(wait);
          return;
        }
        s.addEventListener('abort', () => {
          resolve(s.reason);
        });
      };
      wait();
    });
    // AbortSignal.timeout's timer does not hold the event loop open (a real socket would): hold it
    // here, or the test runner can see an empty loop before the 1 ms timer fires
    const hold = setInterval(() => undefined, 1000);
    try {
      void upstream.fetch(TCB).catch(() => undefined);
      assert.equal(((await fired) as { name?: string }).name, 'TimeoutError');
    } finally {
      clearInterval(hold);
    }
  });
});

describe('what an answer must carry and what is kept', () => {
  test('an answer without its issuer-chain header is refused', async () => {
    const { upstream } = scripted([ok({ Warning: 'x' })]);
    const e = await failure(upstream.fetch(TCB));
    assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_UPSTREAM');
    assert.deepEqual(e.details, { url: `${V4}/tcb?fmspc=${FMSPC}`, reason: 'response' });
  });
  test('the older spelling of the chain header is accepted and kept under the current name', async () => {
    const { upstream } = scripted([ok({ 'SGX-TCB-Info-Issuer-Chain': CHAIN })]);
    assert.deepEqual((await upstream.fetch(TCB)).headers, { 'TCB-Info-Issuer-Chain': CHAIN });
    const qe = scripted([ok({ 'Enclave-Identity-Issuer-Chain': CHAIN })]);
    assert.deepEqual((await qe.upstream.fetch({ kind: 'qe', tee: 'sgx' })).headers, {
      'SGX-Enclave-Identity-Issuer-Chain': CHAIN,
    });
  });
  test('the Root CA CRL needs no chain header; the body is kept byte for byte', async () => {
    const der = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0xff]);
    const { upstream } = scripted([new Response(der, { status: 200, headers: { 'X-Other': '1' } })]);
    const r = await upstream.fetch({ kind: 'rootcacrl', tee: 'sgx' });
    assert.deepEqual(r.body, der);
    assert.deepEqual(r.headers, {});
    assert.equal(r.url, `${V4}/rootcacrl`);
  });
  test("only the kind's headers are kept, with the values as received", async () => {
    const { upstream } = scripted([
      ok({
        'SGX-PCK-Certificate-Issuer-Chain': CHAIN,
        'SGX-TCBm': 'AABB',
        'SGX-FMSPC': FMSPC,
        'SGX-PCK-Certificate-CA-Type': 'processor',
        Warning: '110 - stale',
        'Request-ID': 'r-9',
        'Set-Cookie': 'a=b',
      }),
    ]);
    assert.deepEqual((await upstream.fetch(PCKCERT)).headers, {
      'SGX-PCK-Certificate-Issuer-Chain': CHAIN,
      'SGX-TCBm': 'AABB',
      'SGX-FMSPC': FMSPC,
      'SGX-PCK-Certificate-CA-Type': 'processor',
      Warning: '110 - stale',
    });
  });
});
