/**
 * `ccnodes quote verify <quote> [--collateral <bundle-or-dir> | --pccs-url <url>] [--encoding <e>] [--now <ISO>]
 * [--json] …`: verifies a DCAP quote with the core verifier, against offline collateral or against
 * collateral fetched for the quote from a PCS/PCCS (`--pccs-url`, `CCNODES_PCCS_URL`, default Intel's PCS).
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
        "dcap-qvl's) or a directory of PCS artefacts (docs/collateral.md), or, without --collateral, " +
        'collateral fetched from a PCS/PCCS (--pccs-url). Checks the PCK chain up to ' +
        "Intel's pinned root, both CRLs, TCB Info and QE Identity signatures, the QE report, the quote " +
        'signature, and computes the TCB status (docs/verification.md). Exit 0 verified (status and ' +
        'advisories printed), 1 verification failed (error code and step printed), 2 usage or I/O error.',
    )
    .argument('<quote>', 'quote file (binary, hex or base64)')
    .option(ENCODING_FLAG, encodingHelp('the quote file'), 'auto')
    .option('--collateral <bundle-or-dir>', 'collateral bundle JSON file or artefact directory')
    .option(
      '--pccs-url <url>',
      'without --collateral: fetch the collateral for this quote from this PCS/PCCS (host only or …/sgx|tdx/certification/v4; ' +
        'also CCNODES_PCCS_URL; default Intel PCS https://api.trustedservices.intel.com/sgx/certification/v4)',
    )
    .option(
      '--collateral-api <api>',
      'with --pccs-url: auto (Intel PCS for api.trustedservices.intel.com, else PCCS), pcs or pccs; decides where the Root CA CRL comes from',
      'auto',
    )
    .option(
      '--root-ca-crl-url <url>',
      "with --pccs-url: fetch the Root CA CRL here (default: PCCS /rootcacrl, or the CRL distribution point of Intel's root certificate)",
    )
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
