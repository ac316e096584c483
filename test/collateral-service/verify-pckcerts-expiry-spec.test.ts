/**
 * Specification of when a verified `pckcerts` list (every PCK certificate of a platform) expires:
 * with the first of its certificates to expire, wherever that certificate stands in the list. The
 * simulated PKI issues PCK certificates with another notAfter for this (`issuePck`'s `notAfter`).
 */
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trustRoot, verifyArtefact, type ArtefactSpec } from '../../src/collateral-service/index.ts';
import { parseCrl, type ParsedCrl } from '../../src/core/index.ts';
import { createSimDcap, type SimCert } from '../../src/sim/index.ts';

const NOW = new Date('2026-06-01T12:00:00Z');
const dcap = createSimDcap({ seed: 'collateral-verify-pckcerts-expiry-spec' });
const trust = trustRoot(dcap.rootPem);
const up = dcap.platform('up-to-date');

const SPEC: ArtefactSpec = { kind: 'pckcerts', tee: 'sgx', encryptedPpid: 'aa', pceid: '0000' };
const crls = {
  rootCaCrl: parseCrl(dcap.rootCaCrl({ now: NOW }), 'rootcacrl'),
  pckCrl: (ca: 'processor' | 'platform'): ParsedCrl | undefined =>
    parseCrl(dcap.pckCrl(ca, { now: NOW }), 'pckcrl'),
};

/** A PCK certificate of the up-to-date platform's shape (processor CA) expiring at `notAfter`. */
function pckExpiring(label: string, notAfter: Date): SimCert {
  return dcap.pki.issuePck(
    `expiry-spec/${label}`,
    dcap.pki.keys.ecKey(`expiry-spec/${label}`),
    'processor',
    {
      ppid: up.ppid, // one platform's list: the same PPID throughout
      cpuSvn: Uint8Array.from(up.config.cpuSvn),
      pceSvn: up.config.pceSvn,
      pceId: Uint8Array.from(Buffer.from(up.config.pceId, 'hex')),
      fmspc: Uint8Array.from(Buffer.from(up.config.fmspc, 'hex')),
      sgxType: up.config.sgxType,
    },
    { notAfter },
  );
}

const SOON = new Date('2030-03-01T00:00:00Z');
const LATER = new Date('2035-07-01T00:00:00Z');
const soon = pckExpiring('soon', SOON);
const later = pckExpiring('later', LATER);

const entry = (c: SimCert, pcesvn: number): object => ({
  tcb: { pcesvn },
  tcbm: '00',
  cert: encodeURIComponent(c.pem),
});

function expiryOf(list: readonly object[]): number {
  const v = verifyArtefact(
    {
      spec: SPEC,
      body: new Uint8Array(Buffer.from(JSON.stringify(list))),
      headers: {
        'SGX-PCK-Certificate-Issuer-Chain': encodeURIComponent(dcap.pki.pckIssuerChainPem('processor')),
        'SGX-FMSPC': up.config.fmspc,
        'SGX-PCK-Certificate-CA-Type': 'processor',
      },
    },
    trust,
    crls,
  );
  return v.expiresAt.getTime();
}

test('the simulated PKI issues a PCK certificate with the notAfter asked for, by default 2049-12-31', () => {
  assert.equal(soon.x509.notAfter.getTime(), SOON.getTime());
  assert.equal(later.x509.notAfter.getTime(), LATER.getTime());
  assert.equal(up.pck.x509.notAfter.toISOString(), '2049-12-31T23:59:59.000Z');
});

test('a pckcerts list expires with its first-expiring certificate, first, middle or last', () => {
  assert.equal(expiryOf([entry(soon, 3), entry(later, 2), entry(up.pck, 1)]), SOON.getTime());
  assert.equal(expiryOf([entry(later, 3), entry(soon, 2), entry(up.pck, 1)]), SOON.getTime());
  assert.equal(expiryOf([entry(up.pck, 3), entry(later, 2), entry(soon, 1)]), SOON.getTime());
  assert.equal(expiryOf([entry(up.pck, 2), entry(later, 1)]), LATER.getTime());
  assert.equal(expiryOf([entry(later, 2), entry(up.pck, 1)]), LATER.getTime());
});

test('two certificates expiring at the same moment: the list expires then', () => {
  const twin = pckExpiring('soon-twin', SOON);
  assert.equal(expiryOf([entry(soon, 2), entry(twin, 1)]), SOON.getTime());
});

test('an entry without a cert string is refused naming its index, before any certificate check', () => {
  for (const bad of [{ tcb: {}, tcbm: '00' }, null, { cert: 7 }, { cert: ['x'] }]) {
    assert.throws(
      () => expiryOf([entry(soon, 2), bad as object]),
      (err: unknown) => {
        const e = err as Error & { code?: string; details?: { check?: string } };
        assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_VERIFY', String(err));
        assert.equal(e.details?.check, 'certificate');
        assert.match(e.message, /entry 1 has no cert/);
        return true;
      },
    );
  }
});
