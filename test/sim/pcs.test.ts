/**
 * The simulated PCS over real HTTP: Intel's v4 paths, bodies and URL-encoded issuer-chain headers;
 * collateral fetched from it verifies a simulated quote; bad parameters give 400, unknown FMSPCs
 * and platforms 404.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { verifyQuote, type RawCollateral } from '../../src/core/index.ts';
import {
  PCS_HEADERS,
  SIM_FMSPC_PLATFORM,
  SIM_FMSPC_PROCESSOR,
  SIM_ROOT_CA_CN,
  createSimDcap,
  startSimPcs,
  type SimPcsServer,
} from '../../src/sim/index.ts';

const dcap = createSimDcap({ seed: 'pcs-test' });
const V4 = '/sgx/certification/v4';
let server: SimPcsServer;

before(async () => {
  // One instant for the whole file: collateral is signed at the server's `now`, and two requests
  // that straddle a second boundary would otherwise get CRLs with different thisUpdate values.
  const startedAt = new Date();
  server = await startSimPcs(dcap, { host: '127.0.0.1', port: 0, now: () => startedAt });
});
after(async () => {
  await server.close();
});

async function get(path: string): Promise<Response> {
  return fetch(`${server.url}${path}`);
}

function chainOf(res: Response, header: string): string {
  const value = res.headers.get(header);
  assert.ok(value !== null, `missing ${header}`);
  assert.ok(!value.includes('\n') && value.includes('%0A'), `${header} is URL-encoded`);
  return decodeURIComponent(value);
}

function subjects(pem: string): string[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (block) => new X509Certificate(block).subject.split('\n').find((l) => l.startsWith('CN=')) ?? '',
  );
}

describe('simulated PCS v4 endpoints', () => {
  test('tcb?fmspc= returns the TCB Info body with TCB-Info-Issuer-Chain (signing cert, then root)', async () => {
    const res = await get(`${V4}/tcb?fmspc=${SIM_FMSPC_PROCESSOR.toLowerCase()}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.match(res.headers.get(PCS_HEADERS.requestId) ?? '', /^[0-9a-f]{32}$/);
    const body = await res.text();
    assert.match(body, /^\{"tcbInfo":\{"id":"SGX","version":3,"issueDate":"[^"]+","nextUpdate":/);
    assert.match(body, /,"signature":"[0-9a-f]{128}"\}$/);
    const parsed = JSON.parse(body) as { tcbInfo: { fmspc: string } };
    assert.equal(parsed.tcbInfo.fmspc, SIM_FMSPC_PROCESSOR);
    assert.deepEqual(subjects(chainOf(res, PCS_HEADERS.tcbInfoIssuerChain)), [
      'CN=ccnodes Simulated SGX TCB Signing',
      `CN=${SIM_ROOT_CA_CN}`,
    ]);
  });

  test('qe/identity returns the QE Identity with SGX-Enclave-Identity-Issuer-Chain', async () => {
    const res = await get(`${V4}/qe/identity?update=standard`);
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.match(body, /^\{"enclaveIdentity":\{"id":"QE","version":2,/);
    assert.equal(subjects(chainOf(res, PCS_HEADERS.enclaveIdentityIssuerChain)).length, 2);
  });

  test('pckcrl?ca=…: PEM by default, DER on request, same CRL, SGX-PCK-CRL-Issuer-Chain', async () => {
    for (const ca of ['processor', 'platform'] as const) {
      const pem = await get(`${V4}/pckcrl?ca=${ca}`);
      assert.equal(pem.status, 200);
      const pemText = await pem.text();
      assert.match(pemText, /^-----BEGIN X509 CRL-----\n/);
      const der = await get(`${V4}/pckcrl?ca=${ca}&encoding=der`);
      assert.equal(der.headers.get('content-type'), 'application/pkix-crl');
      const derBytes = new Uint8Array(await der.arrayBuffer());
      const b64 = pemText.replace(/-----[^-]+-----|\s/g, '');
      assert.deepEqual(Buffer.from(b64, 'base64'), Buffer.from(derBytes));
      const cn = ca === 'processor' ? 'Processor' : 'Platform';
      assert.deepEqual(subjects(chainOf(der, PCS_HEADERS.pckCrlIssuerChain)), [
        `CN=ccnodes Simulated SGX PCK ${cn} CA`,
        `CN=${SIM_ROOT_CA_CN}`,
      ]);
    }
  });

  test('rootcacrl returns the Root CA CRL as hex DER (the PCCS form)', async () => {
    const res = await get(`${V4}/rootcacrl`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^30[0-9a-f]+$/);
  });

  test('pckcert by PPID (or QE ID) returns the PCK certificate and its headers', async () => {
    const p = dcap.platform('multi-package');
    const query = `cpusvn=${Buffer.from(p.cpuSvn).toString('hex')}&pcesvn=0d00&pceid=0000`;
    for (const id of [
      `encrypted_ppid=${Buffer.from(p.ppid).toString('hex')}`,
      `qeid=${Buffer.from(p.qeId).toString('hex')}`,
    ]) {
      const res = await get(`${V4}/pckcert?${id}&${query}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), p.pck.pem);
      assert.equal(res.headers.get(PCS_HEADERS.fmspc), SIM_FMSPC_PLATFORM);
      assert.equal(res.headers.get(PCS_HEADERS.pckCertificateCaType), 'platform');
      assert.equal(
        res.headers.get(PCS_HEADERS.tcbm),
        `${Buffer.from(p.cpuSvn).toString('hex')}0d00`.toUpperCase(),
      );
      assert.equal(
        subjects(chainOf(res, PCS_HEADERS.pckCertificateIssuerChain))[0],
        'CN=ccnodes Simulated SGX PCK Platform CA',
      );
    }
    const unknown = await get(`${V4}/pckcert?encrypted_ppid=${'00'.repeat(16)}&${query}`);
    assert.equal(unknown.status, 404);
  });

  test('unknown FMSPC → 404; malformed parameters → 400 with Error-Code', async () => {
    assert.equal((await get(`${V4}/tcb?fmspc=AABBCCDDEEFF`)).status, 404);
    for (const path of [
      `${V4}/tcb`,
      `${V4}/tcb?fmspc=00CC5100000`,
      `${V4}/tcb?fmspc=00CC5100000G`,
      `${V4}/tcb?fmspc=${SIM_FMSPC_PROCESSOR}&update=later`,
      `${V4}/tcb?fmspc=${SIM_FMSPC_PROCESSOR}&fmspc=${SIM_FMSPC_PROCESSOR}`,
      `${V4}/qe/identity?tcbEvaluationDataNumber=x`,
      `${V4}/pckcrl`,
      `${V4}/pckcrl?ca=intel`,
      `${V4}/pckcrl?ca=processor&encoding=xml`,
      `${V4}/pckcert?cpusvn=00&pcesvn=0d00&pceid=0000&encrypted_ppid=${'00'.repeat(16)}`,
      `${V4}/pckcert?cpusvn=${'00'.repeat(16)}&pcesvn=0d00&pceid=0000`,
    ]) {
      const res = await get(path);
      assert.equal(res.status, 400, path);
      assert.equal(res.headers.get(PCS_HEADERS.errorCode), 'InvalidRequestSyntax', path);
      assert.ok((res.headers.get(PCS_HEADERS.errorMessage) ?? '').length > 0, path);
    }
    assert.equal((await get('/sgx/certification/v3/tcb?fmspc=00CC51000000')).status, 404);
  });
});

describe('collateral fetched from the simulated PCS verifies a simulated quote', () => {
  async function fetchCollateral(fmspc: string, ca: 'processor' | 'platform'): Promise<RawCollateral> {
    const tcb = await get(`${V4}/tcb?fmspc=${fmspc}`);
    const qe = await get(`${V4}/qe/identity`);
    const crl = await get(`${V4}/pckcrl?ca=${ca}&encoding=der`);
    const root = await get(`${V4}/rootcacrl`);
    return {
      tcbInfo: await tcb.text(),
      tcbInfoIssuerChain: chainOf(tcb, PCS_HEADERS.tcbInfoIssuerChain),
      qeIdentity: await qe.text(),
      qeIdentityIssuerChain: chainOf(qe, PCS_HEADERS.enclaveIdentityIssuerChain),
      pckCrl: new Uint8Array(await crl.arrayBuffer()),
      pckCrlIssuerChain: chainOf(crl, PCS_HEADERS.pckCrlIssuerChain),
      rootCaCrl: new Uint8Array(Buffer.from(await root.text(), 'hex')),
    };
  }

  for (const [name, fmspc, ca, expected] of [
    ['up-to-date', SIM_FMSPC_PROCESSOR, 'processor', 'UpToDate'],
    ['out-of-date', SIM_FMSPC_PROCESSOR, 'processor', 'OutOfDate'],
    ['multi-package', SIM_FMSPC_PLATFORM, 'platform', 'UpToDate'],
  ] as const) {
    test(`${name} → ${expected}`, async () => {
      const p = dcap.platform(name);
      const quote = p.quote(p.syntheticReportBody({ reportData: new Uint8Array([9, 9]) }));
      const collateral = await fetchCollateral(fmspc, ca);
      const r = verifyQuote(quote, collateral, { now: new Date(), trustSimulatedRoot: dcap.rootPem });
      assert.equal(r.status, expected);
      assert.equal(r.simulated, true);
      assert.throws(() => verifyQuote(quote, collateral, { now: new Date() }), {
        code: 'ERR_VERIFY_SIMULATED_ROOT',
      });
    });
  }

  test('the PCK CRL served lists the revoked platform, so its quotes are refused', async () => {
    const p = dcap.platform('revoked-pck');
    const quote = p.quote(p.syntheticReportBody({ reportData: new Uint8Array(1) }));
    const collateral = await fetchCollateral(SIM_FMSPC_PROCESSOR, 'processor');
    assert.throws(
      () => verifyQuote(quote, collateral, { now: new Date(), trustSimulatedRoot: dcap.rootPem }),
      {
        code: 'ERR_VERIFY_PCK_REVOKED',
      },
    );
  });
});
