/**
 * `ccnodes node quote-helper --provider sim` checks report MACs as the QE does: the daemon's
 * simulated CPU comes from --data-dir, so an enclave launched on a CPU opened from the same directory
 * gets quotes, while a report with a flipped MAC byte or from another platform's CPU is refused with
 * AESM status 47 (and a 400 with ERR_QUOTE_HELPER_REPORT_MAC on the JSON API). qe_report_info is
 * answered with a QE REPORT that verifies for the app enclave.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AESM_STATUS } from '../../src/contract/index.ts';
import { SGX_ATTRIBUTE_FLAGS, decodeQuote, decodeReport, encodeTargetInfo } from '../../src/core/index.ts';
import { SIM_QE_ISVPRODID, SIM_QE_MRENCLAVE, SimCpu, type SimEnclave } from '../../src/sim/index.ts';
import { AesmClient } from '../support/aesm-client.ts';
import { runCapture, type CliRun } from '../support/cli.ts';
import { seededRandom } from '../support/seeded-random.ts';
import { unixHttp } from './quote-helper-http.ts';

const rng = seededRandom(import.meta.url);

async function waitFor(path: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!existsSync(path)) {
    if (Date.now() > until) throw new Error(`${path} did not appear`);
    await sleep(20);
  }
}

function appEnclave(cpu: SimCpu): SimEnclave {
  return cpu.launchArchitectural({
    mrEnclave: rng.bytes(32),
    mrSigner: new Uint8Array(32).fill(0x5a),
    attributes: { flags: SGX_ATTRIBUTE_FLAGS.MODE64BIT, xfrm: 0x3n },
    isvProdId: 7,
    isvSvn: 2,
  });
}

describe('ccnodes node quote-helper --provider sim: report MACs', () => {
  let dir: string;
  let socket: string;
  let jsonSocket: string;
  let stop: AbortController;
  let running: Promise<CliRun>;
  let client: AesmClient;
  let qeTarget: Uint8Array;
  let quoteSize: number;
  let cpu: SimCpu;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'qh-mac-'));
    socket = join(dir, 'aesm.socket');
    jsonSocket = join(dir, 'json.socket');
    stop = new AbortController();
    // Relative --data-dir and sockets: resolved against the command's cwd, not the process cwd.
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
    await waitFor(jsonSocket);
    // The app's side of the same simulated platform: same data directory, same secrets.
    cpu = await SimCpu.open(join(dir, 'platform'));
    client = new AesmClient(socket);
    const init = await client.initQuoteEx({ bPubKeyId: false });
    assert.equal(init.errorCode, 0);
    assert.ok(init.targetInfo !== undefined);
    qeTarget = init.targetInfo;
    quoteSize = (await client.getQuoteSizeEx()).quoteSize ?? 0;
    assert.ok(quoteSize > 0);
  });

  after(async () => {
    stop.abort(new Error('received SIGTERM'));
    const run = await running;
    rmSync(dir, { recursive: true, force: true });
    assert.equal(run.code, 0, run.stderr);
  });

  test('a report from an enclave on the same platform (same --data-dir) is quoted', async () => {
    const app = appEnclave(cpu);
    const reportData = new Uint8Array(64).fill(0x11);
    const report = cpu.ereport(app, qeTarget, reportData);
    const got = await client.getQuoteEx({ report, bufSize: quoteSize });
    assert.equal(got.errorCode, 0);
    assert.ok(got.quote !== undefined);
    const quote = decodeQuote(got.quote);
    assert.ok(quote.body.kind === 'sgx');
    assert.deepEqual(quote.body.report.mrEnclave, app.mrEnclave);
    assert.deepEqual(quote.body.report.reportData, reportData);
  });

  test('a report with one flipped MAC byte is refused with AESM status 47', async () => {
    const report = cpu.ereport(appEnclave(cpu), qeTarget, new Uint8Array(64));
    const tampered = report.slice();
    tampered[431] = (tampered[431] ?? 0) ^ 0x01;
    const got = await client.getQuoteEx({ report: tampered, bufSize: quoteSize });
    assert.equal(got.errorCode, AESM_STATUS.INVALID_REPORT);
    assert.equal(got.quote, undefined);
    // The untampered report still passes: the refusal is the MAC, not the enclave.
    assert.equal((await client.getQuoteEx({ report, bufSize: quoteSize })).errorCode, 0);
  });

  test("a report made on another platform's CPU is refused (AESM 47, JSON API ERR_QUOTE_HELPER_REPORT_MAC)", async () => {
    const other = SimCpu.fromSeed('another simulated platform');
    const report = other.ereport(appEnclave(other), qeTarget, new Uint8Array(64));
    const got = await client.getQuoteEx({ report, bufSize: quoteSize });
    assert.equal(got.errorCode, AESM_STATUS.INVALID_REPORT);
    const res = await unixHttp(jsonSocket, 'POST', '/v1/quote', {
      contentType: 'application/octet-stream',
      data: report,
    });
    assert.equal(res.status, 400);
    assert.match(res.body.toString('utf8'), /ERR_QUOTE_HELPER_REPORT_MAC/);
  });

  test('qe_report_info gets a QE report that verifies for the app enclave', async () => {
    const app = appEnclave(cpu);
    const report = cpu.ereport(app, qeTarget, new Uint8Array(64));
    const nonce = rng.bytes(16);
    const info = new Uint8Array(960);
    info.set(nonce, 0);
    info.set(encodeTargetInfo(app.targetInfo()), 16);
    const got = await client.getQuoteEx({ report, bufSize: quoteSize, qeReportInfo: info });
    assert.equal(got.errorCode, 0);
    assert.ok(got.quote !== undefined && got.qeReportInfo !== undefined);
    const qeReport = got.qeReportInfo.subarray(16 + 512, 16 + 512 + 432);
    const verified = cpu.verifyReport(app, qeReport);
    assert.deepEqual(verified.body.mrEnclave, SIM_QE_MRENCLAVE);
    const expected = createHash('sha256').update(nonce).update(got.quote).digest();
    assert.deepEqual(Buffer.from(verified.body.reportData.subarray(0, 32)), expected);
    // Negative: the QE report is not valid for another enclave on this platform.
    assert.throws(() => cpu.verifyReport(appEnclave(cpu), qeReport), /MAC/);
    assert.equal(decodeReport(qeReport).body.isvProdId, SIM_QE_ISVPRODID);
  });
});
