/** A `plan simulate` report for the Plan page tests, written through the CLI from examples/planner. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, type CliContext } from '../../src/cli/index.ts';
import { REPO_ROOT } from '../support/testdata.ts';

const ex = (f: string): string => join(REPO_ROOT, 'examples', 'planner', f);

export function context(): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    cwd: process.cwd(),
    signal: new AbortController().signal,
    exitCode: 0,
  };
}

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
