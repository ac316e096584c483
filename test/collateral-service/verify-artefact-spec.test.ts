/**
 * Specification of `verifyArtefact`, the check every artefact passes before the collateral service
 * caches or serves it, driven artefact by artefact (no HTTP): each check names itself in
 * `details.check` and fails closed, and the genuine artefacts of the simulated PCS pass.
 */
import 'reflect-metadata';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CollateralServiceConfigError,
  trustRoot,
  verifyArtefact,
  type TrustRoot,
} from '../../src/collateral-service/index.ts';
import { INTEL_SGX_ROOT_CA_PEM, parseCrl, type ParsedCrl } from '../../src/core/index.ts';
import { createSimDcap, type SimPlatform } from '../../src/sim/index.ts';
import { dcap as stackDcap, get, startStack, type Stack } from './support.ts';
import { ECDSASigValue } from '@peculiar/asn1-ecc';
import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';

const NOW = new Date('2026-06-01T12:00:00Z');
const dcap = createSimDcap({ seed: 'collateral-verify-artefact-spec' });
const other = createSimDcap({ seed: 'collateral-verify-artefact-spec-other' });
const trust: TrustRoot = trustRoot(dcap.rootPem);
const up = dcap.platform('up-to-date');
const FMSPC = up.config.fmspc.toUpperCase();
const multi = dcap.platform('multi-package');
const revoked = dcap.platform('revoked-pck');

type Headers = Record<string, string>;
type Spec = Parameters<typeof verifyArtefact>[0]['spec'];

const enc = (pem: string): string => encodeURIComponent(pem);
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const rootCaCrlSpec: Spec = { kind: 'rootcacrl', tee: 'sgx' };
const pckCertSpec: Spec = {
  kind: 'pckcert',
  tee: 'sgx',
  cpusvn: '00',
  pcesvn: '0000',
  pceid: '0000',
  qeid: '00',
};

function crlOf(der: Uint8Array): ParsedCrl {
  return parseCrl(der, 'rootcacrl');
}

const rootCaCrl = crlOf(dcap.rootCaCrl({ now: NOW }));
const pckCrls = {
  processor: parseCrl(dcap.pckCrl('processor', { now: NOW }), 'pckcrl'),
  platform: parseCrl(dcap.pckCrl('platform', { now: NOW }), 'pckcrl'),
};
const crls = { rootCaCrl, pckCrl: (ca: 'processor' | 'platform'): ParsedCrl | undefined => pckCrls[ca] };
const noCrls = { rootCaCrl: undefined, pckCrl: (): undefined => undefined };

/** The simulated Root CA CRL with its TBS changed by `edit`, signed again by the simulated root. */
function resignedRootCrl(edit: (tbs: CertificateList['tbsCertList']) => unknown): Uint8Array {
  const crl = AsnConvert.parse(dcap.rootCaCrl({ now: NOW }), CertificateList);
  edit(crl.tbsCertList);
  const rs = dcap.pki.root.key.signDeterministic(new Uint8Array(AsnConvert.serialize(crl.tbsCertList)));
  const int = (b: Uint8Array): ArrayBuffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const t = b.subarray(i);
    const out = new Uint8Array(t.length + ((t[0] ?? 0) & 0x80 ? 1 : 0));
    out.set(t, out.length - t.length);
    return out.buffer;
  };
  crl.signature = AsnConvert.serialize(
    new ECDSASigValue({ r: int(rs.subarray(0, 32)), s: int(rs.subarray(32)) }),
  );
  return new Uint8Array(AsnConvert.serialize(crl));
}

function refused(run: () => unknown, check: string): void {
  assert.throws(run, (err: unknown) => {
    const e = err as { code?: string; details?: { check?: string } };
    assert.equal(e.code, 'ERR_COLLATERAL_SERVICE_VERIFY', String(err));
    assert.equal(e.details?.check, check, String(err));
    return true;
  });
}

const tcb = (
  body: string,
  headers: Headers = { 'TCB-Info-Issuer-Chain': enc(dcap.pki.tcbIssuerChainPem()) },
) =>
  verifyArtefact(
    { spec: { kind: 'tcb', tee: 'sgx', fmspc: FMSPC }, body: bytes(body), headers },
    trust,
    crls,
  );
const sgxTcb = (): string => dcap.tcbInfo(FMSPC, { now: NOW }) as string;
const pckCrl = (ca: 'processor' | 'platform', body: Uint8Array, chainOf: 'processor' | 'platform' = ca) =>
  verifyArtefact(
    {
      spec: { kind: 'pckcrl', tee: 'sgx', ca },
      body,
      headers: { 'SGX-PCK-CRL-Issuer-Chain': enc(dcap.pki.pckIssuerChainPem(chainOf)) },
    },
    trust,
    crls,
  );
