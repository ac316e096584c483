/**
 * The TDX module identity (verification steps 9 and 14), specified with generated TDX v4 quotes
 * signed end to end by the test PKI. Each case changes one thing: the TD's TEE_TCB_SVN (its
 * module SVN in byte 0 and module major version in byte 1), MRSIGNERSEAM, SEAMATTRIBUTES, or the
 * TCB Info's `tdxModule` / `tdxModuleIdentities`.
 *
 * The rules: a TD whose module major version is 0 is checked against the top-level `tdxModule`;
 * any other major version N is checked against the identity whose id is `TDX_0N` (chosen by id,
 * wherever it is in the list), and its TCB levels (keyed by the module SVN) merge into the status.
 * A missing identity, another MRSIGNERSEAM, SEAMATTRIBUTES that differ from the identity's
 * attributes under its mask, or SEAMATTRIBUTES that are not zero are refused with
 * ERR_VERIFY_TDX_MODULE_MISMATCH at step 9.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  VerificationError,
  verifyQuote,
  type VerificationErrorCode,
  type VerificationResult,
} from '../../src/core/index.ts';
import { createTestPki, type TestPki } from '../support/test-pki.ts';
import { SEAM_SIGNER, buildTdxCase, tdxTcbInfo, type ModuleJson, type TdxCase } from './tdx-helpers.ts';

const hex = (byte: number, n: number): string => byte.toString(16).padStart(2, '0').repeat(n).toUpperCase();

/** Another signer, for identities that must not be chosen. */
const OTHER_SIGNER = 0x5a;

const module = (o: Partial<ModuleJson> = {}): ModuleJson => ({
  mrsigner: hex(SEAM_SIGNER, 48),
  attributes: '0000000000000000',
  attributesMask: 'FFFFFFFFFFFFFFFF',
  ...o,
});

interface ModuleLevel {
  isvsvn: number;
  status: string;
  advisories?: string[];
}

const identity = (
  id: string,
  levels: ModuleLevel[],
  o: Partial<ModuleJson> = {},
): Record<string, unknown> => ({
  id,
  ...module(o),
  tcbLevels: levels.map((l) => ({
    tcb: { isvsvn: l.isvsvn },
    tcbDate: '2025-05-14T00:00:00Z',
    tcbStatus: l.status,
    ...(l.advisories === undefined ? {} : { advisoryIDs: l.advisories }),
  })),
});

const verify = (c: TdxCase): VerificationResult => verifyQuote(c.quote, c.collateral, c.options);

function expectRefused(c: TdxCase, code: VerificationErrorCode, step: number): VerificationError {
  let caught: unknown;
  assert.throws(
    () => verify(c),
    (e: unknown) => {
      caught = e;
      return true;
    },
  );
  assert.ok(caught instanceof VerificationError, `expected a VerificationError, got ${String(caught)}`);
  assert.equal(caught.code, code, `${caught.code} at step ${caught.step}: ${caught.message}`);
  assert.equal(caught.step, step, caught.message);
  return caught;
}

let pki: TestPki;
before(async () => {
  pki = await createTestPki();
});

