/**
 * A debug TD (TDX TDATTRIBUTES bit 0, DEBUG) is refused at step 15 unless
 * `dangerous.allowDebugEnclave` is given, and then the relaxation is reported. The TDX v4 quotes are
 * built and signed end to end with the test PKI (TDX TCB Info with a TDX module identity, TD_QE
 * identity), so every other step passes and only the DEBUG bit differs between the two quotes.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { KeyObject, createHash, webcrypto } from 'node:crypto';
import {
  INTEL_QE_VENDOR_ID,
  TD_ATTRIBUTE_FLAGS,
  VerificationError,
  emptyReportBody,
  encodeQuote,
  encodeQuoteSignedData,
  encodeReportBody,
  pemChainToCertificationData,
  verifyQuote,
  type QuoteHeader,
  type RawCollateral,
  type TdReport,
  type VerifyOptions,
} from '../../src/core/index.ts';
import {
  DEFAULT_PLATFORM,
  QE_MRSIGNER,
  TEST_NOW,
  createTestPki,
  defaultQeIdentity,
  defaultTcbInfo,
  makeCrl,
  signText,
  signedDocument,
  type TestPki,
} from '../support/test-pki.ts';

const zeros = (n: number): Uint8Array => new Uint8Array(n);

/** TDX TCB Info v3: the SGX levels of the default test TCB Info plus TDX components and module. */
function tdxTcbInfo(): Record<string, unknown> {
  const base = defaultTcbInfo();
  const levels = (base['tcbLevels'] as { tcb: Record<string, unknown> }[]).map((l) => ({
    ...l,
    tcb: { ...l.tcb, tdxtcbcomponents: new Array(16).fill({ svn: 0 }) },
  }));
  return {
    ...base,
    id: 'TDX',
    tdxModule: {
      mrsigner: '00'.repeat(48),
      attributes: '0000000000000000',
      attributesMask: 'FFFFFFFFFFFFFFFF',
    },
    tcbLevels: levels,
  };
}

interface TdxCase {
  readonly quote: Uint8Array;
  readonly collateral: RawCollateral;
  readonly options: VerifyOptions;
}

