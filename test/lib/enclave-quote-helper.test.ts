/**
 * `ccnodes/enclave` on a node: `ccnodes.getQuote()` in enclave code, served by the node's quote
 * helper (`ccnodes node quote-helper --provider sim`, started as the CLI starts it) through
 * quoteHelperOcalls — the quote helper checks the REPORT's MAC, so the enclave must run on the same
 * simulated platform (its data directory). A helper that is not there is a typed refusal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ATTEST_OCALLS,
  attestOcalls,
  defineEnclaveInterface,
  QUOTE_OCALLS,
  quoteHelperOcalls,
  SimCpu,
  startTypedEnclave,
  t,
  withEnclaveInterface,
  type TypedEnclave,
} from '../../src/lib/enclave.ts';
import { decodeQuote } from '../../src/lib/verify.ts';
import { runCapture, type CliRun } from '../support/cli.ts';
import { makeImage, sign } from '../sim/enclave-fixtures.ts';

const IFACE = defineEnclaveInterface({
  ecalls: {
    quote: { args: [t.bytes({ length: 64 })], result: t.bytes({ max: 65536 }) },
    attest: { args: [t.bytes({ max: 64 })], result: t.string({ max: 4096 }) },
  },
  ocalls: { ...QUOTE_OCALLS, ...ATTEST_OCALLS },
});
const ENTRY = `
ccnodes.ecall('quote', function (rd) { return ccnodes.getQuote(rd); });
ccnodes.ecall('attest', function (data) { return ccnodes.attest(data); });
`;

async function launch(
  cpu: SimCpu,
  socketPath: string,
  attested: Uint8Array[][] = [],
): Promise<TypedEnclave<typeof IFACE.spec>> {
  const image = withEnclaveInterface(
    makeImage(
      { ecalls: ['quote', 'attest'], ocalls: Object.keys(IFACE.spec.ocalls), heapPages: 16 },
      { 'main.js': ENTRY },
    ),
    IFACE,
  );
  return startTypedEnclave(IFACE, {
    cpu,
    image,
    sigstruct: sign(image),
    ocalls: {
      ...quoteHelperOcalls({ socketPath }),
      ...attestOcalls({
        attestSgxEnclave: (evidence) => {
          attested.push([evidence.quote, evidence.runtimeData]);
          return Promise.resolve('a-token');
        },
      }),
    },
  });
}

describe('getQuote() through the node quote helper', () => {
  let dir: string;
  let jsonSocket: string;
  const stop = new AbortController();
  let running: Promise<CliRun> | undefined;
  const enclaves: { terminate: () => Promise<void> }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lib-qh-'));
    jsonSocket = join(dir, 'json.socket');
    running = runCapture(
      [
        'node',
        'quote-helper',
        '--provider',
        'sim',
        '--socket',
        'aesm.socket',
        '--json-socket',
        'json.socket',
        '--data-dir',
        'platform',
        '--log-level',
        'warn',
      ],
      { signal: stop.signal, cwd: dir },
    );
    for (let i = 0; i < 600 && !existsSync(jsonSocket); i++) await sleep(100);
    assert.ok(existsSync(jsonSocket), 'the quote helper did not start');
  });

  after(async () => {
    for (const e of enclaves) await e.terminate();
    stop.abort();
    await running;
    rmSync(dir, { recursive: true, force: true });
  });

  test('an enclave on the node platform gets a quote of itself in one call', async () => {
    const e = await launch(await SimCpu.open(join(dir, 'platform')), jsonSocket);
    enclaves.push(e);
    const reportData = new Uint8Array(64).fill(3);
    const quote = decodeQuote(await e.ecalls.quote(reportData));
    assert.ok(quote.body.kind === 'sgx');
    assert.deepEqual(quote.body.report.mrEnclave, e.running.enclave.mrEnclave);
    assert.deepEqual(quote.body.report.reportData, reportData);
  });

  test('attest() hands the quote and runtime data to the attestation client', async () => {
    const attested: Uint8Array[][] = [];
    const e = await launch(await SimCpu.open(join(dir, 'platform')), jsonSocket, attested);
    enclaves.push(e);
    assert.equal(await e.ecalls.attest(new Uint8Array([1, 2])), 'a-token');
    assert.equal(attested.length, 1);
    assert.deepEqual(attested[0]?.[1], new Uint8Array([1, 2]));
  });

  test('an enclave on another platform is refused by the helper (report MAC), as a rejected getQuote', async () => {
    const e = await launch(SimCpu.fromSeed('not the node'), jsonSocket);
    enclaves.push(e);
    await assert.rejects(e.ecalls.quote(new Uint8Array(64)), /quote helper POST \/v1\/quote.*HTTP 4\d\d/);
  });

  test('no quote helper at the socket: a typed refusal naming the socket', async () => {
    const e = await launch(SimCpu.fromSeed('x'), join(dir, 'absent.socket'));
    enclaves.push(e);
    await assert.rejects(
      e.ecalls.quote(new Uint8Array(64)),
      /ERR_ENCLAVE_RUNTIME|quote helper GET \/v1\/target-info on .*absent\.socket/,
    );
  });
});

test(
  'a quote helper that trickles its answer is given up on at the deadline (timeoutMs), ERR_ENCLAVE_RUNTIME',
  { timeout: 10_000 },
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ccnodes-qh-trickle-'));
    const socketPath = join(dir, 'json.socket');
    const timers = new Set<NodeJS.Timeout>();
    // Headers at once, then one byte of the body every 20 ms (the request's own idle timeout never fires).
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const tick = setInterval(() => res.write(' '), 20);
      timers.add(tick);
      res.on('close', () => {
        clearInterval(tick);
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const started = performance.now();
      await assert.rejects(quoteHelperOcalls({ socketPath, timeoutMs: 300 }).ccnodes_qe_target_info(), {
        code: 'ERR_ENCLAVE_RUNTIME',
        message: /no complete answer within 300 ms/,
      });
      assert.ok(performance.now() - started < 300 + 1500);
      assert.throws(() => quoteHelperOcalls({ socketPath, timeoutMs: 0 }), { code: 'ERR_ENCLAVE_RUNTIME' });
    } finally {
      for (const tick of timers) clearInterval(tick);
      server.closeAllConnections();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
