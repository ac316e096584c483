/**
 * Specification of the launcher's AESM client (src/container/aesm-client.ts) against a scripted AESM
 * socket speaking proto/aesm/aesm.proto: the request sequence and the values it carries, the framing
 * (u32 little-endian length), and every way an answer is refused with ERR_CONTAINER_QUOTE. The real
 * quote helper behind the socket is exercised by run.test.ts. (Also the mutation-testing spec.)
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import protobuf from 'protobufjs';
import {
  aesmGetQuote,
  aesmQuoteSize,
  aesmQuoteTarget,
  ContainerLaunchError,
  openPlatform,
} from '../../src/container/index.ts';
import { startTricklingPeer } from '../support/trickling-peer.ts';

const root = protobuf.parse(readFileSync(new URL('../../proto/aesm/aesm.proto', import.meta.url), 'utf8'), {
  keepCase: true,
}).root;
const Request = root.lookupType('aesm.message.Request');
const Response = root.lookupType('aesm.message.Response');

type Req = Record<string, Record<string, unknown>>;
/** What the scripted socket does with one request: answer with a Response object, or raw bytes, or nothing. */
type Action = { res: Record<string, unknown> } | { raw: Buffer; end?: boolean } | { silent: true };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ccnodes-aesm-spec-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
interface Scripted {
  readonly path: string;
  /** Requests received, decoded. */
  readonly requests: Req[];
  /** How many connections the client closed after its answer. */
  closedByClient: number;
  close(): Promise<void>;
}

const frame = (body: Uint8Array): Buffer => {
  const f = Buffer.alloc(4 + body.length);
  f.writeUInt32LE(body.length, 0);
  f.set(body, 4);
  return f;
};
const encodeRes = (res: Record<string, unknown>): Buffer =>
  frame(Response.encode(Response.fromObject(res)).finish());

/** An AESM socket that answers each decoded request with `script(request)`. */
async function scripted(script: (req: Req) => Action): Promise<Scripted> {
  const path = join(dir, `aesm-${++n}.socket`);
  const sockets = new Set<Socket>();
  const s: Scripted = {
    path,
    requests: [],
    closedByClient: 0,
    close: () =>
      new Promise<void>((r) => {
        for (const c of sockets) c.destroy();
        server.close(() => {
          r();
        });
      }),
  };
  const server: Server = createServer((c) => {
    sockets.add(c);
    let buf = Buffer.alloc(0);
    let answered = false;
    c.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32LE(0)) return;
      const req = Request.toObject(Request.decode(buf.subarray(4, 4 + buf.readUInt32LE(0))), {
        bytes: Buffer,
        longs: Number,
      });
      s.requests.push(req);
      const a = script(req);
      answered = true;
      if ('res' in a) c.write(encodeRes(a.res));
      else if ('raw' in a) {
        if (a.end === true) c.end(a.raw);
        else c.write(a.raw);
      }
    });
    c.on('end', () => {
      if (answered) s.closedByClient++;
    });
    c.on('error', () => {});
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => server.listen(path, r));
  return s;
}

const KEY_A = Buffer.alloc(256, 0xa1);
const KEY_B = Buffer.alloc(256, 0xb2);
const TARGET_INFO = Buffer.alloc(512, 0x07);
const QUOTE = Buffer.alloc(1000, 0x51);
const REPORT = new Uint8Array(432).fill(0x33);

/** A well-behaved AESM: two attestation keys, a 96-byte public key id, a 1000-byte quote. */
function aesm(overrides: Partial<Record<string, Record<string, unknown>>> = {}): (req: Req) => Action {
  return (req) => {
    const field = Object.keys(req)[0] ?? '';
    const resField = field.replace(/Req$/, 'Res');
    const defaults: Record<string, Record<string, unknown>> = {
      getSupportedAttKeyIDNumReq: { errorCode: 0, att_key_id_num: 2 },
      getSupportedAttKeyIDsReq: { errorCode: 0, att_key_ids: Buffer.concat([KEY_A, KEY_B]) },
      initQuoteExReq:
        req[field]?.['b_pub_key_id'] === true
          ? { errorCode: 0, target_info: TARGET_INFO }
          : { errorCode: 0, pub_key_id_size: 96 },
      getQuoteSizeExReq: { errorCode: 0, quote_size: QUOTE.length },
      getQuoteExReq: { errorCode: 0, quote: QUOTE },
    };
    return { res: { [resField]: overrides[field] ?? defaults[field] ?? { errorCode: 1 } } };
  };
}