const pckCert = (
  pem: string,
  headers: Headers = {},
  chain = dcap.pki.pckIssuerChainPem('processor'),
  c = crls,
) =>
  verifyArtefact(
    {
      spec: pckCertSpec,
      body: bytes(pem),
      headers: { 'SGX-PCK-Certificate-Issuer-Chain': enc(chain), ...headers },
    },
    trust,
    c,
  );

describe('the trusted root', () => {
  test("a simulated root must be the ccnodes simulated root: Intel's root given as one is refused", () => {
    assert.throws(() => trustRoot(INTEL_SGX_ROOT_CA_PEM), CollateralServiceConfigError);
    assert.throws(() => trustRoot('not a certificate'), CollateralServiceConfigError);
    assert.throws(() => trustRoot(dcap.pki.processorCa.pem), CollateralServiceConfigError, 'not self-issued');
    assert.equal(trustRoot().kind, 'intel');
    assert.equal(trust.kind, 'simulated');
  });
});

describe('Root CA CRL', () => {
  test('the genuine one verifies and expires at its nextUpdate', () => {
    const v = verifyArtefact(
      { spec: rootCaCrlSpec, body: dcap.rootCaCrl({ now: NOW }), headers: {} },
      trust,
      noCrls,
    );
    assert.ok(v.crl);
    assert.equal(v.expiresAt.getTime(), v.crl.nextUpdate?.getTime());
  });
  test('a PCK CRL offered as the Root CA CRL: crl-issuer', () => {
    const body = dcap.pckCrl('processor', { now: NOW });
    refused(() => verifyArtefact({ spec: rootCaCrlSpec, body, headers: {} }, trust, noCrls), 'crl-issuer');
  });
  test('a Root CA CRL under the same names from another root key: crl-signature', () => {
    const body = other.rootCaCrl({ now: NOW });
    refused(() => verifyArtefact({ spec: rootCaCrlSpec, body, headers: {} }, trust, noCrls), 'crl-signature');
  });
  test('a CRL that names another signature algorithm than ecdsa-with-SHA256 is refused, even when its signature verifies with SHA-256: crl-signature', () => {
    const der = Buffer.from(dcap.rootCaCrl({ now: NOW }));
    const at = der.lastIndexOf(Buffer.from('2a8648ce3d040302', 'hex')); // the outer signatureAlgorithm
    assert.ok(at > der.indexOf(Buffer.from('2a8648ce3d040302', 'hex')), 'outer algorithm found');
    der[at + 7] = 3; // ecdsa-with-SHA384
    refused(
      () => verifyArtefact({ spec: rootCaCrlSpec, body: der, headers: {} }, trust, noCrls),
      'crl-signature',
    );
  });
  test('a CRL re-signed by the root without CRL Number / AKI, or without nextUpdate: crl', () => {
    refused(
      () =>
        verifyArtefact(
          { spec: rootCaCrlSpec, body: resignedRootCrl((t) => delete t.crlExtensions), headers: {} },
          trust,
          noCrls,
        ),
      'crl',
    );
    const noNext = resignedRootCrl((t) => delete t.nextUpdate);
    refused(() => verifyArtefact({ spec: rootCaCrlSpec, body: noNext, headers: {} }, trust, noCrls), 'crl');
    // the re-signing itself is sound: unchanged, the re-signed CRL verifies
    assert.ok(
      verifyArtefact(
        { spec: rootCaCrlSpec, body: resignedRootCrl(() => undefined), headers: {} },
        trust,
        noCrls,
      ).crl,
    );
  });
  test('a body that is not a CRL: crl', () => {
    refused(
      () => verifyArtefact({ spec: rootCaCrlSpec, body: bytes('hello'), headers: {} }, trust, noCrls),
      'crl',
    );
  });
});

