/**
 * `ccnodes container run` without commander: src/cli/index.ts's runCli comes here when
 * container-run-args.ts has read the command line (the ordinary invocations; help and bad command
 * lines still go through commander). Same command, same error reporting as the commander path.
 * scripts/build.ts builds this module into one self-contained file (dist/container-run-fast.js),
 * with its own copies of the error classes: it reports its own errors and returns the exit status.
 */
import type { PrestartedHashes } from '../container/index.ts';
import type { CliContext } from './context.ts';
import type { ContainerRunArgs } from './container-run-args.ts';
import { runCommand } from './container-run.ts';
import { cliReporter } from './errors.ts';

/**
 * Runs `container run` as read from `argv`; returns the exit status (runCli's contract).
 * `prestarted`: the hash helper the CLI's CommonJS start began before loading this code.
 */
export async function runContainerRun(
  args: ContainerRunArgs,
  argv: readonly string[],
  ctx: CliContext,
  prestarted?: PrestartedHashes,
): Promise<number> {
  const reporter = cliReporter(argv, ctx);
  try {
    await runCommand(reporter.ctx, args.manifest, [...args.args], args.flags, prestarted);
    return reporter.ctx.exitCode;
  } catch (err) {
    return reporter.fail(err);
  } finally {
    // A command line refused before the launch still ends the helper (the launch ends it itself).
    prestarted?.abort();
  }
}
