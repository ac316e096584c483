/**
 * Secret release policies (docs/attestation.md, spec/maa.md §6.1): every operator, dot paths and
 * case-insensitive `equals`, each with an allowing and a denying case and the exact boolean result;
 * and the `authority` rule — a branch whose authority is not this service's issuer never holds —
 * through the HTTP API of a service verifying simulated quotes with the real DCAP verifier.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compactDecrypt, exportJWK, generateKeyPair } from 'jose';
import { SecretReleaseError, parseReleasePolicy, releasePolicyHolds } from '../../src/attestation/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import {
  MRENCLAVE,
  bindingFor,
  postJson,
  putSecretAsAdmin,
  simQuoteBytes,
  startService,
  type Started,
} from './support.ts';

const ISSUER = 'https://attest.example.test';

/** Claims shaped like a token of ours (numbers, booleans, nested runtime JSON). */
const CLAIMS: Record<string, unknown> = {
  iss: ISSUER,
  'x-ms-sgx-mrenclave': 'ab'.repeat(32),
  'x-ms-sgx-svn': 3,
  'x-ms-sgx-product-id': 7,
  'x-ms-sgx-is-debuggable': false,
  'x-ccnodes-tcb-status': 'UpToDate',
  'x-ms-runtime': { app: { tier: 'Gold', level: 5, flags: ['a', 'b'] } },
  'flat.name.with.dots': 'flat',
  flat: { name: { with: { dots: 'nested' } } },
};

const holds = (condition: Record<string, unknown>): boolean =>
  releasePolicyHolds(parseReleasePolicy({ allOf: [condition] }), CLAIMS, ISSUER);

