/**
 * PCS/PCCS base URLs: every usual form normalises to one root (so the API prefix is never appended
 * twice), every other form is refused with ERR_PCS_BASE_URL naming the URL, and `auto` picks the
 * Intel PCS API only for Intel's host.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  INTEL_PCS_BASE_URL,
  PcsError,
  normalizePcsBaseUrl,
  parseCollateralApiChoice,
  resolveCollateralApi,
} from '../../src/collateral-source/index.ts';

const INTEL = 'https://api.trustedservices.intel.com';

describe('normalizePcsBaseUrl', () => {
  const accepted: readonly (readonly [string, string])[] = [
    [INTEL, INTEL],
    [`${INTEL}/`, INTEL],
    [`${INTEL}/sgx/certification/v4`, INTEL],
    [`${INTEL}/sgx/certification/v4/`, INTEL],
    [`${INTEL}/sgx/certification/v4//`, INTEL],
    [`${INTEL}/tdx/certification/v4`, INTEL],
    [`${INTEL}/tdx/certification/v4/`, INTEL],
    ['HTTPS://API.TrustedServices.Intel.com/sgx/certification/v4', INTEL],
    ['http://127.0.0.1:8081/sgx/certification/v4/', 'http://127.0.0.1:8081'],
    ['https://pccs.example:8081', 'https://pccs.example:8081'],
    ['https://pccs.example:443/', 'https://pccs.example'],
    ['http://[::1]:8081/tdx/certification/v4', 'http://[::1]:8081'],
    ['  https://pccs.example:8081/sgx/certification/v4/  ', 'https://pccs.example:8081'],
  ];
  for (const [input, root] of accepted) {
    test(`accepts ${JSON.stringify(input)} as ${root}`, () => {
      const b = normalizePcsBaseUrl(input);
      assert.equal(b.root, root);
      assert.equal(b.sgx, `${root}/sgx/certification/v4`);
      assert.equal(b.tdx, `${root}/tdx/certification/v4`);
      assert.equal(b.input, input);
    });
  }

  const refused: readonly (readonly [string, RegExp])[] = [
    [`${INTEL}/sgx/certification/v4/sgx/certification/v4/`, /not a PCS\/PCCS API prefix/],
    [`${INTEL}/sgx/certification/v3`, /not API v4/],
    [`${INTEL}/sgx/certification/v4/tcb`, /not a PCS\/PCCS API prefix/],
    [`${INTEL}/sgx/certification`, /not a PCS\/PCCS API prefix/],
    ['https://proxy.example/pccs', /not a PCS\/PCCS API prefix/],
    ['https://proxy.example//sgx/certification/v4', /not a PCS\/PCCS API prefix/],
    [`${INTEL}/sgx/certification/v4?x=1`, /query or fragment/],
    [`${INTEL}/#top`, /query or fragment/],
    [`${INTEL}/?`, /query or fragment/],
    ['https://user:secret@pccs.example', /credentials/],
    ['ftp://pccs.example', /scheme ftp:/],
    ['file:///etc/passwd', /scheme file:/],
    ['pccs.example:8081', /scheme pccs.example:/],
    ['api.trustedservices.intel.com', /not an absolute URL/],
    ['', /not an absolute URL/],
  ];
  for (const [input, reason] of refused) {
    test(`refuses ${JSON.stringify(input)} with ERR_PCS_BASE_URL naming it`, () => {
      assert.throws(
        () => normalizePcsBaseUrl(input),
        (e: unknown) =>
          e instanceof PcsError &&
          e.code === 'ERR_PCS_BASE_URL' &&
          e.details['url'] === input &&
          e.message.includes(input) &&
          reason.test(e.message),
      );
    });
  }

  test("Intel's default URL is one of the accepted forms", () => {
    assert.equal(normalizePcsBaseUrl(INTEL_PCS_BASE_URL).root, INTEL);
  });
});

describe('collateral API choice', () => {
  const cases: readonly (readonly [string, 'auto' | 'pcs' | 'pccs', 'pcs' | 'pccs'])[] = [
    [INTEL, 'auto', 'pcs'],
    [`${INTEL}/tdx/certification/v4/`, 'auto', 'pcs'],
    ['https://pccs.example:8081', 'auto', 'pccs'],
    ['http://127.0.0.1:8081', 'auto', 'pccs'],
    ['https://api.trustedservices.intel.com.evil.example', 'auto', 'pccs'],
    ['http://127.0.0.1:8081', 'pcs', 'pcs'],
    [INTEL, 'pccs', 'pccs'],
  ];
  for (const [base, choice, api] of cases) {
    test(`${base} with ${choice} speaks ${api}`, () => {
      assert.equal(resolveCollateralApi(normalizePcsBaseUrl(base), choice), api);
    });
  }

  test('parseCollateralApiChoice accepts auto|pcs|pccs and refuses others', () => {
    for (const c of ['auto', 'pcs', 'pccs'] as const) assert.equal(parseCollateralApiChoice(c), c);
    assert.throws(
      () => parseCollateralApiChoice('PCS'),
      (e: unknown) => e instanceof PcsError && e.code === 'ERR_PCS_BASE_URL',
    );
  });
});
