import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SGX_POLICY,
  DEFAULT_SGX_POLICY_SIMULATION,
  POLICY_LIMITS,
  PolicyEvaluationError,
  claimsToObject,
  defaultPolicyFor,
  evaluatePolicy,
  parsePolicy,
  type Claim,
  type EvaluateOptions,
  type PolicyEvaluationErrorCode,
  type PolicyOutcome,
} from '../../src/policy/index.ts';
import {
  BLANK_TEMPLATE,
  CURRENT_DEFAULT,
  EHD,
  EXPLICIT_DENY,
  INTERMEDIATE_DEFAULT,
  LEGACY_DEFAULT,
  MRENCLAVE,
  MRSIGNER,
  OTHER_SIGNER,
  PERMIT_ALL,
  pinnedSignerPolicy,
  rotationPolicy,
  sgxClaims,
} from './samples.ts';

function run(policy: string, claims: readonly Claim[], options?: EvaluateOptions): PolicyOutcome {
  return evaluatePolicy(parsePolicy(policy), claims, options);
}

function evalError(
  policy: string,
  claims: readonly Claim[],
  options?: EvaluateOptions,
): PolicyEvaluationError {
  try {
    run(policy, claims, options);
  } catch (err) {
    assert.ok(err instanceof PolicyEvaluationError, `expected PolicyEvaluationError, got ${String(err)}`);
    return err;
  }
  assert.fail('evaluation succeeded');
}

/** The issued claims as [type, value] pairs. */
function pairs(outcome: PolicyOutcome): [string, unknown][] {
  return outcome.issued.map((c) => [c.type, c.value]);
}

const LEGACY_ISSUED: [string, unknown][] = [
  ['is-debuggable', false],
  ['sgx-mrsigner', MRSIGNER],
  ['sgx-mrenclave', MRENCLAVE],
  ['product-id', 1],
  ['svn', 1],
  ['tee', 'sgx'],
];

const simulated = (value: unknown): Claim[] =>
  sgxClaims({ 'x-ccnodes-simulated': value as string | number | boolean });

describe('default policies over the §2.4 SGX claim set', () => {
  test('current MAA default: permit, legacy duplicates issued with the evidence values, TCB property', () => {
    const outcome = run(CURRENT_DEFAULT, sgxClaims());
    assert.equal(outcome.permitted, true);
    assert.deepEqual(pairs(outcome), LEGACY_ISSUED);
    assert.ok(outcome.issued.every((c) => c.issuer === 'AttestationPolicy'));
    assert.deepEqual(outcome.properties, [
      { type: 'x-ms-sgx-tcbidentifier', value: 'azuredefault', issuer: 'AttestationPolicy' },
    ]);
    assert.equal(outcome.reason, undefined);
  });

  test('legacy 2020 default works through the $-prefixed incoming aliases', () => {
    const outcome = run(LEGACY_DEFAULT, sgxClaims());
    assert.equal(outcome.permitted, true);
    assert.deepEqual(pairs(outcome), LEGACY_ISSUED);
  });

  test('legacy default without the aliases has no matching permit rule and denies', () => {
    const outcome = run(LEGACY_DEFAULT, sgxClaims(), { legacyAliases: false });
    assert.equal(outcome.permitted, false);
    assert.equal(outcome.denial?.kind, 'no-permit');
    assert.deepEqual(outcome.issued, []);
  });

  test('aliases are only derived from AttestationService claims', () => {
    const custom: Claim[] = [{ type: 'x-ms-sgx-is-debuggable', value: false, issuer: 'CustomClaim' }];
    assert.equal(run(LEGACY_DEFAULT, custom).permitted, false);
  });

  test('intermediate 1.0 default: same claims, no properties', () => {
    const outcome = run(INTERMEDIATE_DEFAULT, sgxClaims());
    assert.deepEqual(pairs(outcome), LEGACY_ISSUED);
    assert.deepEqual(outcome.properties, []);
  });

  test('our production default issues what MAA issues for real evidence', () => {
    const ours = run(DEFAULT_SGX_POLICY, sgxClaims());
    assert.equal(ours.permitted, true);
    assert.deepEqual(ours.issued, run(CURRENT_DEFAULT, sgxClaims()).issued);
    assert.deepEqual(ours.properties, run(CURRENT_DEFAULT, sgxClaims()).properties);
  });

  test('production default denies simulated evidence (true, "true", 1), names the rule', () => {
    for (const value of [true, 'true', 1]) {
      const outcome = run(DEFAULT_SGX_POLICY, simulated(value));
      assert.equal(outcome.permitted, false, `x-ccnodes-simulated=${JSON.stringify(value)}`);
      assert.equal(outcome.denial?.kind, 'deny');
      assert.deepEqual([outcome.denial.line, outcome.denial.column], [6, 3]);
      assert.match(outcome.reason ?? '', /6:3/);
      assert.deepEqual(outcome.issued, []);
    }
  });

  test('production default permits when the simulated claim is explicitly false', () => {
    assert.equal(run(DEFAULT_SGX_POLICY, simulated(false)).permitted, true);
  });

  test('simulation default permits simulated evidence', () => {
    const outcome = run(DEFAULT_SGX_POLICY_SIMULATION, simulated(true));
    assert.equal(outcome.permitted, true);
    assert.deepEqual(pairs(outcome), LEGACY_ISSUED);
  });

  test('defaultPolicyFor picks by mode', () => {
    assert.equal(defaultPolicyFor('SgxEnclave', 'production'), DEFAULT_SGX_POLICY);
    assert.equal(defaultPolicyFor('OpenEnclave', 'simulation'), DEFAULT_SGX_POLICY_SIMULATION);
    assert.equal(defaultPolicyFor(), DEFAULT_SGX_POLICY);
  });
});

