/**
 * Policy evaluation throughput (`npm run bench -- policy`): the production default SGX policy over
 * a realistic claim set (spec maa.md §2.4) on two paths — allow (verified, non-simulated evidence:
 * permit, six claims issued) and deny (`x-ccnodes-simulated: true`: the policy's first
 * authorization rule denies) — each next to a hand-written equivalent that performs the same checks
 * and builds the same issued claims directly in JavaScript. Before timing, both paths' outcomes are
 * checked value by value against the expected claims (the bench exits 1 otherwise). Also reports
 * parses per second. Last line: one JSON object; `headline` names the path of `ours`/`bound`.
 */
import { isDeepStrictEqual } from 'node:util';
import {
  DEFAULT_SGX_POLICY,
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
  type Claim,
} from '../src/policy/index.ts';
import { loadRecorder } from './support/load.ts';

const load = loadRecorder();
const MRENCLAVE = 'd971961f724b71dfc5f1553ac4efb68ad160e849602cdd851cb840423e592a73';
const MRSIGNER = '856823123027010ed0ce1f7d515b6be1d7505e5828fba19785676030d8fffc28';

const incoming = (simulated: boolean): Claim[] =>
  claimsFromObject({
    'x-ms-ver': '1.0',
    'x-ms-attestation-type': 'sgx',
    'x-ms-policy-hash': 'du0WRJgSoNnG0lrt5X6M2xQK25i9i_hKzG3vgk0ag2g',
    'x-ms-sgx-is-debuggable': false,
    'x-ms-sgx-mrenclave': MRENCLAVE,
    'x-ms-sgx-mrsigner': MRSIGNER,
    'x-ms-sgx-product-id': 1,
    'x-ms-sgx-svn': 1,
    'x-ms-sgx-report-data': 'ab'.repeat(64),
    'x-ms-sgx-ehd': 'MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEA',
    'x-ms-sgx-collateral': { qeidhash: 'f1c3', quotehash: '9e2a', tcbinfohash: '0e1c' },
    'x-ccnodes-tcb-status': 'UpToDate',
    'x-ccnodes-simulated': simulated,
  });
const allowClaims = incoming(false);
const denyClaims = incoming(true);

/** What the default policy must issue for `allowClaims`, in order (its issuancerules). */
const EXPECTED_ISSUED: Claim[] = [
  { type: 'is-debuggable', value: false, issuer: 'AttestationPolicy' },
  { type: 'sgx-mrsigner', value: MRSIGNER, issuer: 'AttestationPolicy' },
  { type: 'sgx-mrenclave', value: MRENCLAVE, issuer: 'AttestationPolicy' },
  { type: 'product-id', value: 1, issuer: 'AttestationPolicy' },
  { type: 'svn', value: 1, issuer: 'AttestationPolicy' },
  { type: 'tee', value: 'sgx', issuer: 'AttestationPolicy' },
];

const ISSUE: readonly (readonly [string, string])[] = [
  ['x-ms-sgx-is-debuggable', 'is-debuggable'],
  ['x-ms-sgx-mrsigner', 'sgx-mrsigner'],
  ['x-ms-sgx-mrenclave', 'sgx-mrenclave'],
  ['x-ms-sgx-product-id', 'product-id'],
  ['x-ms-sgx-svn', 'svn'],
  ['x-ms-attestation-type', 'tee'],
];

/** The same decision and claims, hard-coded. */
function bound(input: readonly Claim[]): { permitted: boolean; issued: Claim[] } {
  if (input.some((c) => c.type === 'x-ccnodes-simulated' && c.value !== false))
    return { permitted: false, issued: [] };
  const issued: Claim[] = [];
  for (const [from, to] of ISSUE) {
    for (const c of input)
      if (c.type === from) issued.push({ type: to, value: c.value, issuer: 'AttestationPolicy' });
  }
  return { permitted: true, issued };
}

