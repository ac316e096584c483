/**
 * Specification of the check of a `pckcerts` answer (every PCK certificate of a platform) before
 * the collateral service caches or serves it: a JSON array of `{tcb, tcbm, cert}`, `cert` a
 * URL-encoded PEM certificate or "Not available"; every available certificate is checked as a
 * single PCK certificate would be (chain, signature, revocation, headers), at least one must be
 * available, and the list expires with its first certificate. Each refusal is
 * ERR_COLLATERAL_SERVICE_VERIFY naming the check (no HTTP: `verifyArtefact` directly).
 */
import 'reflect-metadata';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { trustRoot, verifyArtefact, type ArtefactSpec } from '../../src/collateral-service/index.ts';
import { parseCrl, type ParsedCrl } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const dcap = createSimDcap({ seed: 'collateral-verify-pckcerts-spec' });
const other = createSimDcap({ seed: 'collateral-verify-pckcerts-spec-other' });
const trust = trustRoot(dcap.rootPem);
const up = dcap.platform('up-to-date');
const outOfDate = dcap.platform('out-of-date');
const revoked = dcap.platform('revoked-pck');
const multi = dcap.platform('multi-package'); // issued by the platform CA

/** The up-to-date platform's PCK certificate at a lower TCB level (PCESVN one less): same PPID and FMSPC. */
const upAtLowerTcb = dcap.pki.issuePck(
  'pckcerts-spec/lower-tcb',
  dcap.pki.keys.ecKey('pckcerts-spec/lower-tcb'),
  'processor',
  {
    ppid: up.ppid,
    cpuSvn: Uint8Array.from(up.config.cpuSvn),
    pceSvn: up.config.pceSvn - 1,
    pceId: Uint8Array.from(Buffer.from(up.config.pceId, 'hex')),
    fmspc: Uint8Array.from(Buffer.from(up.config.fmspc, 'hex')),
    sgxType: up.config.sgxType,
  },
);

/** A PCK certificate of the up-to-date platform's shape (same PPID) with some fields changed. */
function pck(label: string, change: { fmspc?: string; pceId?: string }): { pem: string } {
  return dcap.pki.issuePck(
    `pckcerts-spec/${label}`,
    dcap.pki.keys.ecKey(`pckcerts-spec/${label}`),
    'processor',
    {
      ppid: up.ppid,
      cpuSvn: Uint8Array.from(up.config.cpuSvn),
      pceSvn: up.config.pceSvn,
      pceId: Uint8Array.from(Buffer.from(change.pceId ?? up.config.pceId, 'hex')),
      fmspc: Uint8Array.from(Buffer.from(change.fmspc ?? up.config.fmspc, 'hex')),
      sgxType: up.config.sgxType,
    },
  );
}

const SPEC: ArtefactSpec = { kind: 'pckcerts', tee: 'sgx', encryptedPpid: 'aa', pceid: '0000' };
const pckCrls = {
  processor: parseCrl(dcap.pckCrl('processor', { now: NOW }), 'pckcrl'),
  platform: parseCrl(dcap.pckCrl('platform', { now: NOW }), 'pckcrl'),
};
const crls = {
  rootCaCrl: parseCrl(dcap.rootCaCrl({ now: NOW }), 'rootcacrl'),
  pckCrl: (ca: 'processor' | 'platform'): ParsedCrl | undefined => pckCrls[ca],
};

const entry = (pem: string): object => ({ tcb: { pcesvn: 11 }, tcbm: '00', cert: encodeURIComponent(pem) });
const NOT_AVAILABLE = { tcb: { pcesvn: 1 }, tcbm: '01', cert: 'Not available' };

function check(body: unknown, headers: Record<string, string> = {}) {
  return verifyArtefact(
    {
      spec: SPEC,
      body: new Uint8Array(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body))),
      headers: {
        'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(dcap.pki.pckIssuerChainPem('processor')),
        ...headers,
      },
    },
    trust,
    crls,
  );
}

function refused(body: unknown, what: string, headers: Record<string, string> = {}): void {
  assert.throws(
    () => check(body, headers),
    (err: unknown) => {
      const e = err as { code?: string; details?: { check?: string } };
      assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_VERIFY', String(err));
      assert.equal(e.details?.check, what, String(err));
      return true;
    },
  );
}

