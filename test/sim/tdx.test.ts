/**
 * The simulated TDX platform: TDX quotes v4 (TD report 1.0) and v5 (TD report 1.5, body type 3)
 * from the simulated TD quoting enclave verify with the core verifier against the simulated TDX
 * collateral (TDX TCB Info with module identities, TD_QE identity) — to UpToDate, and to each
 * platform preset's designed outcome — and every tampering is refused with its code. The simulated
 * PCS serves the TDX collateral at Intel's `/tdx/certification/v4/` paths, and the PCS/PCCS client
 * fetches it from there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CollateralCache, PcsClient } from '../../src/collateral-source/index.ts';
import {
  TD_ATTRIBUTE_FLAGS,
  VerificationError,
  decodeQuote,
  verifyQuote,
  type TdReport,
  type VerifyOptions,
} from '../../src/core/index.ts';
import {
  PCS_HEADERS,
  SIM_PLATFORM_PRESETS,
  SIM_TD_MRTD,
  SIM_TDX_MODULE_MRSIGNER,
  SimConfigError,
  createSimDcap,
  simTeeTcbSvn,
  startSimPcs,
  type SimPcsServer,
} from '../../src/sim/index.ts';

const dcap = createSimDcap({ seed: 'tdx-sim-test' });
const NOW = new Date('2026-12-01T12:00:00Z');
const trusting: VerifyOptions = { now: NOW, trustSimulatedRoot: dcap.rootPem };
const REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => i + 1);

function verify(quote: Uint8Array, platform = 'up-to-date', options: VerifyOptions = trusting) {
  return verifyQuote(quote, dcap.tdx(platform).collateral({ now: NOW }), options);
}

function refusedWith(code: string, step?: number): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof VerificationError, String(e));
    assert.equal(e.code, code, e.message);
    if (step !== undefined) assert.equal(e.step, step);
    return true;
  };
}

describe('simulated TDX quotes verify', () => {
  test('a v4 quote (TD report 1.0) verifies to UpToDate with the TD report as given', () => {
    const rtmr2 = new Uint8Array(48).fill(0x22);
    const quote = dcap.tdx('up-to-date').quote({
      reportData: REPORT_DATA,
      rtmr: [new Uint8Array(48), new Uint8Array(48), rtmr2, new Uint8Array(48)],
    });
    const parsed = decodeQuote(quote);
    assert.equal(parsed.header.version, 4);
    assert.equal(parsed.header.teeType, 0x81);
    assert.equal(parsed.body.kind, 'td10');
    assert.equal(parsed.outerCertification?.type, 6);
    assert.equal(parsed.certification.type, 5);
    const r = verify(quote);
    assert.equal(r.tee, 'TDX');
    assert.equal(r.status, 'UpToDate');
    assert.deepEqual(r.advisoryIds, []);
    assert.equal(r.simulated, true);
    const td = r.report as TdReport;
    assert.deepEqual(Buffer.from(td.reportData), Buffer.from(REPORT_DATA));
    assert.deepEqual(Buffer.from(td.rtmr[2]), Buffer.from(rtmr2));
    assert.deepEqual(Buffer.from(td.mrTd), Buffer.from(SIM_TD_MRTD));
    assert.deepEqual(Buffer.from(td.mrSignerSeam), Buffer.from(SIM_TDX_MODULE_MRSIGNER));
    assert.deepEqual(Buffer.from(td.teeTcbSvn), Buffer.from(simTeeTcbSvn()));
    assert.equal(td.tdAttributes, TD_ATTRIBUTE_FLAGS.SEPT_VE_DISABLE);
  });

  test('a v5 quote carries body type 3 (TD report 1.5, 648 bytes) and verifies to UpToDate', () => {
    const quote = dcap.tdx('up-to-date').quote({ reportData: REPORT_DATA }, { version: 5 });
    const parsed = decodeQuote(quote);
    assert.equal(parsed.header.version, 5);
    assert.deepEqual(parsed.bodyDescriptor, { type: 3, size: 648 });
    assert.equal(parsed.signedData.length, 48 + 6 + 648);
    const r = verify(quote);
    assert.equal(r.status, 'UpToDate');
    assert.equal((r.report as TdReport).version, '1.5');
  });

  for (const preset of SIM_PLATFORM_PRESETS) {
    const name = preset.config.name;
    const exp = preset.expected;
    test(`preset ${name}: TDX quote gives ${'status' in exp ? exp.status : exp.errorCode}`, () => {
      const quote = dcap.tdx(name).quote({ reportData: REPORT_DATA });
      if ('errorCode' in exp) {
        assert.throws(() => verify(quote, name), refusedWith(exp.errorCode));
        return;
      }
      const r = verify(quote, name);
      assert.equal(r.status, exp.status);
      assert.deepEqual([...r.advisoryIds].sort(), [...exp.advisoryIds].sort());
    });
  }

  test('an outdated TDX module (SVN 3) is OutOfDate through the TDX_01 module identity', () => {
    const quote = dcap.tdx('up-to-date').quote({ teeTcbSvn: simTeeTcbSvn(3) });
    const r = verify(quote);
    assert.equal(r.status, 'OutOfDate');
    assert.deepEqual(r.advisoryIds, ['CCNODES-SIM-SA-00006']);
  });
});

describe('simulated TDX quotes: every tampering is refused', () => {
  const good = dcap.tdx('up-to-date').quote({ reportData: REPORT_DATA });

  test('a flipped MRTD byte in the signed body breaks the quote signature', () => {
    const bad = Uint8Array.from(good);
    const mrTdOffset = 48 + 136;
    bad[mrTdOffset] = (bad[mrTdOffset] ?? 0) ^ 0x01;
    assert.throws(() => verify(bad), refusedWith('ERR_VERIFY_QUOTE_SIGNATURE', 13));
  });

  test('a flipped REPORTDATA byte breaks the quote signature', () => {
    const bad = Uint8Array.from(good);
    const reportDataOffset = 48 + 520;
    bad[reportDataOffset] = (bad[reportDataOffset] ?? 0) ^ 0x80;
    assert.throws(() => verify(bad), refusedWith('ERR_VERIFY_QUOTE_SIGNATURE', 13));
  });

  test('a debug TD (TDATTRIBUTES.DEBUG) is refused unless debug is explicitly allowed', () => {
    const quote = dcap.tdx('up-to-date').quote({ debug: true });
    assert.throws(() => verify(quote), refusedWith('ERR_VERIFY_DEBUG_ENCLAVE', 15));
    const r = verify(quote, 'up-to-date', { ...trusting, dangerous: { allowDebugEnclave: true } });
    assert.deepEqual(r.relaxations, ['dangerous.allowDebugEnclave']);
  });

  test('a TDX module signed by another key (MRSIGNERSEAM) is refused', () => {
    const quote = dcap.tdx('up-to-date').quote({ mrSignerSeam: new Uint8Array(48).fill(0x77) });
    assert.throws(() => verify(quote), refusedWith('ERR_VERIFY_TDX_MODULE_MISMATCH', 9));
  });

  test('the simulated root is refused unless it is explicitly trusted', () => {
    assert.throws(() => verify(good, 'up-to-date', { now: NOW }), refusedWith('ERR_VERIFY_SIMULATED_ROOT'));
  });

  test('SGX collateral (TCB Info id SGX, QE identity QE) does not verify a TDX quote', () => {
    assert.throws(
      () => verifyQuote(good, dcap.collateral('up-to-date', { now: NOW }), trusting),
      refusedWith('ERR_VERIFY_TCB_INFO_MISMATCH', 8),
    );
  });

  test('TDX collateral does not verify an SGX quote of the same platform', () => {
    const p = dcap.platform('up-to-date');
    const sgx = p.quote(p.syntheticReportBody({ reportData: new Uint8Array(64) }));
    assert.throws(
      () => verifyQuote(sgx, dcap.tdxCollateral(p, { now: NOW }), trusting),
      refusedWith('ERR_VERIFY_TCB_INFO_MISMATCH', 8),
    );
  });

  test('wrong-sized TD report fields are refused by the simulator with ERR_SIM_REPORT_INPUT', () => {
    const tdx = dcap.tdx('up-to-date');
    for (const init of [
      { reportData: new Uint8Array(65) },
      { mrTd: new Uint8Array(32) },
      { teeTcbSvn: new Uint8Array(15) },
    ]) {
      assert.throws(
        () => tdx.quote(init),
        (e: unknown) => e instanceof SimConfigError && e.code === 'ERR_SIM_REPORT_INPUT',
      );
    }
    assert.throws(
      () => tdx.quote(tdx.tdReport({}, '1.5'), { version: 4 }),
      (e: unknown) => e instanceof SimConfigError && e.code === 'ERR_SIM_REPORT_INPUT',
    );
  });
});

describe('simulated PCS serves the TDX collateral at Intel paths', () => {
  let server: SimPcsServer;
  before(async () => {
    server = await startSimPcs(dcap, { now: () => NOW });
  });
  after(async () => {
    await server.close();
  });

  test('/tdx/certification/v4/tcb and qe/identity answer with TDX bodies and issuer chains', async () => {
    const fmspc = dcap.platform('up-to-date').config.fmspc;
    const tcb = await fetch(`${server.url}/tdx/certification/v4/tcb?fmspc=${fmspc.toLowerCase()}`);
    assert.equal(tcb.status, 200);
    assert.ok(tcb.headers.get(PCS_HEADERS.tcbInfoIssuerChain)?.startsWith('-----BEGIN%20CERTIFICATE'));
    const tcbInfo = ((await tcb.json()) as { tcbInfo: Record<string, unknown> }).tcbInfo;
    assert.equal(tcbInfo['id'], 'TDX');
    assert.equal(tcbInfo['version'], 3);
    assert.ok(Array.isArray(tcbInfo['tdxModuleIdentities']));
    const qe = await fetch(`${server.url}/tdx/certification/v4/qe/identity`);
    assert.equal(qe.status, 200);
    assert.ok(qe.headers.get(PCS_HEADERS.enclaveIdentityIssuerChain) !== null);
    const identity = ((await qe.json()) as { enclaveIdentity: Record<string, unknown> }).enclaveIdentity;
    assert.equal(identity['id'], 'TD_QE');
    const unknown = await fetch(`${server.url}/tdx/certification/v4/tcb?fmspc=FFFFFFFFFFFF`);
    assert.equal(unknown.status, 404);
    const bad = await fetch(`${server.url}/tdx/certification/v4/tcb?fmspc=xyz`);
    assert.equal(bad.status, 400);
  });

  test('collateral fetched by the PCCS client (tee tdx) verifies a v5 quote', async () => {
    const cache = new CollateralCache({ client: new PcsClient({ baseUrl: server.url, api: 'pccs' }) });
    const p = dcap.platform('multi-package');
    const collateral = await cache.get(p.config.fmspc, p.config.ca, 'tdx');
    const quote = dcap.tdx('multi-package').quote({ reportData: REPORT_DATA }, { version: 5 });
    const r = verifyQuote(quote, collateral, trusting);
    assert.equal(r.status, 'UpToDate');
    assert.equal(r.tee, 'TDX');
  });
});
