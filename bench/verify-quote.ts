/**
 * `npm run bench -- verify-quote`: full DCAP verifications per second on one core for the real SGX
 * sets of shared/testdata/dcap, with collateral prepared once (as a service caches it), next to
 * @phala/dcap-qvl on the same inputs and the raw bound (the two ECDSA P-256 verifies every quote
 * needs: QE report by the PCK key, quote by the attestation key). Also parse-only throughput.
 *
 * mobilecoin-sgx-v3 has a PCK CRL that expired before its fixed time; ccnodes verifies it with
 * `dangerous.allowExpiredCollateral` (every check still runs), the peer does not time-check CRLs.
 * The last line is the JSON summary.
 */
import 'reflect-metadata';
import { verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeQuote,
  parseCollateralBundle,
  parsePemChain,
  parseSignedJson,
  prepareCollateral,
  verifyQuote,
  type RawCollateral,
  type VerifyOptions,
} from '../src/core/index.ts';

interface PeerModule {
  verify(quote: Uint8Array, collateral: unknown, nowSecs: number): { status: string; advisory_ids: string[] };
  Quote: { parse(quote: Uint8Array): unknown };
}
const peer = createRequire(import.meta.url)('@phala/dcap-qvl') as PeerModule;

const root = resolve(fileURLToPath(import.meta.url), '..', '..');
const dcap = join(process.env['CCNODES_TESTDATA'] ?? resolve(root, '..', 'shared', 'testdata'), 'dcap');
const text = (p: string): string => readFileSync(join(dcap, p), 'utf8');
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(dcap, p)));

interface BenchSet {
  readonly id: string;
  readonly quote: Uint8Array;
  readonly raw: RawCollateral;
  readonly peerCollateral: unknown;
  readonly options: VerifyOptions;
  readonly nowSecs: number;
}

function loadSets(): BenchSet[] {
  const phalaText = text('phala-dcap-qvl/sgx_quote_collateral.json');
  const phalaNow = 1752919277;
  const mc = 'mobilecoin-attestation/';
  const chain = (...files: string[]): string => files.map((f) => text(mc + f)).join('');
  const mcRaw: RawCollateral = {
    tcbInfo: text(`${mc}fmspc_00906ED50000_2023_07_12.json`),
    tcbInfoIssuerChain: chain('tcb_signer.pem', 'root_ca.pem'),
    qeIdentity: text(`${mc}qe_identity.json`),
    qeIdentityIssuerChain: chain('tcb_signer.pem', 'root_ca.pem'),
    pckCrl: bytes(`${mc}processor_crl.der`),
    pckCrlIssuerChain: chain('processor_ca.pem', 'root_ca.pem'),
    rootCaCrl: bytes(`${mc}root_crl.der`),
  };
  const tcb = parseSignedJson(mcRaw.tcbInfo, 'tcbInfo');
  const qe = parseSignedJson(mcRaw.qeIdentity, 'enclaveIdentity');
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
  const mcPeer = {
    tcb_info: tcb.bodyText,
    tcb_info_signature: hex(tcb.signature),
    tcb_info_issuer_chain: mcRaw.tcbInfoIssuerChain,
    qe_identity: qe.bodyText,
    qe_identity_signature: hex(qe.signature),
    qe_identity_issuer_chain: mcRaw.qeIdentityIssuerChain,
    pck_crl: hex(mcRaw.pckCrl),
    pck_crl_issuer_chain: mcRaw.pckCrlIssuerChain,
    root_ca_crl: hex(mcRaw.rootCaCrl),
  };
  const mcNow = 1689194905;
  return [
    {
      id: 'phala-sgx-v3',
      quote: bytes('phala-dcap-qvl/sgx_quote'),
      raw: parseCollateralBundle(phalaText),
      peerCollateral: JSON.parse(phalaText) as unknown,
      options: { now: new Date(phalaNow * 1000) },
      nowSecs: phalaNow,
    },
    {
      id: 'mobilecoin-sgx-v3',
      quote: bytes(`${mc}hw_quote.dat`),
      raw: mcRaw,
      peerCollateral: mcPeer,
      options: { now: new Date(mcNow * 1000), dangerous: { allowExpiredCollateral: true } },
      nowSecs: mcNow,
    },
  ];
}

/** Runs `fn` (which does `perCall` operations) for `ms` milliseconds; returns operations/s. */
function rate(fn: () => void, perCall: number, ms: number): number {
  for (let i = 0; i < 50; i++) fn();
  let n = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    elapsed = performance.now() - start;
  }
  return (n * perCall * 1000) / elapsed;
}

/**
 * Measures every contender in interleaved rounds (A B C … A B C …) and averages per contender, so
 * that load changes on a shared machine hit all of them alike.
 */
