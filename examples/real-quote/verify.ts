/**
 * Verifies the real quote of this directory with the library API, as a program that installed
 * ccnodes would (`import … from 'ccnodes/verify'`).
 *
 *   node --import tsx examples/real-quote/verify.ts   # from the checkout's root: the sources
 *
 * In the checkout, `ccnodes/verify` resolves to src/lib/verify.ts through the `paths` of
 * tsconfig.json (tsx applies them); elsewhere, through package.json `exports` to the build.
 *
 * Prints one JSON line: the TCB status and advisories, and that the same quote is refused once its
 * collateral has expired.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadCollateral, verifyQuote, VerificationError } from 'ccnodes/verify';

const here = new URL('.', import.meta.url);
const quote = readFileSync(new URL('sgx_quote', here));
const collateral = await loadCollateral(fileURLToPath(new URL('sgx_quote_collateral.json', here)));

// Inside the collateral's validity window (see README.md, "Why --now").
const result = verifyQuote(quote, collateral, { now: new Date('2025-07-19T10:01:17Z') });

let later = 'accepted';
try {
  verifyQuote(quote, collateral, { now: new Date('2026-01-01T00:00:00Z') });
} catch (err) {
  if (!(err instanceof VerificationError)) throw err;
  later = err.code;
}
process.stdout.write(
  `${JSON.stringify({ status: result.status, advisoryIds: result.advisoryIds, later })}\n`,
);