describe('TDX module major version 0: the top-level tdxModule', () => {
  test('control: a TD matching tdxModule verifies with the platform status only', async () => {
    const r = verify(await buildTdxCase(pki, tdxTcbInfo({ tdxModule: module() })));
    assert.equal(r.tee, 'TDX');
    assert.equal(r.status, 'SWHardeningNeeded');
    assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1']);
  });

  test('a TCB Info without tdxModule is refused with ERR_VERIFY_TDX_MODULE_MISMATCH (not a crash)', async () => {
    const c = await buildTdxCase(pki, tdxTcbInfo({}));
    expectRefused(c, 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
  });

  test('tdxModuleIdentities do not stand in for a missing tdxModule', async () => {
    const info = tdxTcbInfo({
      tdxModuleIdentities: [identity('TDX_01', [{ isvsvn: 0, status: 'UpToDate' }])],
    });
    expectRefused(await buildTdxCase(pki, info), 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
  });

  test('another MRSIGNERSEAM is refused', async () => {
    const c = await buildTdxCase(pki, tdxTcbInfo({ tdxModule: module() }), {
      mrSignerSeam: new Uint8Array(48).fill(OTHER_SIGNER),
    });
    const e = expectRefused(c, 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
    assert.match(e.message, /MRSIGNERSEAM/);
  });

  test('SEAMATTRIBUTES zero are refused when the identity requires a set bit under its mask', async () => {
    const info = tdxTcbInfo({ tdxModule: module({ attributes: '0100000000000000' }) });
    const e = expectRefused(await buildTdxCase(pki, info), 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
    assert.match(e.message, /do not match/);
  });

  test('a set bit the identity requires in a later byte is checked too', async () => {
    const info = tdxTcbInfo({ tdxModule: module({ attributes: '0000000000000080' }) });
    expectRefused(await buildTdxCase(pki, info), 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
  });

  test('SEAMATTRIBUTES that differ under the mask are refused', async () => {
    const c = await buildTdxCase(pki, tdxTcbInfo({ tdxModule: module() }), { seamAttributes: 2n });
    const e = expectRefused(c, 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
    assert.match(e.message, /do not match/);
  });

  test('SEAMATTRIBUTES outside the mask still have to be zero', async () => {
    const info = tdxTcbInfo({ tdxModule: module({ attributesMask: '0000000000000000' }) });
    const c = await buildTdxCase(pki, info, { seamAttributes: 2n });
    const e = expectRefused(c, 'ERR_VERIFY_TDX_MODULE_MISMATCH', 9);
    assert.match(e.message, /not zero/);
  });
});

describe('TDX module major version N > 0: the identity TDX_0N of tdxModuleIdentities', () => {
  const levels: ModuleLevel[] = [
    { isvsvn: 5, status: 'UpToDate' },
    { isvsvn: 2, status: 'OutOfDate', advisories: ['INTEL-SA-MODULE-2'] },
  ];

  test('the identity is chosen by id, not by its place in the list', async () => {
    const info = tdxTcbInfo({
      tdxModule: module({ mrsigner: hex(OTHER_SIGNER, 48) }),
      tdxModuleIdentities: [
        identity('TDX_03', [{ isvsvn: 0, status: 'Revoked' }], { mrsigner: hex(OTHER_SIGNER, 48) }),
        identity('TDX_01', levels),
        identity('TDX_02', [{ isvsvn: 0, status: 'Revoked' }], { mrsigner: hex(OTHER_SIGNER, 48) }),
      ],
    });
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 6 }));
    assert.equal(r.status, 'SWHardeningNeeded');
    assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1']);
  });

  test('the major version is read as hexadecimal, two digits: 0x1A selects TDX_1A', async () => {
    const info = tdxTcbInfo({
      tdxModuleIdentities: [
        identity('TDX_26', [{ isvsvn: 0, status: 'UpToDate' }], { mrsigner: hex(OTHER_SIGNER, 48) }),
        identity('TDX_1A', [{ isvsvn: 0, status: 'UpToDate' }]),
      ],
    });
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 0x1a }));
    assert.equal(r.status, 'SWHardeningNeeded');
  });

  test('a TCB Info without the TD major version identity is refused, naming the id', async () => {
    const info = tdxTcbInfo({
      tdxModule: module(),
      tdxModuleIdentities: [identity('TDX_03', levels), identity('TDX_02', levels)],
    });
    const e = expectRefused(
      await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 6 }),
      'ERR_VERIFY_TDX_MODULE_MISMATCH',
      9,
    );
    assert.equal(e.details['id'], 'TDX_01');
  });

  test("the chosen identity's MRSIGNER and attributes are checked", async () => {
    const signer = tdxTcbInfo({
      tdxModuleIdentities: [identity('TDX_01', levels, { mrsigner: hex(OTHER_SIGNER, 48) })],
    });
    expectRefused(
      await buildTdxCase(pki, signer, { moduleMajor: 1, moduleSvn: 6 }),
      'ERR_VERIFY_TDX_MODULE_MISMATCH',
      9,
    );
    const attrs = tdxTcbInfo({
      tdxModuleIdentities: [identity('TDX_01', levels, { attributes: '0100000000000000' })],
    });
    expectRefused(
      await buildTdxCase(pki, attrs, { moduleMajor: 1, moduleSvn: 6 }),
      'ERR_VERIFY_TDX_MODULE_MISMATCH',
      9,
    );
  });

  test('a module SVN at an OutOfDate module level makes the status OutOfDate with its advisories', async () => {
    const info = tdxTcbInfo({ tdxModuleIdentities: [identity('TDX_01', levels)] });
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 3 }));
    assert.equal(r.status, 'OutOfDate');
    assert.equal(r.platformStatus, 'OutOfDate');
    assert.deepEqual(r.advisoryIds, ['INTEL-SA-TEST-1', 'INTEL-SA-MODULE-2']);
  });

  test('a Revoked module level makes the status Revoked', async () => {
    const info = tdxTcbInfo({
      tdxModuleIdentities: [identity('TDX_01', [{ isvsvn: 0, status: 'Revoked' }])],
    });
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 6 }));
    assert.equal(r.status, 'Revoked');
  });

  test('a module SVN below every module level is refused at step 14', async () => {
    const info = tdxTcbInfo({ tdxModuleIdentities: [identity('TDX_01', levels)] });
    const e = expectRefused(
      await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 1 }),
      'ERR_VERIFY_TCB_NOT_SUPPORTED',
      14,
    );
    assert.match(e.message, /TDX_01/);
  });

  test('with major version 0 the module levels of tdxModuleIdentities are not consulted', async () => {
    const info = tdxTcbInfo({
      tdxModule: module(),
      tdxModuleIdentities: [identity('TDX_01', [{ isvsvn: 0, status: 'Revoked' }])],
    });
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 0, moduleSvn: 6 }));
    assert.equal(r.status, 'SWHardeningNeeded');
  });
});

describe('step 14: the TDX TCB level must cover the TEE_TCB_SVN', () => {
  const above = (index: number): number[] =>
    new Array<number>(16).fill(0).map((_, i) => (i === index ? 1 : 0));

  test('a TD below the TDX components of every level is refused with ERR_VERIFY_TCB_NOT_SUPPORTED', async () => {
    const info = tdxTcbInfo({ tdxModule: module() }, above(2));
    const e = expectRefused(await buildTdxCase(pki, info), 'ERR_VERIFY_TCB_NOT_SUPPORTED', 14);
    assert.match(e.message, /no matching tcb level/);
  });

  test('with major version 0 the module SVN byte is compared like the others', async () => {
    const info = tdxTcbInfo({ tdxModule: module() }, above(0));
    expectRefused(await buildTdxCase(pki, info), 'ERR_VERIFY_TCB_NOT_SUPPORTED', 14);
  });

  test('with major version N > 0 bytes 0 and 1 are left to the module identity levels', async () => {
    const info = tdxTcbInfo(
      { tdxModuleIdentities: [identity('TDX_01', [{ isvsvn: 0, status: 'UpToDate' }])] },
      [9, 9, ...new Array<number>(14).fill(0)],
    );
    const r = verify(await buildTdxCase(pki, info, { moduleMajor: 1, moduleSvn: 6 }));
    assert.equal(r.status, 'SWHardeningNeeded');
  });
});
