/**
 * What a secret release policy must look like to be stored (release-policy.ts; docs/attestation.md):
 * every malformed shape is refused with ERR_SECRET_RELEASE_POLICY naming the JSON path, the size
 * limits hold at their exact bounds, the top-level token requirements (`attestationTypes`,
 * `policyHashes`) are validated and canonicalised, and claim lookup follows dot paths into objects
 * only. The operators themselves are specified in release-policy-rules.test.ts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SecretReleaseError, parseReleasePolicy, releasePolicyHolds } from '../../src/attestation/index.ts';
import { parseReleaseRequirements } from '../../src/attestation/release-policy.ts';

const COND = { claim: 'x-ms-sgx-svn', greaterOrEquals: 1 };

function refusedAt(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof SecretReleaseError, String(e));
    assert.equal(e.code, 'ERR_SECRET_RELEASE_POLICY');
    return String(e.details['path']);
  }
  assert.fail('the policy was accepted');
}

/** `depth` levels of allOf around one condition (depth 0 = the condition alone). */
function nested(depth: number): unknown {
  let n: unknown = COND;
  for (let i = 0; i < depth; i++) n = { allOf: [n] };
  return n;
}

describe('release policy shape', () => {
  const bad: [string, unknown, string][] = [
    ['text that is not JSON', '{"anyOf": [', '$'],
    ['null', null, '$'],
    ['an array', [COND], '$'],
    ['a string node', { anyOf: ['x'] }, '$.anyOf[0]'],
    ['an empty claim name', { claim: '', equals: 'a' }, '$'],
    ['a claim name that is not a string', { claim: 5, equals: 'a' }, '$'],
    ['no operator', { claim: 'a' }, '$'],
    ['two operators', { claim: 'a', equals: 'b', notEquals: 'c' }, '$'],
    ['an object value', { claim: 'a', equals: { b: 1 } }, '$'],
    ['exists with a string', { claim: 'a', exists: 'yes' }, '$'],
    ['less with a string', { claim: 'a', less: '3' }, '$'],
    ['greaterOrEquals with a boolean', { claim: 'a', greaterOrEquals: true }, '$'],
    ['both anyOf and allOf', { anyOf: [COND], allOf: [COND] }, '$'],
    ['neither anyOf, allOf nor a claim', { authority: 'https://a' }, '$'],
    ['an empty anyOf', { anyOf: [] }, '$'],
    ['allOf that is not an array', { allOf: COND }, '$'],
    ['an authority that is not a string', { authority: 5, anyOf: [COND] }, '$'],
    [
      'attestationTypes below the top',
      { anyOf: [{ attestationTypes: ['SgxEnclave'], ...COND }] },
      '$.anyOf[0]',
    ],
    ['policyHashes below the top', { anyOf: [{ allOf: [COND], policyHashes: ['a'] }] }, '$.anyOf[0]'],
  ];
  for (const [name, policy, path] of bad) {
    test(`${name} is refused at ${path}`, () => {
      assert.equal(
        refusedAt(() => parseReleasePolicy(policy)),
        path,
      );
    });
  }

  test('nesting: 8 levels below the root are accepted, 9 are refused', () => {
    assert.equal(parseReleasePolicy(nested(8)).kind, 'allOf');
    assert.match(
      refusedAt(() => parseReleasePolicy(nested(9))),
      /^\$(\.allOf\[0\]){9}$/,
    );
  });

  test('size: 256 nodes are accepted, 257 are refused', () => {
    assert.equal(parseReleasePolicy({ anyOf: new Array(255).fill(COND) }).kind, 'anyOf');
    assert.equal(
      refusedAt(() => parseReleasePolicy({ anyOf: new Array(256).fill(COND) })),
      '$.anyOf[255]',
    );
  });

  test('a valid policy parses to its tree; authority is kept only when given', () => {
    assert.deepEqual(parseReleasePolicy(JSON.stringify({ authority: 'https://svc', anyOf: [COND] })), {
      kind: 'anyOf',
      authority: 'https://svc',
      children: [{ kind: 'claim', claim: 'x-ms-sgx-svn', op: 'greaterOrEquals', value: 1 }],
    });
    const plain = parseReleasePolicy({ allOf: [{ claim: 'a', exists: true }] });
    assert.equal('authority' in plain, false);
  });
});