function interleaved(
  fns: Record<string, () => void>,
  perCall: number,
  ms: number,
  rounds: number,
): Record<string, number> {
  const sums: Record<string, number> = {};
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(fns)) sums[name] = (sums[name] ?? 0) + rate(fn, perCall, ms);
  }
  return Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / rounds]));
}

const sets = loadSets();
const prepared = sets.map((s) => prepareCollateral(s.raw));

// Sanity: both verifiers agree on every set before timing.
for (const [i, s] of sets.entries()) {
  const ours = verifyQuote(s.quote, prepared[i] ?? s.raw, s.options);
  const theirs = peer.verify(s.quote, s.peerCollateral, s.nowSecs);
  process.stdout.write(
    `${s.id}: ours ${ours.status} [${ours.advisoryIds.join(',')}]; peer ${theirs.status} [${theirs.advisory_ids.join(',')}]\n`,
  );
}

// Raw bound inputs: the PCK key and the attestation key (as KeyObjects), the two signed messages.
const boundInputs = sets.map((s) => {
  const q = decodeQuote(s.quote);
  const leaf = parsePemChain(q.certification.pckChainPem?.join('') ?? '')[0];
  if (leaf === undefined) throw new Error('no PCK leaf');
  const jwk = {
    kty: 'EC',
    crv: 'P-256',
    x: Buffer.from(q.attestationKey.subarray(0, 32)).toString('base64url'),
    y: Buffer.from(q.attestationKey.subarray(32)).toString('base64url'),
  };
  return { q, pckKey: leaf.publicKey, attKey: { key: jwk, format: 'jwk' as const } };
});
const { createPublicKey } = await import('node:crypto');
const boundKeys = boundInputs.map((b) => ({ ...b, attKey: createPublicKey(b.attKey) }));

const MS = Number(process.env['BENCH_MS'] ?? 400);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const n = sets.length;
const rates = interleaved(
  {
    ours: () => {
      for (let i = 0; i < n; i++)
        verifyQuote((sets[i] as BenchSet).quote, prepared[i] as never, (sets[i] as BenchSet).options);
    },
    bound: () => {
      for (const b of boundKeys) {
        const ok1 = nodeVerify(
          'sha256',
          b.q.qeReportRaw,
          { key: b.pckKey, dsaEncoding: 'ieee-p1363' },
          b.q.qeReportSignature,
        );
        const ok2 = nodeVerify(
          'sha256',
          b.q.signedData,
          { key: b.attKey, dsaEncoding: 'ieee-p1363' },
          b.q.signature,
        );
        if (!ok1 || !ok2) throw new Error('bound: signature did not verify');
      }
    },
    oursUnprepared: () => {
      for (const s of sets) verifyQuote(s.quote, s.raw, s.options);
    },
    peer: () => {
      for (const s of sets) peer.verify(s.quote, s.peerCollateral, s.nowSecs);
    },
    parseOurs: () => {
      for (const s of sets) decodeQuote(s.quote);
    },
    parsePeer: () => {
      for (const s of sets) peer.Quote.parse(s.quote);
    },
  },
  n,
  MS,
  ROUNDS,
);
const ours = rates['ours'] ?? 0;
const oursUnprepared = rates['oursUnprepared'] ?? 0;
const peerRate = rates['peer'] ?? 0;
const bound = rates['bound'] ?? 0;
const parseOurs = rates['parseOurs'] ?? 0;
const parsePeer = rates['parsePeer'] ?? 0;

const r = (x: number): number => Math.round(x);
process.stdout.write(
  `verifications/s (one core, ${sets.map((s) => s.id).join(' + ')}): ours ${r(ours)} (raw collateral each call: ${r(oursUnprepared)}), ` +
    `peer @phala/dcap-qvl ${r(peerRate)}, bound (2 ECDSA P-256 verifies) ${r(bound)}; ` +
    `ours/peer ${(ours / peerRate).toFixed(1)}x, ours/bound ${((100 * ours) / bound).toFixed(0)}%\n`,
);
process.stdout.write(`parse-only quotes/s: ours ${r(parseOurs)}, peer ${r(parsePeer)}\n`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'verify-quote',
    ours: r(ours),
    peer: r(peerRate),
    bound: r(bound),
    unit: 'verifications/s',
    oursVsPeer: Number((ours / peerRate).toFixed(2)),
    oursVsBound: Number((ours / bound).toFixed(3)),
    oursRawCollateral: r(oursUnprepared),
    parseOurs: r(parseOurs),
    parsePeer: r(parsePeer),
    parseUnit: 'quotes/s',
    sets: sets.map((s) => s.id),
  })}\n`,
);
