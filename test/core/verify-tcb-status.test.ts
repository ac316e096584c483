/** TCB level selection and status merges (spec/dcap.md §4), plus PCK extension parsing. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  TCB_STATUSES,
  decodePckExtensions,
  decodeQuote,
  mergeQeStatus,
  mergeTdxModuleStatus,
  parsePemChain,
  pckExtensionsOf,
  selectIsvSvnLevel,
  selectSgxLevel,
  selectTdxLevel,
  type TcbLevel,
  type TcbStatus,
} from '../../src/core/index.ts';
import { DEFAULT_PLATFORM, sgxExtensionValue } from '../support/test-pki.ts';
import { testdataSkip } from '../support/testdata.ts';
import { manifestSets, setQuote } from './verify-helpers.ts';

const lvl = (sgx: number[], pce: number, status: TcbStatus, tdx?: number[]): TcbLevel => ({
  sgxComponents: [...sgx, ...new Array<number>(16 - sgx.length).fill(0)],
  pceSvn: pce,
  tdxComponents: tdx === undefined ? undefined : [...tdx, ...new Array<number>(16 - tdx.length).fill(0)],
  tcbDate: '2025-01-01T00:00:00Z',
  tcbStatus: status,
  advisoryIds: [],
});

describe('TCB level selection', () => {
  const levels = [
    lvl([5, 5, 5], 13, 'UpToDate'),
    lvl([5, 3, 5], 13, 'SWHardeningNeeded'),
    lvl([1, 1, 1], 5, 'OutOfDate'),
  ];
  const comps = (c: number[]): number[] => [...c, ...new Array<number>(16 - c.length).fill(0)];

  test('first level where every component and PCESVN are ≥ wins', () => {
    assert.equal(selectSgxLevel(levels, comps([5, 5, 5]), 13)?.tcbStatus, 'UpToDate');
    assert.equal(selectSgxLevel(levels, comps([9, 4, 9]), 13)?.tcbStatus, 'SWHardeningNeeded');
    assert.equal(selectSgxLevel(levels, comps([5, 5, 5]), 12)?.tcbStatus, 'OutOfDate');
  });

  test('no lexicographic comparison: one lower component disqualifies a level', () => {
    assert.equal(selectSgxLevel(levels, comps([9, 9, 4]), 13)?.tcbStatus, 'OutOfDate');
  });

  test('no matching level is undefined (TCB not supported), not OutOfDate', () => {
    assert.equal(selectSgxLevel(levels, comps([0, 9, 9]), 13), undefined);
  });

  test('TDX: bytes 0 and 1 of TEE_TCB_SVN are skipped when byte 1 > 0', () => {
    const tdxLevels = [lvl([0], 0, 'UpToDate', [9, 9, 3]), lvl([0], 0, 'OutOfDate', [0, 0, 0])];
    assert.equal(selectTdxLevel(tdxLevels, comps([0]), 0, Uint8Array.of(1, 1, 3))?.tcbStatus, 'UpToDate');
    assert.equal(selectTdxLevel(tdxLevels, comps([0]), 0, Uint8Array.of(1, 0, 3))?.tcbStatus, 'OutOfDate');
    assert.equal(selectTdxLevel(tdxLevels, comps([0]), 0, Uint8Array.of(9, 1, 2))?.tcbStatus, 'OutOfDate');
  });

  test('ISVSVN levels: first with isvsvn ≤ the SVN', () => {
    const levels2 = [
      { isvSvn: 8, tcbDate: '', tcbStatus: 'UpToDate' as const, advisoryIds: [] },
      { isvSvn: 2, tcbDate: '', tcbStatus: 'OutOfDate' as const, advisoryIds: [] },
    ];
    assert.equal(selectIsvSvnLevel(levels2, 9)?.tcbStatus, 'UpToDate');
    assert.equal(selectIsvSvnLevel(levels2, 7)?.tcbStatus, 'OutOfDate');
    assert.equal(selectIsvSvnLevel(levels2, 1), undefined);
  });
});

describe('status merges', () => {
  test("QE merge follows Intel's table for every platform status", () => {
    for (const p of TCB_STATUSES) {
      assert.equal(mergeQeStatus(p, 'UpToDate'), p);
      assert.equal(mergeQeStatus(p, 'Revoked'), 'Revoked');
    }
    assert.equal(mergeQeStatus('UpToDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(mergeQeStatus('SWHardeningNeeded', 'OutOfDate'), 'OutOfDate');
    assert.equal(mergeQeStatus('ConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(
      mergeQeStatus('ConfigurationAndSWHardeningNeeded', 'OutOfDate'),
      'OutOfDateConfigurationNeeded',
    );
    assert.equal(mergeQeStatus('OutOfDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(mergeQeStatus('OutOfDateConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
  });
  test('TDX module merge', () => {
    assert.equal(mergeTdxModuleStatus('UpToDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(mergeTdxModuleStatus('ConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(mergeTdxModuleStatus('SWHardeningNeeded', 'Revoked'), 'Revoked');
    assert.equal(mergeTdxModuleStatus('SWHardeningNeeded', 'UpToDate'), 'SWHardeningNeeded');
  });
});

describe('PCK SGX extension', () => {
  test('round trip of the test encoding', () => {
    const ext = decodePckExtensions(sgxExtensionValue(DEFAULT_PLATFORM));
    assert.deepEqual(ext.tcbComponents, DEFAULT_PLATFORM.components);
    assert.equal(ext.pceSvn, 13);
    assert.equal(ext.fmspcHex, DEFAULT_PLATFORM.fmspc.toLowerCase());
    assert.equal(ext.sgxType, 'Standard');
  });
  test('malformed values are refused with the field named', () => {
    const good = sgxExtensionValue(DEFAULT_PLATFORM);
    assert.throws(() => decodePckExtensions(good.subarray(0, good.length - 3)), /SGX extension/);
    assert.throws(() => decodePckExtensions(Uint8Array.of(0x04, 0x00)), /not a SEQUENCE/);
    assert.throws(
      () => decodePckExtensions(sgxExtensionValue({ ...DEFAULT_PLATFORM, fmspc: '00A0671100' })),
      /FMSPC is 5 bytes/,
    );
  });
  test('real Platform-CA PCK (TDX): instance ID and configuration present', { skip: testdataSkip }, () => {
    const set = manifestSets().find((s) => s.id === 'phala-tdx-v4');
    assert.ok(set);
    const q = decodeQuote(setQuote(set));
    const leaf = parsePemChain((q.certification.pckChainPem ?? []).join(''))[0];
    assert.ok(leaf);
    const ext = pckExtensionsOf(leaf);
    assert.equal(ext.fmspcHex, 'b0c06f000000');
    assert.equal(ext.platformInstanceId?.length, 16);
    assert.ok(ext.configuration !== undefined);
    assert.equal(ext.sgxType, 'Scalable');
  });
});
