/**
 * State across restarts and time: keys, policies and secrets survive a restart; signing-key rotation
 * keeps the old key in /certs for its tokens' lifetime; the KEK guards everything (wrong key or
 * loose file permissions refuse to start). Plus a real Intel SGX quote from shared testdata through
 * the service with offline collateral at its fixed time.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDcapEvidenceVerifier, staticCollateral } from '../../src/attestation/index.ts';
import { loadCollateralPath } from '../../src/collateral-source/index.ts';
import { TESTDATA_DIR, testdataPath, testdataSkip } from '../support/testdata.ts';
import { ADMIN_TOKEN, decodeJwt, postJson, simQuote, startService } from './support.ts';

const policyJws = (text: string): string =>
  `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ AttestationPolicy: Buffer.from(text).toString('base64url') })).toString('base64url')}.`;

async function kids(url: string): Promise<string[]> {
  return ((await (await fetch(`${url}/certs`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}

describe('state', () => {
  test('restart keeps signing keys, policies and secrets', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-state-'));
    try {
      const a = await startService({ dataDir, keepDir: true });
      const kidsBefore = await kids(a.url);
      const text =
        'version=1.0; authorizationrules{=>permit();}; issuancerules{ => issue(type="persisted", value=true); };';
      const put = await fetch(`${a.url}/policies/SgxEnclave?api-version=2020-10-01`, {
        method: 'PUT',
        headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_TOKEN}` },
        body: policyJws(text),
      });
      assert.equal(put.status, 200);
      const token1 = String(
        (await postJson(`${a.url}/attest/SgxEnclave?api-version=2020-10-01`, { quote: simQuote() })).body[
          'token'
        ],
      );
      await a.close();

      const b = await startService({ dataDir, keepDir: true, publicUrl: a.url });
      try {
        assert.deepEqual(await kids(b.url), kidsBefore, 'same signing key after restart');
        const res = await postJson(`${b.url}/attest/SgxEnclave?api-version=2020-10-01`, {
          quote: simQuote(),
        });
        const claims = decodeJwt(String(res.body['token'])).payload;
        assert.equal(claims['persisted'], true, 'stored policy still applies');
        assert.equal(decodeJwt(token1).header['kid'], decodeJwt(String(res.body['token'])).header['kid']);
      } finally {
        await b.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('rotation: new kid signs; the old key stays in /certs until its tokens expire, then goes', async () => {
    let now = new Date();
    const s = await startService({ now: () => now, tokenLifetimeSeconds: 3600 });
    try {
      const [oldKid] = await kids(s.url);
      const rot = await fetch(`${s.url}/ccnodes/v1/signing-keys:rotate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      assert.equal(rot.status, 200);
      const { kid: newKid } = (await rot.json()) as { kid: string };
      assert.notEqual(newKid, oldKid);
      assert.deepEqual(await kids(s.url), [newKid, oldKid]);
      const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
        quote: simQuote(),
      });
      assert.equal(decodeJwt(String(res.body['token'])).header['kid'], newKid);
      now = new Date(now.getTime() + 3601_000);
      assert.deepEqual(await kids(s.url), [newKid], 'retired key pruned after the token lifetime');
      assert.equal((await fetch(`${s.url}/ccnodes/v1/signing-keys:rotate`, { method: 'POST' })).status, 401);
    } finally {
      await s.close();
    }
  });

  test('KEK: a wrong key refuses to start; a KEK file readable by others refuses to start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ccnodes-kek-'));
    try {
      const a = await startService({ dataDir, keepDir: true });
      await a.close();
      assert.equal(readFileSync(join(dataDir, 'kek'), 'utf8').trim().length, 44);
      await assert.rejects(
        startService({ dataDir, keepDir: true, kekText: Buffer.alloc(32, 7).toString('base64') }),
        (e: unknown) => (e as { code?: string }).code === 'ERR_STORAGE_KEK',
      );
      chmodSync(join(dataDir, 'kek'), 0o644);
      await assert.rejects(
        startService({ dataDir, keepDir: true }),
        (e: unknown) => (e as { code?: string }).code === 'ERR_STORAGE_KEK',
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test('isolated mode without any policy management certificate refuses to start', async () => {
    await assert.rejects(
      startService({ isolated: true }),
      (e: unknown) => (e as { code?: string }).code === 'ERR_ATTEST_CONFIG',
    );
  });
});

describe(
  'real Intel SGX quote (shared testdata, offline collateral, fixed clock)',
  { skip: testdataSkip },
  () => {
    test('phala-sgx-v3 attests in production mode with its DCAP status and advisories', async () => {
      const manifest = JSON.parse(readFileSync(join(TESTDATA_DIR, 'dcap', 'manifest.json'), 'utf8')) as {
        sets: {
          id: string;
          quote: string;
          now: number;
          collateral: { file: string };
          expected: { status: string; advisoryIds: string[] };
        }[];
      };
      const set = manifest.sets.find((x) => x.id === 'phala-sgx-v3');
      assert.ok(set);
      const collateral = await loadCollateralPath(testdataPath('dcap', set.collateral.file));
      const quote = readFileSync(testdataPath('dcap', set.quote));
      const s = await startService({
        simulationMode: false,
        verifier: createDcapEvidenceVerifier({
          collateral: staticCollateral(collateral),
          now: () => new Date(set.now * 1000),
        }),
      });
      try {
        const res = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
          quote: quote.toString('base64url'),
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const c = decodeJwt(String(res.body['token'])).payload;
        assert.equal(c['x-ccnodes-tcb-status'], set.expected.status);
        assert.deepEqual(c['x-ccnodes-advisory-ids'], set.expected.advisoryIds);
        assert.equal(c['x-ccnodes-simulated'], false);
        assert.match(
          String(c['x-ms-sgx-report-data']),
          /^48656c6c6f2c20776f726c6421/,
          'REPORTDATA starts with "Hello, world!"',
        );
        // Binding check against the real quote: runtime data whose hash is not in REPORTDATA is refused.
        const bad = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
          quote: quote.toString('base64url'),
          runtimeData: { data: 'AAAA', dataType: 'Binary' },
        });
        assert.equal(bad.headers.get('x-ccnodes-error-code'), 'ERR_ATTEST_REPORT_DATA_MISMATCH');
        // One flipped byte in the quote's ISV report: the signature no longer verifies.
        const tampered = Buffer.from(quote);
        tampered[48 + 64] = (tampered[48 + 64] ?? 0) ^ 0xff;
        const t = await postJson(`${s.url}/attest/SgxEnclave?api-version=2020-10-01`, {
          quote: tampered.toString('base64url'),
        });
        assert.equal(t.status, 400);
        assert.match(String(t.headers.get('x-ccnodes-error-code')), /^ERR_VERIFY_/);
      } finally {
        await s.close();
      }
    });
  },
);
