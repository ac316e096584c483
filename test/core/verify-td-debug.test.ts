/**
 * A debug TD (TDX TDATTRIBUTES bit 0, DEBUG) is refused at step 15 unless
 * `dangerous.allowDebugEnclave` is given, and then the relaxation is reported. The TDX v4 quotes are
 * built and signed end to end with the test PKI (TDX TCB Info with a TDX module identity, TD_QE
 * identity), so every other step passes and only the DEBUG bit differs between the two quotes.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { TD_ATTRIBUTE_FLAGS, VerificationError, verifyQuote, type TdReport } from '../../src/core/index.ts';
import { createTestPki } from '../support/test-pki.ts';
import { buildTdxCase, tdxTcbInfo, type TdxCase } from './tdx-helpers.ts';

/** TDX TCB Info v3 whose top-level tdxModule matches the generated TDs (zero signer and attributes). */
const TCB_INFO = tdxTcbInfo({
  tdxModule: {
    mrsigner: '00'.repeat(48),
    attributes: '0000000000000000',
    attributesMask: 'FFFFFFFFFFFFFFFF',
  },
});

describe('verifyQuote: debug TDs (TDATTRIBUTES.DEBUG)', () => {
  let production: TdxCase;
  let debug: TdxCase;
  before(async () => {
    const pki = await createTestPki();
    production = await buildTdxCase(pki, TCB_INFO, { tdAttributes: TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE });
    debug = await buildTdxCase(pki, TCB_INFO, {
      tdAttributes: TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE | TD_ATTRIBUTE_FLAGS.DEBUG,
    });
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
