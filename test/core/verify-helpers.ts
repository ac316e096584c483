/**
 * Loads the DCAP sets of shared/testdata/dcap/manifest.json as verifier inputs; and the assertion
 * of a verification refusal (its code and step).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  VerificationError,
  parseCollateralBundle,
  type RawCollateral,
  type VerificationErrorCode,
} from '../../src/core/index.ts';
import { testdataPath } from '../support/testdata.ts';

export interface ManifestSet {
  readonly id: string;
  readonly quote: string;
  readonly now: number;
  readonly nowIso: string;
  readonly quoteInfo: { readonly teeType: string; readonly version: number };
  readonly collateral:
    | null
    | { readonly format: 'dcap-qvl-json'; readonly file: string }
    | {
        readonly format: 'parts';
        readonly tcbInfo: string;
        readonly tcbInfoIssuerChain: string[];
        readonly qeIdentity: string;
        readonly qeIdentityIssuerChain: string[];
        readonly pckCrl: string;
        readonly pckCrlIssuerChain: string[];
        readonly rootCaCrl: string;
      };
  readonly expected: null | { status?: string; advisoryIds?: string[]; error?: boolean; errorMatch?: string };
  readonly strictExpected?: { collateralExpired: boolean };
}

export function manifestSets(): ManifestSet[] {
  const m = JSON.parse(readFileSync(testdataPath('dcap', 'manifest.json'), 'utf8')) as {
    sets: ManifestSet[];
  };
  return m.sets;
}

const dcap = (p: string): string => testdataPath('dcap', p);
const text = (p: string): string => readFileSync(dcap(p), 'utf8');

export function setQuote(set: ManifestSet): Uint8Array {
  return new Uint8Array(readFileSync(dcap(set.quote)));
}

/** The set's collateral as RawCollateral (bundle JSON or the listed part files). */
export function setCollateral(set: ManifestSet): RawCollateral {
  const c = set.collateral;
  if (c === null) throw new Error(`set ${set.id} has no collateral`);
  if (c.format === 'dcap-qvl-json') return parseCollateralBundle(text(c.file));
  return {
    tcbInfo: text(c.tcbInfo),
    tcbInfoIssuerChain: c.tcbInfoIssuerChain.map(text).join(''),
    qeIdentity: text(c.qeIdentity),
    qeIdentityIssuerChain: c.qeIdentityIssuerChain.map(text).join(''),
    pckCrl: new Uint8Array(readFileSync(dcap(c.pckCrl))),
    pckCrlIssuerChain: c.pckCrlIssuerChain.map(text).join(''),
    rootCaCrl: new Uint8Array(readFileSync(dcap(c.rootCaCrl))),
  };
}

/** Asserts that `run` throws a VerificationError with `code` at verification step `step`. */
export function expectCode(run: () => unknown, code: VerificationErrorCode, step: number): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof VerificationError, `expected VerificationError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code} at step ${e.step}: ${e.message}`);
    assert.equal(e.step, step, e.message);
    return true;
  });
}