describe('a pckcerts list', () => {
  test('with every available certificate genuine verifies; unavailable entries are skipped', () => {
    const v = check([NOT_AVAILABLE, entry(up.pck.pem), entry(upAtLowerTcb.pem), NOT_AVAILABLE], {
      'SGX-FMSPC': up.config.fmspc,
      'SGX-PCK-Certificate-CA-Type': 'processor',
    });
    assert.deepEqual(v.pck, { fmspc: up.config.fmspc.toUpperCase(), ca: 'processor' });
    assert.equal(v.expiresAt.getTime(), up.pck.x509.notAfter.getTime());
  });
  test('must be a JSON array', () => {
    refused('not json', 'certificate');
    refused({ cert: encodeURIComponent(up.pck.pem) }, 'certificate');
    refused('null', 'certificate');
  });
  test('every entry needs a cert string', () => {
    refused([entry(up.pck.pem), { tcb: {}, tcbm: '00' }], 'certificate');
    refused([entry(up.pck.pem), null], 'certificate');
    refused([{ cert: 7 }], 'certificate');
  });
  test('a cert must be URL-encoded PEM', () => {
    refused([entry(up.pck.pem), { cert: '%E0%A4%A' }], 'certificate');
    refused([{ cert: 'not a certificate' }], 'certificate');
  });
  test('at least one certificate must be available', () => {
    refused([], 'certificate');
    refused([NOT_AVAILABLE, NOT_AVAILABLE], 'certificate');
  });
  test('one revoked certificate refuses the whole list, wherever it is', () => {
    refused([entry(revoked.pck.pem), entry(up.pck.pem)], 'revocation');
    refused([entry(up.pck.pem), entry(revoked.pck.pem)], 'revocation');
  });
  test('one certificate of another CA or another root refuses the whole list', () => {
    refused([entry(up.pck.pem), entry(multi.pck.pem)], 'certificate');
    refused([entry(up.pck.pem), entry(other.platform('up-to-date').pck.pem)], 'certificate');
  });
  test('every certificate must be of the same platform: the same PPID and the same FMSPC', () => {
    // two genuine certificates of two platforms (another PPID), in either order
    assert.notDeepEqual(outOfDate.ppid, up.ppid);
    refused([entry(up.pck.pem), entry(outOfDate.pck.pem)], 'content');
    refused([NOT_AVAILABLE, entry(outOfDate.pck.pem), entry(up.pck.pem)], 'content');
    assert.throws(
      () => check([entry(up.pck.pem), entry(outOfDate.pck.pem)]),
      /entry 1 is for another platform .* than entry 0/,
    );
    // the same PPID under another FMSPC (no SGX-FMSPC header to catch it)
    refused([entry(up.pck.pem), entry(pck('other-fmspc', { fmspc: 'aabbccddeeff' }).pem)], 'content');
  });
  test("every certificate's PCE-ID must be the one asked for", () => {
    assert.equal(up.config.pceId, '0000');
    refused([entry(pck('pceid-1', { pceId: '0001' }).pem)], 'content');
    refused([entry(up.pck.pem), entry(pck('pceid-1b', { pceId: '0001' }).pem)], 'content');
    assert.throws(
      () => check([entry(pck('pceid-1c', { pceId: '0001' }).pem)]),
      /PCE-ID 0001 is not the one asked for \(0000\)/,
    );
    // a single pckcert answer too
    const single: ArtefactSpec = {
      kind: 'pckcert',
      tee: 'sgx',
      cpusvn: '00',
      pcesvn: '0b00',
      pceid: '0000',
      qeid: 'cc',
    };
    const headers = {
      'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(dcap.pki.pckIssuerChainPem('processor')),
    };
    const body = (pem: string): Uint8Array => new Uint8Array(Buffer.from(pem));
    assert.equal(
      verifyArtefact({ spec: single, body: body(up.pck.pem), headers }, trust, crls).pck?.fmspc,
      up.config.fmspc.toUpperCase(),
    );
    assert.throws(
      () =>
        verifyArtefact(
          { spec: single, body: body(pck('pceid-1d', { pceId: '0001' }).pem), headers },
          trust,
          crls,
        ),
      (e: { code?: string; details?: { check?: string } }) =>
        e.code === 'ERR_COLLATERAL_SERVICE_VERIFY' && e.details?.check === 'content',
    );
  });
  test('the headers must agree with every certificate', () => {
    refused([entry(up.pck.pem)], 'content', { 'SGX-PCK-Certificate-CA-Type': 'platform' });
  });
});
