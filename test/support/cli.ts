/** Runs the `ccnodes` CLI in-process with captured output, as tests need it. */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { runCli, runWithCommander, type CliContext } from '../../src/cli/index.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ccnodes <argv…>`; `signal` lets a test stop a long-running command. */
export async function runCapture(
  argv: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; signal?: AbortSignal } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    signal: options.signal ?? new AbortController().signal,
    exitCode: 0,
  });
  return { code, stdout, stderr };
}

/**
 * A CLI context whose output is collected in `out`/`err` as it is written, for tests that watch a
 * long-running command (a daemon) while it runs, with `runCli` directly.
 */
export function captureContext(
  signal: AbortSignal = new AbortController().signal,
): CliContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
    env: {},
    cwd: process.cwd(),
    signal,
    exitCode: 0,
  };
}

/**
 * Asserts that `runCli` (which reads the plain command lines of `quote verify` and `container run`
 * itself) answers `argv` exactly as the commander path does: return value, stdout, stderr and the
 * context's exit code.
 */
export async function assertSameAsCommander(
  argv: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<void> {
  const capture = async (f: typeof runCli) => {
    let stdout = '';
    let stderr = '';
    const ctx: CliContext = {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      env: options.env ?? {},
      cwd: options.cwd,
      signal: new AbortController().signal,
      exitCode: 0,
    };
    const code = await f(argv, ctx);
    return { code, stdout, stderr, exitCode: ctx.exitCode };
  };
  assert.deepEqual(await capture(runCli), await capture(runWithCommander), argv.join(' '));
}
