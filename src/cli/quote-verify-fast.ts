/**
 * `ccnodes quote verify` without commander: src/cli/index.ts's runCli comes here when
 * quote-verify-args.ts has read the command line (the ordinary invocations; help and bad command
 * lines still go through commander). Same command, same error reporting as the commander path.
 */
import type { CliContext } from './context.ts';
import { cliReporter } from './errors.ts';
import type { QuoteVerifyArgs } from './quote-verify-args.ts';
import { run } from './quote-verify-run.ts';

/** Runs `quote verify` as read from `argv`; returns the exit status (runCli's contract). */
export async function runQuoteVerify(
  args: QuoteVerifyArgs,
  argv: readonly string[],
  ctx: CliContext,
): Promise<number> {
  const reporter = cliReporter(argv, ctx);
  try {
    await run(args.quote, args.flags, reporter.ctx);
    return reporter.ctx.exitCode;
  } catch (err) {
    return reporter.fail(err);
  }
}
