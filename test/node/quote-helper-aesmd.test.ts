/**
 * The `aesmd` provider against a fake Intel aesmd on a temp socket (written with the spec-based
 * wire codec of test/support/aesm-client.ts): requests reach it byte for byte, its answers come
 * back byte for byte, its closes are mirrored, metrics and per-client accounting are added, and the
 * JSON API works through it.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AESM_STATUS } from '../../src/contract/index.ts';
import {
  createAesmdProvider,
  silentLogger,
  startQuoteHelper,
  type QuoteHelper,
} from '../../src/node/quote-helper/index.ts';
import {
  AESM_FIELD,
  AesmClient,
  decodeFields,
  encodeFields,
  runOpenEnclaveSequence,
  type DecodedFields,
} from '../support/aesm-client.ts';
import { unixHttp } from './quote-helper-http.ts';

const FAKE_QUOTE_SIZE = 1200;
const fakeKeyId = Buffer.alloc(256);
fakeKeyId.writeUInt16LE(32, 4);
fakeKeyId.fill(0x8c, 6, 38);
fakeKeyId.writeUInt32LE(1, 54);
fakeKeyId.writeUInt32LE(2, 154);
const fakeTarget = Buffer.alloc(512, 0x11);
const fakePubKeyId = Buffer.alloc(32, 0x22);

/** A fake aesmd: records each request body, answers by request field, closes unknown requests. */
class FakeAesmd {
  readonly received: Buffer[] = [];
  readonly sent: Buffer[] = [];
  quoteStatus = 0;
  private server: Server | undefined;

  constructor(readonly socketPath: string) {}

  private answer(body: Buffer): Uint8Array | undefined {
    const wrapper = decodeFields(body);
    const sub = (n: number): DecodedFields | undefined => {
      const v = wrapper.get(n)?.[0];
      return v instanceof Uint8Array ? decodeFields(v) : undefined;
    };
    const res = (
      n: number,
      fields: ReadonlyArray<readonly [number, number | Uint8Array | undefined]>,
    ): Uint8Array => encodeFields([[n, encodeFields(fields)]]);
    if (sub(AESM_FIELD.getSupportedAttKeyIdNum) !== undefined)
      return res(21, [
        [1, 0],
        [2, 1],
      ]);
    const ids = sub(AESM_FIELD.getSupportedAttKeyIds);
    if (ids !== undefined)
      return res(22, [
        [1, ids.get(1)?.[0] === 256n ? 0 : 3],
        [2, fakeKeyId],
      ]);
    const init = sub(AESM_FIELD.initQuoteEx);
    if (init !== undefined) {
      const wants = init.get(3)?.[0] === 1n;
      return res(15, [
        [1, 0],
        [2, fakeTarget],
        [3, 32],
        [4, wants ? fakePubKeyId : undefined],
      ]);
    }
    if (sub(AESM_FIELD.getQuoteSizeEx) !== undefined)
      return res(16, [
        [1, 0],
        [2, FAKE_QUOTE_SIZE],
      ]);
    const q = sub(AESM_FIELD.getQuoteEx);
    if (q !== undefined) {
      if (this.quoteStatus !== 0) return res(17, [[1, this.quoteStatus]]);
      const size = Number(q.get(4)?.[0] ?? 0n);
      const quote = Buffer.alloc(size, 0);
      quote.fill(0x51, 0, Math.min(size, FAKE_QUOTE_SIZE));
      const info = q.get(3)?.[0];
      return res(17, [
        [1, 0],
        [2, quote],
        [
          3,
          info instanceof Uint8Array
            ? Buffer.concat([info.subarray(0, 528), Buffer.alloc(432, 0x77)])
            : undefined,
        ],
      ]);
    }
    return undefined; // unknown: aesmd closes
  }

  async start(): Promise<void> {
    this.server = createServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length < 4) return;
        const len = buf.readUInt32LE(0);
        if (buf.length < 4 + len) return;
        const body = buf.subarray(4, 4 + len);
        this.received.push(Buffer.from(body));
        const answer = this.answer(body);
        if (answer === undefined) {
          sock.destroy();
          return;
        }
        this.sent.push(Buffer.from(answer));
        const head = Buffer.alloc(4);
        head.writeUInt32LE(answer.length, 0);
        sock.end(Buffer.concat([head, answer]));
      });
      sock.on('error', () => undefined);
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(this.socketPath, resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server !== undefined) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
    this.server = undefined;
  }
}