describe('release policy operators: exact results', () => {
  const cases: [string, Record<string, unknown>, boolean][] = [
    // equals: strings compare case-insensitively; numbers and booleans exactly, never across types.
    ['equals, other case of a string', { claim: 'x-ccnodes-tcb-status', equals: 'uptodate' }, true],
    ['equals, upper-case hex', { claim: 'x-ms-sgx-mrenclave', equals: 'AB'.repeat(32) }, true],
    ['equals, other string', { claim: 'x-ccnodes-tcb-status', equals: 'OutOfDate' }, false],
    ['equals, number', { claim: 'x-ms-sgx-svn', equals: 3 }, true],
    ['equals, other number', { claim: 'x-ms-sgx-svn', equals: 4 }, false],
    ['equals, number as string', { claim: 'x-ms-sgx-svn', equals: '3' }, false],
    ['equals, boolean', { claim: 'x-ms-sgx-is-debuggable', equals: false }, true],
    ['equals, other boolean', { claim: 'x-ms-sgx-is-debuggable', equals: true }, false],
    // notEquals
    ['notEquals, other string', { claim: 'x-ccnodes-tcb-status', notEquals: 'OutOfDate' }, true],
    ['notEquals, same string in other case', { claim: 'x-ccnodes-tcb-status', notEquals: 'UPTODATE' }, false],
    ['notEquals, other number', { claim: 'x-ms-sgx-svn', notEquals: 4 }, true],
    ['notEquals, same number', { claim: 'x-ms-sgx-svn', notEquals: 3 }, false],
    ['notEquals, missing claim', { claim: 'x-nope', notEquals: 'x' }, false],
    // ordering: numbers only
    ['less, greater bound', { claim: 'x-ms-sgx-svn', less: 4 }, true],
    ['less, equal bound', { claim: 'x-ms-sgx-svn', less: 3 }, false],
    ['lessOrEquals, equal bound', { claim: 'x-ms-sgx-svn', lessOrEquals: 3 }, true],
    ['lessOrEquals, smaller bound', { claim: 'x-ms-sgx-svn', lessOrEquals: 2 }, false],
    ['greater, smaller bound', { claim: 'x-ms-sgx-svn', greater: 2 }, true],
    ['greater, equal bound', { claim: 'x-ms-sgx-svn', greater: 3 }, false],
    ['greaterOrEquals, equal bound', { claim: 'x-ms-sgx-svn', greaterOrEquals: 3 }, true],
    ['greaterOrEquals, greater bound', { claim: 'x-ms-sgx-svn', greaterOrEquals: 4 }, false],
    ['greater on a string claim', { claim: 'x-ccnodes-tcb-status', greater: 0 }, false],
    ['less on a missing claim', { claim: 'x-nope', less: 100 }, false],
    // exists
    ['exists true, present', { claim: 'x-ms-sgx-svn', exists: true }, true],
    ['exists true, missing', { claim: 'x-nope', exists: true }, false],
    ['exists false, missing', { claim: 'x-nope', exists: false }, true],
    ['exists false, present', { claim: 'x-ms-sgx-is-debuggable', exists: false }, false],
    // dot paths into objects (no array indexing); a claim literally named with dots wins
    ['dot path, equals in other case', { claim: 'x-ms-runtime.app.tier', equals: 'GOLD' }, true],
    ['dot path, other value', { claim: 'x-ms-runtime.app.tier', equals: 'silver' }, false],
    ['dot path, number', { claim: 'x-ms-runtime.app.level', greaterOrEquals: 5 }, true],
    ['dot path, number too low', { claim: 'x-ms-runtime.app.level', greater: 5 }, false],
    ['dot path, missing member', { claim: 'x-ms-runtime.app.nope', exists: true }, false],
    ['dot path through an array', { claim: 'x-ms-runtime.app.flags.0', exists: true }, false],
    ['dot path to an object is not a scalar', { claim: 'x-ms-runtime.app', equals: 'x' }, false],
    ['dot path to an object exists', { claim: 'x-ms-runtime.app', exists: true }, true],
    ['flat claim named with dots wins', { claim: 'flat.name.with.dots', equals: 'flat' }, true],
    ['… over the nested path', { claim: 'flat.name.with.dots', equals: 'nested' }, false],
  ];
  for (const [name, condition, expected] of cases) {
    test(`${name} → ${String(expected)}`, () => {
      assert.equal(holds(condition), expected);
    });
  }

  test('anyOf holds when one child holds, allOf only when all do', () => {
    const yes = { claim: 'x-ms-sgx-svn', equals: 3 };
    const no = { claim: 'x-ms-sgx-svn', equals: 9 };
    const run = (p: unknown): boolean => releasePolicyHolds(parseReleasePolicy(p), CLAIMS, ISSUER);
    assert.equal(run({ anyOf: [no, yes] }), true);
    assert.equal(run({ anyOf: [no, no] }), false);
    assert.equal(run({ allOf: [yes, yes] }), true);
    assert.equal(run({ allOf: [yes, no] }), false);
    assert.equal(run({ anyOf: [{ allOf: [yes, no] }, { allOf: [yes] }] }), true);
  });

  test('authority: equal to the issuer (a trailing slash ignored) holds; any other never does', () => {
    const run = (authority: string): boolean =>
      releasePolicyHolds(
        parseReleasePolicy({ authority, allOf: [{ claim: 'x-ms-sgx-svn', equals: 3 }] }),
        CLAIMS,
        ISSUER,
      );
    assert.equal(run(ISSUER), true);
    assert.equal(run(`${ISSUER}/`), true);
    assert.equal(run('https://attest.example.other'), false);
    assert.equal(run(`${ISSUER}.evil`), false);
    assert.equal(run(ISSUER.toUpperCase()), false);
  });

  test('ordering operators need a number and exists a boolean (ERR_SECRET_RELEASE_POLICY)', () => {
    for (const bad of [
      { claim: 'x', less: '3' },
      { claim: 'x', greaterOrEquals: true },
      { claim: 'x', exists: 'yes' },
      { claim: 'x', equals: 1, notEquals: 2 },
    ]) {
      assert.throws(
        () => parseReleasePolicy({ anyOf: [bad] }),
        (e: unknown) => e instanceof SecretReleaseError && e.code === 'ERR_SECRET_RELEASE_POLICY',
        JSON.stringify(bad),
      );
    }
  });
});

