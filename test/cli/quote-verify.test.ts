/**
 * `ccnodes quote verify` on the real SGX sets (exit 0 with exact status/advisories), failures
 * (exit 1 with code and step), and usage/I/O errors (exit 2).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeCollateralBundle } from '../../src/core/index.ts';
import { runCapture } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, type ManifestSet } from '../core/verify-helpers.ts';

let dir: string;

function collateralPath(set: ManifestSet): string {
  const c = set.collateral;
  if (c === null) throw new Error('no collateral');
  if (c.format === 'dcap-qvl-json') return testdataPath('dcap', c.file);
  const path = join(dir, `${set.id}.json`);
  writeFileSync(path, serializeCollateralBundle(setCollateral(set)));
  return path;
}

describe('ccnodes quote verify', { skip: testdataSkip }, () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-qv-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const sgxSets =
    testdataSkip === false
      ? manifestSets().filter((s) => s.quoteInfo.teeType === 'SGX' && s.expected !== null)
      : [];

  for (const set of sgxSets) {
    const exp = set.expected;
    const strict = set.strictExpected?.collateralExpired === true;
    test(`${set.id}: ${strict ? 'exit 1 expired by default, 0 with --allow-expired-collateral' : `exit 0 ${exp?.status ?? ''}`}`, async () => {
      const args = [
        'quote',
        'verify',
        testdataPath('dcap', set.quote),
        '--collateral',
        collateralPath(set),
        '--now',
        set.nowIso,
      ];
      if (strict) {
        const failed = await runCapture([...args, '--json']);
        assert.equal(failed.code, 1, failed.stderr);
        const err = JSON.parse(failed.stdout) as { verified: boolean; error: { code: string; step: number } };
        assert.equal(err.verified, false);
        assert.equal(err.error.code, 'ERR_VERIFY_COLLATERAL_EXPIRED');
        assert.equal(err.error.step, 5);
        args.push('--allow-expired-collateral');
      }
      const json = await runCapture([...args, '--json']);
      assert.equal(json.code, 0, json.stderr + json.stdout);
      const out = JSON.parse(json.stdout) as {
        status: string;
        advisoryIds: string[];
        collateralExpired: boolean;
        relaxations: string[];
      };
      assert.equal(out.status, exp?.status);
      assert.deepEqual(out.advisoryIds, exp?.advisoryIds);
      assert.equal(out.collateralExpired, strict);
      const human = await runCapture(args);
      assert.equal(human.code, 0);
      assert.match(human.stdout, new RegExp(`^verified: ${exp?.status ?? ''}\\n`));
      assert.ok(human.stdout.includes((exp?.advisoryIds ?? []).join(', ')));
      if (strict)
        assert.match(
          human.stdout,
          /WARNING: dangerous relaxations in effect: dangerous\.allowExpiredCollateral/,
        );
    });
  }

  test('TDX set that matches no TCB level: exit 1 with ERR_VERIFY_TCB_NOT_SUPPORTED at step 14', async () => {
    const set = manifestSets().find((s) => s.id === 'phala-tdx-v5-outdated');
    assert.ok(set);
    const r = await runCapture([
      'quote',
      'verify',
      testdataPath('dcap', set.quote),
      '--collateral',
      collateralPath(set),
      '--now',
      set.nowIso,
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /ERR_VERIFY_TCB_NOT_SUPPORTED at step 14 \(tcb-level\)/);
  });

  test('a hex-encoded quote and a collateral directory work too', async () => {
    const set = manifestSets().find((s) => s.id === 'mobilecoin-sgx-v3');
    assert.ok(set);
    const c = setCollateral(set);
    const cdir = join(dir, 'artefacts');
    const { mkdirSync, readFileSync } = await import('node:fs');
    mkdirSync(cdir);
    writeFileSync(join(cdir, 'tcb_info.json'), c.tcbInfo);
    writeFileSync(join(cdir, 'tcb_info_issuer_chain.pem'), c.tcbInfoIssuerChain);
    writeFileSync(join(cdir, 'qe_identity.json'), c.qeIdentity);
    writeFileSync(join(cdir, 'qe_identity_issuer_chain.pem'), c.qeIdentityIssuerChain);
    writeFileSync(join(cdir, 'pck_crl.der'), c.pckCrl);
    writeFileSync(join(cdir, 'pck_crl_issuer_chain.pem'), c.pckCrlIssuerChain);
    writeFileSync(join(cdir, 'root_ca_crl.der'), c.rootCaCrl);
    const hexQuote = join(dir, 'quote.hex');
    writeFileSync(hexQuote, readFileSync(testdataPath('dcap', set.quote)).toString('hex'));
    const r = await runCapture([
      'quote',
      'verify',
      hexQuote,
      '--collateral',
      cdir,
      '--now',
      set.nowIso,
      '--allow-expired-collateral',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^verified: SWHardeningNeeded/);
  });

  test('usage and I/O errors exit 2', async () => {
    const set = manifestSets().find((s) => s.id === 'phala-sgx-v3');
    assert.ok(set);
    const quote = testdataPath('dcap', set.quote);
    const bundle = collateralPath(set);
    // Without --collateral the collateral is fetched (--pccs-url, test/cli/quote-verify-pccs-url.test.ts);
    // both at once is a usage error. (No test reaches the network.)
    assert.equal(
      (
        await runCapture([
          'quote',
          'verify',
          quote,
          '--collateral',
          bundle,
          '--pccs-url',
          'http://127.0.0.1:1',
        ])
      ).code,
      2,
    );
    assert.equal(
      (await runCapture(['quote', 'verify', quote, '--collateral', bundle, '--now', 'yesterday'])).code,
      2,
    );
    assert.equal(
      (await runCapture(['quote', 'verify', join(dir, 'missing'), '--collateral', bundle])).code,
      2,
    );
    assert.equal(
      (await runCapture(['quote', 'verify', quote, '--collateral', join(dir, 'missing.json')])).code,
      2,
    );
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"tcbInfo": 1}');
    const r = await runCapture(['quote', 'verify', quote, '--collateral', bad, '--now', set.nowIso]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_COLLATERAL_FORMAT/, 'content that is not collateral: a format error, exit 2');
  });

  test('--help describes the exit statuses', async () => {
    const r = await runCapture(['quote', 'verify', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Exit 0 verified/);
    assert.match(r.stdout, /--allow-expired-collateral/);
  });
});

describe('ccnodes quote verify with a simulated root (test PKI)', () => {
  let sdir: string;
  before(() => {
    sdir = mkdtempSync(join(tmpdir(), 'ccnodes-qvs-'));
  });
  after(() => {
    rmSync(sdir, { recursive: true, force: true });
  });

  test('refused without --trust-simulated-root (exit 1), verified and flagged with it (exit 0); --allow-debug', async () => {
    const { SIMULATED_ROOT_CN } = await import('../../src/core/index.ts');
    const { buildSgxCase, createTestPki, TEST_NOW } = await import('../support/test-pki.ts');
    const pki = await createTestPki({ rootCn: SIMULATED_ROOT_CN });
    const c = await buildSgxCase(pki, { report: { attributes: { flags: 0x07n, xfrm: 0x03n } } });
    const quote = join(sdir, 'quote.bin');
    const bundle = join(sdir, 'bundle.json');
    const rootPem = join(sdir, 'root.pem');
    writeFileSync(quote, c.quote);
    writeFileSync(bundle, serializeCollateralBundle(c.collateral));
    writeFileSync(rootPem, pki.root.pem);
    const args = ['quote', 'verify', quote, '--collateral', bundle, '--now', TEST_NOW.toISOString()];
    const refused = await runCapture(args);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /ERR_VERIFY_SIMULATED_ROOT at step 2/);
    const debug = await runCapture([...args, '--trust-simulated-root', rootPem]);
    assert.equal(debug.code, 1);
    assert.match(debug.stdout, /ERR_VERIFY_DEBUG_ENCLAVE at step 15/);
    const ok = await runCapture([...args, '--trust-simulated-root', rootPem, '--allow-debug']);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /^verified: SWHardeningNeeded/);
    assert.match(ok.stdout, /WARNING: simulated SGX root/);
    assert.match(ok.stdout, /dangerous\.allowDebugEnclave/);
    const notCert = await runCapture([...args, '--trust-simulated-root', quote]);
    assert.equal(notCert.code, 2);
  });
});
