/**
 * Seeded, bounded fuzz over the collateral parsers and the verifier: random byte/character edits
 * must end in typed errors (CollateralFormatError / VerificationError), never a crash or a hang.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import 'reflect-metadata';
import {
  CollateralFormatError,
  VerificationError,
  parseCollateralBundle,
  parseCrl,
  prepareCollateral,
  verifyQuote,
} from '../../src/core/index.ts';
import { buildSgxCase, createTestPki, type SgxCase } from '../support/test-pki.ts';

/** xorshift32, seeded: the same cases on every run. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

function mutate(bytes: Uint8Array, rand: () => number): Uint8Array {
  const out = Uint8Array.from(bytes);
  const edits = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < edits; i++) out[Math.floor(rand() * out.length)] = Math.floor(rand() * 256);
  return rand() < 0.2 ? out.subarray(0, Math.floor(rand() * out.length)) : out;
}

function mutateText(text: string, rand: () => number): string {
  const chars = Array.from({ length: text.length }, (_, i) => text.charAt(i));
  const edits = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < edits; i++)
    chars[Math.floor(rand() * chars.length)] = String.fromCharCode(32 + Math.floor(rand() * 95));
  return chars.join('');
}

const typed = (e: unknown): boolean => e instanceof VerificationError || e instanceof CollateralFormatError;

let c: SgxCase;

describe('verifier fuzz (seeded, bounded)', () => {
  before(async () => {
    c = await buildSgxCase(await createTestPki());
  });

  test('mutated quotes: verified or a VerificationError', () => {
    const rand = rng(0xc0ffee);
    const prepared = prepareCollateral(c.collateral);
    let failures = 0;
    for (let i = 0; i < 400; i++) {
      try {
        verifyQuote(mutate(c.quote, rand), prepared, c.options);
      } catch (e) {
        assert.ok(e instanceof VerificationError, String(e));
        failures++;
      }
    }
    assert.ok(failures > 300, `only ${failures} mutations were refused`);
  });

  test('mutated CRLs, TCB Info and QE Identity: typed errors only', () => {
    const rand = rng(0xbadc0de);
    for (let i = 0; i < 150; i++) {
      const collateral = {
        ...c.collateral,
        pckCrl: i % 3 === 0 ? mutate(c.collateral.pckCrl, rand) : c.collateral.pckCrl,
        rootCaCrl: i % 3 === 1 ? mutate(c.collateral.rootCaCrl, rand) : c.collateral.rootCaCrl,
        tcbInfo: i % 3 === 2 ? mutateText(c.collateral.tcbInfo, rand) : c.collateral.tcbInfo,
        qeIdentity: i % 5 === 0 ? mutateText(c.collateral.qeIdentity, rand) : c.collateral.qeIdentity,
      };
      try {
        verifyQuote(c.quote, collateral, c.options);
      } catch (e) {
        assert.ok(typed(e), String(e));
      }
      try {
        parseCrl(mutate(c.collateral.pckCrl, rand));
      } catch (e) {
        assert.ok(e instanceof CollateralFormatError, String(e));
      }
    }
  });

  test('mutated bundle JSON: typed errors only', () => {
    const rand = rng(42);
    const text = JSON.stringify({
      ...c.collateral,
      pckCrl: Buffer.from(c.collateral.pckCrl).toString('hex'),
      rootCaCrl: Buffer.from(c.collateral.rootCaCrl).toString('hex'),
    });
    for (let i = 0; i < 200; i++) {
      try {
        parseCollateralBundle(mutateText(text, rand));
      } catch (e) {
        assert.ok(e instanceof CollateralFormatError, String(e));
      }
    }
  });
});