describe('quote helper with the aesmd provider (fake aesmd)', () => {
  let dir: string;
  let fake: FakeAesmd;
  let helper: QuoteHelper;
  let client: AesmClient;
  const report = Buffer.alloc(432, 0);
  report.fill(0xee, 64, 96); // MRENCLAVE

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-aesmd-'));
    fake = new FakeAesmd(join(dir, 'host-aesm.socket'));
    await fake.start();
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      jsonSocketPath: join(dir, 'json.socket'),
      provider: createAesmdProvider({ socketPath: fake.socketPath, timeoutMs: 2000 }),
      logger: silentLogger(),
    });
    client = new AesmClient(helper.socketPath);
  });
  after(async () => {
    await helper.close();
    await fake.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the Open Enclave sequence is relayed byte for byte in both directions', async () => {
    const firstRequest = fake.received.length;
    const result = await runOpenEnclaveSequence(client, () => report);
    assert.equal(result.quoteSize, FAKE_QUOTE_SIZE);
    assert.ok(Buffer.from(result.quote).equals(Buffer.alloc(FAKE_QUOTE_SIZE, 0x51)));
    assert.ok(Buffer.from(result.targetInfo).equals(fakeTarget));
    const relayed = fake.received.slice(firstRequest);
    assert.equal(relayed.length, 6);
    // what the fake received is exactly what the client sent: spot-check the GetQuoteEx request
    const sentByClient = encodeFields([
      [
        AESM_FIELD.getQuoteEx,
        encodeFields([
          [1, report],
          [2, result.attKeyId],
          [4, FAKE_QUOTE_SIZE],
          [9, client.requestTimeout],
        ]),
      ],
    ]);
    assert.ok(relayed[5]?.equals(sentByClient));
    // and what the client receives is exactly what the fake sent
    const raw = await client.sendBody(encodeFields([[AESM_FIELD.getQuoteSizeEx, encodeFields([[9, 5]])]]));
    assert.ok(raw.kind === 'response', 'answered');
    assert.ok(raw.body.equals(fake.sent.at(-1) ?? Buffer.alloc(0)));
  });

  test('upstream errors and closes reach the client unchanged; metrics count them per client', async () => {
    fake.quoteStatus = AESM_STATUS.INVALID_REPORT;
    try {
      const got = await client.getQuoteEx({ report, bufSize: FAKE_QUOTE_SIZE });
      assert.equal(got.errorCode, AESM_STATUS.INVALID_REPORT);
    } finally {
      fake.quoteStatus = 0;
    }
    const unknown = await client.sendBody(encodeFields([[30, new Uint8Array(0)]]));
    assert.equal(unknown.kind, 'closed');
    const text = await helper.metrics.registry.metrics();
    assert.match(
      text,
      /ccnodes_quote_helper_requests_total\{transport="aesm",type="getQuoteExReq",code="47"\} 1/,
    );
    assert.match(
      text,
      /ccnodes_quote_helper_client_quotes_total\{client="eeeeeeeeeeeeeeee",result="error"\} 1/,
    );
    assert.match(
      text,
      /ccnodes_quote_helper_client_quotes_total\{client="eeeeeeeeeeeeeeee",result="ok"\} [1-9]/,
    );
    assert.match(
      text,
      /ccnodes_quote_helper_errors_total\{transport="aesm",reason="ERR_AESM_UNKNOWN_REQUEST"\} 1/,
    );
  });

  test('the JSON API works through the aesmd provider', async () => {
    const info = await unixHttp(helper.jsonSocketPath ?? '', 'GET', '/v1/target-info');
    assert.equal(info.status, 200);
    const body = info.json() as {
      targetInfo: string;
      pubKeyId: string;
      quoteSize: number;
      provider: string;
      simulated: boolean;
    };
    assert.equal(Buffer.from(body.targetInfo, 'base64').toString('hex'), fakeTarget.toString('hex'));
    assert.equal(body.pubKeyId, fakePubKeyId.toString('hex'));
    assert.equal(body.quoteSize, FAKE_QUOTE_SIZE);
    assert.equal(body.provider, 'aesmd');
    assert.equal(body.simulated, false);
    const quote = await unixHttp(helper.jsonSocketPath ?? '', 'POST', '/v1/quote', {
      contentType: 'application/json',
      data: JSON.stringify({
        report: report.toString('base64'),
        nonce: Buffer.alloc(16, 1).toString('base64'),
        targetInfo: Buffer.alloc(512, 2).toString('base64'),
      }),
    });
    assert.equal(quote.status, 200);
    const q = quote.json() as { quote: string; quoteSize: number; qeReport: string };
    assert.equal(q.quoteSize, FAKE_QUOTE_SIZE);
    assert.ok(Buffer.from(q.quote, 'base64').equals(Buffer.alloc(FAKE_QUOTE_SIZE, 0x51)));
    assert.ok(Buffer.from(q.qeReport, 'base64').equals(Buffer.alloc(432, 0x77)));
    const health = await unixHttp(helper.jsonSocketPath ?? '', 'GET', '/healthz');
    assert.equal(health.status, 200);
  });

  test('aesmd down: AESM clients see a close, /healthz says 503, and service resumes when it returns', async () => {
    await fake.stop();
    try {
      const answer = await client.sendBody(encodeFields([[AESM_FIELD.getQuoteSizeEx, new Uint8Array(0)]]));
      assert.equal(answer.kind, 'closed');
      const health = await unixHttp(helper.jsonSocketPath ?? '', 'GET', '/healthz');
      assert.equal(health.status, 503);
      assert.equal((health.json() as { status: string }).status, 'unhealthy');
      const quote = await unixHttp(helper.jsonSocketPath ?? '', 'POST', '/v1/quote', {
        contentType: 'application/json',
        data: JSON.stringify({ report: report.toString('base64') }),
      });
      assert.equal(quote.status, 502);
      assert.equal((quote.json() as { error: { code: string } }).error.code, 'ERR_QUOTE_HELPER_UPSTREAM');
    } finally {
      rmSync(fake.socketPath, { force: true });
      await fake.start();
    }
    const size = await client.getQuoteSizeEx();
    assert.equal(size.errorCode, 0);
  });
});
