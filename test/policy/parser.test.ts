import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/testdata.ts';
import {
  DEFAULT_SGX_POLICY,
  DEFAULT_SGX_POLICY_SIMULATION,
  POLICY_LIMITS,
  PolicySyntaxError,
  parsePolicy,
  policyVersion,
  type Action,
  type Condition,
  type Expression,
  type Policy,
  type PolicySyntaxErrorCode,
} from '../../src/policy/index.ts';
import {
  BLANK_TEMPLATE,
  CURRENT_DEFAULT,
  EXPLICIT_DENY,
  INTERMEDIATE_DEFAULT,
  LEGACY_DEFAULT,
  PERMIT_ALL,
  pinnedSignerPolicy,
  rotationPolicy,
  MRSIGNER,
} from './samples.ts';

function parseError(text: string): PolicySyntaxError {
  try {
    parsePolicy(text);
  } catch (err) {
    assert.ok(err instanceof PolicySyntaxError, `expected PolicySyntaxError, got ${String(err)}`);
    return err;
  }
  assert.fail(`parsePolicy accepted:\n${text}`);
}

/** The value of a literal expression (fails on anything else). */
function literal(expr: Expression | undefined): unknown {
  if (expr?.kind !== 'literal') throw new Error(`expected a literal, got ${JSON.stringify(expr)}`);
  return expr.value;
}

/** A claim action as `[kind, type, value]` of its literal `type = …, value = …` arguments. */
function claimAction(action: Action | undefined): [string, unknown, unknown] {
  if (action === undefined || !('spec' in action))
    throw new Error(`expected a claim action, got ${JSON.stringify(action)}`);
  const spec = action.spec;
  if (spec.kind !== 'build') throw new Error(`expected type = …, value = …, got ${JSON.stringify(spec)}`);
  return [action.kind, literal(spec.type), literal(spec.value)];
}

/** Rules of every section together, and the total the parser reports. */
function sectionRuleTotal(policy: Policy): number {
  return (
    (policy.configurationRules?.rules.length ?? 0) +
    policy.authorizationRules.rules.length +
    policy.issuanceRules.rules.length
  );
}

const HEAD10 = 'version=1.0;\n';
const HEAD12 = 'version=1.2;\n';
const TAIL = '\nissuancerules { };';

describe('policy parser: the spec samples (§3.5) parse', () => {
  const samples: [string, string, string, number][] = [
    ['legacy default', LEGACY_DEFAULT, '1.0', 7],
    ['current default', CURRENT_DEFAULT, '1.1', 8],
    ['intermediate default', INTERMEDIATE_DEFAULT, '1.0', 7],
    ['pinned signer', pinnedSignerPolicy(1, MRSIGNER), '1.0', 2],
    ['signer rotation', rotationPolicy('a', 'b'), '1.0', 2],
    ['permit all', PERMIT_ALL, '1.0', 1],
    ['explicit deny', EXPLICIT_DENY, '1.0', 2],
    ['blank template', BLANK_TEMPLATE, '1.0', 1],
    ['our production default', DEFAULT_SGX_POLICY, '1.1', 9],
    ['our simulation default', DEFAULT_SGX_POLICY_SIMULATION, '1.1', 8],
  ];
  for (const [name, text, version, rules] of samples) {
    test(name, () => {
      const policy = parsePolicy(text);
      assert.equal(policyVersion(policy), version);
      assert.equal(policy.ruleCount, rules);
      assert.equal(sectionRuleTotal(policy), rules);
    });
  }

  test('AST of the pinned-signer policy', () => {
    const policy = parsePolicy(pinnedSignerPolicy(7, MRSIGNER));
    const [rule] = policy.authorizationRules.rules;
    assert.ok(rule);
    assert.equal(rule.action.kind, 'permit');
    assert.equal(rule.conditions.length, 4);
    const svn = rule.conditions[2] as Condition;
    assert.deepEqual(
      svn.tests.map((t) => [t.property, t.comparator, t.expr.kind === 'literal' ? t.expr.value : '?']),
      [
        ['type', '==', 'x-ms-sgx-svn'],
        ['value', '>=', 0],
      ],
    );
    assert.deepEqual([rule.pos.line, rule.pos.column], [3, 3]);
    const product = rule.conditions[1] as Condition;
    assert.equal(product.tests[1]?.expr.kind === 'literal' && product.tests[1].expr.value, 7);
    const [issue] = policy.issuanceRules.rules;
    assert.equal(issue?.conditions[0]?.variable, 'c');
    assert.equal(issue.action.kind, 'issue');
  });
});

