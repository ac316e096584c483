/**
 * The real Intel TDX quotes of shared/testdata/dcap through `POST /attest/TdxVm`, in a production-
 * mode service (Intel's pinned root only, no simulated root), with each set's collateral as offline
 * collateral and the service and verifier clocks pinned to the set's recorded `now` (a test-only
 * clock: `now` of the service configuration and of the verifier, as tests inject them; there is no
 * production flag for it). Each set gives its expected outcome: a token with the expected TCB status,
 * or the verifier's refusal. With the wall clock the same collateral has long expired.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import { createDcapEvidenceVerifier, staticCollateral } from '../../src/attestation/index.ts';
import { decodeQuote, type TdReport } from '../../src/core/index.ts';
import { manifestSets, setCollateral, setQuote, type ManifestSet } from '../core/verify-helpers.ts';
import { testdataSkip } from '../support/testdata.ts';
import { decodeJwt, postJson, startService, type Started } from './support.ts';
import { TDX_API } from './tdx-support.ts';

const sets: ManifestSet[] =
  testdataSkip === false
    ? manifestSets().filter(
        (s) => s.quoteInfo.teeType === 'TDX' && s.collateral !== null && s.expected !== null,
      )
    : [];

/**
 * One production-mode service for every set: offline collateral chosen by the quote's FMSPC (each
 * set has its own), and service and verifier clocks reading `pinned` (undefined: the wall clock).
 */
let pinned: Date | undefined;

/** The set's FMSPC as the manifest records it (`quoteInfo.fmspc`), upper-case. */
function fmspcOf(set: ManifestSet): string {
  return String((set.quoteInfo as { fmspc?: unknown }).fmspc).toUpperCase();
}
const clock = (): Date => pinned ?? new Date();

function startForSets(): Promise<Started> {
  const byFmspc = new Map(sets.map((set) => [fmspcOf(set), staticCollateral(setCollateral(set))]));
  return startService({
    simulationMode: false,
    now: clock,
    verifier: createDcapEvidenceVerifier({
      collateral: (req) => {
        const provider = byFmspc.get(req.fmspc);
        return provider === undefined ? Promise.reject(new Error(`no set for ${req.fmspc}`)) : provider(req);
      },
      now: clock,
    }),
  });
}

async function attest(s: Started, quote: Uint8Array) {
  return postJson(`${s.url}/attest/TdxVm?api-version=${TDX_API}`, {
    quote: Buffer.from(quote).toString('base64url'),
  });
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('real TDX quotes through POST /attest/TdxVm at their recorded time', { skip: testdataSkip }, () => {
  let s: Started;
  before(async () => {
    s = await startForSets();
  });
  after(() => s.close());

  test('the manifest holds the TDX sets this test expects', () => {
    const ids = sets.map((s) => s.id);
    for (const id of ['phala-tdx-v4', 'phala-tdx-v5-outdated', 'gotdx-tdx-v4-spr-e4'])
      assert.ok(ids.includes(id), id);
  });

  for (const set of sets) {
    const exp = set.expected;
    if (exp === null) continue;
    if (exp.error === true) {
      test(`${set.id} (v${set.quoteInfo.version}): refused, no TCB level matches (ERR_VERIFY_TCB_NOT_SUPPORTED)`, async () => {
        pinned = new Date(set.now * 1000);
        const res = await attest(s, setQuote(set));
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_VERIFY_TCB_NOT_SUPPORTED');
        assert.equal(res.body['token'], undefined);
      });
      continue;
    }
    test(`${set.id} (v${set.quoteInfo.version}): token with attester_tcb_status ${String(exp.status)}`, async () => {
      pinned = new Date(set.now * 1000);
      {
        const quote = setQuote(set);
        const res = await attest(s, quote);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const c = decodeJwt(String(res.body['token'])).payload;
        assert.equal(c['attester_tcb_status'], exp.status);
        assert.equal(c['x-ccnodes-tcb-status'], exp.status);
        assert.deepEqual(c['x-ccnodes-advisory-ids'], exp.advisoryIds ?? []);
        assert.equal(c['x-ccnodes-simulated'], false);
        assert.equal(c['x-ms-attestation-type'], 'tdxvm');
        assert.equal(c['iat'], set.now, 'the token is issued at the pinned clock');
        const parsed = decodeQuote(quote);
        assert.notEqual(parsed.body.kind, 'sgx');
        const td = parsed.body.report as TdReport;
        assert.equal(c['tdx_mrtd'], hex(td.mrTd));
        assert.equal(c['tdx_report_data'], hex(td.reportData));
        assert.equal(c['tdx_rtmr0'], hex(td.rtmr[0]));
        assert.equal(c['tdx_tee_tcb_svn'], hex(td.teeTcbSvn));
        assert.equal(c['tdx_td_attributes_debug'], false);
      }
    });
    test(`${set.id}: with the wall clock its collateral has expired and the quote is refused`, async () => {
      pinned = undefined;
      const res = await attest(s, setQuote(set));
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_VERIFY_COLLATERAL_EXPIRED');
    });
  }
});