async function refusal(p: Promise<unknown>): Promise<ContainerLaunchError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ContainerLaunchError, String(err));
    assert.equal(err.code, 'ERR_CONTAINER_QUOTE');
    return err;
  }
  assert.fail('accepted');
}

test('target: key-id count, the key ids (count x 256 bytes), InitQuoteEx for the size then for the target info with the first key', async () => {
  const s = await scripted(aesm());
  try {
    const t = await aesmQuoteTarget(s.path);
    assert.deepEqual(Buffer.from(t.targetInfo), TARGET_INFO);
    assert.deepEqual(Buffer.from(t.attKeyId), KEY_A);
    assert.deepEqual(
      s.requests.map((r) => Object.keys(r)),
      [['getSupportedAttKeyIDNumReq'], ['getSupportedAttKeyIDsReq'], ['initQuoteExReq'], ['initQuoteExReq']],
    );
    assert.equal(s.requests[1]?.['getSupportedAttKeyIDsReq']?.['buf_size'], 512);
    const [size, init] = [s.requests[2]?.['initQuoteExReq'], s.requests[3]?.['initQuoteExReq']];
    assert.deepEqual(size?.['att_key_id'], KEY_A);
    assert.equal(size['b_pub_key_id'], false);
    assert.deepEqual(init?.['att_key_id'], KEY_A);
    assert.equal(init['b_pub_key_id'], true);
    assert.equal(init['buf_size'], 96);
    // One request per connection; the client closes each one after its answer.
    for (let i = 0; i < 100 && s.closedByClient < 4; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.closedByClient, 4);
  } finally {
    await s.close();
  }
});

test('quote: GetQuoteSizeEx with the key, then GetQuoteEx with the report, the key and the size', async () => {
  const s = await scripted(aesm());
  try {
    const quote = await aesmGetQuote(s.path, { targetInfo: TARGET_INFO, attKeyId: KEY_B }, REPORT);
    assert.deepEqual(Buffer.from(quote), QUOTE);
    assert.deepEqual(s.requests[0]?.['getQuoteSizeExReq']?.['att_key_id'], KEY_B);
    const q = s.requests[1]?.['getQuoteExReq'];
    assert.deepEqual(q?.['report'], Buffer.from(REPORT));
    assert.deepEqual(q['att_key_id'], KEY_B);
    assert.equal(q['buf_size'], QUOTE.length);
  } finally {
    await s.close();
  }
});

test('quote with a size already known: GetQuoteEx alone, with that size; aesmQuoteSize asks GetQuoteSizeEx with the key', async () => {
  const s = await scripted(aesm());
  try {
    assert.equal(await aesmQuoteSize(s.path, { targetInfo: TARGET_INFO, attKeyId: KEY_B }), QUOTE.length);
    assert.deepEqual(s.requests[0]?.['getQuoteSizeExReq']?.['att_key_id'], KEY_B);
    const quote = await aesmGetQuote(s.path, { targetInfo: TARGET_INFO, attKeyId: KEY_B }, REPORT, 5000, {
      size: 2048,
    });
    assert.deepEqual(Buffer.from(quote), QUOTE);
    assert.deepEqual(
      s.requests.map((r) => Object.keys(r)[0]),
      ['getQuoteSizeExReq', 'getQuoteExReq'],
      'no second size request',
    );
    assert.equal(s.requests[1]?.['getQuoteExReq']?.['buf_size'], 2048);
  } finally {
    await s.close();
  }
});

test('platform over an AESM socket: the quote size is asked right after InitQuoteEx (before the report exists), and used by the quote', async () => {
  const s = await scripted(aesm());
  try {
    const p = await openPlatform({ simSeed: 'aesm-spec', aesmSocket: s.path });
    await p.quoteTarget();
    // The size request is on its way before any report is given.
    for (let i = 0; i < 100 && s.requests.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      s.requests.map((r) => Object.keys(r)[0]),
      [
        'getSupportedAttKeyIDNumReq',
        'getSupportedAttKeyIDsReq',
        'initQuoteExReq',
        'initQuoteExReq',
        'getQuoteSizeExReq',
      ],
    );
    assert.deepEqual(Buffer.from(await p.quote(REPORT)), QUOTE);
    assert.equal(s.requests.length, 6, 'one more request: the quote');
    assert.equal(s.requests[5]?.['getQuoteExReq']?.['buf_size'], QUOTE.length);
  } finally {
    await s.close();
  }
});