describe('custom SGX policies of §3.5', () => {
  const pinned = pinnedSignerPolicy(1, MRSIGNER);

  test('pinned signer: permits the right enclave and issues the custom claim', () => {
    const outcome = run(pinned, sgxClaims());
    assert.equal(outcome.permitted, true);
    assert.deepEqual(pairs(outcome), [['contoso-signer', MRSIGNER]]);
  });

  const denials: [string, Record<string, unknown>][] = [
    ['a debug enclave', { 'x-ms-sgx-is-debuggable': true }],
    ['another signer', { 'x-ms-sgx-mrsigner': OTHER_SIGNER }],
    ['another product', { 'x-ms-sgx-product-id': 2 }],
    ['a product id given as a string (typed equality)', { 'x-ms-sgx-product-id': '1' }],
    ['a negative svn', { 'x-ms-sgx-svn': -1 }],
    ['an svn given as a string (ordering needs Integers)', { 'x-ms-sgx-svn': '1' }],
    ['debuggable given as the string "false"', { 'x-ms-sgx-is-debuggable': 'false' }],
  ];
  for (const [name, overrides] of denials) {
    test(`pinned signer: denies ${name}`, () => {
      const outcome = run(pinned, sgxClaims(overrides));
      assert.equal(outcome.permitted, false);
      assert.equal(outcome.denial?.kind, 'no-permit');
      assert.deepEqual(outcome.issued, []);
    });
  }

  test('pinned signer: denies when a required claim is missing', () => {
    const claims = sgxClaims().filter((c) => c.type !== 'x-ms-sgx-svn');
    assert.equal(run(pinned, claims).permitted, false);
  });

  test('signer rotation: either signer is permitted, a third is not, debug never', () => {
    const policy = rotationPolicy(OTHER_SIGNER, MRSIGNER);
    assert.equal(run(policy, sgxClaims()).permitted, true);
    assert.equal(run(policy, sgxClaims({ 'x-ms-sgx-mrsigner': OTHER_SIGNER })).permitted, true);
    assert.equal(run(policy, sgxClaims({ 'x-ms-sgx-mrsigner': 'ff'.repeat(32) })).permitted, false);
    assert.equal(run(policy, sgxClaims({ 'x-ms-sgx-is-debuggable': true })).permitted, false);
  });

  test('permit-everything permits even an empty claim set', () => {
    assert.equal(run(PERMIT_ALL, []).permitted, true);
  });

  test('blank template denies with an explicit deny', () => {
    const outcome = run(BLANK_TEMPLATE, sgxClaims());
    assert.equal(outcome.permitted, false);
    assert.equal(outcome.denial?.kind, 'deny');
  });

  test('explicit-deny style: deny wins over a later unconditional permit', () => {
    assert.equal(run(EXPLICIT_DENY, sgxClaims()).permitted, true);
    const debug = run(EXPLICIT_DENY, sgxClaims({ 'x-ms-sgx-is-debuggable': true }));
    assert.equal(debug.permitted, false);
    assert.deepEqual([debug.denial?.kind, debug.denial?.line, debug.denial?.column], ['deny', 2, 22]);
  });
});

