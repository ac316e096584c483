/**
 * Exact values of two service claims, recomputed here independently of the service's code:
 * - `x-ms-policy-hash`: Microsoft's definition (spec/maa.md §2.2) — base64url (unpadded) of SHA-256
 *   over the ASCII bytes of base64url(UTF-8 policy text). Checked against the value a real MAA
 *   instance issued for a known policy text, and for stored, default and draft policies.
 * - `x-ms-sgx-collateral`: each member the lower-case hex SHA-256 of the collateral item the
 *   verifier was served (docs/attestation.md): quotehash the quote, tcbinfohash / qeidhash the
 *   documents, tcbinfocertshash / qeidcertshash their issuer chains, tcbinfocrlhash the PCK CRL,
 *   qeidcrlhash the Root CA CRL.
 * Real verifier, simulated quotes and collateral.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { RawCollateral } from '../../src/core/index.ts';
import { createSimDcap } from '../../src/sim/index.ts';
import {
  ADMIN_TOKEN,
  attestSgx,
  bindingFor,
  decodeJwt,
  postJson,
  simQuoteBytes,
  startService,
  unsignedPolicyJws,
  type Started,
} from './support.ts';

/** Microsoft's policy hash, written out step by step. */
function maaPolicyHash(policyText: string): string {
  const utf8 = Buffer.from(policyText, 'utf8');
  const b64url = utf8.toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return createHash('sha256')
    .update(Buffer.from(b64url, 'ascii'))
    .digest('base64')
    .replace(/=+$/, '')
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
}

const hexSha256 = (data: string | Uint8Array): string =>
  createHash('sha256')
    .update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data)
    .digest('hex');

/** The policy text and the x-ms-policy-hash a real MAA instance issued for it (spec/maa.md §2.4). */
const MAA_SAMPLE_POLICY = 'version=1.0;\nauthorizationrules{=> permit();};\nissuancerules{};\n';
const MAA_SAMPLE_HASH = 'du0WRJgSoNnG0lrt5X6M2xQK25i9i_hKzG3vgk0ag2g';

const dcap = createSimDcap({ seed: 'token-claims-values' });
let served: RawCollateral | undefined;
let s: Started;

before(async () => {
  s = await startService({
    sim: {
      dcap,
      // Reorder the QE Identity issuer chain (root first; the verifier builds chains by name) so
      // that its hash differs from the TCB Info chain's and a swapped member would be caught.
      transform: (raw) => {
        const pems =
          raw.qeIdentityIssuerChain.match(
            /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g,
          ) ?? [];
        assert.equal(pems.length, 2);
        return { ...raw, qeIdentityIssuerChain: [...pems.slice(1), ...pems.slice(0, 1)].join('') };
      },
      served: (raw) => {
        served = raw;
      },
    },
  });
});
after(async () => {
  await s.close();
});

async function tokenClaims(
  runtime = Buffer.from('claims'),
): Promise<{ claims: Record<string, unknown>; quote: Uint8Array }> {
  const quote = simQuoteBytes({ reportData: bindingFor(runtime) }, dcap);
  const res = await attestSgx(s.url, quote, runtime);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return { claims: decodeJwt(String(res.body['token'])).payload, quote };
}

async function setPolicy(text: string): Promise<void> {
  const res = await fetch(`${s.url}/policies/SgxEnclave?api-version=2020-10-01`, {
    method: 'PUT',
    headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
    body: unsignedPolicyJws(text),
  });
  assert.equal(res.status, 200, await res.text());
}

describe('x-ms-policy-hash in Microsoft encoding', () => {
  test('the independent computation reproduces the hash real MAA issued for its sample policy', () => {
    assert.equal(maaPolicyHash(MAA_SAMPLE_POLICY), MAA_SAMPLE_HASH);
  });

  test('default policy: the hash of the text GET /policies serves', async () => {
    const res = await fetch(`${s.url}/policies/SgxEnclave?api-version=2020-10-01`);
    assert.equal(res.status, 200);
    const outer = decodeJwt(((await res.json()) as { token: string }).token).payload;
    const inner = decodeJwt(String(outer['x-ms-policy'])).payload;
    const text = Buffer.from(String(inner['AttestationPolicy']), 'base64url').toString('utf8');
    assert.match(text, /^version=/);
    const { claims } = await tokenClaims();
    assert.equal(claims['x-ms-policy-hash'], maaPolicyHash(text));
  });

  test("a stored policy equal to MAA's sample gives MAA's exact hash", async () => {
    await setPolicy(MAA_SAMPLE_POLICY);
    const { claims } = await tokenClaims();
    assert.equal(claims['x-ms-policy-hash'], MAA_SAMPLE_HASH);
  });

  test('a stored policy with non-ASCII text hashes its UTF-8 bytes', async () => {
    const text =
      'version=1.0;\nauthorizationrules{ => permit(); };\nissuancerules{ => issue(type="größe", value="ünïcödé ✓"); };\n';
    await setPolicy(text);
    const { claims } = await tokenClaims();
    assert.equal(claims['größe'], 'ünïcödé ✓');
    assert.equal(claims['x-ms-policy-hash'], maaPolicyHash(text));
    assert.notEqual(claims['x-ms-policy-hash'], MAA_SAMPLE_HASH);
  });

  test('a draft policy: the hash of the draft text', async () => {
    const draft = 'version=1.0; authorizationrules { => permit(); }; issuancerules { };';
    const runtime = Buffer.from('draft');
    const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2022-08-01`, {
      quote: Buffer.from(simQuoteBytes({ reportData: bindingFor(runtime) }, dcap)).toString('base64url'),
      runtimeData: { data: runtime.toString('base64url'), dataType: 'Binary' },
      draftPolicyForAttestation: draft,
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(decodeJwt(String(res.body['token'])).payload['x-ms-policy-hash'], maaPolicyHash(draft));
  });
});

describe('x-ms-sgx-collateral values', () => {
  test('each hash is the SHA-256 of the collateral item served for this quote', async () => {
    served = undefined;
    const { claims, quote } = await tokenClaims(Buffer.from('collateral hashes'));
    const raw = served as RawCollateral | undefined;
    assert.ok(raw !== undefined, 'the verifier asked for collateral');
    const expected = {
      qeidcertshash: hexSha256(raw.qeIdentityIssuerChain),
      qeidcrlhash: hexSha256(raw.rootCaCrl),
      qeidhash: hexSha256(raw.qeIdentity),
      quotehash: hexSha256(quote),
      tcbinfocertshash: hexSha256(raw.tcbInfoIssuerChain),
      tcbinfocrlhash: hexSha256(raw.pckCrl),
      tcbinfohash: hexSha256(raw.tcbInfo),
    };
    assert.equal(new Set(Object.values(expected)).size, 7, 'seven distinct inputs, so a swap shows');
    assert.deepEqual(claims['x-ms-sgx-collateral'], expected);
    assert.deepEqual(claims['maa-attestationcollateral'], expected);
  });
});
