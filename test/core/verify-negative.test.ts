/**
 * Generated negative corpus for verifyQuote: each case changes ONE thing in an otherwise valid
 * quote + collateral (built with the test PKI, or a real set where re-signing is not needed) and
 * expects exactly one error code. A few positive controls prove the baseline and the tolerated
 * variations (chain order, trailing bytes) still verify.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  SIMULATED_ROOT_CN,
  VerificationError,
  decodeQuote,
  encodeQuote,
  parsePemChain,
  prepareCollateral,
  verifyQuote,
  type RawCollateral,
  type VerificationErrorCode,
  type VerifyOptions,
} from '../../src/core/index.ts';
import {
  DEFAULT_PLATFORM,
  TEST_NOW,
  buildSgxCase,
  createTestPki,
  issueCert,
  issuePck,
  type SgxCase,
  type SgxCaseOptions,
  type TestPki,
} from '../support/test-pki.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, setQuote } from './verify-helpers.ts';

const INTEL_O = 'O=Intel Corporation, L=Santa Clara, ST=CA, C=US';
const DAY = 86_400_000;
const before15 = new Date(TEST_NOW.getTime() - 5 * DAY);
const after15 = new Date(TEST_NOW.getTime() + 5 * DAY);

let pki: TestPki;
let base: SgxCase;

function expectCode(run: () => unknown, code: VerificationErrorCode, step?: number): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof VerificationError, `expected VerificationError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code} at step ${e.step}: ${e.message}`);
    if (step !== undefined) assert.equal(e.step, step, e.message);
    return true;
  });
}

function flip(bytes: Uint8Array, offset: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[offset] = (copy[offset] as number) ^ 0x01;
  return copy;
}

function verifyCase(c: SgxCase, options: Partial<VerifyOptions> = {}): ReturnType<typeof verifyQuote> {
  return verifyQuote(c.quote, c.collateral, { ...c.options, ...options });
}

/** Cases that re-sign artefacts: [name, options, expected code, step]. */
const resigned: [string, SgxCaseOptions | ((p: TestPki) => SgxCaseOptions), VerificationErrorCode, number][] =
  [
    [
      'PCK chain missing its intermediate',
      { chainPems: (p, pck) => [pck.pem, p.root.pem] },
      'ERR_VERIFY_CHAIN_INCOMPLETE',
      2,
    ],
    [
      'PCK chain with the leaf twice',
      { chainPems: (p, pck) => [pck.pem, pck.pem, p.root.pem] },
      'ERR_VERIFY_CHAIN_INCOMPLETE',
      2,
    ],
    [
      'PCK revoked on the PCK CRL',
      (p) => ({ pckCrl: { revoked: [p.pck.serial] } }),
      'ERR_VERIFY_PCK_REVOKED',
      4,
    ],
    ['PCK CRL without CRL Number / AKI', { pckCrl: { noExtensions: true } }, 'ERR_VERIFY_CRL_INVALID', 3],
    [
      'Root CA CRL without CRL Number / AKI',
      { rootCrl: { noExtensions: true } },
      'ERR_VERIFY_CRL_INVALID',
      3,
    ],
    [
      'PCK CRL issued by another CA name',
      { pckCrl: { issuerName: `CN=Intel SGX PCK Platform CA, ${INTEL_O}` } },
      'ERR_VERIFY_CRL_ISSUER',
      3,
    ],
    [
      'Root CA CRL issuer name differs from the root',
      { rootCrl: { issuerName: `CN=Intel SGX Root CA 2, ${INTEL_O}` } },
      'ERR_VERIFY_CRL_ISSUER',
      3,
    ],
    ['PCK CRL expired', { pckCrl: { nextUpdate: before15 } }, 'ERR_VERIFY_COLLATERAL_EXPIRED', 5],
    [
      'PCK CRL not yet valid',
      { pckCrl: { thisUpdate: after15, nextUpdate: new Date(after15.getTime() + DAY) } },
      'ERR_VERIFY_COLLATERAL_EXPIRED',
      5,
    ],
    ['Root CA CRL expired', { rootCrl: { nextUpdate: before15 } }, 'ERR_VERIFY_COLLATERAL_EXPIRED', 5],
    [
      'TCB Info expired',
      { tcbInfo: (b) => ({ ...b, nextUpdate: before15.toISOString().replace('.000', '') }) },
      'ERR_VERIFY_COLLATERAL_EXPIRED',
      6,
    ],
    [
      'QE Identity expired',
      { qeIdentity: (b) => ({ ...b, nextUpdate: before15.toISOString().replace('.000', '') }) },
      'ERR_VERIFY_COLLATERAL_EXPIRED',
      7,
    ],
    [
      'TCB Info value edited after signing',
      { tcbInfoText: (t) => t.replace('"tcbEvaluationDataNumber":18', '"tcbEvaluationDataNumber":19') },
      'ERR_VERIFY_TCB_INFO_SIGNATURE',
      6,
    ],
    [
      'QE Identity value edited after signing',
      { qeIdentityText: (t) => t.replace('"tcbEvaluationDataNumber":18', '"tcbEvaluationDataNumber":17') },
      'ERR_VERIFY_QE_IDENTITY_SIGNATURE',
      7,
    ],
    [
      'TCB Info signature byte changed',
      {
        tcbInfoText: (t) =>
          t.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === '0' ? '1' : '0'}`),
      },
      'ERR_VERIFY_TCB_INFO_SIGNATURE',
      6,
    ],
    [
      'TCB Info issuer chain without the root',
      { tcbInfoChain: (p) => p.tcbSigning.pem },
      'ERR_VERIFY_CHAIN_INCOMPLETE',
      6,
    ],
    ['TCB Info version 4', { tcbInfo: (b) => ({ ...b, version: 4 }) }, 'ERR_VERIFY_TCB_INFO_INVALID', 6],
    ['TCB Info not JSON', { tcbInfoText: (t) => t.slice(0, -2) }, 'ERR_VERIFY_TCB_INFO_INVALID', 6],
    [
      'QE Identity version 1',
      { qeIdentity: (b) => ({ ...b, version: 1 }) },
      'ERR_VERIFY_QE_IDENTITY_INVALID',
      7,
    ],
    [
      'TCB Info for TDX used with an SGX quote',
      { tcbInfo: (b) => tdxify(b) },
      'ERR_VERIFY_TCB_INFO_MISMATCH',
      8,
    ],
    ['FMSPC mismatch', { tcbInfo: (b) => ({ ...b, fmspc: '00A067110001' }) }, 'ERR_VERIFY_FMSPC_MISMATCH', 8],
    ['PCE-ID mismatch', { tcbInfo: (b) => ({ ...b, pceId: '0100' }) }, 'ERR_VERIFY_PCEID_MISMATCH', 8],
    [
      'QE report data not bound to the attestation key',
      { qeReportData: new Uint8Array(64).fill(7) },
      'ERR_VERIFY_QE_REPORT_DATA',
      11,
    ],
    [
      'QE identity mrsigner mismatch',
      { qeIdentity: (b) => ({ ...b, mrsigner: '00'.repeat(32) }) },
      'ERR_VERIFY_QE_IDENTITY_MISMATCH',
      12,
    ],
    [
      'QE identity isvprodid mismatch',
      { qeIdentity: (b) => ({ ...b, isvprodid: 2 }) },
      'ERR_VERIFY_QE_IDENTITY_MISMATCH',
      12,
    ],
    [
      'QE identity attributes mismatch',
      { qeIdentity: (b) => ({ ...b, attributes: '13000000000000000000000000000000' }) },
      'ERR_VERIFY_QE_IDENTITY_MISMATCH',
      12,
    ],
    [
      'QE identity miscselect mismatch',
      { qeIdentity: (b) => ({ ...b, miscselect: '00000001' }) },
      'ERR_VERIFY_QE_IDENTITY_MISMATCH',
      12,
    ],
    [
      'QE identity id TD_QE for an SGX quote',
      { qeIdentity: (b) => ({ ...b, id: 'TD_QE' }) },
      'ERR_VERIFY_QE_IDENTITY_MISMATCH',
      12,
    ],
    [
      'QE ISVSVN below every QE TCB level',
      {
        qeReport: { isvSvn: 0 },
        qeIdentity: (b) => ({ ...b, tcbLevels: (b['tcbLevels'] as unknown[]).slice(0, 1) }),
      },
      'ERR_VERIFY_TCB_NOT_SUPPORTED',
      12,
    ],
    [
      'platform TCB below every TCB level',
      { tcbInfo: (b) => ({ ...b, tcbLevels: (b['tcbLevels'] as unknown[]).slice(0, 1) }) },
      'ERR_VERIFY_TCB_NOT_SUPPORTED',
      14,
    ],
    [
      'debug enclave',
      { report: { attributes: { flags: 0x07n, xfrm: 0x03n } } },
      'ERR_VERIFY_DEBUG_ENCLAVE',
      15,
    ],
  ];

function tdxify(b: Record<string, unknown>): Record<string, unknown> {
  const levels = (b['tcbLevels'] as { tcb: Record<string, unknown> }[]).map((l) => ({
    ...l,
    tcb: { ...l.tcb, tdxtcbcomponents: new Array(16).fill({ svn: 0 }) },
  }));
  return { ...b, id: 'TDX', tcbLevels: levels };
}

describe('verifyQuote negative corpus (test PKI)', () => {
  before(async () => {
    pki = await createTestPki();
    base = await buildSgxCase(pki);
  });

  test('baseline verifies: SWHardeningNeeded with the test root as a named relaxation', () => {
    const r = verifyCase(base);
    assert.equal(r.status, 'SWHardeningNeeded');
    assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1']);
    assert.deepEqual(r.relaxations, ['dangerous.extraTrustAnchors']);
    assert.equal(r.qeStatus, 'UpToDate');
  });

  for (const [name, options, code, step] of resigned) {
    test(`${name} → ${code}`, async () => {
      const c = await buildSgxCase(pki, typeof options === 'function' ? options(pki) : options);
      expectCode(() => verifyCase(c), code, step);
    });
  }

  test("wrong root: no trust anchor for a self-made root with Intel's subject → ERR_VERIFY_UNTRUSTED_ROOT", () => {
    expectCode(
      () => verifyQuote(base.quote, base.collateral, { now: TEST_NOW }),
      'ERR_VERIFY_UNTRUSTED_ROOT',
      2,
    );
  });

  test('wrong root: another self-made root with the same subject as anchor → ERR_VERIFY_UNTRUSTED_ROOT', async () => {
    const other = await issueCert({ subject: pki.root.cert.subject, ca: true });
    expectCode(
      () =>
        verifyQuote(base.quote, base.collateral, {
          now: TEST_NOW,
          dangerous: { extraTrustAnchors: [other.pem] },
        }),
      'ERR_VERIFY_UNTRUSTED_ROOT',
      2,
    );
  });

  test('PCK chain with an impostor intermediate (same name, other key) → ERR_VERIFY_CERT_SIGNATURE', async () => {
    const impostor = await issueCert({ subject: pki.processorCa.cert.subject, issuer: pki.root, ca: true });
    const c = await buildSgxCase(pki, { chainPems: (p, pck) => [pck.pem, impostor.pem, p.root.pem] });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_CERT_SIGNATURE', 2);
  });

  test('PCK certificate without the SGX extension → ERR_VERIFY_CERT_FORMAT', async () => {
    const c = await buildSgxCase(pki, { pck: await issuePck(pki.processorCa, null) });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_CERT_FORMAT', 2);
  });

  test('PCK certificate expired → ERR_VERIFY_COLLATERAL_EXPIRED (and flagged with the relaxation)', async () => {
    const pck = await issuePck(pki.processorCa, DEFAULT_PLATFORM, { notAfter: before15 });
    const c = await buildSgxCase(pki, { pck });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_COLLATERAL_EXPIRED', 5);
    const r = verifyCase(c, {
      dangerous: { extraTrustAnchors: [pki.root.pem], allowExpiredCollateral: true },
    });
    assert.equal(r.collateralExpired, true);
    assert.ok(r.relaxations.includes('dangerous.allowExpiredCollateral'));
  });

  test('intermediate CA revoked on the Root CA CRL → ERR_VERIFY_INTERMEDIATE_REVOKED', async () => {
    const c = await buildSgxCase(pki, { rootCrl: { revoked: [pki.processorCa.serial] } });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_INTERMEDIATE_REVOKED', 4);
  });

  test('TCB signing certificate revoked on the Root CA CRL → ERR_VERIFY_INTERMEDIATE_REVOKED', async () => {
    const c = await buildSgxCase(pki, { rootCrl: { revoked: [pki.tcbSigning.serial] } });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_INTERMEDIATE_REVOKED', 6);
  });

  test('PCK CRL signed by the wrong key → ERR_VERIFY_CRL_SIGNATURE', async () => {
    const c = await buildSgxCase(pki, {
      pckCrl: { signer: pki.tcbSigning, issuerName: pki.processorCa.cert.subject },
    });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_CRL_SIGNATURE', 3);
  });

  test('Root CA CRL signed by the wrong key → ERR_VERIFY_CRL_SIGNATURE', async () => {
    const c = await buildSgxCase(pki, {
      rootCrl: { signer: pki.processorCa, issuerName: pki.root.cert.subject },
    });
    expectCode(() => verifyCase(c), 'ERR_VERIFY_CRL_SIGNATURE', 3);
  });

  test('CRL bytes that are not a CRL → ERR_VERIFY_CRL_INVALID', () => {
    const collateral: RawCollateral = { ...base.collateral, pckCrl: Uint8Array.of(0x30, 0x03, 1, 2, 3) };
    expectCode(() => verifyQuote(base.quote, collateral, base.options), 'ERR_VERIFY_CRL_INVALID', 3);
  });

  test('PCK CRL signature byte flipped → ERR_VERIFY_CRL_SIGNATURE', () => {
    const crl = base.collateral.pckCrl;
    const collateral: RawCollateral = { ...base.collateral, pckCrl: flip(crl, crl.length - 3) };
    expectCode(() => verifyQuote(base.quote, collateral, base.options), 'ERR_VERIFY_CRL_SIGNATURE', 3);
  });

  test('Root CA CRL signature byte flipped → ERR_VERIFY_CRL_SIGNATURE', () => {
    const crl = base.collateral.rootCaCrl;
    const collateral: RawCollateral = { ...base.collateral, rootCaCrl: flip(crl, crl.length - 3) };
    expectCode(() => verifyQuote(base.quote, collateral, base.options), 'ERR_VERIFY_CRL_SIGNATURE', 3);
  });

  test('signed regions of the quote: header, body, QE report, signatures, key, auth data', () => {
    const q = decodeQuote(base.quote);
    const sigStart = q.signedData.length + 4;
    const regions: [string, number, VerificationErrorCode][] = [
      ['header user data', 30, 'ERR_VERIFY_QUOTE_SIGNATURE'],
      ['report body MRENCLAVE', 48 + 64, 'ERR_VERIFY_QUOTE_SIGNATURE'],
      ['report body REPORTDATA', 48 + 320, 'ERR_VERIFY_QUOTE_SIGNATURE'],
      ['quote signature', sigStart + 10, 'ERR_VERIFY_QUOTE_SIGNATURE'],
      ['attestation key', sigStart + 64 + 5, 'ERR_VERIFY_QE_REPORT_DATA'],
      ['QE report MRENCLAVE', sigStart + 128 + 64, 'ERR_VERIFY_QE_REPORT_SIGNATURE'],
      ['QE report signature', sigStart + 512 + 3, 'ERR_VERIFY_QE_REPORT_SIGNATURE'],
      ['QE auth data', sigStart + 578 + 1, 'ERR_VERIFY_QE_REPORT_DATA'],
    ];
    for (const [name, offset, code] of regions) {
      assert.doesNotThrow(() => verifyCase(base), name);
      expectCode(() => verifyQuote(flip(base.quote, offset), base.collateral, base.options), code);
    }
  });

  test('truncated, oversized-length and over-limit quotes → ERR_VERIFY_QUOTE_FORMAT', () => {
    expectCode(
      () => verifyQuote(base.quote.subarray(0, 1000), base.collateral, base.options),
      'ERR_VERIFY_QUOTE_FORMAT',
      1,
    );
    expectCode(
      () => verifyQuote(base.quote.subarray(0, 40), base.collateral, base.options),
      'ERR_VERIFY_QUOTE_FORMAT',
      1,
    );
    const q = decodeQuote(base.quote);
    const oversized = Uint8Array.from(base.quote);
    new DataView(oversized.buffer).setUint32(q.signedData.length, q.signatureDataLength + 1, true);
    expectCode(() => verifyQuote(oversized, base.collateral, base.options), 'ERR_VERIFY_QUOTE_FORMAT', 1);
    const huge = new Uint8Array(1024 * 1024 + 1);
    huge.set(base.quote);
    expectCode(() => verifyQuote(huge, base.collateral, base.options), 'ERR_VERIFY_QUOTE_FORMAT', 1);
  });

  test('trailing bytes after the signature data are tolerated', () => {
    const padded = new Uint8Array(base.quote.length + 70);
    padded.set(base.quote);
    assert.equal(verifyQuote(padded, base.collateral, base.options).status, 'SWHardeningNeeded');
  });

  test('wrong versions and types → ERR_VERIFY_UNSUPPORTED_QUOTE', () => {
    const set16 = (offset: number, v: number): Uint8Array => {
      const c = Uint8Array.from(base.quote);
      new DataView(c.buffer).setUint16(offset, v, true);
      return c;
    };
    expectCode(
      () => verifyQuote(set16(0, 2), base.collateral, base.options),
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
    );
    expectCode(
      () => verifyQuote(set16(0, 6), base.collateral, base.options),
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
    );
    expectCode(
      () => verifyQuote(set16(2, 3), base.collateral, base.options),
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
    );
    expectCode(
      () => verifyQuote(set16(4, 0x81), base.collateral, base.options),
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
    );
    expectCode(
      () => verifyQuote(flip(base.quote, 12), base.collateral, base.options),
      'ERR_VERIFY_UNSUPPORTED_QUOTE',
      1,
    );
    const q = decodeQuote(base.quote);
    const type4 = encodeQuote({ ...q, certification: { type: 4, data: q.certification.data } });
    expectCode(() => verifyQuote(type4, base.collateral, base.options), 'ERR_VERIFY_UNSUPPORTED_QUOTE', 1);
  });

  test('PCK chain order in the quote does not matter (built by subject/issuer)', async () => {
    const c = await buildSgxCase(pki, { chainPems: (p, pck) => [p.root.pem, pck.pem, p.processorCa.pem] });
    assert.equal(verifyCase(c).status, 'SWHardeningNeeded');
    const c2 = await buildSgxCase(pki, { tcbInfoChain: (p) => p.root.pem + p.tcbSigning.pem });
    assert.equal(verifyCase(c2).status, 'SWHardeningNeeded');
  });

  test('debug enclave accepted only with dangerous.allowDebugEnclave, and reported', async () => {
    const c = await buildSgxCase(pki, { report: { attributes: { flags: 0x07n, xfrm: 0x03n } } });
    const r = verifyCase(c, { dangerous: { extraTrustAnchors: [pki.root.pem], allowDebugEnclave: true } });
    assert.ok(r.relaxations.includes('dangerous.allowDebugEnclave'));
  });

  test('status merge: QE OutOfDate with platform SWHardeningNeeded → OutOfDate', async () => {
    const c = await buildSgxCase(pki, { qeReport: { isvSvn: 5 } });
    const r = verifyCase(c);
    assert.equal(r.qeStatus, 'OutOfDate');
    assert.equal(r.platformStatus, 'SWHardeningNeeded');
    assert.equal(r.status, 'OutOfDate');
    assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1', 'INTEL-SA-QE-0']);
  });

  test('status merge: QE OutOfDate with platform ConfigurationNeeded → OutOfDateConfigurationNeeded', async () => {
    const c = await buildSgxCase(pki, {
      qeReport: { isvSvn: 5 },
      tcbInfo: (b) => ({
        ...b,
        tcbLevels: (b['tcbLevels'] as Record<string, unknown>[]).map((l, i) =>
          i === 1 ? { ...l, tcbStatus: 'ConfigurationNeeded' } : l,
        ),
      }),
    });
    assert.equal(verifyCase(c).status, 'OutOfDateConfigurationNeeded');
  });

  test('platform level Revoked → status Revoked', async () => {
    const c = await buildSgxCase(pki, {
      tcbInfo: (b) => ({
        ...b,
        tcbLevels: (b['tcbLevels'] as Record<string, unknown>[]).map((l, i) =>
          i === 1 ? { ...l, tcbStatus: 'Revoked' } : l,
        ),
      }),
    });
    assert.equal(verifyCase(c).status, 'Revoked');
  });

  test('simulated root refused unless exactly that certificate is trusted', async () => {
    const sim = await createTestPki({ rootCn: SIMULATED_ROOT_CN });
    const c = await buildSgxCase(sim);
    expectCode(() => verifyQuote(c.quote, c.collateral, { now: TEST_NOW }), 'ERR_VERIFY_SIMULATED_ROOT', 2);
    const otherSim = await createTestPki({ rootCn: SIMULATED_ROOT_CN });
    expectCode(
      () => verifyQuote(c.quote, c.collateral, { now: TEST_NOW, trustSimulatedRoot: otherSim.root.pem }),
      'ERR_VERIFY_SIMULATED_ROOT',
      2,
    );
    const r = verifyQuote(c.quote, prepareCollateral(c.collateral), {
      now: TEST_NOW,
      trustSimulatedRoot: sim.root.pem,
    });
    assert.equal(r.simulated, true);
    assert.equal(r.status, 'SWHardeningNeeded');
  });
});

describe('verifyQuote negative corpus (real phala-sgx-v3 set)', { skip: testdataSkip }, () => {
  const load = (): { quote: Uint8Array; collateral: RawCollateral; options: VerifyOptions } => {
    const set = manifestSets().find((s) => s.id === 'phala-sgx-v3');
    assert.ok(set);
    return {
      quote: setQuote(set),
      collateral: setCollateral(set),
      options: { now: new Date(set.now * 1000) },
    };
  };
  const tdx = (): RawCollateral => {
    const set = manifestSets().find((s) => s.id === 'phala-tdx-v4');
    assert.ok(set);
    return setCollateral(set);
  };

  test('re-formatted real TCB Info and QE Identity (indented) verify to the same result, as in QVL', () => {
    const { quote, collateral, options } = load();
    const indent = (t: string): string => JSON.stringify(JSON.parse(t), null, 2);
    const reformatted = {
      ...collateral,
      tcbInfo: indent(collateral.tcbInfo),
      qeIdentity: indent(collateral.qeIdentity),
    };
    assert.notEqual(reformatted.tcbInfo, collateral.tcbInfo);
    assert.match(reformatted.tcbInfo, /\n {4}"version": 3,/);
    const a = verifyQuote(quote, collateral, options);
    const b = verifyQuote(quote, reformatted, options);
    assert.equal(b.status, a.status);
    assert.deepEqual(b.advisoryIds, a.advisoryIds);
  });

  test('a value changed in the re-formatted real TCB Info → ERR_VERIFY_TCB_INFO_SIGNATURE', () => {
    const { quote, collateral, options } = load();
    const doc = JSON.parse(collateral.tcbInfo) as { tcbInfo: { tcbEvaluationDataNumber: number } };
    doc.tcbInfo.tcbEvaluationDataNumber += 1;
    const edited = { ...collateral, tcbInfo: JSON.stringify(doc, null, 2) };
    expectCode(() => verifyQuote(quote, edited, options), 'ERR_VERIFY_TCB_INFO_SIGNATURE', 6);
    const compact = { ...collateral, tcbInfo: JSON.stringify(doc) };
    expectCode(() => verifyQuote(quote, compact, options), 'ERR_VERIFY_TCB_INFO_SIGNATURE', 6);
  });

  test('edited real QE Identity → ERR_VERIFY_QE_IDENTITY_SIGNATURE', () => {
    const { quote, collateral, options } = load();
    const edited = {
      ...collateral,
      qeIdentity: collateral.qeIdentity.replace('"isvprodid":1', '"isvprodid":2'),
    };
    assert.notEqual(edited.qeIdentity, collateral.qeIdentity);
    expectCode(() => verifyQuote(quote, edited, options), 'ERR_VERIFY_QE_IDENTITY_SIGNATURE', 7);
  });

  test('real quote body byte flipped → ERR_VERIFY_QUOTE_SIGNATURE; QE report byte → ERR_VERIFY_QE_REPORT_SIGNATURE', () => {
    const { quote, collateral, options } = load();
    expectCode(() => verifyQuote(flip(quote, 112), collateral, options), 'ERR_VERIFY_QUOTE_SIGNATURE', 13);
    expectCode(
      () => verifyQuote(flip(quote, 436 + 128 + 64), collateral, options),
      'ERR_VERIFY_QE_REPORT_SIGNATURE',
      10,
    );
  });

  test('Platform CA CRL given for a Processor-CA PCK → ERR_VERIFY_CRL_ISSUER', () => {
    const { quote, collateral, options } = load();
    const t = tdx();
    const mixed = { ...collateral, pckCrl: t.pckCrl, pckCrlIssuerChain: t.pckCrlIssuerChain };
    expectCode(() => verifyQuote(quote, mixed, options), 'ERR_VERIFY_CRL_ISSUER', 3);
  });

  test('TDX TCB Info with an SGX quote → ERR_VERIFY_TCB_INFO_MISMATCH', () => {
    const { quote, collateral, options } = load();
    const t = tdx();
    const mixed = { ...collateral, tcbInfo: t.tcbInfo, tcbInfoIssuerChain: t.tcbInfoIssuerChain };
    expectCode(() => verifyQuote(quote, mixed, options), 'ERR_VERIFY_TCB_INFO_MISMATCH', 8);
  });

  test('TD_QE identity with an SGX quote → ERR_VERIFY_QE_IDENTITY_MISMATCH', () => {
    const { quote, collateral, options } = load();
    const t = tdx();
    const mixed = { ...collateral, qeIdentity: t.qeIdentity, qeIdentityIssuerChain: t.qeIdentityIssuerChain };
    expectCode(() => verifyQuote(quote, mixed, options), 'ERR_VERIFY_QE_IDENTITY_MISMATCH', 12);
  });

  test('real PCK chain with a self-made root of the same subject → ERR_VERIFY_CERT_SIGNATURE', async () => {
    const { quote, collateral, options } = load();
    const q = decodeQuote(quote);
    const pems = q.certification.pckChainPem ?? [];
    assert.equal(pems.length, 3);
    const realRoot = parsePemChain(pems[2] ?? '')[0];
    assert.ok(realRoot);
    const rogue = await issueCert({ subject: realRoot.subjectRaw, ca: true });
    const data = Buffer.from([pems[0], pems[1], rogue.pem].join(''), 'latin1');
    const swapped = encodeQuote({ ...q, certification: { type: 5, data } });
    expectCode(() => verifyQuote(swapped, collateral, options), 'ERR_VERIFY_CERT_SIGNATURE', 2);
  });
});

describe('verifyQuote negative corpus (real phala-tdx-v4 set)', { skip: testdataSkip }, () => {
  test('TDX: body, QE report and TCB Info edits are refused with one code each', () => {
    const set = manifestSets().find((s) => s.id === 'phala-tdx-v4');
    assert.ok(set);
    const quote = setQuote(set);
    const collateral = setCollateral(set);
    const options = { now: new Date(set.now * 1000) };
    assert.equal(verifyQuote(quote, collateral, options).status, 'UpToDate');
    const q = decodeQuote(quote);
    const qeReportAt = q.qeReportRaw.byteOffset - q.raw.byteOffset;
    expectCode(
      () => verifyQuote(flip(quote, 48 + 136), collateral, options),
      'ERR_VERIFY_QUOTE_SIGNATURE',
      13,
    );
    expectCode(
      () => verifyQuote(flip(quote, qeReportAt + 64), collateral, options),
      'ERR_VERIFY_QE_REPORT_SIGNATURE',
      10,
    );
    expectCode(
      () => verifyQuote(flip(quote, 48 + 64 + 3), collateral, options),
      'ERR_VERIFY_TDX_MODULE_MISMATCH',
      9,
    );
    const doc = JSON.parse(collateral.tcbInfo) as { tcbInfo: { tcbEvaluationDataNumber: number } };
    doc.tcbInfo.tcbEvaluationDataNumber += 1;
    const edited = { ...collateral, tcbInfo: JSON.stringify(doc) };
    expectCode(() => verifyQuote(quote, edited, options), 'ERR_VERIFY_TCB_INFO_SIGNATURE', 6);
  });
});
