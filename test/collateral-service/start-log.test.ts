/**
 * Regression: what the collateral service logs while it loads its cache at start — a stored
 * artefact refused because its row was edited at rest — reaches the server's logger. Those lines
 * come before the HTTP app (and so its logger) exists; they used to be dropped, leaving only the
 * metric to tell an operator that a row had been refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { dcap, get, startStack } from './support.ts';

const SGX = '/sgx/certification/v4';
const FMSPC = dcap.platform('up-to-date').config.fmspc.toUpperCase();

test('a stored artefact refused at start is logged on the server logger', async () => {
  const lines: { level: number; msg: string; key?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (l: string) => lines.push(JSON.parse(l) as never) });
  const s = await startStack({ loggerInstance: logger });
  try {
    assert.equal((await get(s.service.url, `${SGX}/tcb?fmspc=${FMSPC}`)).status, 200);
    await s.service.close();
    const db = new Database(join(s.dataDir, 'collateral.db'));
    const key = `sgx:tcb:${FMSPC}`;
    const row = db.prepare('SELECT body FROM collateral_artefacts WHERE key = ?').get(key) as {
      body: Buffer;
    };
    const edited = row.body.toString('utf8').replace('"UpToDate"', '"Revoked"');
    assert.notEqual(edited, row.body.toString('utf8'));
    db.prepare('UPDATE collateral_artefacts SET body = ? WHERE key = ?').run(Buffer.from(edited), key);
    db.close();
    lines.length = 0;
    await s.restart({ mode: 'offline', upstream: undefined });
    const refused = lines.filter((l) => l.level >= 40 && /^stored artefact refused: /.test(l.msg));
    assert.equal(refused.length, 1, JSON.stringify(lines.map((l) => l.msg)));
    assert.ok(!s.service.service.list().some((e) => e.key === key));
  } finally {
    await s.close();
  }
});
