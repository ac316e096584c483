/**
 * The policy replay attack of policy-jws-replay.test.ts against a service on PostgreSQL (the
 * backend several replicas share): the applied-body ledger lives in the database, so a body applied
 * through one replica is refused by another. Skips with one line when no PostgreSQL can be had
 * (fails under CI=true, as the storage suite does).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { postgresSkipReason, startTestPostgres, type TestPostgres } from '../attestation/postgres-harness.ts';
import type { Started } from '../attestation/support.ts';
import {
  currentPolicyText,
  denyAllPolicy,
  newSigner,
  permissivePolicy,
  putPolicy,
  putSignedPolicy,
  readPolicyJws,
  startIsolated,
  type Signer,
} from './policy-support.ts';

const pgServer: TestPostgres | undefined = await startTestPostgres(process.env);

describe(
  'isolated mode on PostgreSQL: a captured policy body replayed on another replica',
  { skip: pgServer === undefined ? postgresSkipReason() : false },
  () => {
    let a: Started;
    let b: Started;
    let signer: Signer;
    before(async () => {
      signer = await newSigner('postgres replay signer');
      const url = await (pgServer as TestPostgres).createDatabase(`ccnodes_replay_${process.pid}`);
      const kekText = Buffer.alloc(32, 7).toString('base64');
      a = await startIsolated([signer], { databaseUrl: url, kekText });
      b = await startIsolated([signer], { databaseUrl: url, kekText });
    });
    after(async () => {
      await a.close();
      await b.close();
      await pgServer?.stop();
    });

    test('applied through replica A, refused by replica B; the strict policy stays', async () => {
      assert.equal((await putSignedPolicy(a.url, 'SgxEnclave', signer, permissivePolicy('pg1'))).status, 200);
      const captured = await readPolicyJws(b.url, 'SgxEnclave');
      assert.equal((await putSignedPolicy(a.url, 'SgxEnclave', signer, denyAllPolicy('pg2'))).status, 200);
      const replay = await putPolicy(b.url, 'SgxEnclave', captured);
      assert.equal(replay.status, 400);
      assert.equal(replay.code, 'ERR_ATTEST_POLICY_REPLAY');
      assert.equal(await currentPolicyText(b.url, 'SgxEnclave'), denyAllPolicy('pg2'));
    });
  },
);