async function buildTdxCase(pki: TestPki, tdAttributes: bigint): Promise<TdxCase> {
  const att = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const attPriv = KeyObject.from(att.privateKey);
  const jwk = KeyObject.from(att.publicKey).export({ format: 'jwk' });
  const attestationKey = Uint8Array.from([
    ...Buffer.from(jwk.x ?? '', 'base64url'),
    ...Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  const qeAuthData = Uint8Array.from({ length: 32 }, (_, i) => i);
  const binding = createHash('sha256').update(attestationKey).update(qeAuthData).digest();
  const qeReportRaw = encodeReportBody(
    emptyReportBody({
      cpuSvn: Uint8Array.from(DEFAULT_PLATFORM.components),
      attributes: { flags: 0x15n, xfrm: 0xe7n },
      mrSigner: new Uint8Array(Buffer.from(QE_MRSIGNER, 'hex')),
      isvProdId: 1,
      isvSvn: 8,
      reportData: Uint8Array.from([...binding, ...zeros(32)]),
    }),
  );
  const report: TdReport = {
    version: '1.0',
    teeTcbSvn: zeros(16),
    mrSeam: new Uint8Array(48).fill(0x44),
    mrSignerSeam: zeros(48),
    seamAttributes: 0n,
    tdAttributes,
    xfam: 0xe7n,
    mrTd: new Uint8Array(48).fill(0x55),
    mrConfigId: zeros(48),
    mrOwner: zeros(48),
    mrOwnerConfig: zeros(48),
    rtmr: [zeros(48), zeros(48), zeros(48), zeros(48)],
    reportData: new Uint8Array(64).fill(0x33),
  };
  const header: QuoteHeader = {
    version: 4,
    attestationKeyType: 2,
    teeType: 0x81,
    qeSvn: 0,
    pceSvn: 0,
    qeVendorId: INTEL_QE_VENDOR_ID,
    userData: zeros(20),
  };
  const body = { kind: 'td10' as const, report };
  const quote = encodeQuote({
    header,
    body,
    signature: signText(attPriv, encodeQuoteSignedData({ header, body })),
    attestationKey,
    qeReport: qeReportRaw,
    qeReportSignature: signText(pki.pck.privateKey, qeReportRaw),
    qeAuthData,
    certification: {
      type: 5,
      data: pemChainToCertificationData([pki.pck.pem, pki.processorCa.pem, pki.root.pem]),
    },
  });
  const collateral: RawCollateral = {
    tcbInfo: signedDocument('tcbInfo', JSON.stringify(tdxTcbInfo()), pki.tcbSigning.privateKey),
    tcbInfoIssuerChain: pki.tcbSigning.pem + pki.root.pem,
    qeIdentity: signedDocument(
      'enclaveIdentity',
      JSON.stringify({ ...defaultQeIdentity(), id: 'TD_QE' }),
      pki.tcbSigning.privateKey,
    ),
    qeIdentityIssuerChain: pki.tcbSigning.pem + pki.root.pem,
    pckCrl: await makeCrl(pki.processorCa),
    pckCrlIssuerChain: pki.processorCa.pem + pki.root.pem,
    rootCaCrl: await makeCrl(pki.root),
  };
  return { quote, collateral, options: { now: TEST_NOW, dangerous: { extraTrustAnchors: [pki.root.pem] } } };
}

describe('verifyQuote: debug TDs (TDATTRIBUTES.DEBUG)', () => {
  let production: TdxCase;
  let debug: TdxCase;
  before(async () => {
    const pki = await createTestPki();
    production = await buildTdxCase(pki, TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE);
    debug = await buildTdxCase(pki, TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE | TD_ATTRIBUTE_FLAGS.DEBUG);
  });

  test('control: the same TD without DEBUG verifies as a TDX quote, with no relaxation', () => {
    const r = verifyQuote(production.quote, production.collateral, production.options);
    assert.equal(r.tee, 'TDX');
    assert.equal(r.status, 'SWHardeningNeeded');
    assert.deepEqual(r.relaxations, ['dangerous.extraTrustAnchors']);
  });

  test('a debug TD is refused: ERR_VERIFY_DEBUG_ENCLAVE at step 15, naming the TD', () => {
    assert.throws(
      () => verifyQuote(debug.quote, debug.collateral, debug.options),
      (e: unknown) => {
        assert.ok(e instanceof VerificationError, String(e));
        assert.equal(e.code, 'ERR_VERIFY_DEBUG_ENCLAVE', e.message);
        assert.equal(e.step, 15);
        assert.match(e.message, /TD runs in debug mode/);
        return true;
      },
    );
  });

  test('allowDebugEnclave: false is the same as leaving it out', () => {
    assert.throws(
      () =>
        verifyQuote(debug.quote, debug.collateral, {
          ...debug.options,
          dangerous: { ...debug.options.dangerous, allowDebugEnclave: false },
        }),
      (e: unknown) => e instanceof VerificationError && e.code === 'ERR_VERIFY_DEBUG_ENCLAVE',
    );
  });

  test('dangerous.allowDebugEnclave accepts the debug TD and reports the relaxation', () => {
    const r = verifyQuote(debug.quote, debug.collateral, {
      ...debug.options,
      dangerous: { ...debug.options.dangerous, allowDebugEnclave: true },
    });
    assert.equal(r.tee, 'TDX');
    assert.equal(r.status, 'SWHardeningNeeded');
    assert.equal(((r.report as TdReport).tdAttributes & TD_ATTRIBUTE_FLAGS.DEBUG) !== 0n, true);
    assert.deepEqual(r.relaxations, ['dangerous.extraTrustAnchors', 'dangerous.allowDebugEnclave']);
  });

  test('the relaxation is not reported for a production TD even when allowed', () => {
    const r = verifyQuote(production.quote, production.collateral, {
      ...production.options,
      dangerous: { ...production.options.dangerous, allowDebugEnclave: true },
    });
    assert.deepEqual(r.relaxations, ['dangerous.extraTrustAnchors']);
  });
});
