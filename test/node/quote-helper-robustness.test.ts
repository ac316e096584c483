/**
 * The AESM socket under bad input and load: garbage, truncated, oversized, zero-length and unknown
 * requests are closed unanswered as aesmd does (and counted), requests failing their `required`
 * checks get error code 1, EPID requests get "service not available", idle connections time out,
 * and after each of these the daemon still answers. 100 concurrent clients all get quotes.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeQuote, encodeReport } from '../../src/core/index.ts';
import { AESM_STATUS } from '../../src/contract/index.ts';
import {
  createSimProvider,
  silentLogger,
  startQuoteHelper,
  type QuoteHelper,
  type SimQuoteProvider,
} from '../../src/node/quote-helper/index.ts';
import {
  AESM_FIELD,
  AesmClient,
  decodeFields,
  encodeFields,
  runOpenEnclaveSequence,
} from '../support/aesm-client.ts';

function framed(body: Uint8Array): Buffer {
  return frame(body.length, body);
}

function frame(length: number, body: Uint8Array = new Uint8Array(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(length, 0);
  return Buffer.concat([head, body]);
}

describe('quote helper AESM socket: malformed input and load', () => {
  let dir: string;
  let provider: SimQuoteProvider;
  let helper: QuoteHelper;
  let client: AesmClient;
  let report: Uint8Array;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-robust-'));
    provider = await createSimProvider({ seed: 'quote-helper-robustness' });
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      provider,
      logger: silentLogger(),
      maxRequestBytes: 4096,
      readTimeoutMs: 300,
    });
    client = new AesmClient(helper.socketPath);
    report = encodeReport({
      body: provider.platform.syntheticReportBody({ reportData: new Uint8Array(64).fill(7) }),
      keyId: new Uint8Array(32),
      mac: new Uint8Array(16),
    });
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The daemon still serves: a GetQuoteSizeEx round trip succeeds. */
  async function stillServing(): Promise<void> {
    const size = await client.getQuoteSizeEx();
    assert.equal(size.errorCode, 0);
    assert.ok((size.quoteSize ?? 0) > 1000);
  }

  async function droppedCount(reason: string): Promise<number> {
    const text = await helper.metrics.registry.metrics();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`ccnodes_quote_helper_errors_total{transport="aesm",reason="${reason}"}`));
    return line === undefined ? 0 : Number(line.split(' ').at(-1));
  }

  const closedCases: ReadonlyArray<readonly [string, () => Buffer, string]> = [
    [
      'garbage bytes (invalid wire type)',
      () => frame(6, Buffer.from('ffffffffffff', 'hex')),
      'ERR_AESM_MALFORMED',
    ],
    ['a field number 0', () => frame(2, Buffer.from('0000', 'hex')), 'ERR_AESM_MALFORMED'],
    [
      'a length-delimited field running past the end',
      () => frame(3, Buffer.from('7a0a01', 'hex')),
      'ERR_AESM_MALFORMED',
    ],
    [
      'an unknown request (field 30)',
      () => framed(encodeFields([[30, new Uint8Array(0)]])),
      'ERR_AESM_UNKNOWN_REQUEST',
    ],
    [
      'a removed PSE request (field 5, createSession)',
      () => framed(encodeFields([[5, new Uint8Array(0)]])),
      'ERR_AESM_UNKNOWN_REQUEST',
    ],
    [
      'a known field number with the wrong wire type',
      () => framed(encodeFields([[15, 1]])),
      'ERR_AESM_UNKNOWN_REQUEST',
    ],
    ['a zero length', () => frame(0), 'ERR_AESM_FRAME_TOO_LARGE'],
    ['a length above the cap', () => frame(4097), 'ERR_AESM_FRAME_TOO_LARGE'],
    ['a 4 GiB length', () => frame(0xffffffff), 'ERR_AESM_FRAME_TOO_LARGE'],
  ];

  for (const [name, bytes, code] of closedCases) {
    test(`${name}: closed without an answer, counted as ${code}, daemon keeps serving`, async () => {
      const before = await droppedCount(code);
      const answer = await client.sendRaw(bytes());
      assert.equal(answer.kind, 'closed');
      assert.equal(await droppedCount(code), before + 1);
      await stillServing();
    });
  }

  test('a truncated request (stream ends early): closed, daemon keeps serving', async () => {
    const full = frame(100, new Uint8Array(10));
    const answer = await client.sendRaw(full, { endAfterWrite: true });
    assert.equal(answer.kind, 'closed');
    const prefixOnly = await client.sendRaw(Buffer.from([5, 0]), { endAfterWrite: true });
    assert.equal(prefixOnly.kind, 'closed');
    await stillServing();
  });

  test('a client that stalls mid-request is timed out', async () => {
    const started = Date.now();
    const answer = await client.sendRaw(frame(100, new Uint8Array(10)));
    assert.equal(answer.kind, 'closed');
    assert.ok(Date.now() - started >= 250, 'closed by the read timeout, not at once');
    await stillServing();
  });

  test('a request split across many writes is reassembled', async () => {
    const body = encodeFields([[AESM_FIELD.getQuoteSizeEx, encodeFields([[9, 1000]])]]);
    const bytes = frame(body.length, body);
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const sock = connect({ path: helper.socketPath });
      const chunks: Buffer[] = [];
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
      });
      sock.on('end', () => {
        resolve(Buffer.concat(chunks));
      });
      sock.on('error', reject);
      let i = 0;
      const tick = (): void => {
        if (i < bytes.length) {
          sock.write(bytes.subarray(i, i + 1));
          i += 1;
          setTimeout(tick, 2);
        }
      };
      sock.on('connect', tick);
    });
    const len = answer.readUInt32LE(0);
    assert.equal(answer.length, 4 + len);
    const res = decodeFields(
      decodeFields(answer.subarray(4)).get(AESM_FIELD.getQuoteSizeEx)?.[0] as Uint8Array,
    );
    assert.equal(res.get(1)?.[0], 0n);
  });

  test('requests missing required fields get the matching response with error code 1', async () => {
    // GetQuoteEx without report (required 1) and buf_size (required 4)
    const q = await client.call(AESM_FIELD.getQuoteEx, encodeFields([[9, 1000]]));
    assert.equal(q.errorCode, AESM_STATUS.UNEXPECTED_ERROR);
    // InitQuoteEx without b_pub_key_id (required 3)
    const i = await client.call(AESM_FIELD.initQuoteEx, encodeFields([[4, 32]]));
    assert.equal(i.errorCode, AESM_STATUS.UNEXPECTED_ERROR);
    // GetSupportedAttKeyIDs without buf_size (required 1)
    const k = await client.call(AESM_FIELD.getSupportedAttKeyIds, new Uint8Array(0));
    assert.equal(k.errorCode, AESM_STATUS.UNEXPECTED_ERROR);
    // A quote-ex sub-message whose own bytes are garbage
    const g = await client.call(AESM_FIELD.getQuoteSizeEx, Buffer.from('ffff', 'hex'));
    assert.equal(g.errorCode, AESM_STATUS.UNEXPECTED_ERROR);
    await stillServing();
  });

  test('EPID and launch-token requests get AESM_SERVICE_NOT_AVAILABLE', async () => {
    const init = await client.call(AESM_FIELD.initQuote, encodeFields([[9, 1000]]));
    assert.equal(init.errorCode, AESM_STATUS.SERVICE_NOT_AVAILABLE);
    const token = await client.call(
      AESM_FIELD.getLaunchToken,
      encodeFields([
        [1, new Uint8Array(32)],
        [2, new Uint8Array(384)],
        [3, new Uint8Array(16)],
      ]),
    );
    assert.equal(token.errorCode, AESM_STATUS.SERVICE_NOT_AVAILABLE);
  });

  test("two sub-messages: aesmd's dispatch order decides (launch token before quote-ex)", async () => {
    const body = encodeFields([
      [AESM_FIELD.getQuoteSizeEx, new Uint8Array(0)],
      [
        AESM_FIELD.getLaunchToken,
        encodeFields([
          [1, new Uint8Array(32)],
          [2, new Uint8Array(384)],
          [3, new Uint8Array(16)],
        ]),
      ],
    ]);
    const answer = await client.sendBody(body);
    assert.ok(answer.kind === 'response', 'answered');
    const wrapper = decodeFields(answer.body);
    assert.deepEqual([...wrapper.keys()], [AESM_FIELD.getLaunchToken]);
  });

  test('100 concurrent clients running the full sequence all get quotes of their own report', async () => {
    const clients = Array.from({ length: 100 }, () => new AesmClient(helper.socketPath));
    const results = await Promise.all(
      clients.map((c, i) =>
        runOpenEnclaveSequence(c, () => {
          const r = report.slice();
          r[320] = i; // REPORTDATA[0] = client index
          return r;
        }),
      ),
    );
    assert.equal(results.length, 100);
    results.forEach((res, i) => {
      const q = decodeQuote(res.quote);
      assert.ok(q.body.kind === 'sgx');
      assert.equal(q.body.report.reportData[0], i);
    });
    await stillServing();
  });
});