describe('release policies through the HTTP API (real verifier, simulated quotes)', () => {
  const dcap = createSimDcap({ seed: 'release-policy-rules' });
  const mrenclave = MRENCLAVE;
  let s: Started;
  let ec: Awaited<ReturnType<typeof generateKeyPair>>;

  before(async () => {
    s = await startService({ sim: { dcap } });
    ec = await generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
  });
  after(async () => {
    await s.close();
  });

  /** Releases `name` with inline evidence whose runtime JSON carries the EC key and `app`. */
  async function release(name: string, app: Record<string, unknown> = { tier: 'gold' }) {
    const runtime = Buffer.from(
      JSON.stringify({ keys: [{ ...(await exportJWK(ec.publicKey)), use: 'enc' }], app }),
    );
    return postJson(`${s.url}/ccnodes/v1/secrets/${name}/release`, {
      quote: Buffer.from(
        simQuoteBytes({ reportData: bindingFor(runtime), isvProdId: 7, isvSvn: 3 }, dcap),
      ).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'JSON' },
    });
  }

  async function expectReleased(name: string, value: string): Promise<void> {
    const res = await release(name);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { plaintext } = await compactDecrypt(String(res.body['jwe']), ec.privateKey);
    assert.equal(Buffer.from(plaintext).toString(), value);
  }

  async function expectDenied(name: string, app?: Record<string, unknown>): Promise<void> {
    const res = await release(name, app);
    assert.equal(res.status, 403, JSON.stringify(res.body));
    assert.equal(res.headers.get('x-ccnodes-error-code'), 'ERR_SECRET_POLICY_DENIED');
    assert.equal(res.body['jwe'], undefined);
  }

  const enclave = { claim: 'x-ms-sgx-mrenclave', equals: mrenclave };

  test('authority equal to this service (as configured, or with a trailing slash) releases', async () => {
    assert.equal(
      await putSecretAsAdmin(s.url, 'own', 'own value', { authority: s.url, allOf: [enclave] }),
      201,
    );
    await expectReleased('own', 'own value');
    assert.equal(
      await putSecretAsAdmin(s.url, 'own-slash', 'slash value', { authority: `${s.url}/`, allOf: [enclave] }),
      201,
    );
    await expectReleased('own-slash', 'slash value');
  });

  test('authority of another service is denied although every claim matches', async () => {
    assert.equal(
      await putSecretAsAdmin(s.url, 'foreign', 'foreign value', {
        authority: 'https://other-attestation.example.test',
        allOf: [enclave],
      }),
      201,
    );
    await expectDenied('foreign');
  });

  test('a nested branch with a foreign authority does not hold; the sibling decides', async () => {
    const foreignBranch = { authority: 'https://other-attestation.example.test', allOf: [enclave] };
    assert.equal(
      await putSecretAsAdmin(s.url, 'nested-deny', 'x', {
        anyOf: [foreignBranch, { allOf: [{ claim: 'x-ms-sgx-svn', greater: 99 }] }],
      }),
      201,
    );
    await expectDenied('nested-deny');
    assert.equal(
      await putSecretAsAdmin(s.url, 'nested-allow', 'sibling value', {
        anyOf: [foreignBranch, { authority: s.url, allOf: [enclave] }],
      }),
      201,
    );
    await expectReleased('nested-allow', 'sibling value');
  });

  test('operators and dot paths over the claims of a real token', async () => {
    const policy = {
      allOf: [
        { claim: 'x-ms-sgx-svn', greaterOrEquals: 3 },
        { claim: 'x-ms-sgx-svn', less: 4 },
        { claim: 'x-ms-sgx-product-id', equals: 7 },
        { claim: 'x-ms-sgx-is-debuggable', notEquals: true },
        { claim: 'x-ccnodes-tcb-status', equals: 'uptodate' },
        { claim: 'x-ms-runtime.app.tier', equals: 'GOLD' },
        { claim: 'x-ms-sgx-collateral.quotehash', exists: true },
        { claim: 'x-ms-sgx-config-id', exists: false },
      ],
    };
    assert.equal(await putSecretAsAdmin(s.url, 'operators', 'operator value', policy), 201);
    await expectReleased('operators', 'operator value');
    await expectDenied('operators', { tier: 'silver' });
    assert.equal(
      await putSecretAsAdmin(s.url, 'svn-too-high', 'x', { allOf: [{ claim: 'x-ms-sgx-svn', greater: 3 }] }),
      201,
    );
    await expectDenied('svn-too-high');
  });
});