describe('issuer chains (two certificates: issuer, then the trusted root)', () => {
  const pki = dcap.pki;
  test('the header is required and must be URL-encoded', () => {
    refused(() => tcb(sgxTcb(), {}), 'issuer-chain');
    refused(() => tcb(sgxTcb(), { 'TCB-Info-Issuer-Chain': '%E0%A4%A' }), 'issuer-chain');
  });
  test('one or three certificates, or two roots: issuer-chain', () => {
    refused(() => tcb(sgxTcb(), { 'TCB-Info-Issuer-Chain': enc(pki.tcbSigning.pem) }), 'issuer-chain');
    refused(
      () =>
        tcb(sgxTcb(), {
          'TCB-Info-Issuer-Chain': enc(pki.tcbSigning.pem + pki.processorCa.pem + pki.rootPem),
        }),
      'issuer-chain',
    );
    refused(() => tcb(sgxTcb(), { 'TCB-Info-Issuer-Chain': enc(pki.rootPem + pki.rootPem) }), 'issuer-chain');
    refused(() => tcb(sgxTcb(), { 'TCB-Info-Issuer-Chain': enc('garbage') }), 'issuer-chain');
  });
  test('the root must be the trusted one: trusted-root', () => {
    refused(
      () =>
        tcb(other.tcbInfo(FMSPC, { now: NOW }) as string, {
          'TCB-Info-Issuer-Chain': enc(other.pki.tcbIssuerChainPem()),
        }),
      'trusted-root',
    );
  });
  test('an issuer of the same name that the trusted root did not sign: issuer-chain', () => {
    refused(
      () => tcb(sgxTcb(), { 'TCB-Info-Issuer-Chain': enc(other.pki.tcbSigning.pem + pki.rootPem) }),
      'issuer-chain',
    );
  });
  test('the issuer is checked against the Root CA CRL, which must be there', () => {
    const h = { 'TCB-Info-Issuer-Chain': enc(pki.tcbIssuerChainPem()) };
    const spec: Spec = { kind: 'tcb', tee: 'sgx', fmspc: FMSPC };
    refused(() => verifyArtefact({ spec, body: bytes(sgxTcb()), headers: h }, trust, noCrls), 'revocation');
    const listing = crlOf(
      pki.rootCaCrl({ now: NOW, validityDays: 30, revokedSerials: [pki.tcbSigning.serialHex] }),
    );
    refused(
      () =>
        verifyArtefact({ spec, body: bytes(sgxTcb()), headers: h }, trust, { ...crls, rootCaCrl: listing }),
      'revocation',
    );
    const other = crlOf(
      pki.rootCaCrl({ now: NOW, validityDays: 30, revokedSerials: [pki.platformCa.serialHex] }),
    );
    assert.ok(
      verifyArtefact({ spec, body: bytes(sgxTcb()), headers: h }, trust, { ...crls, rootCaCrl: other }),
    );
  });
});

describe('PCK CRL', () => {
  test('each CA’s genuine CRL verifies under its own chain', () => {
    assert.ok(pckCrl('processor', dcap.pckCrl('processor', { now: NOW })).crl);
    assert.ok(pckCrl('platform', dcap.pckCrl('platform', { now: NOW })).crl);
  });
  test('a chain naming the other CA than asked: content', () => {
    refused(() => pckCrl('platform', dcap.pckCrl('processor', { now: NOW }), 'processor'), 'content');
    refused(() => pckCrl('processor', dcap.pckCrl('platform', { now: NOW }), 'platform'), 'content');
  });
  test("the other CA's CRL under this CA's chain: crl-issuer", () => {
    refused(() => pckCrl('processor', dcap.pckCrl('platform', { now: NOW })), 'crl-issuer');
  });
});

