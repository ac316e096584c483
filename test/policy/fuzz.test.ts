/**
 * Seeded robustness fuzzing: random token soups, mutated real policies and random JMESPath queries
 * must end in a policy outcome or a PolicyError — never another exception, a crash or a hang.
 * Seeds are fixed so failures reproduce; set POLICY_FUZZ_SEED / POLICY_FUZZ_CASES to explore.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SGX_POLICY,
  PolicyError,
  evaluatePolicy,
  parsePolicy,
  type Claim,
} from '../../src/policy/index.ts';
import { mulberry32 } from '../support/seeded-random.ts';
import {
  CURRENT_DEFAULT,
  EXPLICIT_DENY,
  LEGACY_DEFAULT,
  pinnedSignerPolicy,
  sgxClaims,
  MRSIGNER,
} from './samples.ts';

const SEED = Number(process.env['POLICY_FUZZ_SEED'] ?? 0x5eed);
const CASES = Number(process.env['POLICY_FUZZ_CASES'] ?? 3000);
/** One case may not take longer than this: far above normal (< 5 ms), far below a hang; generous for loaded CI machines. */
const CASE_MS = 2000;

/** The suite's seeded generator (mulberry32), one stream per case family. */
const rng = mulberry32;

const VOCAB = [
  'version',
  '=',
  '1.0',
  '1.1',
  '1.2',
  '1.3',
  ';',
  'configurationrules',
  'authorizationrules',
  'issuancerules',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  ',',
  ':',
  '.',
  '=>',
  '==',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  '&&',
  '!',
  'c',
  'd',
  'c1',
  'type',
  'value',
  'issuer',
  'valueType',
  'claim',
  'permit',
  'deny',
  'add',
  'issue',
  'issueproperty',
  'true',
  'false',
  '0',
  '-1',
  '42',
  '9007199254740993',
  '"x-ms-sgx-svn"',
  '"x-ms-sgx-is-debuggable"',
  '"a"',
  '""',
  '"\\"{\\\\\\"a\\\\\\": [1,2]}\\""',
  '"Integer"',
  'JmesPath',
  'JsonToClaimValue',
  'IsSubsetOf',
  'AppendString',
  'NegateBool',
  'ContainsOnlyValue',
  'c.value',
  'c.type',
  '"[1, 2, null]"',
  '"@"',
  '"[*]"',
  '// comment\n',
  '\n',
  '"unterminated',
  '\u201C',
  '||',
  '#',
  '\\',
  '1.5',
  '$',
  '"a\\qb"',
  '`',
  "'",
];

const TEMPLATE_12 = 'version=1.2; authorizationrules { => permit(); }; issuancerules {';

/** Fails the test unless `fn` returns or throws a PolicyError, within the time limit. */
function mustBeContained(label: string, input: string, fn: () => void): void {
  const started = performance.now();
  try {
    fn();
  } catch (err) {
    if (!(err instanceof PolicyError)) {
      assert.fail(`${label}: non-policy error ${String(err)}\ninput: ${JSON.stringify(input.slice(0, 400))}`);
    }
    assert.match(err.code, /^ERR_POLICY_[A-Z_]+$/);
  }
  const elapsed = performance.now() - started;
  assert.ok(
    elapsed < CASE_MS,
    `${label}: took ${elapsed.toFixed(0)} ms\ninput: ${JSON.stringify(input.slice(0, 400))}`,
  );
}

function parseAndEvaluate(text: string, claims: readonly Claim[]): void {
  const policy = parsePolicy(text);
  evaluatePolicy(policy, claims);
}

