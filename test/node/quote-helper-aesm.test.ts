/**
 * The quote helper's AESM socket with the sim provider, driven by the spec-written AESM client:
 * Open Enclave's out-of-process sequence ending in a quote the core verifies (simulated root
 * trusted), both InitQuoteEx layouts, and aesmd's error codes for bad parameters.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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
import { AESM_STATUS } from '../../src/contract/index.ts';
import { AesmClient, ATT_KEY_ID_ALGORITHM_OFFSET, runOpenEnclaveSequence } from '../support/aesm-client.ts';

const hex = (b: Uint8Array | undefined): string =>
  b === undefined ? 'absent' : Buffer.from(b).toString('hex');

function appReport(provider: SimQuoteProvider, reportData: Uint8Array): Uint8Array {
  const body = provider.platform.syntheticReportBody({ reportData });
  return encodeReport({ body, keyId: new Uint8Array(32), mac: new Uint8Array(16) });
}

describe('quote helper AESM socket (sim provider)', () => {
  let dir: string;
  let provider: SimQuoteProvider;
  let helper: QuoteHelper;
  let client: AesmClient;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-aesm-'));
    provider = await createSimProvider({ seed: 'quote-helper-aesm-test' });
    helper = await startQuoteHelper({
      socketPath: join(dir, 'aesm.socket'),
      provider,
      logger: silentLogger(),
    });
    client = new AesmClient(helper.socketPath);
  });
  after(async () => {
    await helper.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("Open Enclave's sequence yields a quote the core verifies with the simulated root trusted", async () => {
    const reportData = new Uint8Array(64).fill(0xab);
    const seen: Uint8Array[] = [];
    const result = await runOpenEnclaveSequence(client, (targetInfo) => {
      seen.push(targetInfo);
      return appReport(provider, reportData);
    });
    assert.equal(result.targetInfo.length, 512);
    assert.equal(hex(seen[0]), hex(provider.targetInfo));
    assert.equal(result.pubKeyId.length, 32);
    assert.equal(Buffer.from(result.attKeyId).readUInt32LE(ATT_KEY_ID_ALGORITHM_OFFSET), 2);
    assert.equal(result.quote.length, result.quoteSize);

    const quote = decodeQuote(result.quote);
    assert.equal(quote.header.version, 3);
    assert.equal(quote.trailingBytes, 0);
    assert.ok(quote.body.kind === 'sgx');
    assert.equal(hex(quote.body.report.reportData), hex(reportData));

    const now = new Date();
    const collateral = provider.platform.collateral({ now });
    const verdict = verifyQuote(result.quote, collateral, { now, trustSimulatedRoot: provider.rootPem });
    assert.equal(verdict.simulated, true);
    assert.equal(verdict.status, 'UpToDate');

    // The same quote without trusting the simulated root is refused.
    assert.throws(
      () => verifyQuote(result.quote, collateral, { now }),
      (err: unknown) => (err as { code?: string }).code === 'ERR_VERIFY_SIMULATED_ROOT',
    );
    // And a tampered quote fails the signature check.
    const tampered = result.quote.slice();
    tampered[48 + 320] = (tampered[48 + 320] ?? 0) ^ 1;
    assert.throws(() => verifyQuote(tampered, collateral, { now, trustSimulatedRoot: provider.rootPem }));
  });

  test('the old InitQuoteEx layout (PSW <= 2.5) gets the same target info and key ID', async () => {
    const current = await client.initQuoteEx({ bPubKeyId: true, bufSize: 32 });
    const legacySize = await client.initQuoteExLegacy({
      certificationKeyType: 3,
      refreshAttKey: false,
      bPubKeyId: false,
    });
    assert.equal(legacySize.errorCode, 0);
    assert.equal(legacySize.pubKeyIdSize, 32);
    assert.equal(legacySize.pubKeyId, undefined);
    const legacy = await client.initQuoteExLegacy({
      certificationKeyType: 3,
      refreshAttKey: false,
      bPubKeyId: true,
      bufSize: 32,
    });
    assert.equal(legacy.errorCode, 0);
    assert.equal(hex(legacy.targetInfo), hex(current.targetInfo));
    assert.equal(hex(legacy.pubKeyId), hex(current.pubKeyId));
    // In the old layout field 3 is refresh_att_key: reading it as b_pub_key_id would return a key ID here.
    const refreshOnly = await client.initQuoteExLegacy({
      certificationKeyType: 3,
      refreshAttKey: true,
      bPubKeyId: false,
      bufSize: 32,
    });
    assert.equal(refreshOnly.errorCode, 0);
    assert.equal(refreshOnly.pubKeyId, undefined);
  });

  test('GetQuoteEx returns the whole buffer: the quote, then zeros', async () => {
    const size = await client.getQuoteSizeEx();
    const quoteSize = size.quoteSize ?? 0;
    const got = await client.getQuoteEx({
      report: appReport(provider, new Uint8Array(64)),
      bufSize: quoteSize + 100,
    });
    assert.equal(got.errorCode, 0);
    assert.equal(got.quote?.length, quoteSize + 100);
    assert.ok(got.quote.subarray(quoteSize).every((b) => b === 0));
    assert.equal(decodeQuote(got.quote).trailingBytes, 100);
  });

  test('bad parameters get aesmd error codes', async () => {
    const size = (await client.getQuoteSizeEx()).quoteSize ?? 0;
    const report = appReport(provider, new Uint8Array(64));
    const small = await client.getQuoteEx({ report, bufSize: size - 1 });
    assert.equal(small.errorCode, AESM_STATUS.PARAMETER_ERROR);
    assert.equal(small.quote, undefined);
    const shortReport = await client.getQuoteEx({ report: report.subarray(0, 431), bufSize: size });
    assert.equal(shortReport.errorCode, AESM_STATUS.PARAMETER_ERROR);
    const huge = await client.getQuoteEx({ report, bufSize: 0xffffffff });
    assert.equal(huge.errorCode, AESM_STATUS.PARAMETER_ERROR);
    const badInfo = await client.getQuoteEx({ report, bufSize: size, qeReportInfo: new Uint8Array(959) });
    assert.equal(badInfo.errorCode, AESM_STATUS.PARAMETER_ERROR);
    const noHook = await client.getQuoteEx({ report, bufSize: size, qeReportInfo: new Uint8Array(960) });
    assert.equal(noHook.errorCode, AESM_STATUS.UNABLE_TO_GENERATE_QE_REPORT);

    const otherKey = provider.attKeyId.slice();
    otherKey[ATT_KEY_ID_ALGORITHM_OFFSET] = 3; // ECDSA-P384: not offered
    assert.equal(
      (await client.initQuoteEx({ attKeyId: otherKey, bPubKeyId: false })).errorCode,
      AESM_STATUS.UNSUPPORTED_ATT_KEY_ID,
    );
    assert.equal(
      (await client.getQuoteSizeEx({ attKeyId: otherKey })).errorCode,
      AESM_STATUS.UNSUPPORTED_ATT_KEY_ID,
    );
    assert.equal(
      (await client.getQuoteEx({ report, attKeyId: otherKey, bufSize: size })).errorCode,
      AESM_STATUS.UNSUPPORTED_ATT_KEY_ID,
    );
    assert.equal(
      (await client.initQuoteEx({ bPubKeyId: true, bufSize: 31 })).errorCode,
      AESM_STATUS.PARAMETER_ERROR,
    );
    assert.equal((await client.getSupportedAttKeyIds(255)).errorCode, AESM_STATUS.PARAMETER_ERROR);
    assert.equal((await client.getSupportedAttKeyIds(512)).errorCode, AESM_STATUS.PARAMETER_ERROR);
  });

  test('SelectAttKeyID picks the supported key from a list, or refuses', async () => {
    const none = await client.selectAttKeyId();
    assert.equal(none.errorCode, 0);
    assert.equal(hex(none.selected), hex(provider.attKeyId));
    const epid = provider.attKeyId.slice();
    epid[ATT_KEY_ID_ALGORITHM_OFFSET] = 0;
    const list = (...ids: Uint8Array[]): Uint8Array => {
      const head = Buffer.alloc(8);
      head.writeUInt32LE(ids.length, 4);
      return Buffer.concat([head, ...ids]);
    };
    const picked = await client.selectAttKeyId(list(epid, provider.attKeyId));
    assert.equal(picked.errorCode, 0);
    assert.equal(hex(picked.selected), hex(provider.attKeyId));
    assert.equal((await client.selectAttKeyId(list(epid))).errorCode, AESM_STATUS.UNSUPPORTED_ATT_KEY_ID);
    assert.equal(
      (await client.selectAttKeyId(Uint8Array.of(1, 2, 3))).errorCode,
      AESM_STATUS.PARAMETER_ERROR,
    );
  });

  test('the report MAC hook refuses a report it does not accept (AESM_INVALID_REPORT)', async () => {
    const strict = await createSimProvider({
      seed: 'quote-helper-aesm-test',
      verifyReport: (report) => {
        if (report[416] !== 0x5a) throw new Error('bad MAC');
      },
    });
    const strictHelper = await startQuoteHelper({
      socketPath: join(dir, 'strict.socket'),
      provider: strict,
      logger: silentLogger(),
    });
    try {
      const c = new AesmClient(strictHelper.socketPath);
      const size = (await c.getQuoteSizeEx()).quoteSize ?? 0;
      const report = appReport(strict, new Uint8Array(64));
      assert.equal((await c.getQuoteEx({ report, bufSize: size })).errorCode, AESM_STATUS.INVALID_REPORT);
      report[416] = 0x5a;
      assert.equal((await c.getQuoteEx({ report, bufSize: size })).errorCode, 0);
    } finally {
      await strictHelper.close();
    }
  });
});
