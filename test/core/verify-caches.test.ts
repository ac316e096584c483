/**
 * The verifier's caches and their reset: a second verification of the same quote reuses the parsed
 * PCK chain (same objects), and after `clearVerifyCaches()` everything is parsed again (new objects)
 * with the same verdict. The verify-quote benchmark's cold path relies on this reset.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCertificate, parseCrl, pemCertificates, verifyQuote } from '../../src/core/index.ts';
import { clearVerifyCaches } from '../../src/core/verify-quote.ts';
import { createSimDcap } from '../../src/sim/index.ts';

const dcap = createSimDcap({ seed: 'verify-caches' });
const platform = dcap.platform('sw-hardening-needed');
const raw = dcap.collateral(platform);
const quote = platform.quote(platform.syntheticReportBody({ reportData: new Uint8Array(64) }));
const options = (): Parameters<typeof verifyQuote>[2] => ({
  now: new Date(),
  trustSimulatedRoot: dcap.rootPem,
});

test('verifications share cached parses until clearVerifyCaches(), then parse afresh', () => {
  const first = verifyQuote(quote, raw, options());
  const second = verifyQuote(quote, raw, options());
  assert.equal(second.pck, first.pck, 'warm: the PCK chain and its extensions come from the cache');
  const tcbCa = pemCertificates(raw.tcbInfoIssuerChain)[0];
  assert.ok(tcbCa !== undefined);
  const certBefore = parseCertificate(tcbCa);
  const crlBefore = parseCrl(raw.pckCrl);
  assert.equal(parseCertificate(tcbCa), certBefore);
  assert.equal(parseCrl(raw.pckCrl), crlBefore);

  clearVerifyCaches();
  const cold = verifyQuote(quote, raw, options());
  assert.notEqual(cold.pck, first.pck, 'cold: the PCK chain was parsed again');
  assert.deepEqual(cold.pck, first.pck);
  assert.notEqual(parseCertificate(tcbCa), certBefore, 'certificate cache emptied');
  assert.notEqual(parseCrl(raw.pckCrl), crlBefore, 'CRL cache emptied');
  assert.equal(cold.status, 'SWHardeningNeeded');
  assert.deepEqual(cold.advisoryIds, first.advisoryIds);
});

test('a rejection is the same cold and warm', () => {
  const bad = Uint8Array.from(quote);
  bad[48 + 64] = (bad[48 + 64] ?? 0) ^ 0xff;
  const code = (): string => {
    try {
      verifyQuote(bad, raw, options());
    } catch (e) {
      return (e as { code: string }).code;
    }
    return 'accepted';
  };
  const warm = code();
  clearVerifyCaches();
  assert.equal(code(), warm);
  assert.equal(warm, 'ERR_VERIFY_QUOTE_SIGNATURE');
});
