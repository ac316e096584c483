/**
 * Collateral fetched from a PCS/PCCS: `ratls verify --pccs-url` and the library verifier's
 * `pccsUrl` against the simulated PCS, for a certificate made on the same simulated platform.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRatlsVerifier } from '../../src/ratls/index.ts';
import { SimDcap, simPlatformPreset, startSimPcs, type SimPcsServer } from '../../src/sim/index.ts';
import { runCapture } from '../support/cli.ts';

const SEED = 'ratls-pccs';
const MRENCLAVE = 'f6'.repeat(32);
/**
 * The simulated PCS stamps its Root CA CRL with the current time rounded to the next second, so a
 * verification in the same second would see a CRL "not yet valid": verify a few seconds later.
 */
const later = (): Date => new Date(Date.now() + 5000);

describe('RA-TLS verification with fetched collateral', () => {
  let dir: string;
  let pcs: SimPcsServer;
  let cert: string;
  let root: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ccnodes-ratls-pccs-'));
    pcs = await startSimPcs(
      SimDcap.create({ seed: SEED, platforms: [simPlatformPreset('up-to-date').config] }),
    );
    cert = join(dir, 'cert.pem');
    root = join(dir, 'root.pem');
    const made = await runCapture([
      'ratls',
      'create',
      '--format',
      'gramine',
      '-o',
      cert,
      '--key-out',
      join(dir, 'key.pem'),
      '--root-out',
      root,
      '--seed',
      SEED,
      '--mrenclave',
      MRENCLAVE,
    ]);
    assert.equal(made.code, 0, made.stderr);
  });
  after(async () => {
    await pcs.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('ratls verify --pccs-url fetches the collateral and verifies (exit 0)', async () => {
    const r = await runCapture([
      'ratls',
      'verify',
      cert,
      '--pccs-url',
      pcs.url,
      '--trust-simulated-root',
      root,
      '--mrenclave',
      MRENCLAVE,
      '--now',
      later().toISOString(),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const j = JSON.parse(r.stdout) as { verified: boolean; collateralSource: { url: string } };
    assert.equal(j.verified, true);
    assert.equal(j.collateralSource.url, pcs.url);
  });

  test('the library verifier fetches once per FMSPC and verifies', async () => {
    const fetched: string[] = [];
    const verifier = createRatlsVerifier({
      pccsUrl: pcs.url,
      trustSimulatedRoot: readFileSync(root, 'utf8'),
      expected: { mrEnclave: MRENCLAVE },
      onFetch: (e) => fetched.push(e.url),
      now: later,
    });
    const pem = readFileSync(cert, 'utf8');
    assert.equal((await verifier.verify(pem)).format, 'gramine');
    const first = fetched.length;
    assert.ok(first > 0);
    await verifier.verify(pem);
    assert.equal(fetched.length, first, 'cached collateral is reused');
  });
});