test('platform over an AESM socket: a refused size request is reported by the quote (ERR_CONTAINER_QUOTE), never unhandled', async () => {
  const s = await scripted(aesm({ getQuoteSizeExReq: { errorCode: 42 } }));
  try {
    const p = await openPlatform({ simSeed: 'aesm-spec', aesmSocket: s.path });
    await p.quoteTarget();
    // Time for the refused size answer to arrive before anyone waits for it.
    await new Promise((r) => setTimeout(r, 200));
    const err = await refusal(p.quote(REPORT));
    assert.equal(err.details['aesmStatus'], 42);
    assert.ok(!s.requests.some((r) => 'getQuoteExReq' in r), 'no quote is asked for without a size');
  } finally {
    await s.close();
  }
});

test('between 1 and 64 attestation keys are accepted; 0 and 65 are refused', async () => {
  for (const count of [1, 64]) {
    const s = await scripted(
      aesm({
        getSupportedAttKeyIDNumReq: { errorCode: 0, att_key_id_num: count },
        getSupportedAttKeyIDsReq: { errorCode: 0, att_key_ids: Buffer.alloc(256 * count, 0xa1) },
      }),
    );
    try {
      assert.deepEqual(Buffer.from((await aesmQuoteTarget(s.path)).attKeyId), KEY_A, String(count));
      assert.equal(s.requests[1]?.['getSupportedAttKeyIDsReq']?.['buf_size'], 256 * count);
    } finally {
      await s.close();
    }
  }
  for (const count of [0, 65]) {
    const s = await scripted(aesm({ getSupportedAttKeyIDNumReq: { errorCode: 0, att_key_id_num: count } }));
    try {
      const err = await refusal(aesmQuoteTarget(s.path));
      assert.equal(err.details['socketPath'], s.path);
      assert.equal(s.requests.length, 1, 'nothing more is asked');
    } finally {
      await s.close();
    }
  }
});

test('key ids shorter than one 256-byte key id, or missing, are refused', async () => {
  for (const ids of [{ errorCode: 0, att_key_ids: Buffer.alloc(255, 1) }, { errorCode: 0 }]) {
    const s = await scripted(aesm({ getSupportedAttKeyIDsReq: ids }));
    try {
      await refusal(aesmQuoteTarget(s.path));
      assert.equal(s.requests.length, 2);
    } finally {
      await s.close();
    }
  }
  // Exactly one key id is enough.
  const s = await scripted(
    aesm({
      getSupportedAttKeyIDNumReq: { errorCode: 0, att_key_id_num: 1 },
      getSupportedAttKeyIDsReq: { errorCode: 0, att_key_ids: KEY_B },
    }),
  );
  try {
    assert.deepEqual(Buffer.from((await aesmQuoteTarget(s.path)).attKeyId), KEY_B);
  } finally {
    await s.close();
  }
});

test('an InitQuoteEx answer without target info is refused', async () => {
  const s = await scripted((req) => {
    if (req['initQuoteExReq']?.['b_pub_key_id'] === true)
      return { res: { initQuoteExRes: { errorCode: 0, pub_key_id_size: 96 } } };
    return aesm()(req);
  });
  try {
    await refusal(aesmQuoteTarget(s.path));
  } finally {
    await s.close();
  }
});

test('an empty or missing quote is refused', async () => {
  for (const res of [{ errorCode: 0, quote: Buffer.alloc(0) }, { errorCode: 0 }]) {
    const s = await scripted(aesm({ getQuoteExReq: res }));
    try {
      await refusal(aesmGetQuote(s.path, { targetInfo: TARGET_INFO, attKeyId: KEY_A }, REPORT));
    } finally {
      await s.close();
    }
  }
});

test('an AESM error status is refused with the status in the details, and nothing more is asked', async () => {
  const s = await scripted(aesm({ getQuoteSizeExReq: { errorCode: 18 } }));
  try {
    const err = await refusal(aesmGetQuote(s.path, { targetInfo: TARGET_INFO, attKeyId: KEY_A }, REPORT));
    assert.equal(err.details['aesmStatus'], 18);
    assert.equal(err.details['socketPath'], s.path);
    assert.equal(s.requests.length, 1);
  } finally {
    await s.close();
  }
});