describe('policy fuzzing', () => {
  const claims = sgxClaims({ json: '{"a": [1, 2, {"b": "c"}], "s": "x"}', list: '[1, "a", true]' });

  test(`token soups (${CASES} cases, seed ${SEED})`, () => {
    const next = rng(SEED);
    let parsed = 0;
    for (let i = 0; i < CASES; i += 1) {
      const n = 1 + Math.floor(next() * 80);
      const parts: string[] = [];
      // Half the cases start like a real policy so the parser gets past the header.
      if (next() < 0.5) parts.push(next() < 0.5 ? 'version=1.2; authorizationrules {' : TEMPLATE_12);
      for (let k = 0; k < n; k += 1) parts.push(VOCAB[Math.floor(next() * VOCAB.length)] ?? ';');
      const text = parts.join(next() < 0.7 ? ' ' : '');
      mustBeContained(`soup ${i}`, text, () => {
        parseAndEvaluate(text, claims);
        parsed += 1;
      });
    }
    assert.ok(parsed < CASES, 'soups are not all valid policies');
  });

  test(`structured random rules (${CASES} cases) parse or fail cleanly, and evaluate boundedly`, () => {
    const next = rng(SEED + 1);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const exprs = [
      '1',
      '"a"',
      'true',
      'c.value',
      'JsonToClaimValue(c.value)',
      'AppendString(c.value, "x")',
      'JmesPath(c.value, "a[*]")',
      'IsSubsetOf(c.value, c.value)',
      'NegateBool(c.value)',
      'ContainsOnlyValue(c.value, 1)',
      'JsonToClaimValue(JmesPath(c.value, "a"))',
    ];
    const types = ['"json"', '"list"', '"x-ms-sgx-svn"', '"x-ms-sgx-mrsigner"', '"none"'];
    const ops = ['==', '!=', '<', '>=', '='];
    let evaluated = 0;
    for (let i = 0; i < CASES; i += 1) {
      const rules: string[] = [];
      const count = 1 + Math.floor(next() * 6);
      for (let r = 0; r < count; r += 1) {
        const neg = next() < 0.2 ? '!' : '';
        const bind = neg === '' ? 'c:' : '';
        const val = next() < 0.5 ? `, value${pick(ops)}${pick(['1', '"a"', 'true', '0'])}` : '';
        const cond = `${neg}${bind}[type==${pick(types)}${val}]`;
        const action = pick(['add', 'issue', 'issueproperty']);
        const value = bind === '' ? pick(['1', '"a"', 'true']) : pick(exprs);
        rules.push(`${cond} => ${action}(type=${pick(types)}, value=${value});`);
      }
      const text = `version=1.2; authorizationrules { => permit(); }; issuancerules { ${rules.join(' ')} };`;
      mustBeContained(`structured ${i}`, text, () => {
        parseAndEvaluate(text, claims);
        evaluated += 1;
      });
    }
    assert.ok(evaluated > CASES / 10, `only ${evaluated} structured cases evaluated without error`);
  });

  test('mutated real policies (byte deletions, insertions, swaps)', () => {
    const next = rng(SEED + 2);
    const bases = [
      DEFAULT_SGX_POLICY,
      CURRENT_DEFAULT,
      LEGACY_DEFAULT,
      EXPLICIT_DENY,
      pinnedSignerPolicy(1, MRSIGNER),
    ];
    const alphabet = '{}[]()=!<>&|;:,."\\/ \nabcxyz019$\u201C';
    for (let i = 0; i < CASES; i += 1) {
      const chars = Array.from(bases[i % bases.length] ?? '');
      const edits = 1 + Math.floor(next() * 4);
      for (let e = 0; e < edits; e += 1) {
        const at = Math.floor(next() * chars.length);
        const op = next();
        const ch = alphabet.charAt(Math.floor(next() * alphabet.length));
        if (op < 0.4) chars.splice(at, 1);
        else if (op < 0.8) chars.splice(at, 0, ch);
        else chars[at] = ch;
      }
      const text = chars.join('');
      mustBeContained(`mutant ${i}`, text, () => {
        parseAndEvaluate(text, claims);
      });
    }
  });

  test('random JMESPath queries through JmesPath()', () => {
    const next = rng(SEED + 3);
    const atoms = [
      'a',
      'b',
      's',
      '@',
      '*',
      '[*]',
      '[]',
      '[0]',
      '[-1]',
      '[1:]',
      '[::-1]',
      '[?b]',
      '[?@ == `1`]',
      '.',
      '|',
      '||',
      '&&',
      '!',
      '==',
      '<',
      '(',
      ')',
      '`1`',
      "'x'",
      'length(@)',
      'keys(@)',
      '{k: a}',
      '[a, s]',
      ',',
      ':',
      '"q"',
      '&a',
      'max(a)',
      'sort(a)',
      '[',
      ']',
      '{',
      '}',
      '?',
      'to_number(s)',
      'not_null(z, a)',
    ];
    const doc = '{"a": [1, 2, {"b": "c"}], "s": "x"}';
    for (let i = 0; i < CASES; i += 1) {
      const n = 1 + Math.floor(next() * 12);
      let q = '';
      for (let k = 0; k < n; k += 1) q += atoms[Math.floor(next() * atoms.length)] ?? '';
      const escaped = q.replaceAll('\\', '\\\\').replaceAll('"', '\\"');
      const text = `${TEMPLATE_12} c:[type=="json"] => issue(type="r", value=JmesPath(c.value, "${escaped}")); };`;
      mustBeContained(`jmespath ${i} ${JSON.stringify(q)}`, text, () => {
        parseAndEvaluate(text, [{ type: 'json', value: doc }]);
      });
    }
  });

  test('random incoming claim sets (valid and malformed) against the default policies', () => {
    const next = rng(SEED + 4);
    const values: unknown[] = [
      0,
      -1,
      1.5,
      Number.NaN,
      Infinity,
      2 ** 60,
      '',
      'x',
      'true',
      true,
      false,
      null,
      undefined,
      {},
      [],
      [1],
    ];
    const types: unknown[] = [
      'x-ms-sgx-svn',
      'x-ccnodes-simulated',
      'x-ms-sgx-is-debuggable',
      '',
      7,
      null,
      '$svn',
      'x-ms-attestation-type',
    ];
    const issuers: unknown[] = [undefined, 'AttestationService', 'CustomClaim', '', 3];
    const policies = [
      parsePolicy(DEFAULT_SGX_POLICY),
      parsePolicy(LEGACY_DEFAULT),
      parsePolicy(pinnedSignerPolicy(1, MRSIGNER)),
    ];
    let permitted = 0;
    for (let i = 0; i < CASES; i += 1) {
      const n = Math.floor(next() * 12);
      const claims = Array.from({ length: n }, () => {
        const claim: Record<string, unknown> = {
          type: types[Math.floor(next() * types.length)],
          value: values[Math.floor(next() * values.length)],
        };
        const issuer = issuers[Math.floor(next() * issuers.length)];
        if (issuer !== undefined) claim['issuer'] = issuer;
        return claim as unknown as Claim;
      });
      const policy = policies[i % policies.length];
      assert.ok(policy);
      mustBeContained(`claims ${i}`, JSON.stringify(claims), () => {
        if (evaluatePolicy(policy, claims).permitted) permitted += 1;
      });
    }
    assert.ok(permitted > 0, 'some random claim sets are permitted');
  });

  test('hostile inputs near the limits stay fast', () => {
    const cases = [
      `version=1.2; authorizationrules { => permit(); }; issuancerules { ${'c:[type=="t"] => add(type="t", value=c.value); '.repeat(40)} };`,
      `version=1.0; authorizationrules { ${'[type=="x"] && '.repeat(31)}[type=="x"] => permit(); };issuancerules{};`,
      `version=1.0; ${'['.repeat(60_000)}`,
      `version=1.0; authorizationrules { ${'=> add(type="x", value=1); '.repeat(999)} }; issuancerules { };`,
      `version=1.2; authorizationrules { => permit(); }; issuancerules { => issue(type="a", value=JmesPath("${'[1,'.repeat(60)}1${']'.repeat(60)}", "${'[]'.repeat(200)}")); };`,
    ];
    const many = Array.from({ length: 5000 }, (_, i): Claim => ({ type: i % 2 === 0 ? 't' : 'x', value: i }));
    for (const [i, text] of cases.entries()) {
      mustBeContained(`hostile ${i}`, text, () => {
        parseAndEvaluate(text, many);
      });
    }
  });
});
