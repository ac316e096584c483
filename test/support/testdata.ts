/**
 * Locates the shared real test data (`../shared/testdata`, or `$CCNODES_TESTDATA`).
 *
 * Tests never copy these files into the repository. Where the directory is absent (a user's fresh
 * clone) the tests that need it skip with one clear line; under `CI=true` its absence is a failure.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const dir = process.env['CCNODES_TESTDATA'] ?? resolve(REPO_ROOT, '..', 'shared', 'testdata');
const present = existsSync(join(dir, 'dcap', 'manifest.json'));

if (!present && process.env['CI'] === 'true') {
  throw new Error(`shared test data not found at ${dir}: required under CI=true (set CCNODES_TESTDATA)`);
}

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
