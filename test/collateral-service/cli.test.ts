/**
 * `ccnodes collateral serve|fetch|export|import|qcnl-conf` through the CLI: serve prints its URL as
 * one JSON line (port 0), `quote verify --pccs-url` with no `--collateral` verifies a simulated
 * quote through it, an exported cache imported into another data directory serves OFFLINE, and
 * usage errors exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { runCapture } from '../support/cli.ts';
import { simQuoteBytes } from '../attestation/support.ts';
import { dcap } from './support.ts';

let dir: string;
let pcs: SimPcsServer;
const FMSPC = dcap.platform('up-to-date').config.fmspc.toUpperCase();

/** Starts `collateral serve … --json` and waits for its JSON line. */
async function serve(args: string[]): Promise<{ url: string; stop: () => Promise<void> }> {
  const abort = new AbortController();
  let out = '';
  let err = '';
  let exited: number | undefined;
  const { runCli } = await import('../../src/cli/index.ts');
  const done = runCli(
    ['collateral', 'serve', '--listen', '127.0.0.1:0', '--insecure-http', '--json', ...args],
    {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
      cwd: dir,
      signal: abort.signal,
      exitCode: 0,
    },
  );
  void done.then((c) => (exited = c));
  const deadline = Date.now() + 60_000; // generous for a loaded machine
  for (;;) {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (line !== undefined) {
      const info = JSON.parse(line) as { url: string };
      return {
        url: info.url,
        stop: async () => {
          abort.abort();
          assert.equal(await done, 0, err);
        },
      };
    }
    if (exited !== undefined) throw new Error(`serve exited ${exited}: ${err}`);
    if (Date.now() > deadline) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ccnodes collateral (CLI)', () => {
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-collateral-cli-'));
    writeFileSync(join(dir, 'root.pem'), dcap.rootPem);
    writeFileSync(join(dir, 'quote.bin'), simQuoteBytes({ platform: 'up-to-date' }, dcap));
    pcs = await startSimPcs(dcap);
  });
  after(async () => {
    await pcs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('serve (LAZY) in front of sim pcs; quote verify --pccs-url with no --collateral; export → import → OFFLINE', async () => {
    const lazy = await serve([
      '--upstream',
      `${pcs.url}/sgx/certification/v4/`,
      '--data-dir',
      join(dir, 'lazy'),
      '--trust-simulated-root',
      join(dir, 'root.pem'),
    ]);
    const verify = async (url: string): Promise<void> => {
      const r = await runCapture(
        [
          'quote',
          'verify',
          join(dir, 'quote.bin'),
          '--pccs-url',
          url,
          '--trust-simulated-root',
          join(dir, 'root.pem'),
          // The simulated PCS stamps collateral up to the next whole second: verify a little later.
          '--now',
          new Date(Date.now() + 5000).toISOString(),
          '--json',
        ],
        { cwd: dir },
      );
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'UpToDate');
    };
    try {
      assert.match(lazy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      await verify(lazy.url);
    } finally {
      await lazy.stop();
    }
    const bundle = join(dir, 'export.json');
    const exp = await runCapture(
      [
        'collateral',
        'export',
        '--data-dir',
        join(dir, 'lazy'),
        '-o',
        bundle,
        '--trust-simulated-root',
        join(dir, 'root.pem'),
        '--json',
      ],
      { cwd: dir },
    );
    assert.equal(exp.code, 0, exp.stderr);
    assert.equal((JSON.parse(exp.stdout) as { artefacts: string[] }).artefacts.length, 4);
    const imp = await runCapture(
      [
        'collateral',
        'import',
        bundle,
        '--data-dir',
        join(dir, 'offline'),
        '--trust-simulated-root',
        join(dir, 'root.pem'),
        '--json',
      ],
      { cwd: dir },
    );
    assert.equal(imp.code, 0, imp.stderr);
    const offline = await serve([
      '--mode',
      'offline',
      '--data-dir',
      join(dir, 'offline'),
      '--trust-simulated-root',
      join(dir, 'root.pem'),
    ]);
    try {
      await verify(offline.url);
    } finally {
      await offline.stop();
    }
  });

  test('fetch writes a verified bundle for one FMSPC; import without the simulated root refuses it (exit 1)', async () => {
    const out = join(dir, 'fetched.json');
    const r = await runCapture(
      [
        'collateral',
        'fetch',
        '--fmspc',
        FMSPC,
        '--upstream',
        pcs.url,
        '-o',
        out,
        '--trust-simulated-root',
        join(dir, 'root.pem'),
        '--json',
      ],
      { cwd: dir },
    );
    assert.equal(r.code, 0, r.stderr);
    const keys = (JSON.parse(readFileSync(out, 'utf8')) as { artefacts: { key: string }[] }).artefacts.map(
      (a) => a.key,
    );
    assert.deepEqual(keys.sort(), [
      'sgx:pckcrl:platform',
      'sgx:pckcrl:processor',
      'sgx:qe',
      'sgx:rootcacrl',
      `sgx:tcb:${FMSPC}`,
    ]);
    const refused = await runCapture(
      ['collateral', 'import', out, '--data-dir', join(dir, 'intel-only'), '--json'],
      { cwd: dir },
    );
    assert.equal(refused.code, 1, refused.stdout);
    assert.equal(
      (JSON.parse(refused.stdout) as { error: { code: string } }).error.code,
      'ERR_COLLATERAL_SERVICE_VERIFY',
    );
  });

  test('qcnl-conf renders sgx_default_qcnl.conf for the in-cluster service', async () => {
    const r = await runCapture([
      'collateral',
      'qcnl-conf',
      '--url',
      'https://ccnodes-collateral.ccnodes-system.svc:8081',
      '--insecure-cert',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const conf = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(
      conf['pccs_url'],
      'https://ccnodes-collateral.ccnodes-system.svc:8081/sgx/certification/v4/',
    );
    assert.equal(conf['collateral_service'], conf['pccs_url']);
    assert.equal(conf['use_secure_cert'], false);
    assert.equal(conf['retry_times'], 6);
    const bad = await runCapture(['collateral', 'qcnl-conf', '--url', 'https://x/pccs']);
    assert.equal(bad.code, 2);
  });

  for (const [args, message] of [
    [['--mode', 'eager', '--upstream', 'http://127.0.0.1:9'], /--mode/],
    [['--mode', 'lazy'], /--upstream/],
    [['--upstream', 'http://127.0.0.1:9/pccs'], /ERR_PCS_BASE_URL/],
    [['--upstream', 'http://127.0.0.1:9', '--trust-simulated-root', 'missing.pem'], /ERR_IO|cannot read/],
  ] as const) {
    test(`serve usage error, exit 2: ${args.join(' ')}`, async () => {
      const r = await runCapture(
        [
          'collateral',
          'serve',
          '--listen',
          '127.0.0.1:0',
          '--insecure-http',
          '--data-dir',
          join(dir, 'bad'),
          ...args,
        ],
        { cwd: dir },
      );
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
    });
  }

  test('serve without TLS flags or --insecure-http: exit 2', async () => {
    const r = await runCapture([
      'collateral',
      'serve',
      '--upstream',
      pcs.url,
      '--data-dir',
      join(dir, 'bad'),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--insecure-http/);
  });
});
