/**
 * The service-generated claims of an SGX attestation (spec/maa.md §2.2) and the data bindings
 * checked before they are issued, specified on `claims.ts` directly: a verified report and a
 * decoded request go in, the exact claim set comes out. The HTTP tests (attest-api,
 * token-claims-values) show the same claims in issued tokens; these cases cover every branch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  EvidenceBindingError,
  checkDataBindings,
  policyHash,
  serviceClaims,
} from '../../src/attestation/index.ts';
import { legacyServiceClaims } from '../../src/attestation/claims.ts';
import type { AttestData, AttestRequest } from '../../src/attestation/attest-request.ts';
import type { EnclaveReport, VerifiedEvidence } from '../../src/attestation/evidence.ts';
import { TEST_COLLATERAL, enclaveReport } from './evidence-fixtures.ts';

const filled = (n: number, byte: number): Uint8Array => new Uint8Array(n).fill(byte);
const sha256 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha256').update(b).digest());

function evidence(r: EnclaveReport, o: Partial<VerifiedEvidence> = {}): VerifiedEvidence {
  return {
    report: r,
    tcbStatus: 'SWHardeningNeeded',
    advisoryIds: ['INTEL-SA-00001'],
    simulated: false,
    relaxations: [],
    collateral: TEST_COLLATERAL,
    ...o,
  };
}

function request(o: { runtimeData?: AttestData; initTimeData?: AttestData } = {}): AttestRequest {
  return { kind: 'SgxEnclave', apiVersion: '2022-08-01', quote: new Uint8Array(8), ...o };
}

const binary = (bytes: Uint8Array): AttestData => ({ bytes, dataType: 'Binary' });
const json = (value: Record<string, unknown>): AttestData => ({
  bytes: new Uint8Array(Buffer.from(JSON.stringify(value))),
  dataType: 'JSON',
  json: value,
});

const POLICY = { hash: 'policy-hash', signer: null };

function bindingCode(run: () => void): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof EvidenceBindingError, String(e));
    return e.code;
  }
  return 'accepted';
}

// --- data bindings -----------------------------------------------------------------------------

test('runtimeData is bound to REPORTDATA[0..32]; the upper 32 bytes are free', () => {
  const data = binary(filled(40, 0x11));
  const reportData = new Uint8Array(64).fill(0x99);
  reportData.set(sha256(data.bytes), 0);
  assert.equal(
    bindingCode(() => {
      checkDataBindings(request({ runtimeData: data }), evidence(enclaveReport({ reportData })));
    }),
    'accepted',
  );
});

test('runtimeData whose digest differs from REPORTDATA[0..32] is refused, naming runtimeData', () => {
  const data = binary(filled(40, 0x11));
  const reportData = new Uint8Array(64);
  reportData.set(sha256(data.bytes), 0);
  reportData[31] = (reportData[31] as number) ^ 1;
  try {
    checkDataBindings(request({ runtimeData: data }), evidence(enclaveReport({ reportData })));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof EvidenceBindingError, String(e));
    assert.equal(e.code, 'ERR_ATTEST_REPORT_DATA_MISMATCH');
    assert.equal(e.details['field'], 'runtimeData');
  }
});

test('initTimeData is bound to CONFIGID[0..32]; the upper 32 bytes are free', () => {
  const data = binary(filled(12, 0x22));
  const configId = new Uint8Array(64).fill(0x77);
  configId.set(sha256(data.bytes), 0);
  assert.equal(
    bindingCode(() => {
      checkDataBindings(request({ initTimeData: data }), evidence(enclaveReport({ configId })));
    }),
    'accepted',
  );
});

test('initTimeData whose digest differs from CONFIGID[0..32] is refused, naming initTimeData', () => {
  const data = binary(filled(12, 0x22));
  const configId = new Uint8Array(64);
  configId.set(sha256(data.bytes), 0);
  configId[0] = (configId[0] as number) ^ 0x80;
  try {
    checkDataBindings(request({ initTimeData: data }), evidence(enclaveReport({ configId })));
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof EvidenceBindingError, String(e));
    assert.equal(e.code, 'ERR_ATTEST_INIT_DATA_MISMATCH');
    assert.equal(e.details['field'], 'initTimeData');
  }
});

test('both bindings are checked: a good runtimeData does not excuse a bad initTimeData', () => {
  const runtimeData = binary(filled(4, 1));
  const initTimeData = binary(filled(4, 2));
  const reportData = new Uint8Array(64);
  reportData.set(sha256(runtimeData.bytes), 0);
  const r = enclaveReport({ reportData, configId: filled(64, 0xee) });
  assert.equal(
    bindingCode(() => {
      checkDataBindings(request({ runtimeData, initTimeData }), evidence(r));
    }),
    'ERR_ATTEST_INIT_DATA_MISMATCH',
  );
});

test('without runtimeData or initTimeData nothing is bound (any REPORTDATA and CONFIGID pass)', () => {
  const r = enclaveReport({ reportData: filled(64, 0x5a), configId: filled(64, 0xa5) });
  assert.equal(
    bindingCode(() => {
      checkDataBindings(request(), evidence(r));
    }),
    'accepted',
  );
});

// --- policy hash -------------------------------------------------------------------------------

test('x-ms-policy-hash is base64url(SHA-256(ASCII of base64url(policy text)))', () => {
  const text = 'version=1.0;authorizationrules{=>permit();};issuancerules{};';
  const inner = Buffer.from(text, 'utf8').toString('base64url');
  const expected = createHash('sha256').update(inner, 'ascii').digest('base64url');
  assert.equal(policyHash(text), expected);
  assert.notEqual(policyHash(`${text} `), expected);
});

// --- service claims ----------------------------------------------------------------------------

test('a plain SGX report gives exactly MAA’s claims, measurements in lower-case hex', () => {
  const c = serviceClaims(request(), evidence(enclaveReport()), POLICY);
  assert.deepEqual(c, {
    'x-ms-ver': '1.0',
    'x-ms-attestation-type': 'sgx',
    'x-ms-policy-hash': 'policy-hash',
    'x-ms-sgx-is-debuggable': false,
    'x-ms-sgx-mrenclave': 'ab'.repeat(32),
    'x-ms-sgx-mrsigner': 'cd'.repeat(32),
    'x-ms-sgx-product-id': 7,
    'x-ms-sgx-svn': 3,
    'x-ms-sgx-report-data': '00'.repeat(64),
    'x-ms-sgx-collateral': TEST_COLLATERAL,
    'x-ccnodes-tcb-status': 'SWHardeningNeeded',
    'x-ccnodes-advisory-ids': ['INTEL-SA-00001'],
    'x-ccnodes-simulated': false,
  });
});

test('the DEBUG attribute makes x-ms-sgx-is-debuggable true', () => {
  const c = serviceClaims(
    request(),
    evidence(enclaveReport({ attributes: { flags: 0x07n, xfrm: 0n } })),
    POLICY,
  );
  assert.equal(c['x-ms-sgx-is-debuggable'], true);
});

test('a signed policy adds x-ms-policy-signer', () => {
  const signer = { kty: 'RSA', n: 'AQAB' };
  const c = serviceClaims(request(), evidence(enclaveReport()), { hash: 'h', signer });
  assert.deepEqual(c['x-ms-policy-signer'], signer);
});

const KSS_CLAIMS = [
  'x-ms-sgx-config-id',
  'x-ms-sgx-config-svn',
  'x-ms-sgx-isv-extended-product-id',
  'x-ms-sgx-isv-family-id',
];

test('KSS claims appear when the KSS attribute is set or any KSS field is non-zero, each alone', () => {
  const cases: [string, Partial<EnclaveReport>][] = [
    ['KSS attribute', { attributes: { flags: 0x85n, xfrm: 0n } }],
    ['CONFIGID', { configId: Uint8Array.from({ length: 64 }, (_, i) => (i === 63 ? 1 : 0)) }],
    ['CONFIGSVN', { configSvn: 2 }],
    ['ISVEXTPRODID', { isvExtProdId: Uint8Array.from({ length: 16 }, (_, i) => (i === 15 ? 9 : 0)) }],
    ['ISVFAMILYID', { isvFamilyId: Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? 4 : 0)) }],
  ];
  for (const [name, change] of cases) {
    const r = enclaveReport(change);
    const c = serviceClaims(request(), evidence(r), POLICY);
    for (const claim of KSS_CLAIMS) assert.ok(claim in c, `${name}: ${claim} missing`);
    assert.equal(c['x-ms-sgx-config-id'], Buffer.from(r.configId).toString('hex'), name);
    assert.equal(c['x-ms-sgx-config-svn'], r.configSvn, name);
    assert.equal(c['x-ms-sgx-isv-extended-product-id'], Buffer.from(r.isvExtProdId).toString('hex'), name);
    assert.equal(c['x-ms-sgx-isv-family-id'], Buffer.from(r.isvFamilyId).toString('hex'), name);
  }
  const plain = serviceClaims(request(), evidence(enclaveReport()), POLICY);
  for (const claim of KSS_CLAIMS) assert.equal(claim in plain, false, `${claim} without KSS`);
});

test('runtimeData gives x-ms-sgx-ehd (unpadded base64url of its bytes), and x-ms-runtime when JSON', () => {
  const bytes = Uint8Array.from([0xfb, 0xff, 0x01]);
  const bin = serviceClaims(request({ runtimeData: binary(bytes) }), evidence(enclaveReport()), POLICY);
  assert.equal(bin['x-ms-sgx-ehd'], '-_8B');
  assert.equal('x-ms-runtime' in bin, false);
  const value = { keys: [{ kid: 'k' }] };
  const js = serviceClaims(request({ runtimeData: json(value) }), evidence(enclaveReport()), POLICY);
  assert.deepEqual(js['x-ms-runtime'], value);
  assert.equal(js['x-ms-sgx-ehd'], Buffer.from(JSON.stringify(value)).toString('base64url'));
});

test('initTimeData gives x-ms-inittime only when JSON, and never x-ms-sgx-ehd', () => {
  const value = { config: 1 };
  const js = serviceClaims(request({ initTimeData: json(value) }), evidence(enclaveReport()), POLICY);
  assert.deepEqual(js['x-ms-inittime'], value);
  assert.equal('x-ms-sgx-ehd' in js, false);
  const bin = serviceClaims(
    request({ initTimeData: binary(filled(3, 1)) }),
    evidence(enclaveReport()),
    POLICY,
  );
  assert.equal('x-ms-inittime' in bin, false);
});

test('the ccnodes claims carry the TCB status, advisories, simulation flag and named relaxations', () => {
  const ev = evidence(enclaveReport(), {
    tcbStatus: 'UpToDate',
    advisoryIds: [],
    simulated: true,
    relaxations: ['dangerous.allowDebugEnclave'],
  });
  const c = serviceClaims(request(), ev, POLICY);
  assert.equal(c['x-ccnodes-tcb-status'], 'UpToDate');
  assert.deepEqual(c['x-ccnodes-advisory-ids'], []);
  assert.equal(c['x-ccnodes-simulated'], true);
  assert.deepEqual(c['x-ccnodes-relaxations'], ['dangerous.allowDebugEnclave']);
});

// --- legacy duplicates -------------------------------------------------------------------------

test('legacy claims duplicate the EHD as maa-ehd and aas-ehd, and the collateral hashes', () => {
  const service = serviceClaims(
    request({ runtimeData: binary(filled(2, 7)) }),
    evidence(enclaveReport()),
    POLICY,
  );
  assert.deepEqual(legacyServiceClaims(service), {
    'maa-ehd': 'Bwc',
    'aas-ehd': 'Bwc',
    'maa-attestationcollateral': TEST_COLLATERAL,
  });
});

test('without runtimeData there is no maa-ehd or aas-ehd', () => {
  const service = serviceClaims(request(), evidence(enclaveReport()), POLICY);
  assert.deepEqual(legacyServiceClaims(service), { 'maa-attestationcollateral': TEST_COLLATERAL });
});
