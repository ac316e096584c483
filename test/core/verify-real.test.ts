/**
 * Every DCAP set of shared/testdata/dcap/manifest.json through verifyQuote at its fixed `now`:
 * exact status and advisory IDs, expected failures with their code, and the strict/relaxed
 * handling of the stale-CRL set.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  VerificationError,
  prepareCollateral,
  verifyQuote,
  type VerificationResult,
} from '../../src/core/index.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestSets, setCollateral, setQuote, type ManifestSet } from './verify-helpers.ts';

const sets =
  testdataSkip === false ? manifestSets().filter((s) => s.collateral !== null && s.expected !== null) : [];

function verifySet(set: ManifestSet, allowExpired = false, nowMs = set.now * 1000): VerificationResult {
  return verifyQuote(setQuote(set), setCollateral(set), {
    now: new Date(nowMs),
    dangerous: { allowExpiredCollateral: allowExpired },
  });
}

describe('verifyQuote on the real DCAP sets', { skip: testdataSkip }, () => {
  test('the manifest has the expected SGX and TDX sets', () => {
    const ids = sets.map((s) => s.id);
    for (const id of [
      'phala-sgx-v3',
      'mobilecoin-sgx-v3',
      'phala-tdx-v4',
      'phala-tdx-v5-outdated',
      'gotdx-tdx-v4-spr-e4',
    ]) {
      assert.ok(ids.includes(id), id);
    }
  });

  for (const set of sets) {
    const exp = set.expected;
    if (exp === null) continue;
    if (exp.error === true) {
      test(`${set.id}: fails with ERR_VERIFY_TCB_NOT_SUPPORTED (${exp.errorMatch ?? ''})`, () => {
        assert.throws(
          () => verifySet(set),
          (e: unknown) =>
            e instanceof VerificationError &&
            e.code === 'ERR_VERIFY_TCB_NOT_SUPPORTED' &&
            e.step === 14 &&
            e.message.toLowerCase().includes(exp.errorMatch ?? ''),
        );
      });
      continue;
    }
    if (set.strictExpected?.collateralExpired === true) {
      test(`${set.id}: expired collateral fails by default`, () => {
        assert.throws(
          () => verifySet(set),
          (e: unknown) => e instanceof VerificationError && e.code === 'ERR_VERIFY_COLLATERAL_EXPIRED',
        );
      });
      test(`${set.id}: with allowExpiredCollateral gives ${exp.status ?? ''} and collateralExpired`, () => {
        const r = verifySet(set, true);
        assert.equal(r.status, exp.status);
        assert.deepEqual(r.advisoryIds, exp.advisoryIds);
        assert.equal(r.collateralExpired, true);
        assert.deepEqual(r.relaxations, ['dangerous.allowExpiredCollateral']);
      });
      continue;
    }
    test(`${set.id}: ${exp.status ?? ''} ${JSON.stringify(exp.advisoryIds)}`, () => {
      const r = verifySet(set);
      assert.equal(r.status, exp.status);
      assert.deepEqual(r.advisoryIds, exp.advisoryIds);
      assert.equal(r.collateralExpired, false);
      assert.deepEqual(r.relaxations, []);
      assert.equal(r.simulated, false);
      assert.equal(r.tee, set.quoteInfo.teeType);
      assert.ok(r.collateralExpiry.getTime() >= set.now * 1000);
    });
    test(`${set.id}: one second after the collateral window it fails as expired`, () => {
      const r = verifySet(set);
      const after = r.collateralExpiry.getTime() + 1000;
      assert.throws(
        () => verifySet(set, false, after),
        (e: unknown) => e instanceof VerificationError && e.code === 'ERR_VERIFY_COLLATERAL_EXPIRED',
      );
      const relaxed = verifySet(set, true, after);
      assert.equal(relaxed.collateralExpired, true);
      assert.equal(relaxed.status, exp.status);
    });
  }

  test('phala-sgx-v3: status details (platform, QE, TCB date, PCK fields)', () => {
    const set = sets.find((s) => s.id === 'phala-sgx-v3');
    assert.ok(set);
    const r = verifySet(set);
    assert.equal(r.platformStatus, 'ConfigurationAndSWHardeningNeeded');
    assert.equal(r.qeStatus, 'UpToDate');
    assert.equal(r.fmspc, '00a067110000');
    assert.equal(r.pck.pceSvn, 13);
    assert.deepEqual(r.pck.tcbComponents.slice(0, 6), [11, 11, 2, 2, 255, 1]);
    assert.equal(r.pck.sgxType, 'Standard');
    assert.equal(r.tcbEvaluationDataNumber, 17);
  });

  test('prepared collateral gives the same result as raw collateral, repeatedly', () => {
    for (const set of sets.filter(
      (s) => s.expected?.status !== undefined && s.strictExpected === undefined,
    )) {
      const prepared = prepareCollateral(setCollateral(set));
      const opts = { now: new Date(set.now * 1000) };
      const a = verifyQuote(setQuote(set), prepared, opts);
      const b = verifyQuote(setQuote(set), prepared, opts);
      const c = verifyQuote(setQuote(set), setCollateral(set), opts);
      assert.deepEqual([a.status, a.advisoryIds], [b.status, b.advisoryIds]);
      assert.deepEqual([a.status, a.advisoryIds], [c.status, c.advisoryIds]);
    }
  });
});