function rate(label: string, fn: () => unknown, ms = 1500): number {
  for (let i = 0; i < 2000; i += 1) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 500; i += 1) fn();
    n += 500;
    now = performance.now();
  }
  const perSec = Math.round((n * 1000) / (now - start));
  process.stdout.write(`${label}: ${perSec.toLocaleString('en-US')} /s\n`);
  return perSec;
}

const policy = parsePolicy(DEFAULT_SGX_POLICY);

// Outcomes, value by value, before anything is timed.
const problems: string[] = [];
const plain = (cs: readonly Claim[]): Claim[] =>
  cs.map((c) => ({ type: c.type, value: c.value, ...(c.issuer === undefined ? {} : { issuer: c.issuer }) }));
const allow = evaluatePolicy(policy, allowClaims);
if (!allow.permitted) problems.push(`allow path: not permitted (${allow.reason ?? 'no reason'})`);
if (!isDeepStrictEqual(plain(allow.issued), EXPECTED_ISSUED))
  problems.push(`allow path: issued ${JSON.stringify(plain(allow.issued))}`);
const allowBound = bound(allowClaims);
if (!allowBound.permitted || !isDeepStrictEqual(plain(allowBound.issued), EXPECTED_ISSUED))
  problems.push(`allow path: the hand-written equivalent issued ${JSON.stringify(allowBound.issued)}`);
const deny = evaluatePolicy(policy, denyClaims);
// The deny must come from the simulated-evidence rule, at its position in the policy text.
const ruleAt = DEFAULT_SGX_POLICY.indexOf('[type=="x-ccnodes-simulated"');
const linesBefore = DEFAULT_SGX_POLICY.slice(0, ruleAt).split('\n');
const expectedDenial = {
  kind: 'deny',
  line: linesBefore.length,
  column: (linesBefore.at(-1)?.length ?? 0) + 1,
};
if (
  ruleAt < 0 ||
  deny.permitted ||
  deny.issued.length !== 0 ||
  !isDeepStrictEqual({ ...deny.denial }, expectedDenial)
)
  problems.push(
    `deny path: permitted=${deny.permitted}, issued ${deny.issued.length}, denial ${JSON.stringify(deny.denial)} (expected ${JSON.stringify(expectedDenial)})`,
  );
const denyBound = bound(denyClaims);
if (denyBound.permitted || denyBound.issued.length !== 0)
  problems.push('deny path: the hand-written equivalent permits');
if (problems.length > 0) {
  process.stderr.write(`policy bench: wrong outcomes, nothing timed:\n  ${problems.join('\n  ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `allow: permitted, issued ${JSON.stringify(plain(allow.issued).map((c) => [c.type, c.value]))}\n`,
);
process.stdout.write(`deny: ${deny.reason ?? ''}\n`);

const n = allowClaims.length;
const parses = rate('parsePolicy(DEFAULT_SGX_POLICY)', () => parsePolicy(DEFAULT_SGX_POLICY));
const oursAllow = rate(`allow: evaluatePolicy(default, ${n} claims)`, () =>
  evaluatePolicy(policy, allowClaims),
);
const boundAllow = rate('allow: hand-written equivalent', () => bound(allowClaims));
const oursDeny = rate(`deny: evaluatePolicy(default, ${n} claims)`, () => evaluatePolicy(policy, denyClaims));
const boundDeny = rate('deny: hand-written equivalent', () => bound(denyClaims));
const ratio = (a: number, b: number): number => Number((a / b).toFixed(3));
const loadavg = load.summary();
process.stdout.write(`load average ${loadavg.start ?? '?'} → ${loadavg.end ?? '?'} (${loadavg.cpus} CPUs)\n`);
process.stdout.write(
  `${JSON.stringify({
    bench: 'policy',
    headline: 'allow',
    ours: oursAllow,
    bound: boundAllow,
    ratio: ratio(oursAllow, boundAllow),
    allow: { ours: oursAllow, bound: boundAllow, ratio: ratio(oursAllow, boundAllow) },
    deny: { ours: oursDeny, bound: boundDeny, ratio: ratio(oursDeny, boundDeny) },
    claims: n,
    parse_per_s: parses,
    unit: 'evaluations/s',
    loadavg,
  })}\n`,
);
