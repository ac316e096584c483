/**
 * `ccnodes quote verify <quote>` without `--collateral`: the collateral is fetched for the quote
 * from a PCS/PCCS (`--pccs-url`, `CCNODES_PCCS_URL`, default Intel's PCS). Against a server with
 * exactly Intel's paths and headers and real PCS bodies, and against `ccnodes sim pcs` (a PCCS
 * shape, simulated root). No test reaches the network: Intel's default is only observed before
 * any request is made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { runCapture } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, type ManifestSet } from '../core/verify-helpers.ts';
import { startIntelPcs, type IntelPcs } from '../collateral-source/intel-pcs-server.ts';

interface Source {
  url: string;
  root?: string;
  api?: string;
  request?: { fmspc: string; ca: string; tee: string };
  fetched: { url: string; status: number | null; requestId: string | null }[];
}
interface VerifyDoc {
  ok?: boolean;
  verified: boolean;
  status?: string;
  simulated?: boolean;
  error?: { code: string; step?: number; details?: Record<string, unknown> };
  collateralSource?: Source;
}

const setById = (id: string): ManifestSet => {
  const s = manifestSets().find((m) => m.id === id);
  if (s === undefined) throw new Error(`no set ${id}`);
  return s;
};

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ccnodes-qv-pccs-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('quote verify --pccs-url against Intel-shaped PCS', { skip: testdataSkip }, () => {
  let tdx: IntelPcs;
  let sgx: IntelPcs;
  let tdxSet: ManifestSet;
  let sgxSet: ManifestSet;
  before(async () => {
    tdxSet = setById('gotdx-tdx-v4-spr-e4');
    sgxSet = setById('phala-sgx-v3');
    tdx = await startIntelPcs({
      collateral: setCollateral(tdxSet),
      tee: 'tdx',
      fmspc: '50806F000000',
      ca: 'platform',
    });
    sgx = await startIntelPcs({
      collateral: setCollateral(sgxSet),
      tee: 'sgx',
      fmspc: '00A067110000',
      ca: 'processor',
    });
  });
  after(async () => {
    await Promise.all([tdx.close(), sgx.close()]);
  });

  const intelArgs = (pcs: IntelPcs, base: string): string[] => [
    '--pccs-url',
    base,
    '--collateral-api',
    'pcs',
    '--root-ca-crl-url',
    `${pcs.certsUrl}/IntelSGXRootCA.der`,
  ];

  test('TDX quote: TDX TCB Info and TD_QE identity fetched, verified up to the TCB level (exit 1, as upstream)', async () => {
    for (const base of [
      tdx.apiUrl,
      `${tdx.apiUrl}/sgx/certification/v4/`,
      `${tdx.apiUrl}/tdx/certification/v4`,
    ]) {
      tdx.log.length = 0;
      const r = await runCapture([
        'quote',
        'verify',
        testdataPath('dcap', tdxSet.quote),
        ...intelArgs(tdx, base),
        '--now',
        tdxSet.nowIso,
        '--json',
      ]);
      assert.equal(r.code, 1, r.stderr);
      const doc = JSON.parse(r.stdout) as VerifyDoc;
      assert.equal(doc.verified, false);
      assert.equal(doc.error?.code, 'ERR_VERIFY_TCB_NOT_SUPPORTED');
      assert.equal(doc.error.step, 14);
      const src = doc.collateralSource;
      assert.ok(src);
      assert.equal(src.url, base);
      assert.equal(src.root, tdx.apiUrl);
      assert.equal(src.api, 'pcs');
      assert.deepEqual(src.request, { fmspc: '50806F000000', ca: 'platform', tee: 'tdx' });
      assert.deepEqual(
        src.fetched.map((f) => `${f.status ?? ''} ${f.url}`).sort(),
        [
          `200 ${tdx.apiUrl}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`,
          `200 ${tdx.apiUrl}/tdx/certification/v4/qe/identity`,
          `200 ${tdx.apiUrl}/tdx/certification/v4/tcb?fmspc=50806F000000`,
          `200 ${tdx.certsUrl}/IntelSGXRootCA.der`,
        ].sort(),
      );
      assert.ok(src.fetched.every((f) => typeof f.requestId === 'string'));
      assert.ok(tdx.log.every((l) => l.status === 200));
    }
  });

  test('SGX quote, human output: verified, and stderr names every URL fetched', async () => {
    const r = await runCapture([
      'quote',
      'verify',
      testdataPath('dcap', sgxSet.quote),
      ...intelArgs(sgx, `${sgx.apiUrl}/sgx/certification/v4`),
      '--now',
      sgxSet.nowIso,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^verified: ConfigurationAndSWHardeningNeeded\n/);
    assert.match(
      r.stderr,
      /fetching collateral for FMSPC 00A067110000 \(SGX, processor CA\) from http:\/\/127\.0\.0\.1:\d+ \(Intel PCS API\)/,
    );
    for (const path of [
      '/sgx/certification/v4/tcb?fmspc=00A067110000',
      '/sgx/certification/v4/qe/identity',
      '/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
    ])
      assert.ok(r.stderr.includes(`GET ${sgx.apiUrl}${path} -> HTTP 200 (Request-ID `), path);
    assert.ok(r.stderr.includes(`GET ${sgx.certsUrl}/IntelSGXRootCA.der -> HTTP 200`));
  });

  test('CCNODES_PCCS_URL is used when --pccs-url is absent', async () => {
    const r = await runCapture(
      [
        'quote',
        'verify',
        testdataPath('dcap', sgxSet.quote),
        '--collateral-api',
        'pcs',
        '--root-ca-crl-url',
        `${sgx.certsUrl}/IntelSGXRootCA.der`,
        '--now',
        sgxSet.nowIso,
        '--json',
      ],
      { env: { CCNODES_PCCS_URL: `${sgx.apiUrl}/sgx/certification/v4/` } },
    );
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as VerifyDoc;
    assert.equal(doc.status, 'ConfigurationAndSWHardeningNeeded');
    assert.equal(doc.collateralSource?.url, `${sgx.apiUrl}/sgx/certification/v4/`);
  });

  test('a PCCS route Intel does not serve: exit 2, ERR_PCS_HTTP naming the URL and status 404', async () => {
    const r = await runCapture([
      'quote',
      'verify',
      testdataPath('dcap', sgxSet.quote),
      '--pccs-url',
      sgx.apiUrl,
      '--now',
      sgxSet.nowIso,
      '--json',
    ]);
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as VerifyDoc;
    assert.equal(doc.ok, false);
    assert.equal(doc.error?.code, 'ERR_PCS_HTTP');
    assert.equal(doc.error.details?.['url'], `${sgx.apiUrl}/sgx/certification/v4/rootcacrl`);
    assert.equal(doc.error.details['status'], 404);
    assert.equal(doc.collateralSource?.api, 'pccs');
    assert.match(r.stderr, /rootcacrl answered HTTP 404 \(ERR_PCS_HTTP\)/);
  });
});

describe('quote verify --pccs-url: usage and I/O errors', { skip: testdataSkip }, () => {
  const quote = (): string => testdataPath('dcap', setById('phala-sgx-v3').quote);

  test('--collateral with --pccs-url, or PCS flags with --collateral: exit 2 ERR_USAGE', async () => {
    const bundle = testdataPath('dcap', 'phala-dcap-qvl', 'sgx_quote_collateral.json');
    for (const extra of [
      ['--pccs-url', 'http://127.0.0.1:1'],
      ['--root-ca-crl-url', 'http://127.0.0.1:1/crl'],
      ['--collateral-api', 'pcs'],
    ]) {
      const r = await runCapture(['quote', 'verify', quote(), '--collateral', bundle, ...extra, '--json']);
      assert.equal(r.code, 2, extra.join(' '));
      assert.equal((JSON.parse(r.stdout) as VerifyDoc).error?.code, 'ERR_USAGE');
    }
  });

  test('a base URL in no accepted form: exit 2 ERR_PCS_BASE_URL naming it, before any request', async () => {
    for (const bad of [
      'http://127.0.0.1:1/sgx/certification/v3',
      'http://127.0.0.1:1/v4/sgx/certification/v4/',
    ]) {
      const r = await runCapture(['quote', 'verify', quote(), '--pccs-url', bad, '--json']);
      assert.equal(r.code, 2, bad);
      const doc = JSON.parse(r.stdout) as VerifyDoc;
      assert.equal(doc.error?.code, 'ERR_PCS_BASE_URL');
      assert.equal(doc.error.details?.['url'], bad);
      assert.deepEqual(doc.collateralSource?.fetched, []);
    }
    const api = await runCapture([
      'quote',
      'verify',
      quote(),
      '--pccs-url',
      'http://127.0.0.1:1',
      '--collateral-api',
      'intel',
    ]);
    assert.equal(api.code, 2);
    assert.match(api.stderr, /ERR_PCS_BASE_URL/);
  });

  test('nothing listening: exit 2 ERR_PCS_UNREACHABLE naming the URL', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => {
      s.close(() => {
        r();
      });
    });
    const r = await runCapture([
      'quote',
      'verify',
      quote(),
      '--pccs-url',
      `http://127.0.0.1:${port}`,
      '--json',
    ]);
    assert.equal(r.code, 2, r.stderr);
    const doc = JSON.parse(r.stdout) as VerifyDoc;
    assert.equal(doc.error?.code, 'ERR_PCS_UNREACHABLE');
    assert.match(
      String(doc.error.details?.['url']),
      new RegExp(`^http://127\\.0\\.0\\.1:${port}/sgx/certification/v4/`),
    );
    assert.ok((doc.collateralSource?.fetched.length ?? 0) >= 1);
  });

  test("with neither flag nor env the source is Intel's PCS (observed before any request)", async () => {
    // A quote whose TEE type is neither SGX nor TDX names no collateral: refused before fetching.
    const bytes = readFileSync(quote());
    bytes.writeUInt32LE(0x7f, 4);
    const path = join(dir, 'odd-tee.bin');
    writeFileSync(path, bytes);
    const r = await runCapture(['quote', 'verify', path, '--json']);
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout) as VerifyDoc;
    assert.equal(doc.error?.code, 'ERR_PCS_QUOTE');
    assert.equal(doc.collateralSource?.url, 'https://api.trustedservices.intel.com/sgx/certification/v4');
    assert.equal(doc.collateralSource.api, 'pcs');
    assert.deepEqual(doc.collateralSource.fetched, []);
  });
});

describe('quote verify --pccs-url against ccnodes sim pcs', () => {
  test('a simulated quote verifies with collateral from sim pcs (PCCS API, /rootcacrl)', async () => {
    const stop = new AbortController();
    let out = '';
    let err = '';
    const ctx: CliContext = {
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      env: {},
      cwd: dir,
      signal: stop.signal,
      exitCode: 0,
    };
    const running = runCli(['sim', 'pcs', '--seed', 'qv-pccs', '--port', '0', '--json'], ctx);
    try {
      let url: string | undefined;
      for (let i = 0; i < 400 && url === undefined; i++) {
        await new Promise((r) => setTimeout(r, 25));
        if (out.includes('\n')) url = (JSON.parse(out.split('\n')[0] ?? '') as { url: string }).url;
      }
      assert.ok(url, `sim pcs did not start: ${err}`);
      const q = join(dir, 'sim.quote');
      const root = join(dir, 'root.pem');
      assert.equal(
        (
          await runCapture([
            'sim',
            'quote',
            '--seed',
            'qv-pccs',
            '-o',
            q,
            // sim quote also writes the bundle; this test does not use it.
            '--report-data',
            '00',
            '--collateral-out',
            join(dir, 'unused-bundle.json'),
          ])
        ).code,
        0,
      );
      assert.equal((await runCapture(['sim', 'root', '--seed', 'qv-pccs', '-o', root])).code, 0);
      const base = `${url}/sgx/certification/v4/`;
      const ok = await runCapture([
        'quote',
        'verify',
        q,
        '--pccs-url',
        base,
        '--trust-simulated-root',
        root,
        '--json',
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      const doc = JSON.parse(ok.stdout) as VerifyDoc;
      assert.equal(doc.status, 'UpToDate');
      assert.equal(doc.simulated, true);
      assert.equal(doc.collateralSource?.api, 'pccs');
      assert.ok(
        doc.collateralSource.fetched.some(
          (f) => f.url === `${url}/sgx/certification/v4/rootcacrl` && f.status === 200,
        ),
      );
      assert.ok(doc.collateralSource.fetched.every((f) => f.status === 200));
      // The simulated root is refused without --trust-simulated-root.
      const refused = await runCapture(['quote', 'verify', q, '--pccs-url', base, '--json']);
      assert.equal(refused.code, 1);
      assert.match((JSON.parse(refused.stdout) as VerifyDoc).error?.code ?? '', /^ERR_VERIFY_/);
    } finally {
      stop.abort();
      assert.equal(await running, 0);
    }
  });
});
