/**
 * `npm run bench -- sim-quote`: simulated DCAP quotes generated per second on one core (quote v3,
 * PCK chain in the quote, a fresh report body each time). `bound` is the rate of the one ECDSA
 * P-256 signature every quote needs (node:crypto, same key), the ceiling for quote generation.
 * Median of 5 rounds of ~1 s after a warm-up.
 */
import { sign } from 'node:crypto';
import { createSimDcap, simPlatformPreset } from '../src/sim/index.ts';

const ROUNDS = 5;
const ROUND_MS = 1000;

function rate(fn: (i: number) => void): number {
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < ROUND_MS) {
      for (let k = 0; k < 50; k++) fn(n++);
      elapsed = performance.now() - start;
    }
    rates.push((n * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  return rates[Math.floor(ROUNDS / 2)] ?? 0;
}

const dcap = createSimDcap({ seed: 'bench', platforms: [simPlatformPreset('up-to-date').config] });
const platform = dcap.platform('up-to-date');
const reportData = new Uint8Array(64);
const view = new DataView(reportData.buffer);
let bytes = 0;
const makeQuote = (i: number): void => {
  view.setUint32(0, i, true);
  bytes = platform.quote(platform.syntheticReportBody({ reportData })).length;
};
for (let i = 0; i < 500; i++) makeQuote(i);
const ours = rate(makeQuote);
process.stdout.write(`sim-quote: ${ours.toFixed(0)} quotes/s (v3, ${bytes} bytes each)\n`);

const signed = new Uint8Array(432);
const key = platform.attestationKey.privateKey;
const bound = rate(() => {
  sign('sha256', signed, { key, dsaEncoding: 'ieee-p1363' });
});
process.stdout.write(`bound: ${bound.toFixed(0)} ECDSA P-256 signatures/s (node:crypto)\n`);
process.stdout.write(
  `${JSON.stringify({ bench: 'sim-quote', ours: Math.round(ours), bound: Math.round(bound), unit: 'quotes/s' })}\n`,
);
