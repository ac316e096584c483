/** `ccnodes policy check|eval|default` through the real command tree. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCapture } from '../support/cli.ts';
import { DEFAULT_SGX_POLICY, DEFAULT_SGX_POLICY_SIMULATION } from '../../src/policy/index.ts';
import { MRSIGNER, pinnedSignerPolicy } from './samples.ts';

interface Run {
  code: number;
  out: string;
  err: string;
}

async function cli(...argv: string[]): Promise<Run> {
  const r = await runCapture(argv);
  return { code: r.code, out: r.stdout, err: r.stderr };
}

const CLAIMS = JSON.stringify({
  'x-ms-attestation-type': 'sgx',
  'x-ms-sgx-is-debuggable': false,
  'x-ms-sgx-mrsigner': MRSIGNER,
  'x-ms-sgx-product-id': 1,
  'x-ms-sgx-svn': 2,
});

describe('ccnodes policy', () => {
  let dir = '';
  const path = (name: string): string => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ccnodes-policy-'));
    await writeFile(path('default.txt'), DEFAULT_SGX_POLICY);
    await writeFile(path('pinned.txt'), pinnedSignerPolicy(1, MRSIGNER));
    await writeFile(
      path('bad.txt'),
      'version=1.0;\nauthorizationrules {\n  [type=="a", value=>3] => permit();\n};\nissuancerules{};\n',
    );
    await writeFile(path('claims.json'), CLAIMS);
    const payload = Buffer.from(
      JSON.stringify({ AttestationPolicy: Buffer.from(DEFAULT_SGX_POLICY).toString('base64url') }),
    );
    await writeFile(path('policy.jws'), `eyJhbGciOiJub25lIn0.${payload.toString('base64url')}.`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('check: a valid policy exits 0 and summarises it', async () => {
    const r = await cli('policy', 'check', path('default.txt'));
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /ok — policy version 1\.1, 9 rules \(configurationrules 1, authorizationrules 2, issuancerules 6\)/,
    );
  });

  test('check: an invalid policy exits 1 with file:line:column, code and a caret', async () => {
    const r = await cli('policy', 'check', path('bad.txt'));
    assert.equal(r.code, 1);
    assert.ok(
      r.out.startsWith(`${path('bad.txt')}:3:20: error ERR_POLICY_UNEXPECTED_TOKEN: expected a comparator`),
      r.out,
    );
    const [, source, caret] = r.out.split('\n');
    assert.equal(source?.indexOf('=>3'), caret?.indexOf('^'));
  });

  test('check --json reports the error structurally', async () => {
    const r = await cli('policy', 'check', path('bad.txt'), '--json');
    assert.equal(r.code, 1);
    const body = JSON.parse(r.out) as {
      ok: boolean;
      error: { code: string; line: number; column: number; maaErrorCode: string };
    };
    assert.equal(body.ok, false);
    assert.deepEqual(
      [body.error.code, body.error.line, body.error.column],
      ['ERR_POLICY_UNEXPECTED_TOKEN', 3, 20],
    );
    assert.equal(body.error.maaErrorCode, 'PolicyParsingError');
  });

  test('check unwraps a policy JWS ({"AttestationPolicy": …})', async () => {
    const r = await cli('policy', 'check', path('policy.jws'), '--json');
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(JSON.parse(r.out), {
      ok: true,
      file: path('policy.jws'),
      version: '1.1',
      fromJws: true,
      rules: { configurationrules: 1, authorizationrules: 2, issuancerules: 6 },
    });
  });

  test('eval: permit prints the issued claims and exits 0', async () => {
    const r = await cli('policy', 'eval', path('pinned.txt'), '--claims', path('claims.json'));
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(r.out, `permit\nissued claims (1):\n  contoso-signer = "${MRSIGNER}"\n`);
  });

  test('eval --json gives the decision, the claims and a token-shaped object', async () => {
    const r = await cli('policy', 'eval', path('default.txt'), '--claims', CLAIMS, '--json');
    assert.equal(r.code, 0, r.out);
    const body = JSON.parse(r.out) as {
      permitted: boolean;
      token: Record<string, unknown>;
      properties: unknown[];
    };
    assert.equal(body.permitted, true);
    assert.deepEqual(body.token, {
      'is-debuggable': false,
      'sgx-mrsigner': MRSIGNER,
      'product-id': 1,
      svn: 2,
      tee: 'sgx',
    });
    assert.equal(body.properties.length, 1);
  });

  test('eval: deny exits 1 and names the rule', async () => {
    const claims = JSON.stringify({ ...(JSON.parse(CLAIMS) as object), 'x-ccnodes-simulated': true });
    const r = await cli('policy', 'eval', path('default.txt'), '--claims', claims);
    assert.equal(r.code, 1);
    assert.equal(r.out, 'deny: deny() fired in the rule at 6:3 of authorizationrules\n');
    const debug = await cli(
      'policy',
      'eval',
      path('pinned.txt'),
      '--claims',
      '[{"type":"x-ms-sgx-is-debuggable","value":true}]',
    );
    assert.equal(debug.code, 1);
    assert.match(debug.out, /^deny: no permit\(\) rule/);
  });

  test('eval: --no-legacy-aliases and array claims with issuers', async () => {
    const legacy =
      'version=1.0; authorizationrules { [type=="$svn", value>=1] => permit(); }; issuancerules { };';
    await writeFile(path('legacy.txt'), legacy);
    assert.equal((await cli('policy', 'eval', path('legacy.txt'), '--claims', CLAIMS)).code, 0);
    assert.equal(
      (await cli('policy', 'eval', path('legacy.txt'), '--claims', CLAIMS, '--no-legacy-aliases')).code,
      1,
    );
    const custom = '[{"type":"x-ms-sgx-svn","value":5}]';
    assert.equal(
      (await cli('policy', 'eval', path('legacy.txt'), '--claims', custom)).code,
      1,
      'CustomClaim gets no alias',
    );
  });

  test('eval: malformed claims and invalid policies exit 1 with their codes', async () => {
    const r = await cli('policy', 'eval', path('default.txt'), '--claims', '{"x": 1.5}', '--json');
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.out) as { error: { code: string } }).error.code, 'ERR_POLICY_CLAIM_INVALID');
    const bad = await cli('policy', 'eval', path('bad.txt'), '--claims', '{}');
    assert.equal(bad.code, 1);
    assert.match(bad.out, /:3:20: error ERR_POLICY_UNEXPECTED_TOKEN/);
  });

  test('usage and I/O errors exit 2', async () => {
    assert.equal((await cli('policy', 'check', path('missing.txt'))).code, 2);
    assert.equal((await cli('policy', 'eval', path('default.txt'))).code, 2, '--claims is required');
    assert.equal((await cli('policy', 'eval', path('default.txt'), '--claims', path('nope.json'))).code, 2);
    assert.equal((await cli('policy', 'default', '--mode', 'lenient')).code, 2);
  });

  test('default prints the policy for a mode', async () => {
    assert.equal((await cli('policy', 'default')).out, DEFAULT_SGX_POLICY);
    assert.equal(
      (await cli('policy', 'default', '--mode', 'simulation', '--type', 'openenclave')).out,
      DEFAULT_SGX_POLICY_SIMULATION,
    );
  });

  test('--help documents every verb', async () => {
    for (const verb of ['check', 'eval', 'default']) {
      const r = await cli('policy', verb, '--help');
      assert.equal(r.code, 0);
      assert.match(r.out, /Usage: ccnodes policy/);
    }
  });
});