describe('evaluation semantics', () => {
  const H10 = 'version=1.0;\n';

  test('a permit followed by a deny denies; evaluation stops at the deny', () => {
    const outcome = run(
      `${H10}authorizationrules { => permit(); => deny(); => add(type="late", value=1); };\nissuancerules { => issue(type="x", value=1); };`,
      [],
    );
    assert.equal(outcome.permitted, false);
    assert.equal(outcome.denial?.line, 2);
    assert.deepEqual(outcome.issued, []);
  });

  test('add() in authorizationrules feeds later rules; issuance sees it too but does not issue it', () => {
    const outcome = run(
      `${H10}authorizationrules { [type=="x-ms-sgx-svn", value>=1] => add(type="svn-ok", value=true); [type=="svn-ok", value==true] => permit(); };\nissuancerules { c:[type=="svn-ok"] => issue(type="checked", value=c.value); };`,
      sgxClaims(),
    );
    assert.equal(outcome.permitted, true);
    assert.deepEqual(pairs(outcome), [['checked', true]]);
  });

  test('issue() feeds later issuance rules; add() stays out of the token; issueproperty() is a property', () => {
    const outcome = run(
      `${H10}authorizationrules { => permit(); };\nissuancerules {\n => add(type="a", value="A");\n c:[type=="a"] => issue(type="b", value=c.value);\n c:[type=="b", issuer=="AttestationPolicy"] => issue(type="c", value=c.value);\n => issueproperty(type="p", value=3);\n};`,
      [],
    );
    assert.deepEqual(pairs(outcome), [
      ['b', 'A'],
      ['c', 'A'],
    ]);
    assert.deepEqual(outcome.properties, [{ type: 'p', value: 3, issuer: 'AttestationPolicy' }]);
  });

  test("a rule's conditions do not see claims its own action adds", () => {
    const outcome = run(
      `${H10}authorizationrules { => permit(); };\nissuancerules { c:[type=="n"] => add(type="n", value=c.value); c:[type=="n"] => issue(type="out", value=c.value); };`,
      [{ type: 'n', value: 1 }],
    );
    assert.deepEqual(pairs(outcome), [
      ['out', 1],
      ['out', 1],
    ]);
  });

  test('one issued claim per matching claim; claim=c copies every match', () => {
    const claims: Claim[] = [
      { type: 'x', value: 1 },
      { type: 'x', value: 2 },
      { type: 'y', value: 3 },
    ];
    const outcome = run(
      `${H10}authorizationrules { => permit(); };\nissuancerules { c:[type=="x"] => issue(type="z", value=c.value); d:[type=="x", value>1] => issue(claim=d); };`,
      claims,
    );
    assert.deepEqual(pairs(outcome), [
      ['z', 1],
      ['z', 2],
      ['x', 2],
    ]);
    assert.equal(outcome.issued[2]?.issuer, 'CustomClaim');
    assert.deepEqual(claimsToObject(outcome.issued), { z: [1, 2], x: 2 });
  });

  test('issuer predicates and the documented default issuer (CustomClaim)', () => {
    const policy = `${H10}authorizationrules { [type=="OSName", issuer=="AttestationService"] => permit(); };\nissuancerules { };`;
    const claims: Claim[] = [{ type: 'OSName', value: 'Windows' }];
    assert.equal(run(policy, claims).permitted, false);
    assert.equal(run(policy, claims, { defaultIssuer: 'AttestationService' }).permitted, true);
    assert.equal(
      run(policy, [{ type: 'OSName', value: 'Windows', issuer: 'AttestationService' }]).permitted,
      true,
    );
  });

  test('the documented cross-condition reference F1.value', () => {
    const policy = `version=1.0;
authorizationrules { => permit(); };
issuancerules {
  F1:[type=="OSName", issuer=="CustomClaim"] &&
  C2:[type=="OSName", issuer=="AttestationService", value==F1.value] => issue(claim=C2);
};`;
    const same = run(policy, [
      { type: 'OSName', value: 'Windows', issuer: 'CustomClaim' },
      { type: 'OSName', value: 'Windows', issuer: 'AttestationService' },
    ]);
    assert.deepEqual(same.issued, [{ type: 'OSName', value: 'Windows', issuer: 'AttestationService' }]);
    const differ = run(policy, [
      { type: 'OSName', value: 'Linux', issuer: 'CustomClaim' },
      { type: 'OSName', value: 'Windows', issuer: 'AttestationService' },
    ]);
    assert.deepEqual(differ.issued, []);
  });

  test('comparators: typed equality, != means "equals none", orderings on Integers only', () => {
    const t = (cond: string, claims: Claim[]): boolean =>
      run(`${H10}authorizationrules { ${cond} => permit(); };\nissuancerules { };`, claims).permitted;
    const n = (v: string | number | boolean): Claim[] => [{ type: 'n', value: v }];
    assert.equal(t('[type=="n", value==5]', n(5)), true);
    assert.equal(t('[type=="n", value==5]', n('5')), false);
    assert.equal(t('[type=="n", value!=5]', n(6)), true);
    assert.equal(t('[type=="n", value!=5]', n(5)), false);
    assert.equal(t('[type=="n", value<5]', n(4)), true);
    assert.equal(t('[type=="n", value<5]', n(5)), false);
    assert.equal(t('[type=="n", value<=5]', n(5)), true);
    assert.equal(t('[type=="n", value>5]', n(6)), true);
    assert.equal(t('[type=="n", value>=-1]', n(-1)), true);
    assert.equal(t('[type=="n", value>=0]', n(true)), false);
    assert.equal(t('[type=="n", value==true]', n(true)), true);
    assert.equal(t('[type=="n", valueType=="Integer"]', n(3)), true);
    assert.equal(t('[type=="n", valueType=="Integer"]', n('3')), false);
    assert.equal(t('[type=="n", valueType=="Boolean"]', n(false)), true);
    assert.equal(t('[type=="N"]', n(1)), false); // claim types compare case-sensitively
  });

  test('configuration rules run before authorization and may be conditional', () => {
    const outcome = run(
      'version=1.1; configurationrules { [type=="platform", value=="new"] => issueproperty(type="x-ms-sgx-tcbidentifier", value="17"); }; authorizationrules { [type=="x-ms-sgx-tcbidentifier", value=="17"] => permit(); }; issuancerules { };',
      [{ type: 'platform', value: 'new' }],
    );
    assert.equal(outcome.permitted, true);
    assert.deepEqual(outcome.properties, [
      { type: 'x-ms-sgx-tcbidentifier', value: '17', issuer: 'AttestationPolicy' },
    ]);
  });

  test('a declared valueType is enforced at run time', () => {
    const err = evalError(
      `${H10}authorizationrules { => permit(); };\nissuancerules { c:[type=="s"] => issue(type="n", value=c.value, valueType="Integer"); };`,
      [{ type: 's', value: 'not a number' }],
    );
    assert.equal(err.code, 'ERR_POLICY_EVAL_TYPE');
    assert.equal(err.line, 3);
  });

  test('tokens issued from the §2.4 claims carry no incoming-only claims', () => {
    const outcome = run(CURRENT_DEFAULT, sgxClaims());
    const types = outcome.issued.map((c) => c.type);
    assert.ok(!types.includes('x-ms-sgx-ehd'));
    assert.ok(!types.some((t) => t.startsWith('$')));
    assert.ok(sgxClaims().some((c) => c.value === EHD));
  });
});

