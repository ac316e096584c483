/**
 * The quote helper's JSON API over its unix socket (sim provider): quotes from JSON and from raw
 * bytes, target info, health, metrics, and typed 4xx errors for bad input.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeQuote, encodeReport, verifyQuote } from '../../src/core/index.ts';
import {
  createSimProvider,
  silentLogger,
  startQuoteHelper,
  type QuoteHelper,
  type SimQuoteProvider,
} from '../../src/node/quote-helper/index.ts';
import type { QuoteHelperQuoteResponse, QuoteHelperTargetInfoResponse } from '../../src/contract/index.ts';
import { unixHttp } from './quote-helper-http.ts';

describe('quote helper JSON API (sim provider)', () => {
  let dir: string;
  let provider: SimQuoteProvider;
  let helper: QuoteHelper;
  let json: string;
  let report: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-json-'));
    provider = await createSimProvider({ seed: 'quote-helper-json-test' });
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      jsonSocketPath: join(dir, 'run', 'json.socket'),
      provider,
      logger: silentLogger(),
    });
    json = helper.jsonSocketPath ?? '';
    report = Buffer.from(
      encodeReport({
        body: provider.platform.syntheticReportBody({ reportData: Buffer.from('json api nonce') }),
        keyId: new Uint8Array(32),
        mac: new Uint8Array(16),
      }),
    );
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('sockets: AESM world-writable like aesmd, JSON API 0660', () => {
    assert.equal(statSync(helper.socketPath).mode & 0o777, 0o777);
    assert.equal(statSync(json).mode & 0o777, 0o660);
  });

  test('POST /v1/quote (JSON) returns a quote the core verifies', async () => {
    const res = await unixHttp(json, 'POST', '/v1/quote', {
      contentType: 'application/json',
      data: JSON.stringify({ report: report.toString('base64url') }),
    });
    assert.equal(res.status, 200);
    const body = res.json() as QuoteHelperQuoteResponse;
    assert.equal(body.provider, 'sim');
    assert.equal(body.simulated, true);
    const quote = Buffer.from(body.quote, 'base64');
    assert.equal(quote.length, body.quoteSize);
    const now = new Date();
    const verdict = verifyQuote(quote, provider.platform.collateral({ now }), {
      now,
      trustSimulatedRoot: provider.rootPem,
    });
    assert.equal(verdict.status, 'UpToDate');
    assert.equal(
      Buffer.from(verdict.quote.body.kind === 'sgx' ? verdict.quote.body.report.reportData : [])
        .subarray(0, 14)
        .toString(),
      'json api nonce',
    );
  });

  test('POST /v1/quote (octet-stream) returns the raw quote', async () => {
    const res = await unixHttp(json, 'POST', '/v1/quote', {
      contentType: 'application/octet-stream',
      data: report,
    });
    assert.equal(res.status, 200);
    assert.match(res.contentType, /application\/octet-stream/);
    assert.equal(decodeQuote(res.body).header.version, 3);
  });

  test('GET /v1/target-info describes the simulated QE', async () => {
    const res = await unixHttp(json, 'GET', '/v1/target-info');
    assert.equal(res.status, 200);
    const body = res.json() as QuoteHelperTargetInfoResponse;
    assert.equal(
      Buffer.from(body.targetInfo, 'base64').toString('hex'),
      Buffer.from(provider.targetInfo).toString('hex'),
    );
    assert.equal(Buffer.from(body.attKeyId, 'base64').length, 256);
    assert.match(body.pubKeyId, /^[0-9a-f]{64}$/);
    assert.ok(body.quoteSize > 1000);
    assert.equal(body.simulated, true);
  });

  test('GET /healthz and GET /metrics', async () => {
    const health = await unixHttp(json, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal((health.json() as { status: string }).status, 'ok');
    const metrics = await unixHttp(json, 'GET', '/metrics');
    assert.equal(metrics.status, 200);
    const text = metrics.body.toString();
    assert.match(text, /ccnodes_quote_helper_requests_total\{transport="json",type="quote",code="0"\} [1-9]/);
    assert.match(text, /ccnodes_quote_helper_request_duration_seconds_bucket/);
    assert.match(text, /ccnodes_quote_helper_process_resident_memory_bytes/);
  });

  const bad: ReadonlyArray<readonly [string, string, string, string]> = [
    ['not JSON', 'application/json', '{"report":', 'ERR_QUOTE_HELPER_INPUT'],
    ['no report', 'application/json', '{}', 'ERR_QUOTE_HELPER_INPUT'],
    ['report not base64', 'application/json', '{"report":"not base64!"}', 'ERR_QUOTE_HELPER_INPUT'],
    [
      'report 431 bytes',
      'application/json',
      JSON.stringify({ report: Buffer.alloc(431).toString('base64') }),
      'ERR_QUOTE_HELPER_INPUT',
    ],
    ['a JSON array', 'application/json', '[]', 'ERR_QUOTE_HELPER_INPUT'],
    ['nonce without targetInfo', 'application/json', '', 'ERR_QUOTE_HELPER_INPUT'],
    ['raw report of 433 bytes', 'application/octet-stream', '', 'ERR_QUOTE_HELPER_INPUT'],
  ];
  for (const [name, contentType, data, code] of bad) {
    test(`POST /v1/quote rejects ${name} with 400 ${code}`, async () => {
      let payload: string | Uint8Array = data;
      if (name === 'nonce without targetInfo') {
        payload = JSON.stringify({
          report: report.toString('base64'),
          nonce: Buffer.alloc(16).toString('base64'),
        });
      }
      if (name === 'raw report of 433 bytes') payload = Buffer.concat([report, Buffer.alloc(1)]);
      const res = await unixHttp(json, 'POST', '/v1/quote', { contentType, data: payload });
      assert.equal(res.status, 400);
      assert.equal((res.json() as { error: { code: string } }).error.code, code);
    });
  }

  test('a QE report request without the simulated QE report hook is refused (503)', async () => {
    const res = await unixHttp(json, 'POST', '/v1/quote', {
      contentType: 'application/json',
      data: JSON.stringify({
        report: report.toString('base64'),
        nonce: Buffer.alloc(16).toString('base64'),
        targetInfo: Buffer.alloc(512).toString('base64'),
      }),
    });
    assert.equal(res.status, 503);
    assert.equal(
      (res.json() as { error: { code: string; details: { status: number } } }).error.details.status,
      49,
    );
  });

  test('unknown route: 404', async () => {
    const res = await unixHttp(json, 'GET', '/v1/nothing');
    assert.equal(res.status, 404);
  });
});
