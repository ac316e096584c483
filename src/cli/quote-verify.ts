/**
 * `ccnodes quote verify <quote> --collateral <bundle-or-dir> [--encoding <e>] [--now <ISO>] [--json] …`: verifies a
 * DCAP quote against offline collateral with the core verifier.
 *
 * Exit status: 0 verified (TCB status and advisories printed), 1 verification failed (error code
 * and failed step printed), 2 usage or I/O error (unreadable file, malformed collateral bundle).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import { ENCODING_FLAG, encodingHelp } from './input-encoding.ts';
import type { VerifyFlags } from './quote-verify-run.ts';

/** Registers `ccnodes quote verify`. */
export function registerQuoteVerify(program: Command, ctx: CliContext): void {
  areaCommand(program, 'quote', 'Inspect and verify Intel SGX/TDX DCAP quotes.')
    .command('verify')
    .description(
      'Verify a DCAP quote (binary, hex or base64) against collateral: a bundle JSON file (ours or ' +
        "dcap-qvl's) or a directory of PCS artefacts (docs/collateral.md). Checks the PCK chain up to " +
        "Intel's pinned root, both CRLs, TCB Info and QE Identity signatures, the QE report, the quote " +
        'signature, and computes the TCB status (docs/verification.md). Exit 0 verified (status and ' +
        'advisories printed), 1 verification failed (error code and step printed), 2 usage or I/O error.',
    )
    .argument('<quote>', 'quote file (binary, hex or base64)')
    .option(ENCODING_FLAG, encodingHelp('the quote file'), 'auto')
    .requiredOption('--collateral <bundle-or-dir>', 'collateral bundle JSON file or artefact directory')
    .option(
      '--now <iso>',
      'verification time (ISO 8601, e.g. 2025-07-19T10:01:17Z); default: the current time',
    )
    .option(
      '--trust-simulated-root <pem>',
      'accept chains ending in exactly this ccnodes simulated root certificate',
    )
    .option('--allow-expired-collateral', 'DANGEROUS: report expired collateral as a flag instead of failing')
    .option('--allow-debug', 'DANGEROUS: accept debug enclaves and debug TDs')
    .option('--json', 'print the result (or the error with code and step) as JSON')
    .action(async (quote: string, flags: VerifyFlags) => {
      const { run } = await import('./quote-verify-run.ts');
      await run(quote, flags, ctx);
    });
}