describe('release policy token requirements (top level)', () => {
  const base = { anyOf: [COND] };

  test('attestationTypes are matched case-insensitively and stored in canonical spelling', () => {
    const r = parseReleaseRequirements({ ...base, attestationTypes: ['sgxenclave', 'OPENENCLAVE'] });
    assert.deepEqual(r.attestationTypes, ['SgxEnclave', 'OpenEnclave']);
    assert.equal(r.policyHashes, undefined);
  });

  test('attestationTypes must be a non-empty array of known types', () => {
    assert.equal(
      refusedAt(() => parseReleaseRequirements({ ...base, attestationTypes: [] })),
      '$.attestationTypes',
    );
    assert.equal(
      refusedAt(() => parseReleaseRequirements({ ...base, attestationTypes: 'SgxEnclave' })),
      '$.attestationTypes',
    );
    assert.equal(
      refusedAt(() => parseReleaseRequirements({ ...base, attestationTypes: ['SgxEnclave', 'Tpm2'] })),
      '$.attestationTypes[1]',
    );
    assert.equal(
      refusedAt(() => parseReleaseRequirements({ ...base, attestationTypes: [1] })),
      '$.attestationTypes[0]',
    );
  });

  test('policyHashes: 1 to 16 base64url hashes of at most 128 characters', () => {
    const h = (i: number): string => `h${i}`;
    const sixteen = Array.from({ length: 16 }, (_, i) => h(i));
    assert.deepEqual(
      parseReleaseRequirements(JSON.stringify({ ...base, policyHashes: sixteen })).policyHashes,
      sixteen,
    );
    assert.deepEqual(parseReleaseRequirements({ ...base, policyHashes: ['A'.repeat(128)] }).policyHashes, [
      'A'.repeat(128),
    ]);
    const refusals: [unknown, string][] = [
      [[], '$.policyHashes'],
      ['abc', '$.policyHashes'],
      [[...sixteen, 'x'], '$.policyHashes'],
      [['ok', 'a+b'], '$.policyHashes[1]'],
      [[''], '$.policyHashes[0]'],
      [['A'.repeat(129)], '$.policyHashes[0]'],
      [[7], '$.policyHashes[0]'],
    ];
    for (const [policyHashes, path] of refusals) {
      assert.equal(
        refusedAt(() => parseReleaseRequirements({ ...base, policyHashes })),
        path,
        JSON.stringify(policyHashes),
      );
    }
  });

  test('a policy without requirements has neither', () => {
    const r = parseReleaseRequirements(base);
    assert.equal(r.attestationTypes, undefined);
    assert.equal(r.policyHashes, undefined);
  });
});

describe('claim lookup', () => {
  const holds = (policy: unknown, claims: Record<string, unknown>): boolean =>
    releasePolicyHolds(parseReleasePolicy(policy), claims, 'https://svc');

  test('a dot path walks into objects, never into arrays or through null', () => {
    const p = { claim: 'a.b', equals: 1 };
    assert.equal(holds(p, { a: { b: 1 } }), true);
    assert.equal(holds(p, { a: [{ b: 1 }] }), false);
    assert.equal(holds(p, { a: null }), false);
    assert.equal(holds(p, { a: 'b' }), false);
    assert.equal(holds({ claim: 'a.b', exists: false }, { a: { c: 1 } }), true);
  });

  test('a claim whose own name contains a dot is found before the path', () => {
    assert.equal(holds({ claim: 'a.b', equals: 2 }, { 'a.b': 2, a: { b: 1 } }), true);
  });

  test('inherited properties are not claims', () => {
    assert.equal(holds({ claim: 'a.toString', exists: true }, { a: {} }), false);
  });

  test('a claim that is an object or array satisfies no comparison, and not notEquals either', () => {
    assert.equal(holds({ claim: 'a', notEquals: 'x' }, { a: { b: 1 } }), false);
    assert.equal(holds({ claim: 'a', notEquals: 'x' }, { a: ['x'] }), false);
  });

  test('an authority with trailing slashes equals the issuer without them', () => {
    assert.equal(holds({ authority: 'https://svc//', anyOf: [COND] }, { 'x-ms-sgx-svn': 1 }), true);
    assert.equal(holds({ authority: 'https://other', anyOf: [COND] }, { 'x-ms-sgx-svn': 1 }), false);
  });
});