describe('policy 1.2: functions and the ! operator (Microsoft claim-rule-functions examples)', () => {
  const wrap = (rules: string): string =>
    `version=1.2;\nauthorizationrules { => permit(); };\nissuancerules {\n${rules}\n};`;

  test('JmesPath over a literal and over claim values (result is JSON text)', () => {
    const outcome = run(
      wrap(String.raw`=> issue(type="r1", value=JmesPath("{\"foo\": \"bar\"}", "foo"));
c1:[type="JsonData"] && c2:[type=="JmesPathQuery"] => issue(type="r2", value=JmesPath(c1.value, c2.value));`),
      [
        { type: 'JsonData', value: '{"values": [0,1,2,3,4]}' },
        { type: 'JmesPathQuery', value: 'values[2]' },
      ],
    );
    assert.deepEqual(pairs(outcome), [
      ['r1', '"bar"'],
      ['r2', '2'],
    ]);
  });

  test('JsonToClaimValue: numbers, booleans, strings, arrays → sets, null → no claim', () => {
    const outcome = run(wrap('c:[type=="j"] => issue(type="v", value=JsonToClaimValue(c.value));'), [
      { type: 'j', value: '100' },
      { type: 'j', value: 'true' },
      { type: 'j', value: '"abc"' },
      { type: 'j', value: '[0, "abc", true, null]' },
      { type: 'j', value: 'null' },
    ]);
    assert.deepEqual(pairs(outcome), [
      ['v', 100],
      ['v', true],
      ['v', 'abc'],
      ['v', 0],
      ['v', 'abc'],
      ['v', true],
    ]);
  });

  const jsonErrors: [string, PolicyEvaluationErrorCode][] = [
    ['{"a": 1}', 'ERR_POLICY_EVAL_JSON'],
    ['1.5', 'ERR_POLICY_EVAL_JSON'],
    ['[[1]]', 'ERR_POLICY_EVAL_JSON'],
    ['[{"a":1}]', 'ERR_POLICY_EVAL_JSON'],
    ['12345678901234567890', 'ERR_POLICY_EVAL_JSON'],
    ['not json', 'ERR_POLICY_EVAL_JSON'],
    [`${'['.repeat(100)}${']'.repeat(100)}`, 'ERR_POLICY_EVAL_JSON'],
  ];
  for (const [json, code] of jsonErrors) {
    test(`JsonToClaimValue rejects ${json.slice(0, 20)} with ${code}`, () => {
      const err = evalError(wrap('c:[type=="j"] => issue(type="v", value=JsonToClaimValue(c.value));'), [
        { type: 'j', value: json },
      ]);
      assert.equal(err.code, code);
      assert.equal(err.line, 4);
      assert.equal(err.maaErrorCode, 'PolicyEvaluationError');
    });
  }

  test('IsSubsetOf over the claim sets of two variables', () => {
    const claims: Claim[] = [
      { type: 'Subset', value: 'abc' },
      { type: 'Subset', value: 100 },
      { type: 'Superset', value: true },
      { type: 'Superset', value: 'abc' },
      { type: 'Superset', value: 100 },
    ];
    const rule =
      'c1:[type == "Subset"] && c2:[type=="Superset"] => issue(type="IsSubset", value=IsSubsetOf(c1.value, c2.value));';
    assert.deepEqual(pairs(run(wrap(rule), claims)), [['IsSubset', true]]);
    assert.deepEqual(pairs(run(wrap(rule), [...claims, { type: 'Subset', value: 'zzz' }])), [
      ['IsSubset', false],
    ]);
  });

  test('AppendString, NegateBool, ContainsOnlyValue', () => {
    const outcome = run(
      wrap(`c1:[type=="String1"] && c2:[type=="String2"] => issue(type="s", value=AppendString(c1.value, c2.value));
c:[type=="Input"] => issue(type="neg", value=NegateBool(c.value));
c:[type=="Set"] => issue(type="only100", value=ContainsOnlyValue(c.value, 100));
c:[type=="Same"] => issue(type="onlyTrue", value=ContainsOnlyValue(c.value, true));`),
      [
        { type: 'String1', value: 'abc' },
        { type: 'String2', value: 'xyz' },
        { type: 'Input', value: true },
        { type: 'Set', value: 100 },
        { type: 'Set', value: 101 },
        { type: 'Same', value: true },
        { type: 'Same', value: true },
      ],
    );
    assert.deepEqual(pairs(outcome), [
      ['s', 'abcxyz'],
      ['neg', false],
      ['only100', false],
      ['onlyTrue', true],
    ]);
  });

  test('function argument type errors', () => {
    const cases: [string, PolicyEvaluationErrorCode][] = [
      ['=> issue(type="a", value=AppendString(1, "x"));', 'ERR_POLICY_EVAL_TYPE'],
      ['=> issue(type="a", value=NegateBool("true"));', 'ERR_POLICY_EVAL_TYPE'],
      ['=> issue(type="a", value=JmesPath(1, "a"));', 'ERR_POLICY_EVAL_TYPE'],
      ['=> issue(type="a", value=JmesPath("{}", ""));', 'ERR_POLICY_EVAL_TYPE'],
      ['=> issue(type="a", value=JmesPath("{", "a"));', 'ERR_POLICY_EVAL_JSON'],
      ['=> issue(type="a", value=JmesPath("{}", "a[?"));', 'ERR_POLICY_EVAL_JMESPATH'],
      ['=> issue(type="a", value=JmesPath("{}", "sort_by(@, &a)"));', 'ERR_POLICY_EVAL_JMESPATH'],
      [
        'c:[type=="s"] => issue(type="a", value=ContainsOnlyValue(c.value, c.value));',
        'ERR_POLICY_EVAL_TYPE',
      ],
      ['c:[type=="s"] => issue(type=c.value, value=1);', 'ERR_POLICY_EVAL_TYPE'],
    ];
    for (const [rule, code] of cases) {
      const err = evalError(wrap(rule), [
        { type: 's', value: 1 },
        { type: 's', value: 2 },
      ]);
      assert.equal(err.code, code, rule);
      assert.ok(err.line > 0, rule);
    }
  });

  test('! holds only when no claim matches', () => {
    const policy = wrap('![type=="Claim3"] => issue(type="Claim3", value=300);');
    assert.deepEqual(pairs(run(policy, [{ type: 'Claim1', value: 100 }])), [['Claim3', 300]]);
    assert.deepEqual(pairs(run(policy, [{ type: 'Claim3', value: 1 }])), []);
  });

  test("Microsoft's 1.2 secure-boot sample over a measured-boot event log", () => {
    const policy =
      String.raw`version=1.2;
authorizationrules {
  => permit();
};
issuancerules
{
c:[type == "events", issuer=="AttestationService"] => add(type = "efiConfigVariables", value = JmesPath(c.value, "Events[?EventTypeString == 'EV_EFI_VARIABLE_DRIVER_CONFIG' && ProcessedData.VariableGuid == '8BE4DF61-93CA-11D2-AA0D-00E098032B8C']"));
c:[type=="efiConfigVariables", issuer="AttestationPolicy"]=> issue(type = "secureBootEnabled", value = JsonToClaimValue(JmesPath(c.value, "[?ProcessedData.UnicodeName == 'SecureBoot'] | length(@) == ` +
      '`1`' +
      String.raw` && @[0].ProcessedData.VariableData == 'AQ'")));
![type=="secureBootEnabled", issuer=="AttestationPolicy"] => issue(type="secureBootEnabled", value=false);
};`;
    const events = (data: string): Claim[] => [
      {
        type: 'events',
        issuer: 'AttestationService',
        value: JSON.stringify({
          Events: [
            { EventTypeString: 'EV_SEPARATOR', PcrIndex: 7 },
            {
              EventTypeString: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
              ProcessedData: {
                VariableGuid: '8BE4DF61-93CA-11D2-AA0D-00E098032B8C',
                UnicodeName: 'SecureBoot',
                VariableData: data,
              },
            },
            {
              EventTypeString: 'EV_EFI_VARIABLE_DRIVER_CONFIG',
              ProcessedData: {
                VariableGuid: '8BE4DF61-93CA-11D2-AA0D-00E098032B8C',
                UnicodeName: 'PK',
                VariableData: 'xx',
              },
            },
          ],
        }),
      },
    ];
    assert.deepEqual(pairs(run(policy, events('AQ'))), [['secureBootEnabled', true]]);
    assert.deepEqual(pairs(run(policy, events('AA'))), [['secureBootEnabled', false]]);
    assert.deepEqual(pairs(run(policy, [])), [['secureBootEnabled', false]]);
  });

  test('read-only claims: usable in conditions and add(), not issuable, and taint derived values', () => {
    const claims: Claim[] = [
      { type: 'pcrs', value: '{"PCRs":[{"Index":0,"Digest":"KCk6Ow"}]}', issuer: 'AttestationService' },
    ];
    const ro = { readOnlyTypes: ['pcrs'] };
    const direct = evalError(wrap('c:[type=="pcrs"] => issue(claim=c);'), claims, ro);
    assert.equal(direct.code, 'ERR_POLICY_READ_ONLY_CLAIM');
    const derived = evalError(
      wrap('c:[type=="pcrs"] => issue(type="d", value=JmesPath(c.value, "PCRs[0].Digest"));'),
      claims,
      ro,
    );
    assert.equal(derived.code, 'ERR_POLICY_READ_ONLY_CLAIM');
    const viaAdd = evalError(
      wrap(
        'c:[type=="pcrs"] => add(type="d", value=JmesPath(c.value, "PCRs[0].Digest")); c:[type=="d"] => issue(claim=c);',
      ),
      claims,
      ro,
    );
    assert.equal(viaAdd.code, 'ERR_POLICY_READ_ONLY_CLAIM');
    // Comparing against golden values is allowed, and a Boolean from IsSubsetOf is not read-only.
    const ok = run(
      wrap(String.raw`c:[type=="pcrs"] => add(type="digest", value=JsonToClaimValue(JmesPath(c.value, "PCRs[0].Digest")));
c:[type=="digest"] => issue(type="pcr0Golden", value=IsSubsetOf(c.value, "KCk6Ow"));`),
      claims,
      ro,
    );
    assert.deepEqual(pairs(ok), [['pcr0Golden', true]]);
    // Without the option the same claim is ordinary.
    assert.equal(run(wrap('c:[type=="pcrs"] => issue(claim=c);'), claims).issued.length, 1);
  });
});

