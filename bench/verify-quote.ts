/**
 * `npm run bench -- verify-quote`: full DCAP verifications per second on one core for the real SGX
 * sets of shared/testdata/dcap, ours next to @phala/dcap-qvl on the same inputs, on two paths:
 *
 * - cold (the headline): every cache of the core verifier is emptied before each call
 *   (`clearVerifyCaches`) and the collateral is passed raw, so each call parses the quote, the PCK
 *   chain, the TCB Info, QE Identity, both CRLs and their issuer chains, and checks every signature
 *   — what the peer does on every call;
 * - warm: collateral prepared once and caches kept (as the service runs), so a call costs the quote
 *   parse plus the checks that depend on the quote or on `now`.
 *
 * The peer has no cache, so one peer figure, measured in the same interleaved rounds, is the
 * comparison for both paths. Before timing, both verifiers (ours cold and warm) must agree on every
 * set — same TCB status and advisory IDs, or both refusing; otherwise the bench exits 1 naming
 * the set. Also measured: the warm path's floor (the two ECDSA P-256 verifies every quote needs: QE
 * report by the PCK key, quote by the attestation key) and parse-only throughput.
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
// The cache reset is a benchmark/test hook, not part of the core's index.
import { clearVerifyCaches } from '../src/core/verify-quote.ts';
import { loadRecorder } from './support/load.ts';

const load = loadRecorder();

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

/** What a verifier concluded about one set. */
type Verdict =
  | { readonly accepted: true; readonly status: string; readonly advisoryIds: readonly string[] }
  | { readonly accepted: false; readonly error: string };

function verdictOf(fn: () => { status: string; advisoryIds: readonly string[] }): Verdict {
  try {
    const r = fn();
    return { accepted: true, status: r.status, advisoryIds: [...r.advisoryIds].sort() };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return { accepted: false, error: typeof code === 'string' ? code : String(e) };
  }
}

const show = (v: Verdict): string =>
  v.accepted ? `${v.status} [${v.advisoryIds.join(',')}]` : `refused (${v.error})`;

/** Why two verdicts disagree, or undefined when they agree (both refusing counts as agreeing). */
function disagreement(a: Verdict, b: Verdict): string | undefined {
  if (a.accepted !== b.accepted) return 'one accepts, the other refuses';
  if (!a.accepted || !b.accepted) return undefined;
  if (a.status !== b.status) return 'TCB status differs';
  if (a.advisoryIds.join(',') !== b.advisoryIds.join(',')) return 'advisory IDs differ';
  return undefined;
}

/** The cold path: nothing cached, raw collateral, a fresh options object. */
function verifyCold(s: BenchSet): ReturnType<typeof verifyQuote> {
  clearVerifyCaches();
  return verifyQuote(s.quote, s.raw, { ...s.options });
}

// Both verifiers must agree on every set, on both of our paths, before anything is timed.
const agreement: { set: string; status: string; advisoryIds: readonly string[] }[] = [];
const problems: string[] = [];
for (const [i, s] of sets.entries()) {
  const theirs = verdictOf(() => {
    const r = peer.verify(s.quote, s.peerCollateral, s.nowSecs);
    return { status: r.status, advisoryIds: r.advisory_ids };
  });
  const warm = verdictOf(() => verifyQuote(s.quote, prepared[i] ?? s.raw, s.options));
  const cold = verdictOf(() => verifyCold(s));
  process.stdout.write(`${s.id}: ours cold ${show(cold)}; ours warm ${show(warm)}; peer ${show(theirs)}\n`);
  for (const [path, ours] of [
    ['cold', cold],
    ['warm', warm],
  ] as const) {
    const why = disagreement(ours, theirs);
    if (why !== undefined) {
      problems.push(`${s.id}: ours (${path}) ${show(ours)} vs peer ${show(theirs)}: ${why}`);
    }
  }
  if (theirs.accepted) agreement.push({ set: s.id, status: theirs.status, advisoryIds: theirs.advisoryIds });
}
if (problems.length > 0) {
  process.stderr.write(`verify-quote: the verifiers disagree, nothing timed:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
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
    cold: () => {
      for (const s of sets) verifyCold(s);
    },
    warm: () => {
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
const cold = rates['cold'] ?? 0;
const warm = rates['warm'] ?? 0;
const peerRate = rates['peer'] ?? 0;
const bound = rates['bound'] ?? 0;
const parseOurs = rates['parseOurs'] ?? 0;
const parsePeer = rates['parsePeer'] ?? 0;

const r = (x: number): number => Math.round(x);
const vs = (a: number, b: number): number => Number((a / b).toFixed(2));
const loadavg = load.summary();
process.stdout.write(
  `verifications/s (one core, ${sets.map((s) => s.id).join(' + ')}, load ${loadavg.start ?? '?'}→${loadavg.end ?? '?'} on ${loadavg.cpus} CPUs):\n` +
    `  cold (no caches, raw collateral every call): ours ${r(cold)}, peer @phala/dcap-qvl ${r(peerRate)}, ours/peer ${vs(cold, peerRate)}x\n` +
    `  warm (collateral prepared once, caches kept): ours ${r(warm)}, peer @phala/dcap-qvl ${r(peerRate)}, ours/peer ${vs(warm, peerRate)}x\n` +
    `  warm floor (2 ECDSA P-256 verifies per quote, measured): ${r(bound)}; warm/floor ${((100 * warm) / bound).toFixed(0)}%\n`,
);
process.stdout.write(`parse-only quotes/s: ours ${r(parseOurs)}, peer ${r(parsePeer)}\n`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'verify-quote',
    headline: 'cold',
    ours: r(cold),
    peer: r(peerRate),
    unit: 'verifications/s',
    oursVsPeer: vs(cold, peerRate),
    cold: { ours: r(cold), peer: r(peerRate), oursVsPeer: vs(cold, peerRate) },
    warm: { ours: r(warm), peer: r(peerRate), oursVsPeer: vs(warm, peerRate) },
    bound: r(bound),
    boundWhat: 'two ECDSA P-256 verifies per quote (floor of the warm path), measured',
    warmVsBound: Number((warm / bound).toFixed(3)),
    parseOurs: r(parseOurs),
    parsePeer: r(parsePeer),
    parseUnit: 'quotes/s',
    sets: sets.map((s) => s.id),
    agreement,
    loadavg,
  })}\n`,
);
