/**
 * Policies over claim sets built from real SGX measurements in the shared test data
 * (sgx/expected.json: the report bodies of captured quotes and the measurements of real
 * SIGSTRUCTs, each recomputed independently).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_SGX_POLICY,
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
  type Claim,
} from '../../src/policy/index.ts';
import { testdataPath, testdataSkip } from '../support/testdata.ts';
import { pinnedSignerPolicy } from './samples.ts';

interface ReportBodyJson {
  attributes: string;
  mrenclave: string;
  mrsigner: string;
  isvProdId: number;
  isvSvn: number;
  reportData: string;
}
interface Expected {
  quotes: Record<string, { appReportBody: ReportBodyJson }>;
  sigstructs: Record<
    string,
    { mrenclave: string; mrsigner: string; attributesFlags: string; isvProdId: number; isvSvn: number }
  >;
}

/** SGX ATTRIBUTES.FLAGS bit 1 is DEBUG. */
const DEBUG_FLAG = 0x2n;

function claimsFor(m: {
  mrenclave: string;
  mrsigner: string;
  isvProdId: number;
  isvSvn: number;
  flags: bigint;
}): Claim[] {
  return claimsFromObject({
    'x-ms-attestation-type': 'sgx',
    'x-ms-ver': '1.0',
    'x-ms-sgx-is-debuggable': (m.flags & DEBUG_FLAG) !== 0n,
    'x-ms-sgx-mrenclave': m.mrenclave,
    'x-ms-sgx-mrsigner': m.mrsigner,
    'x-ms-sgx-product-id': m.isvProdId,
    'x-ms-sgx-svn': m.isvSvn,
  });
}

/** ATTRIBUTES is 16 bytes, FLAGS the first 8, little-endian. */
function flagsOf(attributesHex: string): bigint {
  return Buffer.from(attributesHex.slice(0, 16), 'hex').readBigUInt64LE(0);
}

describe('policies over real SGX measurements', { skip: testdataSkip }, () => {
  const load = (): Expected =>
    JSON.parse(readFileSync(testdataPath('sgx', 'expected.json'), 'utf8')) as Expected;

  test('captured quotes: the default permits and re-issues the measured values', () => {
    const quotes = Object.entries(load().quotes);
    assert.ok(quotes.length > 0);
    const policy = parsePolicy(DEFAULT_SGX_POLICY);
    for (const [name, { appReportBody: body }] of quotes) {
      const claims = claimsFor({ ...body, flags: flagsOf(body.attributes) });
      const outcome = evaluatePolicy(policy, claims);
      assert.equal(outcome.permitted, true, name);
      const issued = Object.fromEntries(outcome.issued.map((c) => [c.type, c.value]));
      assert.equal(issued['sgx-mrenclave'], body.mrenclave, name);
      assert.equal(issued['sgx-mrsigner'], body.mrsigner, name);
      assert.equal(issued['svn'], body.isvSvn, name);
    }
  });

  test('captured quotes come from debug enclaves: a signer-pinned policy denies them for that reason alone', () => {
    for (const [name, { appReportBody: body }] of Object.entries(load().quotes)) {
      const flags = flagsOf(body.attributes);
      assert.notEqual(flags & DEBUG_FLAG, 0n, `${name} is a debug enclave`);
      const policy = parsePolicy(pinnedSignerPolicy(body.isvProdId, body.mrsigner));
      assert.equal(evaluatePolicy(policy, claimsFor({ ...body, flags })).permitted, false, name);
      // Same measurements without the DEBUG bit are permitted: the deny came from debuggability.
      const nonDebug = claimsFor({ ...body, flags: flags & ~DEBUG_FLAG });
      assert.equal(evaluatePolicy(policy, nonDebug).permitted, true, name);
    }
  });

  test('real SIGSTRUCTs: pinning a signer admits every enclave it signed and no other', () => {
    const sigs = Object.entries(load().sigstructs);
    const signers = new Set(sigs.map(([, s]) => s.mrsigner));
    assert.ok(signers.size >= 2, 'several signers in the data');
    for (const signer of signers) {
      for (const [name, s] of sigs) {
        const claims = claimsFor({ ...s, flags: BigInt(s.attributesFlags) & ~DEBUG_FLAG });
        const policy = parsePolicy(pinnedSignerPolicy(s.isvProdId, signer));
        assert.equal(
          evaluatePolicy(policy, claims).permitted,
          s.mrsigner === signer,
          `${name} under ${signer.slice(0, 8)}`,
        );
      }
    }
  });
});