describe('incoming claim validation', () => {
  const bad: [string, unknown][] = [
    ['empty type', { type: '', value: 1 }],
    ['missing type', { value: 1 }],
    ['fractional value', { type: 'a', value: 1.5 }],
    ['NaN value', { type: 'a', value: Number.NaN }],
    ['object value', { type: 'a', value: { x: 1 } }],
    ['null value', { type: 'a', value: null }],
    ['numeric issuer', { type: 'a', value: 1, issuer: 5 }],
    ['not an object', 'a=1'],
  ];
  for (const [name, claim] of bad) {
    test(`rejects ${name}`, () => {
      const err = evalError(PERMIT_ALL, [{ type: 'ok', value: 1 }, claim as Claim]);
      assert.equal(err.code, 'ERR_POLICY_CLAIM_INVALID');
      assert.equal(err.details['index'], 1);
    });
  }
});

describe('evaluation bounds', () => {
  test('too many incoming claims', () => {
    const claims = Array.from({ length: POLICY_LIMITS.maxClaims + 1 }, (_, i): Claim => ({
      type: 't',
      value: i,
    }));
    assert.equal(evalError(PERMIT_ALL, claims).code, 'ERR_POLICY_EVAL_LIMIT');
  });

  test('a claim set that doubles each rule stops at the claim limit', () => {
    const doubling = Array.from({ length: 20 }, () => 'c:[type=="t"] => add(type="t", value=c.value);').join(
      '\n',
    );
    const err = evalError(
      `version=1.0;\nauthorizationrules { => permit(); };\nissuancerules {\n${doubling}\n};`,
      [{ type: 't', value: 1 }],
    );
    assert.equal(err.code, 'ERR_POLICY_EVAL_LIMIT');
    assert.ok(err.line >= 3);
  });

  test('a cartesian product of large sets is refused', () => {
    const claims = Array.from({ length: 100 }, (_, i): Claim => ({ type: 's', value: `v${i}` }));
    const err = evalError(
      'version=1.2; authorizationrules { => permit(); }; issuancerules { a:[type=="s"] && b:[type=="s"] => add(type="x", value=AppendString(a.value, b.value)); };',
      claims,
    );
    assert.equal(err.code, 'ERR_POLICY_EVAL_LIMIT');
  });

  test('the work budget ends long evaluations', () => {
    const claims = Array.from({ length: 2000 }, (_, i): Claim => ({ type: `t${i}`, value: i }));
    const rules = Array.from(
      { length: 200 },
      (_, i) => `[type=="t${i}", value>=0] && [type=="missing"] => permit();`,
    ).join('\n');
    const policy = `version=1.0;\nauthorizationrules {\n${rules}\n};\nissuancerules { };`;
    assert.equal(evalError(policy, claims, { maxSteps: 10_000 }).code, 'ERR_POLICY_EVAL_LIMIT');
    assert.equal(run(policy, claims).permitted, false);
  });
});

