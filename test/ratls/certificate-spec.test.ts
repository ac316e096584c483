/**
 * Specification of RA-TLS certificate creation defaults and of what parsing reports about the
 * extensions a certificate carries (used by `ratls verify` output and the ERR_RATLS_NO_EXTENSION
 * details).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRatlsCertificate, parseRatlsCertificate, simulatedQuoter } from '../../src/ratls/index.ts';
import { IDENTITY, makeCert, simulation } from './fixture.ts';

const DAY = 86_400_000;

describe('RA-TLS certificate creation', () => {
  test('by default a certificate is valid from an hour ago for a year', async () => {
    const before = Date.now();
    const c = await createRatlsCertificate({
      format: 'gramine',
      quoter: simulatedQuoter(simulation().platform, IDENTITY),
    });
    const after = Date.now();
    const p = parseRatlsCertificate(c.der);
    assert.ok(p.notBefore !== undefined && p.notAfter !== undefined);
    // X.509 times are whole seconds: allow one second of truncation on each side
    assert.ok(
      p.notBefore.getTime() >= before - 3_600_000 - 1000 && p.notBefore.getTime() <= after - 3_600_000,
    );
    assert.ok(p.notAfter.getTime() >= before + 365 * DAY - 1000 && p.notAfter.getTime() <= after + 365 * DAY);
  });
});

describe('the formats a certificate carries', () => {
  test('a parsed certificate lists the RA-TLS formats present', async () => {
    const c = await makeCert('gramine');
    assert.deepEqual(parseRatlsCertificate(c.der).formatsPresent, ['gramine']);
  });
  test('asked for another format, ERR_RATLS_NO_EXTENSION names the format asked for and those present', async () => {
    const c = await makeCert('gramine-dice');
    assert.throws(
      () => parseRatlsCertificate(c.der, { format: 'ego' }),
      (e: { code?: string; details?: { format?: unknown; present?: unknown } }) => {
        assert.equal(e.code, 'ERR_RATLS_NO_EXTENSION');
        assert.equal(e.details?.format, 'ego');
        assert.deepEqual(e.details.present, ['gramine-dice']);
        return true;
      },
    );
  });
});
