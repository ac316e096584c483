/**
 * `quote verify --collateral <dir>` on collateral folders as users have them (real data from
 * ../shared/testdata/dcap): upstream file names, a DER root certificate next to PEM chains that
 * stop below the root, DER chains and CRLs, PEM CRLs, stray files. Every missing artefact is
 * reported in one ERR_COLLATERAL_FORMAT error (exit 2) listing the accepted names; every skipped file
 * is named with the reason, on stderr or in `--json` output.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCollateralDirectoryWithReport } from '../../src/collateral-source/index.ts';
import { parseCollateralBundle, pemCertificates } from '../../src/core/index.ts';
import { runCapture } from '../support/cli.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';

const PHALA_NOW = '2025-07-19T10:01:17Z';

describe('collateral directories as users have them', { skip: testdataSkip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-colldir-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * The phala SGX collateral as a folder: upstream-style names, the TCB chain without its root and
   * the root beside it as DER (TrustedRootCA.der, as dcap-qvl ships it), the PCK CRL chain as
   * concatenated DER, the PCK CRL as DER without extension, the Root CA CRL as PEM, a stray file.
   */
  function phalaFolder(name: string): string {
    const raw = parseCollateralBundle(
      readFileSync(testdataPath('dcap', 'phala-dcap-qvl/sgx_quote_collateral.json'), 'utf8'),
    );
    const d = join(dir, name);
    mkdirSync(d);
    writeFileSync(join(d, 'tcbinfo.json'), raw.tcbInfo);
    const [tcbSigner] = pemCertificates(raw.tcbInfoIssuerChain).filter((c, i, all) => i < all.length - 1);
    assert.ok(tcbSigner !== undefined);
    const signerPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(tcbSigner).toString('base64')}\n-----END CERTIFICATE-----\n`;
    writeFileSync(join(d, 'tcbInfoIssuerChain.pem'), signerPem);
    copyFileSync(testdataPath('dcap', 'phala-dcap-qvl/TrustedRootCA.der'), join(d, 'TrustedRootCA.der'));
    writeFileSync(join(d, 'qe_identity.json'), raw.qeIdentity);
    writeFileSync(join(d, 'qe_identity_issuer_chain.pem'), raw.qeIdentityIssuerChain);
    writeFileSync(join(d, 'pckcrl'), raw.pckCrl);
    writeFileSync(join(d, 'pck_crl_issuer_chain.der'), Buffer.concat(pemCertificates(raw.pckCrlIssuerChain)));
    const b64 = Buffer.from(raw.rootCaCrl).toString('base64');
    writeFileSync(join(d, 'root_ca_crl.pem'), `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`);
    writeFileSync(join(d, 'notes.txt'), 'fetched from PCS on 2025-07-19\n');
    return d;
  }

  test('phala SGX folder with a DER root beside PEM chains verifies; skipped and adjusted files are named', async () => {
    const d = phalaFolder('phala');
    const quote = testdataPath('dcap', 'phala-dcap-qvl/sgx_quote');
    const human = await runCapture(['quote', 'verify', quote, '--collateral', d, '--now', PHALA_NOW]);
    assert.equal(human.code, 0, human.stderr + human.stdout);
    assert.match(human.stdout, /^verified: ConfigurationAndSWHardeningNeeded$/m);
    assert.match(human.stderr, /warning: .*notes\.txt: skipped: not a collateral file name/);
    assert.match(human.stderr, /TrustedRootCA\.der: root certificate appended to tcbInfoIssuerChain\.pem/);

    const json = await runCapture([
      'quote',
      'verify',
      quote,
      '--collateral',
      d,
      '--now',
      PHALA_NOW,
      '--json',
    ]);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout) as {
      status: string;
      advisoryIds: string[];
      collateralWarnings: string[];
    };
    assert.equal(out.status, 'ConfigurationAndSWHardeningNeeded');
    assert.deepEqual(out.advisoryIds, ['INTEL-SA-00289', 'INTEL-SA-00615']);
    assert.ok(out.collateralWarnings.some((w) => /^notes\.txt: skipped: /.test(w)));
    assert.ok(out.collateralWarnings.some((w) => /^TrustedRootCA\.der: root certificate appended/.test(w)));
    assert.equal(json.stderr, '', 'under --json the warnings are in the document, not on stderr');
  });

  test('a second spelling of an artefact is skipped with the reason', async () => {
    const d = phalaFolder('dupes');
    copyFileSync(join(d, 'qe_identity.json'), join(d, 'qeIdentity_response'));
    writeFileSync(join(d, 'qeidentity.json'), '{"not":"used"}');
    const report = await loadCollateralDirectoryWithReport(d);
    assert.equal(report.files.qeIdentity, 'qe_identity.json');
    assert.equal(report.files.rootCertificate, 'TrustedRootCA.der');
    assert.ok(report.warnings.includes('qeidentity.json: skipped: qeIdentity is read from qe_identity.json'));
    assert.ok(
      report.warnings.includes('qeIdentity_response: skipped: qeIdentity is read from qe_identity.json'),
    );
  });

  test("go-tdx-guest's sample folder, unchanged, loads; the verdict is upstream's (no matching TCB level)", async () => {
    const d = join(dir, 'go-tdx-guest');
    mkdirSync(d);
    for (const f of readdirSync(testdataPath('dcap', 'go-tdx-guest')))
      copyFileSync(testdataPath('dcap', 'go-tdx-guest', f), join(d, f));
    const r = await runCapture([
      'quote',
      'verify',
      join(d, 'tdx_prod_quote_SPR_E4.dat'),
      '--collateral',
      d,
      '--now',
      '2023-07-01T01:00:00Z',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as {
      error: { code: string; stepName: string };
      collateralWarnings: string[];
    };
    assert.equal(out.error.code, 'ERR_VERIFY_TCB_NOT_SUPPORTED', JSON.stringify(out.error));
    assert.equal(out.error.stepName, 'tcb-level');
    // The quotes and the v5 TCB Info sample in the folder are named as skipped.
    for (const f of ['tdx_prod_quote_SPR_E4.dat', 'quote_v5_sample.dat', 'sample_tcbinfo_response_v5'])
      assert.ok(
        out.collateralWarnings.some((w) => w.startsWith(`${f}: skipped`)),
        f,
      );
  });

  test('every missing artefact is reported in one ERR_COLLATERAL_FORMAT error with the accepted names (exit 2)', async () => {
    const d = join(dir, 'partial');
    mkdirSync(d);
    const raw = parseCollateralBundle(
      readFileSync(testdataPath('dcap', 'phala-dcap-qvl/sgx_quote_collateral.json'), 'utf8'),
    );
    writeFileSync(join(d, 'tcb_info.json'), raw.tcbInfo);
    writeFileSync(join(d, 'rootcrl.der'), 'this is not a CRL');
    const quote = testdataPath('dcap', 'phala-dcap-qvl/sgx_quote');
    const r = await runCapture(['quote', 'verify', quote, '--collateral', d, '--now', PHALA_NOW, '--json']);
    assert.equal(r.code, 2);
    const out = JSON.parse(r.stdout) as {
      ok: boolean;
      error: {
        code: string;
        message: string;
        details: { missing: { artefact: string; accepted: string[] }[]; invalid: { file: string }[] };
      };
    };
    assert.equal(out.ok, false);
    assert.equal(out.error.code, 'ERR_COLLATERAL_FORMAT');
    assert.deepEqual(
      out.error.details.missing.map((m) => m.artefact),
      ['tcbInfoIssuerChain', 'qeIdentity', 'qeIdentityIssuerChain', 'pckCrl', 'pckCrlIssuerChain'],
    );
    for (const m of out.error.details.missing)
      assert.ok(m.accepted.length > 0 && out.error.message.includes(m.accepted[0] ?? '?'));
    assert.deepEqual(
      out.error.details.invalid.map((i) => i.file),
      ['rootcrl.der'],
    );
    const human = await runCapture(['quote', 'verify', quote, '--collateral', d, '--now', PHALA_NOW]);
    assert.equal(human.code, 2);
    assert.match(human.stderr, /ERR_COLLATERAL_FORMAT/);
    assert.match(human.stderr, /6 problems/);
  });

  test('an absent collateral path is an I/O error (ERR_IO, exit 2)', async () => {
    const quote = testdataPath('dcap', 'phala-dcap-qvl/sgx_quote');
    const r = await runCapture(['quote', 'verify', quote, '--collateral', join(dir, 'nope'), '--json']);
    assert.equal(r.code, 2);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'ERR_IO');
  });
});
