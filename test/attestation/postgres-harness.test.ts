/**
 * The PostgreSQL test harness finds any installed version (newest first, then PATH), and under
 * CI=true refuses to turn "no PostgreSQL" into a skip.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findPostgresBinaries,
  postgresBinDirs,
  postgresSkipReason,
  startTestPostgres,
} from './postgres-harness.ts';

const root = mkdtempSync(join(tmpdir(), 'ccnodes-pg-harness-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function fakeBin(dir: string, ...names: string[]): void {
  mkdirSync(dir, { recursive: true });
  for (const n of names) {
    writeFileSync(join(dir, n), '#!/bin/sh\nexit 1\n');
    chmodSync(join(dir, n), 0o755);
  }
}

describe('postgres harness: finding the binaries', () => {
  const lib = join(root, 'lib');
  fakeBin(join(lib, '9.6', 'bin'), 'initdb', 'postgres');
  fakeBin(join(lib, '15', 'bin'), 'initdb', 'postgres');
  fakeBin(join(lib, '17', 'bin'), 'initdb'); // incomplete: no postgres
  mkdirSync(join(lib, 'common'), { recursive: true });
  const onPath = join(root, 'path-bin');
  fakeBin(onPath, 'initdb', 'postgres');

  test('every version directory, newest first, then PATH', () => {
    const dirs = postgresBinDirs({ PATH: `${onPath}:/nowhere` }, lib);
    assert.deepEqual(dirs.slice(0, 5), [
      join(lib, '17', 'bin'),
      join(lib, '15', 'bin'),
      join(lib, '9.6', 'bin'),
      onPath,
      '/nowhere',
    ]);
  });

  test('initdb and postgres come from the same directory: the newest complete one', () => {
    assert.deepEqual(findPostgresBinaries({ PATH: onPath }, lib), {
      initdb: join(lib, '15', 'bin', 'initdb'),
      postgres: join(lib, '15', 'bin', 'postgres'),
    });
    assert.deepEqual(findPostgresBinaries({ PATH: onPath }, join(root, 'missing')), {
      initdb: join(onPath, 'initdb'),
      postgres: join(onPath, 'postgres'),
    });
  });
});

describe('postgres harness: CI=true makes an unavailable server a failure', () => {
  // A URL nothing listens on (port 1 refuses at once).
  const dead = 'postgres://postgres@127.0.0.1:1/postgres';

  test('outside CI: undefined, and a one-line skip reason', async () => {
    assert.equal(await startTestPostgres({ CCNODES_TEST_DATABASE_URL: dead }), undefined);
    assert.match(
      postgresSkipReason(),
      /^no PostgreSQL: CCNODES_TEST_DATABASE_URL does not accept connections/,
    );
    assert.ok(!postgresSkipReason().includes('\n'));
  });

  test('no binaries: skip outside CI, an error under CI=true', async () => {
    const env = { PATH: join(root, 'empty') };
    assert.equal(await startTestPostgres(env, join(root, 'missing')), undefined);
    assert.match(postgresSkipReason(), /no directory holds both initdb and postgres/);
    await assert.rejects(startTestPostgres({ ...env, CI: 'true' }, join(root, 'missing')), {
      message: /required under CI=true but no directory holds both initdb and postgres/,
    });
  });

  test('binaries that fail to start: skip outside CI, an error naming the binary under CI=true', async () => {
    const env = { PATH: join(root, 'path-bin') }; // the fake initdb exits 1
    assert.equal(await startTestPostgres(env, join(root, 'missing')), undefined);
    assert.match(postgresSkipReason(), /it did not start: .*initdb failed/);
    await assert.rejects(startTestPostgres({ ...env, CI: 'true' }, join(root, 'missing')), {
      message: /required under CI=true but it did not start: .*path-bin\/initdb failed/,
    });
  });

  test('under CI=true: an error saying why', async () => {
    await assert.rejects(startTestPostgres({ CCNODES_TEST_DATABASE_URL: dead, CI: 'true' }), {
      message:
        /PostgreSQL is required under CI=true but CCNODES_TEST_DATABASE_URL does not accept connections/,
    });
  });
});
