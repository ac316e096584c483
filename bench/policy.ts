/**
 * Policy evaluation throughput: the production default SGX policy over a realistic claim set
 * (spec maa.md §2.4), against a hand-written bound that performs the same checks and builds the
 * same issued claims directly in JavaScript. Also reports parses per second.
 * `npm run bench -- policy`
 */
import {
  DEFAULT_SGX_POLICY,
  claimsFromObject,
  evaluatePolicy,
  parsePolicy,
  type Claim,
} from '../src/policy/index.ts';

const claims = claimsFromObject({
  'x-ms-ver': '1.0',
  'x-ms-attestation-type': 'sgx',
  'x-ms-policy-hash': 'du0WRJgSoNnG0lrt5X6M2xQK25i9i_hKzG3vgk0ag2g',
  'x-ms-sgx-is-debuggable': false,
  'x-ms-sgx-mrenclave': 'd971961f724b71dfc5f1553ac4efb68ad160e849602cdd851cb840423e592a73',
  'x-ms-sgx-mrsigner': '856823123027010ed0ce1f7d515b6be1d7505e5828fba19785676030d8fffc28',
  'x-ms-sgx-product-id': 1,
  'x-ms-sgx-svn': 1,
  'x-ms-sgx-report-data': 'ab'.repeat(64),
  'x-ms-sgx-ehd': 'MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEA',
  'x-ms-sgx-collateral': { qeidhash: 'f1c3', quotehash: '9e2a', tcbinfohash: '0e1c' },
  'x-ccnodes-tcb-status': 'UpToDate',
});

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
const check = evaluatePolicy(policy, claims);
if (!check.permitted || check.issued.length !== bound(claims).issued.length)
  throw new Error('bench: outcomes differ');

const parses = rate('parsePolicy(DEFAULT_SGX_POLICY)', () => parsePolicy(DEFAULT_SGX_POLICY));
const ours = rate('evaluatePolicy(default, 15 claims)', () => evaluatePolicy(policy, claims));
const peer = rate('hand-written bound', () => bound(claims));
process.stdout.write(
  `${JSON.stringify({ bench: 'policy', ours, bound: peer, ratio: Number((ours / peer).toFixed(3)), parse_per_s: parses, unit: 'evaluations/s' })}\n`,
);