describe('policy parser: accepted variations', () => {
  test('keywords in any case, no spaces, = in conditions, comments, empty sections', () => {
    const policy = parsePolicy(
      'Version=1.2;// trailing comment\nConfigurationRules{};AUTHORIZATIONRULES{c:[Type="x",VALUE==True]&&[issuer=="AttestationService"]=>PERMIT();};Issuancerules{c:[type=="x"]=>ISSUE(claim=c);};',
    );
    const cond = policy.authorizationRules.rules[0]?.conditions[0];
    assert.ok(cond);
    assert.equal(cond.tests[0]?.comparator, '==');
    const second = cond.tests[1]?.expr;
    assert.equal(second?.kind === 'literal' && second.value, true);
    assert.equal(policy.configurationRules?.rules.length, 0);
  });

  test('valueType tests and action arguments in any order with valueType', () => {
    const policy = parsePolicy(
      `${HEAD10}authorizationrules { [type=="a", valueType=="integer"] => permit(); };\nissuancerules { => issue(value=5, type="n", valueType="Integer"); };`,
    );
    const t = policy.authorizationRules.rules[0]?.conditions[0]?.tests[1];
    assert.equal(t?.expr.kind === 'literal' && t.expr.value, 'Integer');
  });

  test('1.2 negation, nested functions and claim references', () => {
    const policy = parsePolicy(
      `${HEAD12}authorizationrules { => permit(); };\nissuancerules {\n c1:[type=="a"] && c2:[type=="b", value==c1.value] && ![type=="c"] => issue(type="d", value=AppendString(AppendString(c1.value, "-"), c2.value));\n};`,
    );
    const rule = policy.issuanceRules.rules[0];
    assert.equal(rule?.conditions[2]?.negated, true);
    assert.equal(
      rule.action.kind === 'issue' && rule.action.spec.kind === 'build' && rule.action.spec.value.kind,
      'call',
    );
  });

  test('issueproperty is allowed in configurationrules and issuancerules', () => {
    const policy = parsePolicy(
      'version=1.1; configurationrules { => issueproperty(type="required_pcr_mask", value=15); => issueproperty(type="require_valid_aik_cert", value=false); }; authorizationrules { => permit(); }; issuancerules { => issueproperty(type="x", value=1); };',
    );
    assert.equal(policyVersion(policy), '1.1');
    const config = policy.configurationRules?.rules ?? [];
    assert.deepEqual(
      config.map((r) => claimAction(r.action)),
      [
        ['issueproperty', 'required_pcr_mask', 15],
        ['issueproperty', 'require_valid_aik_cert', false],
      ],
    );
    assert.ok(config.every((r) => r.conditions.length === 0));
    assert.deepEqual(
      policy.authorizationRules.rules.map((r) => r.action.kind),
      ['permit'],
    );
    assert.deepEqual(
      policy.issuanceRules.rules.map((r) => claimAction(r.action)),
      [['issueproperty', 'x', 1]],
    );
    assert.equal(policy.ruleCount, 4);
  });

  test('add is allowed in authorizationrules', () => {
    const policy = parsePolicy(
      `${HEAD10}authorizationrules { => add(type="x", value=1); [type=="x"] => permit(); };${TAIL}`,
    );
    const [add, permit] = policy.authorizationRules.rules;
    assert.equal(add?.conditions.length, 0);
    assert.deepEqual(claimAction(add.action), ['add', 'x', 1]);
    assert.equal(permit?.action.kind, 'permit');
    assert.deepEqual(
      permit.conditions.map((c) => c.tests.map((t) => [t.property, t.comparator, literal(t.expr)])),
      [[['type', '==', 'x']]],
    );
    assert.deepEqual([add.pos.line, add.pos.column, permit.pos.line], [2, 22, 2]);
    assert.equal(policy.issuanceRules.rules.length, 0);
  });
});

