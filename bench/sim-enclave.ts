/**
 * Simulated enclave operations on one core: EREPORT + report verification by the target (the
 * local-attestation round trip), with the AES-128-CMAC work they contain as the bound
 * (2 key derivations + 2 MACs per round trip), plus MRENCLAVE of the hello-enclave
 * example and the ECALL round-trip latency of the worker runtime, printed for information.
 */
import { join } from 'node:path';
import {
  aesCmac,
  generateEnclaveSigningKey,
  loadEnclaveImage,
  measureEnclave,
  signEnclave,
  SimCpu,
  startEnclave,
} from '../src/sim/index.ts';

function rate(seconds: number, fn: () => void): number {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < end) {
    fn();
    n++;
  }
  return n / ((performance.now() - start) / 1000);
}

const image = await loadEnclaveImage(
  join(import.meta.dirname, '..', 'examples', 'hello-enclave', 'enclave.yaml'),
);
const signed = signEnclave(image, generateEnclaveSigningKey().privateKeyPem);
const cpu = SimCpu.fromSeed('bench');
const a = cpu.einitImage(image, signed.bytes).enclave;
const target = a.targetInfo();
const data = new Uint8Array(64).fill(1);

const measures = rate(2, () => measureEnclave(image));
process.stdout.write(`MRENCLAVE of hello-enclave: ${measures.toFixed(0)}/s\n`);

// Interleaved rounds so that load on the machine hits both sides alike; medians of 5 rounds.
const key = new Uint8Array(16).fill(7);
const block = new Uint8Array(384);
const boundRounds: number[] = [];
const reportRounds: number[] = [];
for (let round = 0; round < 5; round++) {
  // Four CMACs per round trip: EREPORT derives the target's report key and MACs the body; the
  // target derives its report key and recomputes the MAC.
  boundRounds.push(
    rate(0.5, () => {
      aesCmac(key, block);
      aesCmac(key, block);
      aesCmac(key, block);
      aesCmac(key, block);
    }),
  );
  reportRounds.push(rate(0.5, () => cpu.verifyReport(a, cpu.ereport(a, target, data))));
}
const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] ?? 0;
const bound = median(boundRounds);
const reports = median(reportRounds);
process.stdout.write(
  `EREPORT + verify by the target: ${reports.toFixed(0)}/s (4 x AES-CMAC bound: ${bound.toFixed(0)}/s)\n`,
);

const running = await startEnclave({ cpu, image, sigstruct: signed.bytes });
await running.ecall('init');
const n = 500;
const t0 = performance.now();
for (let i = 0; i < n; i++) await running.ecall('sign', data);
const perCall = (performance.now() - t0) / n;
process.stdout.write(`ECALL round trip (sign 64 bytes inside): ${(perCall * 1000).toFixed(0)} µs\n`);
await running.terminate();

process.stdout.write(
  `${JSON.stringify({ bench: 'sim-enclave', ours: Math.round(reports), bound: Math.round(bound), unit: 'report round trips/s', ecallMicros: Math.round(perCall * 1000), mrenclavePerSecond: Math.round(measures) })}\n`,
);
