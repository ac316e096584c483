/**
 * `ccnodes ratls create` / `ratls verify` through the CLI: every format round-trips (PEM and DER),
 * refusals exit 1 with their code, usage and I/O errors exit 2.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RATLS_FORMATS, readCertificateInput } from '../../src/ratls/index.ts';
import { runCapture } from '../support/cli.ts';

const NOW = '2026-06-01T12:00:00Z';
const MRENCLAVE = 'e5'.repeat(32);
let dir: string;

async function create(
  format: string,
  extra: string[] = [],
): Promise<{ cert: string; collateral: string; root: string }> {
  const cert = join(dir, `${format}${extra.join('')}.pem`);
  const collateral = join(dir, 'collateral.json');
  const root = join(dir, 'root.pem');
  const r = await runCapture([
    'ratls',
    'create',
    '--format',
    format,
    '-o',
    cert,
    '--key-out',
    `${cert}.key`,
    '--collateral-out',
    collateral,
    '--root-out',
    root,
    '--seed',
    'ratls-cli',
    '--now',
    NOW,
    '--mrenclave',
    MRENCLAVE,
    '--json',
    ...extra,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as { format: string; identity: { mrEnclave: string } };
  assert.equal(summary.format, format);
  assert.equal(summary.identity.mrEnclave, MRENCLAVE);
  return { cert, collateral, root };
}

function verifyArgs(c: { cert: string; collateral: string; root: string }, ...extra: string[]): string[] {
  return [
    'ratls',
    'verify',
    c.cert,
    '--collateral',
    c.collateral,
    '--trust-simulated-root',
    c.root,
    '--now',
    NOW,
    '--json',
    ...extra,
  ];
}

describe('ccnodes ratls', () => {
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-ratls-'));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  for (const format of RATLS_FORMATS) {
    test(`${format}: create then verify (PEM and DER) exits 0 with the identity`, async () => {
      const c = await create(format);
      const ok = await runCapture(verifyArgs(c, '--mrenclave', MRENCLAVE));
      assert.equal(ok.code, 0, ok.stdout + ok.stderr);
      const j = JSON.parse(ok.stdout) as {
        verified: boolean;
        format: string;
        mrEnclave: string;
        simulated: boolean;
      };
      assert.deepEqual([j.verified, j.format, j.mrEnclave, j.simulated], [true, format, MRENCLAVE, true]);
      const der = join(dir, `${format}.der`);
      writeFileSync(der, readCertificateInput(readFileSync(c.cert, 'utf8')).der);
      const viaDer = await runCapture(verifyArgs({ ...c, cert: der }, '--mrenclave', MRENCLAVE));
      assert.equal(viaDer.code, 0, viaDer.stdout);
    });
  }

  test('refusals exit 1 with their code: wrong MRENCLAVE, debug enclave, untrusted simulated root, format', async () => {
    const c = await create('gramine-dice');
    const codeOf = async (args: string[]): Promise<[number, string]> => {
      const r = await runCapture(args);
      return [r.code, (JSON.parse(r.stdout) as { error: { code: string } }).error.code];
    };
    assert.deepEqual(await codeOf(verifyArgs(c, '--mrenclave', 'ff'.repeat(32))), [
      1,
      'ERR_RATLS_MRENCLAVE_MISMATCH',
    ]);
    assert.deepEqual(await codeOf(verifyArgs(c, '--format', 'ego')), [1, 'ERR_RATLS_NO_EXTENSION']);
    assert.deepEqual(
      await codeOf(['ratls', 'verify', c.cert, '--collateral', c.collateral, '--now', NOW, '--json']),
      [1, 'ERR_VERIFY_SIMULATED_ROOT'],
    );
    const debug = await create('ego', ['--debug']);
    assert.deepEqual(await codeOf(verifyArgs(debug)), [1, 'ERR_VERIFY_DEBUG_ENCLAVE']);
    assert.equal((await runCapture(verifyArgs(debug, '--allow-debug'))).code, 0);
    assert.deepEqual(await codeOf(verifyArgs(c, '--now', '2026-09-01T00:00:00Z')), [
      1,
      'ERR_VERIFY_COLLATERAL_EXPIRED',
    ]);
  });

  test('usage and I/O errors exit 2', async () => {
    const c = await create('ego');
    const notCert = join(dir, 'not-a-cert');
    writeFileSync(notCert, 'hello');
    assert.equal((await runCapture(verifyArgs({ ...c, cert: notCert }))).code, 2);
    assert.equal((await runCapture(verifyArgs({ ...c, cert: join(dir, 'missing.pem') }))).code, 2);
    assert.equal((await runCapture(verifyArgs(c, '--mrenclave', 'xyz'))).code, 2);
    assert.equal(
      (await runCapture(verifyArgs(c, '--mrenclave', MRENCLAVE, '--mrsigner', MRENCLAVE))).code,
      2,
    );
    assert.equal(
      (
        await runCapture([
          'ratls',
          'create',
          '--format',
          'nope',
          '-o',
          join(dir, 'x'),
          '--key-out',
          join(dir, 'y'),
          '--seed',
          's',
        ])
      ).code,
      2,
    );
  });
});