test('an answer to another request, or an undecodable answer, is refused', async () => {
  const other = await scripted(() => ({ res: { getQuoteExRes: { errorCode: 0, quote: QUOTE } } }));
  const garbage = await scripted(() => ({ raw: frame(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f])) }));
  try {
    await refusal(aesmQuoteTarget(other.path));
    const err = await refusal(aesmQuoteTarget(garbage.path));
    assert.ok(err.cause instanceof Error, 'the decoding error is the cause');
  } finally {
    await other.close();
    await garbage.close();
  }
});

test('framing: a zero-length or over-1-MiB frame is refused as soon as its length arrives; exactly 1 MiB is read', async () => {
  // The client's own timeout is long: these answers must be refused on their length, not on time.
  const zero = await scripted(() => ({ raw: Buffer.alloc(4) }));
  const big = Buffer.alloc(4);
  big.writeUInt32LE(1024 * 1024 + 1, 0);
  const tooBig = await scripted(() => ({ raw: big }));
  const quote = Buffer.alloc(1024 * 1024 - 16, 0x51);
  const body = Response.encode(Response.fromObject({ getQuoteExRes: { errorCode: 0, quote } })).finish();
  const padded = Buffer.alloc(1024 * 1024 - body.length + quote.length, 0x51);
  const exact = Response.encode(
    Response.fromObject({ getQuoteExRes: { errorCode: 0, quote: padded } }),
  ).finish();
  assert.equal(exact.length, 1024 * 1024);
  const mib = await scripted((req) => ('getQuoteExReq' in req ? { raw: frame(exact) } : aesm()(req)));
  try {
    await refusal(aesmQuoteTarget(zero.path, 600_000));
    await refusal(aesmQuoteTarget(tooBig.path, 600_000));
    const q = await aesmGetQuote(mib.path, { targetInfo: TARGET_INFO, attKeyId: KEY_A }, REPORT, 600_000);
    assert.equal(q.length, padded.length);
  } finally {
    await zero.close();
    await tooBig.close();
    await mib.close();
  }
});

test('framing: an answer split across writes, even inside the length, is reassembled', async () => {
  const path = join(dir, 'split.socket');
  const whole = encodeRes({ getSupportedAttKeyIDNumRes: { errorCode: 0, att_key_id_num: 0 } });
  const server = createServer((c) => {
    c.once('data', () => {
      c.write(whole.subarray(0, 2));
      setTimeout(() => c.write(whole.subarray(2, 6)), 20);
      setTimeout(() => c.write(whole.subarray(6)), 40);
    });
    c.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    // att_key_id_num 0 is refused after the whole answer was decoded: the count check, not a framing error.
    const err = await refusal(aesmQuoteTarget(path, 600_000));
    assert.equal(err.details['aesmStatus'], undefined);
  } finally {
    await new Promise<void>((r) =>
      server.close(() => {
        r();
      }),
    );
  }
});

test('a socket that closes early, answers nothing in time, or does not exist is refused', async () => {
  const half = await scripted(() => ({
    raw: encodeRes({ getSupportedAttKeyIDNumRes: { errorCode: 0 } }).subarray(0, 5),
    end: true,
  }));
  const silent = await scripted(() => ({ silent: true }));
  try {
    await refusal(aesmQuoteTarget(half.path, 600_000));
    const err = await refusal(aesmQuoteTarget(silent.path, 200));
    assert.equal(err.details['socketPath'], silent.path);
    const missing = await refusal(aesmQuoteTarget(join(dir, 'nothing.socket')));
    assert.ok(missing.cause instanceof Error, 'the connection error is the cause');
    assert.equal((missing.cause as NodeJS.ErrnoException).code, 'ENOENT');
  } finally {
    await half.close();
    await silent.close();
  }
});

test('an answer trickled a byte at a time is cut off at the deadline, not kept alive by each byte', async () => {
  // A peer that sends a valid answer one byte every 20 ms: 1,000 quote bytes would take 20 s.
  const path = join(dir, `aesm-trickle-${++n}.socket`);
  const answer = encodeRes({ getSupportedAttKeyIDNumRes: { errorCode: 0, att_key_id_num: 1 } });
  const padded = Buffer.concat([answer, Buffer.alloc(1000)]);
  padded.writeUInt32LE(padded.length - 4, 0);
  const peer = await startTricklingPeer(path, padded, 20);
  try {
    const started = performance.now();
    const err = await refusal(aesmQuoteTarget(path, 400));
    const took = performance.now() - started;
    assert.match(err.message, /did not answer within 400 ms/);
    assert.ok(took < 400 + 1500, `refused after ${took.toFixed(0)} ms`);
  } finally {
    peer.close();
  }
});
