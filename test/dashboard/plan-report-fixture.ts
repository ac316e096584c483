/** A `plan simulate` report for the Plan page tests, written through the CLI from examples/planner. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli } from '../../src/cli/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';
import { captureContext } from '../support/cli.ts';

/** A CLI context collecting output (test/support/cli.ts). */
export const context = (): ReturnType<typeof captureContext> => captureContext();

const ex = (f: string): string => join(REPO_ROOT, 'examples', 'planner', f);

/** Writes a report with `plan simulate` into `dir`. */
export async function simulateReport(dir: string): Promise<void> {
  const ctx = context();
  const code = await runCli(
    [
      'plan',
      'simulate',
      '--workload',
      ex('simulate-workloads.yaml'),
      '--hpa',
      ex('hpa.yaml'),
      '--load',
      ex('load.csv'),
      '--autoscaler',
      ex('autoscaler.yaml'),
      '-o',
      dir,
      '--json',
    ],
    ctx,
  );
  assert.equal(code, 0, ctx.out.join('') + ctx.err.join(''));
}
