/**
 * `ccnodes sim quote|root|pcs|platforms`: files written, the bundle verifies the quote with the
 * written root (and only with it, also through `ccnodes quote verify`), usage errors exit 2.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { decodeQuote, parseCollateralBundle, verifyQuote } from '../../src/core/index.ts';
import { SIM_PLATFORM_PRESETS, SIM_ROOT_CA_CN } from '../../src/sim/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'ccnodes-cli-sim-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
}

function context(env: Record<string, string> = {}, signal = new AbortController().signal) {
  const captured = { out: '', err: '' };
  const ctx: CliContext = {
    stdout: (t) => {
      captured.out += t;
    },
    stderr: (t) => {
      captured.err += t;
    },
    env,
    cwd: dir,
    signal,
    exitCode: 0,
  };
  return { ctx, captured };
}

async function run(argv: string[], env: Record<string, string> = {}): Promise<Run> {
  const { ctx, captured } = context(env);
  const code = await runCli(argv, ctx);
  return { code, out: captured.out, err: captured.err };
}

describe('ccnodes sim', () => {
  test('sim root writes the simulated root; quote + bundle verify with it, not without', async () => {
    const root = await run(['sim', 'root', '--seed', 'cli', '-o', 'root.pem']);
    assert.equal(root.code, 0, root.err);
    assert.match(root.out, /ccnodes Simulated SGX Root CA \(NOT FOR PRODUCTION\)/);
    const rootPem = readFileSync(join(dir, 'root.pem'), 'utf8');
    assert.match(rootPem, /^-----BEGIN CERTIFICATE-----/);

    const q = await run([
      'sim',
      'quote',
      '--seed',
      'cli',
      '--report-data',
      'c0ffee',
      '--platform',
      'configuration-needed',
      '-o',
      'q.bin',
      '--collateral-out',
      'bundle.json',
      '--json',
    ]);
    assert.equal(q.code, 0, q.err);
    const summary = JSON.parse(q.out) as {
      simulated: boolean;
      platform: string;
      quoteBytes: number;
      expected: unknown;
    };
    assert.equal(summary.simulated, true);
    assert.equal(summary.platform, 'configuration-needed');
    const quote = new Uint8Array(readFileSync(join(dir, 'q.bin')));
    assert.equal(quote.length, summary.quoteBytes);
    const decoded = decodeQuote(quote);
    assert.deepEqual([...decoded.body.report.reportData.subarray(0, 4)], [0xc0, 0xff, 0xee, 0]);
    const collateral = parseCollateralBundle(readFileSync(join(dir, 'bundle.json'), 'utf8'));
    const result = verifyQuote(quote, collateral, { now: new Date(), trustSimulatedRoot: rootPem });
    assert.equal(result.status, 'ConfigurationNeeded');
    assert.equal(result.simulated, true);
    assert.throws(() => verifyQuote(quote, collateral, { now: new Date() }), {
      code: 'ERR_VERIFY_SIMULATED_ROOT',
    });

    const ok = await run([
      'quote',
      'verify',
      join(dir, 'q.bin'),
      '--collateral',
      join(dir, 'bundle.json'),
      '--trust-simulated-root',
      join(dir, 'root.pem'),
    ]);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.match(ok.out, /ConfigurationNeeded/);
    const refused = await run([
      'quote',
      'verify',
      join(dir, 'q.bin'),
      '--collateral',
      join(dir, 'bundle.json'),
      '--json',
    ]);
    assert.equal(refused.code, 1);
    assert.equal(
      (JSON.parse(refused.out) as { error: { code: string } }).error.code,
      'ERR_VERIFY_SIMULATED_ROOT',
    );
  });

  test('--data-dir keeps the keys: root and quote from separate runs agree; key file is 0600', async () => {
    const data = join(dir, 'data');
    assert.equal((await run(['sim', 'root', '--data-dir', data, '-o', 'root-dd.pem'])).code, 0);
    const q = await run([
      'sim',
      'quote',
      '--data-dir',
      data,
      '--report-data',
      '01',
      '-o',
      'q-dd.bin',
      '--collateral-out',
      'b-dd.json',
    ]);
    assert.equal(q.code, 0, q.err);
    assert.match(q.out, /SIMULATED quote \(NOT FOR PRODUCTION\)/);
    assert.equal(statSync(join(data, 'sim-dcap', 'master.key')).mode & 0o777, 0o600);
    const r = verifyQuote(
      new Uint8Array(readFileSync(join(dir, 'q-dd.bin'))),
      parseCollateralBundle(readFileSync(join(dir, 'b-dd.json'), 'utf8')),
      { now: new Date(), trustSimulatedRoot: readFileSync(join(dir, 'root-dd.pem'), 'utf8') },
    );
    assert.equal(r.status, 'UpToDate');
    // The environment default (CCNODES_DATA_DIR) is the same directory.
    const viaEnv = await run(['sim', 'root', '--json'], { CCNODES_DATA_DIR: data });
    assert.equal(
      (JSON.parse(viaEnv.out) as { pem: string }).pem,
      readFileSync(join(dir, 'root-dd.pem'), 'utf8'),
    );
  });

  test('--report-body quotes a given 384-byte body (hex file)', async () => {
    const body = new Uint8Array(384);
    body[48] = 0x05;
    body.fill(0x42, 320);
    writeFileSync(join(dir, 'body.hex'), Buffer.from(body).toString('hex'));
    const q = await run([
      'sim',
      'quote',
      '--seed',
      'cli',
      '--report-body',
      'body.hex',
      '-o',
      'qb.bin',
      '--collateral-out',
      'bb.json',
    ]);
    assert.equal(q.code, 0, q.err);
    const decoded = decodeQuote(new Uint8Array(readFileSync(join(dir, 'qb.bin'))));
    assert.deepEqual(decoded.signedData.subarray(48), body);
  });

  test('sim platforms lists every preset; --json gives the expected outcomes', async () => {
    const human = await run(['sim', 'platforms']);
    assert.equal(human.code, 0);
    for (const p of SIM_PLATFORM_PRESETS) assert.ok(human.out.includes(p.config.name), p.config.name);
    const json = JSON.parse((await run(['sim', 'platforms', '--json'])).out) as {
      name: string;
      expected: unknown;
    }[];
    assert.equal(json.length, SIM_PLATFORM_PRESETS.length);
    assert.deepEqual(json.find((p) => p.name === 'revoked')?.expected, {
      status: 'Revoked',
      advisoryIds: ['CCNODES-SIM-SA-00004'],
    });
  });

  test('usage errors exit 2 with a message', async () => {
    const cases: [string[], RegExp][] = [
      [['sim', 'quote', '--seed', 's', '--report-data', '01', '--collateral-out', 'x.json'], /-o\/--output/],
      [['sim', 'quote', '--seed', 's', '--report-data', '01', '-o', 'x.bin'], /--collateral-out/],
      [['sim', 'quote', '--seed', 's', '-o', 'x.bin', '--collateral-out', 'x.json'], /exactly one of/],
      [
        ['sim', 'quote', '--seed', 's', '--report-data', 'zz', '-o', 'x.bin', '--collateral-out', 'x.json'],
        /--report-data/,
      ],
      [
        [
          'sim',
          'quote',
          '--seed',
          's',
          '--report-data',
          '00'.repeat(65),
          '-o',
          'x.bin',
          '--collateral-out',
          'x.json',
        ],
        /at most 64 bytes/,
      ],
      [
        [
          'sim',
          'quote',
          '--seed',
          's',
          '--report-data',
          '01',
          '--platform',
          'nope',
          '-o',
          'x.bin',
          '--collateral-out',
          'x.json',
        ],
        /unknown simulated platform/,
      ],
      [
        [
          'sim',
          'quote',
          '--seed',
          's',
          '--report-data',
          '01',
          '--quote-version',
          '5',
          '-o',
          'x.bin',
          '--collateral-out',
          'x.json',
        ],
        /--quote-version/,
      ],
      [['sim', 'pcs', '--seed', 's', '--port', '99999'], /--port/],
      [['sim', 'root'], /--data-dir/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(' '));
      assert.match(r.err, message, argv.join(' '));
    }
    const unwritable = await run(['sim', 'root', '--seed', 's', '-o', join(dir, 'missing', 'root.pem')]);
    assert.equal(unwritable.code, 2);
    assert.match(unwritable.err, /ERR_IO/);
  });

  test('sim pcs serves Intel-shaped collateral until the signal aborts', async () => {
    const stop = new AbortController();
    const { ctx, captured } = context({}, stop.signal);
    const running = runCli(['sim', 'pcs', '--seed', 'cli', '--port', '0', '--json'], ctx);
    let info: { url: string; root: { subject: string }; fmspcs: string[] } | undefined;
    for (let i = 0; i < 200 && info === undefined; i++) {
      await new Promise((r) => setTimeout(r, 25));
      if (captured.out.includes('\n')) info = JSON.parse(captured.out.split('\n')[0] ?? '') as typeof info;
    }
    assert.ok(info, `no listening line: ${captured.err}`);
    assert.equal(info.root.subject, SIM_ROOT_CA_CN);
    const res = await fetch(`${info.url}/sgx/certification/v4/tcb?fmspc=${info.fmspcs[0] ?? ''}`);
    assert.equal(res.status, 200);
    assert.ok(res.headers.get('TCB-Info-Issuer-Chain'));
    await res.text();
    stop.abort();
    assert.equal(await running, 0);
    await assert.rejects(fetch(`${info.url}/sgx/certification/v4/qe/identity`));
  });
});
