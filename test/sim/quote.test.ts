/**
 * Simulated quotes end to end through the core: every preset decodes with `decodeQuote` and
 * verifies with `verifyQuote` (simulated root trusted) to its designed TCB status or error; the
 * same quote is refused when the simulated root is not trusted; one flipped byte in each signed
 * region of the quote and of the collateral is refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CERT_DATA_TYPE,
  INTEL_QE_VENDOR_ID,
  VerificationError,
  decodeQuote,
  verifyQuote,
  type RawCollateral,
  type VerificationResult,
} from '../../src/core/index.ts';
import {
  SIM_PCK_CERT_CN,
  SIM_PLATFORM_PRESETS,
  SIM_QE_AUTH_DATA,
  SIM_QE_MRSIGNER,
  SimPlatform,
  createSimDcap,
  createSimPki,
  simPlatformPreset,
} from '../../src/sim/index.ts';

const NOW = new Date('2026-06-01T10:00:00Z');
const dcap = createSimDcap({ seed: 'quote-test' });
const REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);

function quoteOf(name: string): Uint8Array {
  const p = dcap.platform(name);
  return p.quote(p.syntheticReportBody({ reportData: REPORT_DATA }));
}

function verify(quote: Uint8Array, collateral: RawCollateral, trust = true, now = NOW): VerificationResult {
  return verifyQuote(quote, collateral, { now, ...(trust ? { trustSimulatedRoot: dcap.rootPem } : {}) });
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VerificationError, `expected a VerificationError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('verification unexpectedly succeeded');
}

function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[at] = (copy[at] ?? 0) ^ 0x01;
  return copy;
}

describe('simulated quotes decode with the core', () => {
  test('v3, ECDSA P-256, Intel QE vendor ID, PCK chain (type 5) ending in the simulated root', () => {
    const p = dcap.platform('up-to-date');
    const q = decodeQuote(quoteOf('up-to-date'));
    assert.equal(q.header.version, 3);
    assert.equal(q.header.attestationKeyType, 2);
    assert.equal(q.header.teeType, 0);
    assert.equal(q.header.qeSvn, p.config.qeSvn);
    assert.equal(q.header.pceSvn, p.config.pceSvn);
    assert.deepEqual([...q.header.qeVendorId], [...INTEL_QE_VENDOR_ID]);
    assert.deepEqual([...q.header.userData], [...p.qeId, 0, 0, 0, 0]);
    assert.equal(q.body.kind, 'sgx');
    assert.deepEqual([...q.body.report.reportData], [...REPORT_DATA]);
    assert.deepEqual([...q.body.report.cpuSvn], [...p.config.cpuSvn]);
    assert.equal(q.certification.type, CERT_DATA_TYPE.PCK_CERT_CHAIN);
    assert.equal(q.trailingBytes, 0);
    assert.equal(q.qeReport.isvSvn, p.config.qeSvn);
    assert.deepEqual([...q.qeReport.mrSigner], [...SIM_QE_MRSIGNER]);
    assert.deepEqual([...q.qeAuthData], [...SIM_QE_AUTH_DATA]);
    const binding = createHash('sha256').update(q.attestationKey).update(q.qeAuthData).digest();
    assert.deepEqual([...q.qeReport.reportData], [...binding, ...new Array<number>(32).fill(0)]);
    const chain = Buffer.from(q.certification.data).toString('latin1');
    assert.equal(chain.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
    assert.ok(chain.includes(p.pck.pem.trim()) && chain.includes(dcap.rootPem.trim()));
    assert.ok(chain.endsWith('\0'), 'NUL-terminated like Intel QE3 output');
  });

  test('a 384-byte report body is quoted as is; other sizes are refused', () => {
    const p = dcap.platform('up-to-date');
    const body = new Uint8Array(384).fill(0x11);
    body[48] = 0x05; // INIT | MODE64BIT, no DEBUG
    const q = decodeQuote(p.quote(body));
    assert.deepEqual(q.signedData.subarray(48), body);
    assert.throws(() => p.quote(new Uint8Array(383)), { code: 'ERR_SIM_REPORT_INPUT' });
    assert.throws(() => p.syntheticReportBody({ reportData: new Uint8Array(65) }), {
      code: 'ERR_SIM_REPORT_INPUT',
    });
  });

  test('quote v4 (certification data type 6 wrapping type 5) decodes and verifies', () => {
    const p = dcap.platform('up-to-date');
    const raw = p.quote(p.syntheticReportBody({ reportData: REPORT_DATA }), { version: 4 });
    const q = decodeQuote(raw);
    assert.equal(q.header.version, 4);
    assert.equal(q.outerCertification?.type, 6);
    assert.equal(q.certification.type, 5);
    assert.equal(verify(raw, p.collateral({ now: NOW })).status, 'UpToDate');
  });
});

describe('every preset reaches its designed outcome through verifyQuote', () => {
  for (const preset of SIM_PLATFORM_PRESETS) {
    const name = preset.config.name;
    test(`${name}: ${'status' in preset.expected ? preset.expected.status : preset.expected.errorCode}`, () => {
      const quote = quoteOf(name);
      const collateral = dcap.platform(name).collateral({ now: NOW });
      if ('status' in preset.expected) {
        const r = verify(quote, collateral);
        assert.equal(r.status, preset.expected.status);
        assert.deepEqual([...r.advisoryIds].sort(), [...preset.expected.advisoryIds].sort());
        assert.equal(r.simulated, true);
        assert.equal(r.fmspc.toUpperCase(), preset.config.fmspc);
        assert.deepEqual([...r.report.reportData], [...REPORT_DATA]);
      } else {
        assert.equal(
          codeOf(() => verify(quote, collateral)),
          preset.expected.errorCode,
        );
      }
      assert.equal(
        codeOf(() => verify(quote, collateral, false)),
        'ERR_VERIFY_SIMULATED_ROOT',
      );
    });
  }

  test('all six statuses of the issue are covered by presets', () => {
    const statuses = new Set(
      SIM_PLATFORM_PRESETS.flatMap((p) => ('status' in p.expected ? [p.expected.status] : [])),
    );
    for (const s of [
      'UpToDate',
      'SWHardeningNeeded',
      'ConfigurationNeeded',
      'ConfigurationAndSWHardeningNeeded',
      'OutOfDate',
      'Revoked',
    ]) {
      assert.ok(statuses.has(s as never), s);
    }
  });

  test('a PCK certificate name says it is simulated', () => {
    assert.match(dcap.platform('up-to-date').pck.x509.subject, new RegExp(SIM_PCK_CERT_CN));
  });
});

describe('trust anchor', () => {
  const quote = quoteOf('up-to-date');
  const collateral = dcap.platform('up-to-date').collateral({ now: NOW });

  test('another simulated root (other seed) is not accepted for this chain', () => {
    const other = createSimPki({ seed: 'someone else' }).rootPem;
    assert.notEqual(
      (() => {
        try {
          return verifyQuote(quote, collateral, { now: NOW, trustSimulatedRoot: other }).status;
        } catch (err) {
          return (err as VerificationError).code;
        }
      })(),
      'UpToDate',
    );
    assert.equal(
      codeOf(() => verifyQuote(quote, collateral, { now: NOW, trustSimulatedRoot: other })),
      'ERR_VERIFY_SIMULATED_ROOT',
    );
  });

  test('the root is accepted as PEM or DER', () => {
    const der = dcap.pki.root.der;
    assert.equal(verifyQuote(quote, collateral, { now: NOW, trustSimulatedRoot: der }).status, 'UpToDate');
  });

  test('same seed, same platform keys and root: quotes of one process verify with the root of another', () => {
    const twin = createSimDcap({ seed: 'quote-test', platforms: [simPlatformPreset('up-to-date').config] });
    const p = twin.platform('up-to-date');
    assert.deepEqual(p.attestationKey.publicRaw, dcap.platform('up-to-date').attestationKey.publicRaw);
    assert.deepEqual(p.pck.der, dcap.platform('up-to-date').pck.der);
    assert.equal(twin.rootPem, dcap.rootPem);
    const q = p.quote(p.syntheticReportBody({ reportData: REPORT_DATA }));
    assert.equal(verify(q, collateral).status, 'UpToDate');
  });
});

describe('collateral validity follows the given issue time', () => {
  const quote = quoteOf('up-to-date');
  const collateral = dcap.platform('up-to-date').collateral({ now: NOW });

  test('valid 30 days after issue, expired after', () => {
    assert.equal(
      verify(quote, collateral, true, new Date(NOW.getTime() + 29 * 86_400_000)).status,
      'UpToDate',
    );
    assert.equal(
      codeOf(() => verify(quote, collateral, true, new Date(NOW.getTime() + 31 * 86_400_000))),
      'ERR_VERIFY_COLLATERAL_EXPIRED',
    );
  });

  test('TCB Info and QE Identity carry issueDate = now and nextUpdate = now + 30 days', () => {
    const tcb = JSON.parse(collateral.tcbInfo) as { tcbInfo: { issueDate: string; nextUpdate: string } };
    assert.equal(tcb.tcbInfo.issueDate, '2026-06-01T10:00:00Z');
    assert.equal(tcb.tcbInfo.nextUpdate, '2026-07-01T10:00:00Z');
    const qe = JSON.parse(collateral.qeIdentity) as {
      enclaveIdentity: { issueDate: string; nextUpdate: string };
    };
    assert.equal(qe.enclaveIdentity.issueDate, '2026-06-01T10:00:00Z');
  });

  test('a platform outside a SimDcap has no collateral source', () => {
    const pki = createSimPki({ seed: 'lonely' });
    const p = SimPlatform.create(pki, simPlatformPreset('up-to-date').config);
    assert.throws(() => p.collateral(), TypeError);
  });
});

describe('one flipped byte in each signed region is refused', () => {
  const quote = quoteOf('up-to-date');
  const collateral = dcap.platform('up-to-date').collateral({ now: NOW });
  const q = decodeQuote(quote);
  const certDataStart = 1014 + q.qeAuthData.length + 6;

  assert.equal(verify(quote, collateral).status, 'UpToDate');

  const REGIONS: { name: string; at: number; codes: string[] }[] = [
    { name: 'header (QE SVN)', at: 8, codes: ['ERR_VERIFY_QUOTE_SIGNATURE', 'ERR_VERIFY_TCB_NOT_SUPPORTED'] },
    { name: 'header (user data)', at: 30, codes: ['ERR_VERIFY_QUOTE_SIGNATURE'] },
    { name: 'body (MRENCLAVE)', at: 48 + 64, codes: ['ERR_VERIFY_QUOTE_SIGNATURE'] },
    { name: 'body (REPORTDATA)', at: 48 + 320 + 5, codes: ['ERR_VERIFY_QUOTE_SIGNATURE'] },
    { name: 'ISV signature', at: 436 + 10, codes: ['ERR_VERIFY_QUOTE_SIGNATURE'] },
    { name: 'attestation key', at: 500 + 3, codes: ['ERR_VERIFY_QE_REPORT_DATA'] },
    { name: 'QE report (MRSIGNER)', at: 564 + 128, codes: ['ERR_VERIFY_QE_REPORT_SIGNATURE'] },
    { name: 'QE report (REPORTDATA)', at: 564 + 320, codes: ['ERR_VERIFY_QE_REPORT_SIGNATURE'] },
    { name: 'QE report signature', at: 948 + 40, codes: ['ERR_VERIFY_QE_REPORT_SIGNATURE'] },
    { name: 'QE authentication data', at: 1014 + 4, codes: ['ERR_VERIFY_QE_REPORT_DATA'] },
  ];
  for (const region of REGIONS) {
    test(`${region.name} (byte ${region.at}) → ${region.codes.join(' or ')}`, () => {
      const code = codeOf(() => verify(flipped(quote, region.at), collateral));
      assert.ok(region.codes.includes(code), `${region.name}: got ${code}`);
    });
  }

  test('PCK certificate in the certification data (one base64 character changed)', () => {
    const text = Buffer.from(quote).toString('latin1');
    const leafStart = text.indexOf('-----BEGIN CERTIFICATE-----', certDataStart) + 28;
    const at = leafStart + 300; // inside the TBS (subject public key / extensions)
    const copy = Uint8Array.from(quote);
    copy[at] = copy[at] === 0x41 ? 0x42 : 0x41;
    const code = codeOf(() => verify(copy, collateral));
    assert.ok(
      ['ERR_VERIFY_CERT_SIGNATURE', 'ERR_VERIFY_CERT_FORMAT', 'ERR_VERIFY_CHAIN_INCOMPLETE'].includes(code),
      code,
    );
  });

  test('every 7th byte of header, body and signature data is covered by a signature or binding', () => {
    const end = certDataStart;
    for (let at = 0; at < end; at += 7) {
      assert.throws(() => verify(flipped(quote, at), collateral), VerificationError, `byte ${at} accepted`);
    }
  });

  function editJson(text: string, from: string, to: string): string {
    assert.ok(text.includes(from), from);
    return text.replace(from, to);
  }

  test('TCB Info body → ERR_VERIFY_TCB_INFO_SIGNATURE', () => {
    const tcbInfo = editJson(
      collateral.tcbInfo,
      '"tcbEvaluationDataNumber":1',
      '"tcbEvaluationDataNumber":2',
    );
    assert.equal(
      codeOf(() => verify(quote, { ...collateral, tcbInfo })),
      'ERR_VERIFY_TCB_INFO_SIGNATURE',
    );
    const status = editJson(collateral.tcbInfo, '"tcbStatus":"OutOfDate"', '"tcbStatus":"UpToDate!"');
    assert.ok(
      ['ERR_VERIFY_TCB_INFO_SIGNATURE', 'ERR_VERIFY_TCB_INFO_INVALID'].includes(
        codeOf(() => verify(quote, { ...collateral, tcbInfo: status })),
      ),
    );
  });

  test('TCB Info signature → ERR_VERIFY_TCB_INFO_SIGNATURE', () => {
    const i = collateral.tcbInfo.lastIndexOf('"signature":"') + 14;
    const c = collateral.tcbInfo[i] === 'a' ? 'b' : 'a';
    const tcbInfo = collateral.tcbInfo.slice(0, i) + c + collateral.tcbInfo.slice(i + 1);
    assert.equal(
      codeOf(() => verify(quote, { ...collateral, tcbInfo })),
      'ERR_VERIFY_TCB_INFO_SIGNATURE',
    );
  });

  test('QE Identity body → ERR_VERIFY_QE_IDENTITY_SIGNATURE', () => {
    const qeIdentity = editJson(collateral.qeIdentity, '"isvprodid":1', '"isvprodid":2');
    assert.equal(
      codeOf(() => verify(quote, { ...collateral, qeIdentity })),
      'ERR_VERIFY_QE_IDENTITY_SIGNATURE',
    );
  });

  test('PCK CRL and Root CA CRL signatures → ERR_VERIFY_CRL_SIGNATURE', () => {
    const pckCrl = flipped(collateral.pckCrl, collateral.pckCrl.length - 3);
    assert.equal(
      codeOf(() => verify(quote, { ...collateral, pckCrl })),
      'ERR_VERIFY_CRL_SIGNATURE',
    );
    const rootCaCrl = flipped(collateral.rootCaCrl, collateral.rootCaCrl.length - 3);
    assert.equal(
      codeOf(() => verify(quote, { ...collateral, rootCaCrl })),
      'ERR_VERIFY_CRL_SIGNATURE',
    );
  });

  test('TCB signing certificate in the issuer chain', () => {
    const chain = collateral.tcbInfoIssuerChain;
    const at = chain.indexOf('-----BEGIN CERTIFICATE-----') + 28 + 300;
    const tcbInfoIssuerChain = chain.slice(0, at) + (chain[at] === 'A' ? 'B' : 'A') + chain.slice(at + 1);
    assert.throws(() => verify(quote, { ...collateral, tcbInfoIssuerChain }), VerificationError);
  });
});