describe('policy parser: malformed policies report code and line:column', () => {
  const cases: [string, string, PolicySyntaxErrorCode, number, number][] = [
    ['empty text', '', 'ERR_POLICY_UNEXPECTED_TOKEN', 1, 1],
    ['no version', 'authorizationrules { => permit(); };', 'ERR_POLICY_UNEXPECTED_TOKEN', 1, 1],
    ['version without =', 'version 1.0;', 'ERR_POLICY_UNEXPECTED_TOKEN', 1, 9],
    ['version 1.3', 'version=1.3;', 'ERR_POLICY_VERSION_UNSUPPORTED', 1, 9],
    ['version 2', 'version = 2;', 'ERR_POLICY_VERSION_UNSUPPORTED', 1, 11],
    ['version string', 'version="1.0";', 'ERR_POLICY_UNEXPECTED_TOKEN', 1, 9],
    ['version without ;', 'version=1.0 authorizationrules', 'ERR_POLICY_UNEXPECTED_TOKEN', 1, 13],
    ['missing authorizationrules', `${HEAD10}issuancerules { };`, 'ERR_POLICY_SECTION', 2, 1],
    ['missing issuancerules', `${HEAD10}authorizationrules { };`, 'ERR_POLICY_SECTION', 2, 24],
    ['unknown section', `${HEAD10}authorisationrules { };`, 'ERR_POLICY_SECTION', 2, 1],
    [
      'duplicate section',
      `${HEAD10}authorizationrules { };\nauthorizationrules { };`,
      'ERR_POLICY_SECTION',
      3,
      1,
    ],
    [
      'issuancerules first',
      `${HEAD10}issuancerules { };\nauthorizationrules { };`,
      'ERR_POLICY_SECTION',
      2,
      1,
    ],
    ['configurationrules in 1.0', `${HEAD10}configurationrules { };`, 'ERR_POLICY_VERSION_FEATURE', 2, 1],
    [
      'configuration after authorization',
      'version=1.1; authorizationrules {}; configurationrules {};',
      'ERR_POLICY_SECTION',
      1,
      37,
    ],
    ['section without {', `${HEAD10}authorizationrules => permit();`, 'ERR_POLICY_UNEXPECTED_TOKEN', 2, 20],
    [
      'section without ;',
      `${HEAD10}authorizationrules { }\nissuancerules { };`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      3,
      1,
    ],
    ['unclosed section', `${HEAD10}authorizationrules { => permit();`, 'ERR_POLICY_UNEXPECTED_TOKEN', 2, 34],
    [
      'rule without ;',
      `${HEAD10}authorizationrules { => permit() };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      34,
    ],
    [
      'rule without =>',
      `${HEAD10}authorizationrules { [type=="x"] permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      34,
    ],
    [
      '|| between conditions',
      `${HEAD10}authorizationrules { [type=="x"] || [type=="y"] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_CHARACTER',
      2,
      34,
    ],
    [
      'dangling &&',
      `${HEAD10}authorizationrules { [type=="x"] && => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      37,
    ],
    [
      'empty condition',
      `${HEAD10}authorizationrules { [] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      23,
    ],
    [
      'unknown property',
      `${HEAD10}authorizationrules { [kind=="x"] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      23,
    ],
    [
      'missing comparator',
      `${HEAD10}authorizationrules { [type "x"] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      28,
    ],
    [
      '=> as comparator',
      `${HEAD10}authorizationrules { [value=>3] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      28,
    ],
    [
      'missing value',
      `${HEAD10}authorizationrules { [type==] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      29,
    ],
    [
      'unclosed condition',
      `${HEAD10}authorizationrules { [type=="x" => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      33,
    ],
    [
      'fraction literal',
      `${HEAD10}authorizationrules { [value==1.5] => permit(); };${TAIL}`,
      'ERR_POLICY_INVALID_NUMBER',
      2,
      30,
    ],
    [
      'huge integer',
      `${HEAD10}authorizationrules { [value==99999999999999999999] => permit(); };${TAIL}`,
      'ERR_POLICY_INVALID_NUMBER',
      2,
      30,
    ],
    [
      'ordering on type',
      `${HEAD10}authorizationrules { [type>"x"] => permit(); };${TAIL}`,
      'ERR_POLICY_COMPARATOR_TYPE',
      2,
      27,
    ],
    [
      'ordering with a string',
      `${HEAD10}authorizationrules { [value>="x"] => permit(); };${TAIL}`,
      'ERR_POLICY_COMPARATOR_TYPE',
      2,
      30,
    ],
    [
      'ordering with a boolean',
      `${HEAD10}authorizationrules { [value<true] => permit(); };${TAIL}`,
      'ERR_POLICY_COMPARATOR_TYPE',
      2,
      29,
    ],
    [
      'type equals an integer',
      `${HEAD10}authorizationrules { [type==5] => permit(); };${TAIL}`,
      'ERR_POLICY_COMPARATOR_TYPE',
      2,
      29,
    ],
    [
      'unknown valueType',
      `${HEAD10}authorizationrules { [valueType=="Float"] => permit(); };${TAIL}`,
      'ERR_POLICY_COMPARATOR_TYPE',
      2,
      34,
    ],
    [
      'issue in authorizationrules',
      `${HEAD10}authorizationrules { => issue(type="a", value=1); };${TAIL}`,
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      2,
      25,
    ],
    [
      'issueproperty in authorizationrules',
      `${HEAD10}authorizationrules { => issueproperty(type="a", value=1); };${TAIL}`,
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      2,
      25,
    ],
    [
      'permit in issuancerules',
      `${HEAD10}authorizationrules { };\nissuancerules { => permit(); };`,
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      3,
      20,
    ],
    [
      'deny in issuancerules',
      `${HEAD10}authorizationrules { };\nissuancerules { => deny(); };`,
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      3,
      20,
    ],
    [
      'permit in configurationrules',
      'version=1.1;\nconfigurationrules { => permit(); };',
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      2,
      25,
    ],
    [
      'add in configurationrules',
      'version=1.1;\nconfigurationrules { => add(type="a", value=1); };',
      'ERR_POLICY_ACTION_NOT_ALLOWED',
      2,
      25,
    ],
    [
      'unknown action',
      `${HEAD10}authorizationrules { => allow(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      25,
    ],
    [
      'permit with argument',
      `${HEAD10}authorizationrules { => permit(1); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      32,
    ],
    [
      'issue without value',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a"); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      26,
    ],
    [
      'issue with type twice',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a", type="b", value=1); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      36,
    ],
    [
      'issue with unknown key',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(kind="a", value=1); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      26,
    ],
    [
      'issue with empty type',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="", value=1); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      31,
    ],
    [
      'issue with integer type',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type=3, value=1); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      31,
    ],
    [
      'valueType mismatch',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a", value="1", valueType="Integer"); };`,
      'ERR_POLICY_INVALID_CLAIM_SPEC',
      3,
      42,
    ],
    [
      'bad valueType',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a", value=1, valueType=Integer); };`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      3,
      55,
    ],
    [
      'unbound variable in value',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a", value=c.value); };`,
      'ERR_POLICY_UNBOUND_VARIABLE',
      3,
      42,
    ],
    [
      'unbound variable in claim=',
      `${HEAD10}authorizationrules { };\nissuancerules { [type=="x"] => issue(claim=c); };`,
      'ERR_POLICY_UNBOUND_VARIABLE',
      3,
      44,
    ],
    [
      'self reference',
      `${HEAD10}authorizationrules { c:[value==c.value] => permit(); };${TAIL}`,
      'ERR_POLICY_UNBOUND_VARIABLE',
      2,
      32,
    ],
    [
      'variable from another rule',
      `${HEAD10}authorizationrules { c:[type=="x"] => permit(); [value==c.value] => permit(); };${TAIL}`,
      'ERR_POLICY_UNBOUND_VARIABLE',
      2,
      57,
    ],
    [
      'duplicate variable',
      `${HEAD10}authorizationrules { c:[type=="x"] && c:[type=="y"] => permit(); };${TAIL}`,
      'ERR_POLICY_DUPLICATE_VARIABLE',
      2,
      39,
    ],
    [
      'variable without property',
      `${HEAD10}authorizationrules { c:[type=="x"] && [value==c] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      47,
    ],
    [
      'unknown claim property on variable',
      `${HEAD10}authorizationrules { c:[type=="x"] && [value==c.name] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      2,
      49,
    ],
    [
      'negation in 1.0',
      `${HEAD10}authorizationrules { ![type=="x"] => permit(); };${TAIL}`,
      'ERR_POLICY_VERSION_FEATURE',
      2,
      22,
    ],
    [
      'negation in 1.1',
      'version=1.1;\nauthorizationrules { ![type=="x"] => permit(); };\nissuancerules {};',
      'ERR_POLICY_VERSION_FEATURE',
      2,
      22,
    ],
    [
      'negated binding',
      `${HEAD12}authorizationrules { !c:[type=="x"] => permit(); };${TAIL}`,
      'ERR_POLICY_DUPLICATE_VARIABLE',
      2,
      23,
    ],
    [
      'function in 1.0',
      `${HEAD10}authorizationrules { };\nissuancerules { => issue(type="a", value=NegateBool(true)); };`,
      'ERR_POLICY_VERSION_FEATURE',
      3,
      42,
    ],
    [
      'function in 1.1',
      'version=1.1; authorizationrules { };\nissuancerules { => issue(type="a", value=NegateBool(true)); };',
      'ERR_POLICY_VERSION_FEATURE',
      2,
      42,
    ],
    [
      'unknown function',
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=NegateBol(true)); };`,
      'ERR_POLICY_UNKNOWN_FUNCTION',
      3,
      42,
    ],
    [
      'too few arguments',
      `${HEAD12}authorizationrules { };\nissuancerules { c:[type=="s"] => issue(type="a", value=ContainsOnlyValue(100)); };`,
      'ERR_POLICY_ARITY',
      3,
      56,
    ],
    [
      'too many arguments',
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=NegateBool(true, false)); };`,
      'ERR_POLICY_ARITY',
      3,
      42,
    ],
    [
      'unclosed call',
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=NegateBool(true); };`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      3,
      58,
    ],
    [
      'trailing comma in call',
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=AppendString("a",)); };`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      3,
      59,
    ],
    [
      'garbage after the last section',
      `${HEAD10}authorizationrules { };\nissuancerules { };\n=> permit();`,
      'ERR_POLICY_UNEXPECTED_TOKEN',
      4,
      1,
    ],
    [
      'curly quotes (doc copy-paste)',
      `${HEAD10}authorizationrules { [type==\u201Cx\u201D] => permit(); };${TAIL}`,
      'ERR_POLICY_UNEXPECTED_CHARACTER',
      2,
      29,
    ],
  ];
  for (const [name, text, code, line, column] of cases) {
    test(`${name} → ${code} at ${line}:${column}`, () => {
      const err = parseError(text);
      assert.equal(err.code, code, err.message);
      assert.deepEqual([err.line, err.column], [line, column], err.message);
      assert.ok(err.message.startsWith(`${line}:${column}: `), err.message);
      assert.equal(err.details['line'], line);
    });
  }
});

describe('policy parser: structural limits', () => {
  test('rule count', () => {
    const rules = '=> permit();'.repeat(POLICY_LIMITS.maxRules + 1);
    assert.equal(parseError(`${HEAD10}authorizationrules { ${rules} };${TAIL}`).code, 'ERR_POLICY_LIMIT');
    const ok = '=> permit();'.repeat(POLICY_LIMITS.maxRules);
    assert.equal(
      parsePolicy(`${HEAD10}authorizationrules { ${ok} };${TAIL}`).ruleCount,
      POLICY_LIMITS.maxRules,
    );
  });

  test('conditions per rule and tests per condition', () => {
    const conds = Array.from({ length: POLICY_LIMITS.maxConditionsPerRule + 1 }, () => '[type=="x"]').join(
      ' && ',
    );
    assert.equal(
      parseError(`${HEAD10}authorizationrules { ${conds} => permit(); };${TAIL}`).code,
      'ERR_POLICY_LIMIT',
    );
    const tests = Array.from({ length: POLICY_LIMITS.maxTestsPerCondition + 1 }, () => 'type=="x"').join(
      ', ',
    );
    assert.equal(
      parseError(`${HEAD10}authorizationrules { [${tests}] => permit(); };${TAIL}`).code,
      'ERR_POLICY_LIMIT',
    );
  });

  test('function nesting depth', () => {
    const depth = POLICY_LIMITS.maxExpressionDepth + 2;
    const nested = `${'NegateBool('.repeat(depth)}true${')'.repeat(depth)}`;
    const err = parseError(
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=${nested}); };`,
    );
    assert.equal(err.code, 'ERR_POLICY_LIMIT');
    const okDepth = POLICY_LIMITS.maxExpressionDepth;
    const fine = `${'NegateBool('.repeat(okDepth)}true${')'.repeat(okDepth)}`;
    const policy = parsePolicy(
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=${fine}); };`,
    );
    const action = policy.issuanceRules.rules[0]?.action;
    assert.ok(action?.kind === 'issue' && action.spec.kind === 'build');
    let expr: Expression = action.spec.value;
    let calls = 0;
    while (expr.kind === 'call') {
      assert.equal(expr.name, 'NegateBool');
      assert.equal(expr.args.length, 1);
      expr = expr.args[0] as Expression;
      calls++;
    }
    assert.equal(calls, okDepth);
    assert.equal(literal(expr), true);
  });

  test('a deeply nested hostile policy fails fast with a typed error, not a stack overflow', () => {
    const nested = `${'AppendString('.repeat(5_000)}"x"`;
    const started = performance.now();
    const err = parseError(
      `${HEAD12}authorizationrules { };\nissuancerules { => issue(type="a", value=${nested}); };`,
    );
    assert.equal(err.code, 'ERR_POLICY_LIMIT');
    assert.ok(performance.now() - started < 1000);
  });
});

describe('docs/policy.md', () => {
  test('every example policy in the language guide parses', () => {
    const md = readFileSync(join(REPO_ROOT, 'docs', 'policy.md'), 'utf8');
    const examples = [...md.matchAll(/```\n(version=[\s\S]*?)```/g)].map((m) => m[1] ?? '');
    assert.ok(examples.length >= 5, `found ${examples.length} examples`);
    for (const text of examples) {
      const policy = parsePolicy(text);
      assert.equal(policyVersion(policy), /^version\s*=\s*([0-9.]+)/.exec(text)?.[1], text);
      // The examples carry no comments, so every "=>" starts one rule.
      assert.ok(!text.includes('//'), text);
      assert.equal(policy.ruleCount, text.split('=>').length - 1, text);
      assert.equal(sectionRuleTotal(policy), policy.ruleCount, text);
      for (const r of policy.authorizationRules.rules)
        assert.ok(['permit', 'deny', 'add'].includes(r.action.kind), text);
      for (const r of policy.issuanceRules.rules)
        assert.ok(['issue', 'issueproperty', 'add'].includes(r.action.kind), text);
    }
  });

  test('the production default printed in the guide is DEFAULT_SGX_POLICY', () => {
    const md = readFileSync(join(REPO_ROOT, 'docs', 'policy.md'), 'utf8');
    assert.ok(md.includes(DEFAULT_SGX_POLICY), 'docs/policy.md shows the current default verbatim');
  });
});
