/**
 * Locates the shared real test data (`../shared/testdata`, or `$CCNODES_TESTDATA`).
 *
 * Tests never copy these files into the repository. Where the directory is absent (a user's fresh
 * clone) the tests that need it skip with one clear line; under `CI=true` its absence is a failure,
 * reported once by test/testdata-present.test.ts (so the tests that need no data still run).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const dir = process.env['CCNODES_TESTDATA'] ?? resolve(REPO_ROOT, '..', 'shared', 'testdata');
const present = existsSync(join(dir, 'dcap', 'manifest.json'));

/** True when the shared test data directory is there. */
export const TESTDATA_PRESENT = present;

/** Absolute path of the shared test data directory (may not exist; check `testdataSkip`). */
export const TESTDATA_DIR = dir;

/** `false` when the data is present, otherwise the one-line skip reason for `{ skip }`. */
export const testdataSkip: string | false = present
  ? false
  : `shared test data not found at ${dir} (set CCNODES_TESTDATA); skipping tests that need real SGX data`;

/** Path of a file inside the shared test data. */
export function testdataPath(...parts: string[]): string {
  return join(dir, ...parts);
}
