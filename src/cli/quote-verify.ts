/**
 * `ccnodes quote verify <quote> [--collateral <bundle-or-dir> | --pccs-url <url>] [--encoding <e>] [--now <ISO>]
 * [--json] …`: verifies a DCAP quote with the core verifier, against offline collateral or against
 * collateral fetched for the quote from a PCS/PCCS (`--pccs-url`, `CCNODES_PCCS_URL`, default Intel's PCS).
 *
 * Exit status: 0 verified (TCB status and advisories printed), 1 verification failed (error code
 * and failed step printed), 2 usage or I/O error (unreadable file, malformed collateral bundle).
 *
 * The options are declared in quote-verify-args.ts, which also reads ordinary invocations without
 * commander (src/cli/index.ts); commander, registered here, answers help and bad command lines.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import {
  QUOTE_VERIFY_ARGUMENT,
  QUOTE_VERIFY_DESCRIPTION,
  QUOTE_VERIFY_OPTIONS,
} from './quote-verify-args.ts';
import type { VerifyFlags } from './quote-verify-run.ts';

/** Registers `ccnodes quote verify`. */
export function registerQuoteVerify(program: Command, ctx: CliContext): void {
  const verify = areaCommand(program, 'quote', 'Inspect and verify Intel SGX/TDX DCAP quotes.')
    .command('verify')
    .description(QUOTE_VERIFY_DESCRIPTION)
    .argument(QUOTE_VERIFY_ARGUMENT.name, QUOTE_VERIFY_ARGUMENT.description);
  for (const o of QUOTE_VERIFY_OPTIONS) verify.option(o.flags, o.description, o.defaultValue);
  verify.action(async (quote: string, flags: VerifyFlags) => {
    const { run } = await import('./quote-verify-run.ts');
    await run(quote, flags, ctx);
  });
}
