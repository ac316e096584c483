/**
 * Under CI=true the shared real test data must be present: its absence fails here, once, with the
 * path that was searched. Elsewhere (a user's fresh clone) the tests that need it skip instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TESTDATA_DIR, TESTDATA_PRESENT } from './support/testdata.ts';

const ci = process.env['CI'] === 'true';

test(
  'shared test data (../shared/testdata or $CCNODES_TESTDATA) is present under CI=true',
  { skip: ci ? false : 'not under CI=true: tests that need the shared data skip when it is absent' },
  () => {
    assert.ok(
      TESTDATA_PRESENT,
      `shared test data not found at ${TESTDATA_DIR}: required under CI=true (set CCNODES_TESTDATA)`,
    );
  },
);