describe('TCB Info and enclave identities', () => {
  const h = { 'TCB-Info-Issuer-Chain': enc(dcap.pki.tcbIssuerChainPem()) };
  const ids = { 'SGX-Enclave-Identity-Issuer-Chain': enc(dcap.pki.tcbIssuerChainPem()) };
  test('SGX and TDX TCB Info verify for the FMSPC asked for; the other TEE or FMSPC is content', () => {
    assert.ok(tcb(sgxTcb()).expiresAt instanceof Date);
    const tdx = dcap.tdxTcbInfo(FMSPC, { now: NOW }) as string;
    const spec = (tee: 'sgx' | 'tdx', fmspc = FMSPC): Spec => ({ kind: 'tcb', tee, fmspc });
    assert.ok(verifyArtefact({ spec: spec('tdx'), body: bytes(tdx), headers: h }, trust, crls));
    refused(
      () => verifyArtefact({ spec: spec('sgx'), body: bytes(tdx), headers: h }, trust, crls),
      'content',
    );
    refused(
      () => verifyArtefact({ spec: spec('tdx'), body: bytes(sgxTcb()), headers: h }, trust, crls),
      'content',
    );
    const otherFmspc = multi.config.fmspc.toUpperCase();
    refused(
      () => verifyArtefact({ spec: spec('sgx', otherFmspc), body: bytes(sgxTcb()), headers: h }, trust, crls),
      'content',
    );
  });
  test('a TCB Info with a changed value: signature', () => {
    refused(() => tcb(sgxTcb().replace('"UpToDate"', '"OutOfDate"')), 'signature');
  });
  test('QE, QVE and TD_QE identities: each id only where the API asks for it', () => {
    const qe = bytes(dcap.qeIdentity({ now: NOW }));
    const tdQe = bytes(dcap.tdQeIdentity({ now: NOW }));
    const v = (spec: Spec, body: Uint8Array) => verifyArtefact({ spec, body, headers: ids }, trust, crls);
    assert.ok(v({ kind: 'qe', tee: 'sgx' }, qe).expiresAt instanceof Date);
    assert.ok(v({ kind: 'qe', tee: 'tdx' }, tdQe).expiresAt instanceof Date);
    refused(() => v({ kind: 'qve', tee: 'sgx' }, qe), 'content');
    refused(() => v({ kind: 'qe', tee: 'tdx' }, qe), 'content');
    refused(() => v({ kind: 'qe', tee: 'sgx' }, tdQe), 'content');
    refused(() => v({ kind: 'qe', tee: 'sgx' }, bytes(sgxTcb())), 'signature');
  });
});

describe('PCK certificate', () => {
  test('the genuine certificate verifies and reports its FMSPC and CA', () => {
    const v = pckCert(up.pck.pem, {
      'SGX-FMSPC': FMSPC.toLowerCase(),
      'SGX-PCK-Certificate-CA-Type': 'PROCESSOR',
    });
    assert.deepEqual(v.pck, { fmspc: FMSPC, ca: 'processor' });
    assert.equal(v.expiresAt.getTime(), up.pck.x509.notAfter.getTime());
    const p = pckCert(multi.pck.pem, {}, dcap.pki.pckIssuerChainPem('platform'));
    assert.deepEqual(p.pck, { fmspc: multi.config.fmspc.toUpperCase(), ca: 'platform' });
  });
  test('exactly one PEM certificate in the body', () => {
    refused(() => pckCert(up.pck.pem + up.pck.pem), 'certificate');
    refused(() => pckCert('no certificate'), 'certificate');
  });
  test("a certificate under the other CA's chain: certificate", () => {
    refused(() => pckCert(multi.pck.pem), 'certificate');
    refused(() => pckCert(other.platform('up-to-date').pck.pem), 'certificate');
  });
  test("checked against its CA's PCK CRL, which must be there", () => {
    refused(() => pckCert(revoked.pck.pem), 'revocation');
    refused(() => pckCert(up.pck.pem, {}, undefined, { rootCaCrl, pckCrl: () => undefined }), 'revocation');
  });
  test('SGX-FMSPC and SGX-PCK-Certificate-CA-Type headers must agree with the certificate', () => {
    refused(() => pckCert(up.pck.pem, { 'SGX-FMSPC': multi.config.fmspc }), 'content');
    refused(() => pckCert(up.pck.pem, { 'SGX-PCK-Certificate-CA-Type': 'platform' }), 'content');
  });
});

describe('through the service (LAZY): the PCK CRL a PCK certificate is checked against', () => {
  const SGX = '/sgx/certification/v4';
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const path = (p: SimPlatform): string => {
    const pcesvn = hex(Buffer.from([p.config.pceSvn & 0xff, p.config.pceSvn >> 8]));
    return `${SGX}/pckcert?encrypted_ppid=${hex(p.ppid)}&cpusvn=${hex(p.cpuSvn)}&pcesvn=${pcesvn}&pceid=${p.config.pceId}`;
  };
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  test("is the issuing CA's, found by the CA's name in the chain, even when the chain lists the root first", async () => {
    const pki = stackDcap.pki;
    stack.upstream.rewrite.current = (p, a) => {
      if (!p.includes('/pckcert?')) return a;
      const headers = new Headers(a.headers);
      headers.set('SGX-PCK-Certificate-Issuer-Chain', enc(pki.rootPem + pki.platformCa.pem));
      return { ...a, headers };
    };
    const res = await get(stack.service.url, path(stackDcap.platform('multi-package')));
    assert.equal(res.status, 200, res.text);
    const crls = stack.upstream.log
      .filter((r) => r.url.includes('/pckcrl?'))
      .map((r) => new URL(r.url).searchParams.get('ca'));
    assert.deepEqual(crls, ['platform'], 'only the platform CA CRL fetched');
  });
});