describe('version differences', () => {
  const body = `authorizationrules { [type=="x-ms-sgx-is-debuggable", value==false] => permit(); };
issuancerules { c:[type=="x-ms-sgx-svn"] => issue(type="svn", value=c.value); };`;

  test('the 1.0 subset means the same in 1.0, 1.1 and 1.2', () => {
    const outcomes = ['1.0', '1.1', '1.2'].map((v) => run(`version=${v};\n${body}`, sgxClaims()));
    for (const o of outcomes) assert.deepEqual(pairs(o), [['svn', 1]]);
    const debug = ['1.0', '1.1', '1.2'].map((v) =>
      run(`version=${v};\n${body}`, sgxClaims({ 'x-ms-sgx-is-debuggable': true })),
    );
    for (const o of debug) assert.equal(o.permitted, false);
  });

  test('each later feature is refused below its version and works from it', () => {
    const config = 'configurationrules { => issueproperty(type="p", value=1); };\n';
    const negation =
      'authorizationrules { ![type=="x-ccnodes-simulated"] => permit(); };\nissuancerules { };';
    const fn =
      'authorizationrules { => permit(); };\nissuancerules { => issue(type="n", value=NegateBool(false)); };';
    const attempt = (text: string): string => {
      try {
        parsePolicy(text);
        return 'ok';
      } catch (err) {
        return (err as { code: string }).code;
      }
    };
    assert.equal(attempt(`version=1.0;\n${config}${body}`), 'ERR_POLICY_VERSION_FEATURE');
    assert.deepEqual(run(`version=1.1;\n${config}${body}`, sgxClaims()).properties, [
      { type: 'p', value: 1, issuer: 'AttestationPolicy' },
    ]);
    assert.equal(attempt(`version=1.1;\n${negation}`), 'ERR_POLICY_VERSION_FEATURE');
    assert.equal(run(`version=1.2;\n${negation}`, sgxClaims()).permitted, true);
    assert.equal(
      run(`version=1.2;\n${negation}`, sgxClaims({ 'x-ccnodes-simulated': true })).permitted,
      false,
    );
    assert.equal(attempt(`version=1.1;\n${fn}`), 'ERR_POLICY_VERSION_FEATURE');
    assert.deepEqual(pairs(run(`version=1.2;\n${fn}`, [])), [['n', true]]);
  });
});

describe('JavaScript callers', () => {
  test('non-string policy text and non-array claims fail with policy errors', () => {
    assert.throws(
      () => parsePolicy(undefined as unknown as string),
      (err: unknown) =>
        err instanceof Error && (err as { code?: string }).code === 'ERR_POLICY_UNEXPECTED_TOKEN',
    );
    assert.equal(evalError(PERMIT_ALL, { length: 1 } as unknown as Claim[]).code, 'ERR_POLICY_CLAIM_INVALID');
  });
});
