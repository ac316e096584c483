/** The JMESPath subset behind the policy 1.2 `JmesPath()` function, checked against spec examples. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PolicyEvaluationError, evaluatePolicy, parsePolicy } from '../../src/policy/index.ts';

/** Runs `JmesPath(doc, query)` through a real policy and returns the parsed JSON result. */
function search(doc: unknown, query: string): unknown {
  const policy = parsePolicy(
    'version=1.2; authorizationrules { => permit(); }; issuancerules { c:[type=="doc"] && q:[type=="query"] => issue(type="r", value=JmesPath(c.value, q.value)); };',
  );
  const outcome = evaluatePolicy(policy, [
    { type: 'doc', value: JSON.stringify(doc) },
    { type: 'query', value: query },
  ]);
  const [result] = outcome.issued;
  assert.ok(result, 'one result');
  assert.equal(typeof result.value, 'string');
  return JSON.parse(result.value as string);
}

const PEOPLE = {
  people: [
    { first: 'James', last: 'd', age: 30 },
    { first: 'Jacob', last: 'e', age: 40 },
    { first: 'Jayden', last: 'f', age: 50 },
    { missing: 'different' },
  ],
  foo: { bar: 'baz' },
};

describe('JmesPath()', () => {
  const cases: [string, unknown, string, unknown][] = [
    ['field', { a: 'foo', b: 'bar' }, 'a', 'foo'],
    ['missing field', { a: 'foo' }, 'b', null],
    ['subexpression', { a: { b: { c: { d: 'value' } } } }, 'a.b.c.d', 'value'],
    ['quoted identifier', { 'with space': 1 }, '"with space"', 1],
    ['index', { a: [0, 1, 2, 3] }, 'a[1]', 1],
    ['negative index', { a: [0, 1, 2, 3] }, 'a[-1]', 3],
    ['out of range index', { a: [0] }, 'a[5]', null],
    ['slice', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], '[0:5]', [0, 1, 2, 3, 4]],
    ['slice with step', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], '[::2]', [0, 2, 4, 6, 8]],
    ['reverse slice', [0, 1, 2, 3], '[::-1]', [3, 2, 1, 0]],
    ['list projection', PEOPLE, 'people[*].first', ['James', 'Jacob', 'Jayden']],
    ['projection then index stops', PEOPLE, 'people[*].first | [0]', 'James'],
    ['object projection', { ops: { a: { n: 1 }, b: { n: 2 }, c: { x: 3 } } }, 'ops.*.n', [1, 2]],
    ['flatten', { a: [[1, 2], 3, [4]] }, 'a[]', [1, 2, 3, 4]],
    ['filter', PEOPLE, 'people[?age > `35`].first', ['Jacob', 'Jayden']],
    ['filter with raw string', PEOPLE, "people[?first == 'James'].age", [30]],
    [
      'filter with && and ||',
      PEOPLE,
      'people[?age > `35` && age < `45` || first == `"James"`].first',
      ['James', 'Jacob'],
    ],
    ['not', { a: [{ x: true }, { x: false }] }, 'a[?!x]', [{ x: false }]],
    ['pipe', PEOPLE, 'foo | bar', 'baz'],
    ['or falls back', { a: null, b: 2 }, 'a || b', 2],
    ['and', { a: 1, b: 2 }, 'a && b', 2],
    ['comparison of mixed types is null', { a: 'x' }, 'a < `1`', null],
    ['deep equality', { a: [1, { b: 2 }] }, 'a == `[1, {"b": 2}]`', true],
    ['multiselect list', { a: 1, b: 2 }, '[a, b]', [1, 2]],
    ['multiselect hash', { a: 1, b: 2 }, '{x: a, y: b}', { x: 1, y: 2 }],
    ['current node', [1, 2], '@', [1, 2]],
    ['length', { a: [1, 2, 3], s: 'héllo' }, '[length(a), length(s)]', [3, 5]],
    [
      'contains / starts_with / ends_with',
      { s: 'foobar', a: [1, 2] },
      "[contains(a, `2`), starts_with(s, 'foo'), ends_with(s, 'baz')]",
      [true, true, false],
    ],
    [
      'keys / values / type',
      { o: { a: 1, b: 'x' } },
      '[keys(o), values(o), type(o.b)]',
      [['a', 'b'], [1, 'x'], 'string'],
    ],
    ['sum / max / min / abs', { a: [3, -1, 2] }, '[sum(a), max(a), min(a), abs(a[1])]', [4, 3, -1, 1]],
    [
      'to_string / to_number / not_null / join',
      { n: 5, s: '7', l: ['a', 'b'] },
      "[to_string(n), to_number(s), not_null(z, n), join('-', l)]",
      ['5', 7, 5, 'a-b'],
    ],
    [
      'equals_ignore_case (Microsoft samples)',
      { p: '\\Windows\\System32' },
      "equals_ignore_case(p, '\\windows\\system32')",
      true,
    ],
    [
      'MS sample: count then compare',
      [{ n: 'SecureBoot', d: 'AQ' }],
      "[?n == 'SecureBoot'] | length(@) == `1` && @[0].d == 'AQ'",
      true,
    ],
    ['parenthesised', { a: { b: 1 } }, '(a).b', 1],
  ];
  for (const [name, doc, query, expected] of cases) {
    test(name, () => {
      assert.deepEqual(search(doc, query), expected);
    });
  }

  const invalid: [string, string][] = [
    ['unclosed filter', 'a[?b'],
    ['unclosed bracket', 'a['],
    ['dangling dot', 'a.'],
    ['single =', 'a = b'],
    ['expression reference', 'sort_by(@, &a)'],
    ['unknown function', 'frobnicate(@)'],
    ['wrong arity', 'length(a, b)'],
    ['wrong argument type', "starts_with(`1`, 'a')"],
    ['bad JSON literal', '`{bad`'],
    ['unterminated raw string', "'abc"],
    ['too many colons', '[1:2:3:4]'],
    ['zero step', '[::0]'],
    ['trailing token', 'a b'],
  ];
  for (const [name, query] of invalid) {
    test(`rejects ${name}`, () => {
      assert.throws(
        () => search({ a: [1] }, query),
        (err: unknown) => err instanceof PolicyEvaluationError && err.code === 'ERR_POLICY_EVAL_JMESPATH',
      );
    });
  }

  test('a huge projection is stopped by the work budget', () => {
    const wide = Array.from({ length: 200 }, () => Array.from({ length: 200 }, (_, i) => i));
    const policy = parsePolicy(
      'version=1.2; authorizationrules { => permit(); }; issuancerules { c:[type=="doc"] => issue(type="r", value=JmesPath(c.value, "[*][*][*].a")); };',
    );
    assert.throws(
      () => evaluatePolicy(policy, [{ type: 'doc', value: JSON.stringify(wide) }], { maxSteps: 10_000 }),
      (err: unknown) => err instanceof PolicyEvaluationError && err.code === 'ERR_POLICY_EVAL_LIMIT',
    );
  });
});
