/**
 * The command line of `ccnodes quote verify`, declared once: quote-verify.ts registers it with
 * commander (help text, defaults), and {@link parseQuoteVerifyArgs} reads the ordinary invocations
 * without commander, so that `quote verify` starts without loading it (issue 15: the installed CLI
 * starts in under 200 ms; commander is about a quarter of the JavaScript that command loaded).
 *
 * This module imports only plain-command-line.ts, which imports nothing: src/cli/index.ts loads it
 * for every invocation.
 */
import type { InputEncoding } from '../core/index.ts';
import { readPlainCommandLine } from './plain-command-line.ts';
import type { VerifyFlags } from './quote-verify-run.ts';

/** One option of `quote verify` as commander declares it. */
export interface QuoteVerifyOption {
  /** The flags as commander spells them: `--name` (a switch) or `--name <value>`. */
  readonly flags: string;
  readonly description: string;
  /** The value when the option is absent (commander's default value). */
  readonly defaultValue?: string;
}

/** The `--encoding` flag text (input-encoding.ts's ENCODING_FLAG, which is tested to match). */
const ENCODING = '--encoding <encoding>';

/** Default of `--encoding`. */
const AUTO: InputEncoding = 'auto';

export const QUOTE_VERIFY_DESCRIPTION =
  'Verify a DCAP quote (binary, hex or base64) against collateral: a bundle JSON file (ours or ' +
  "dcap-qvl's) or a directory of PCS artefacts (docs/collateral.md), or, without --collateral, " +
  'collateral fetched from a PCS/PCCS (--pccs-url). Checks the PCK chain up to ' +
  "Intel's pinned root, both CRLs, TCB Info and QE Identity signatures, the QE report, the quote " +
  'signature, and computes the TCB status (docs/verification.md). Exit 0 verified (status and ' +
  'advisories printed), 1 verification failed (error code and step printed), 2 usage or I/O error.';

/** The one argument: `<quote>`. */
export const QUOTE_VERIFY_ARGUMENT = { name: '<quote>', description: 'quote file (binary, hex or base64)' };

/**
 * The options in the order `--help` lists them. The `--encoding` description is input-encoding.ts's
 * `encodingHelp('the quote file')`, spelled out here so that this module imports nothing (tested).
 */
export const QUOTE_VERIFY_OPTIONS: readonly QuoteVerifyOption[] = [
  {
    flags: ENCODING,
    description:
      'how the quote file is written: auto (binary, hex or base64, detected), binary, hex, or base64 ' +
      '(standard or URL-safe alphabet); an explicit value refuses any other form',
    defaultValue: AUTO,
  },
  { flags: '--collateral <bundle-or-dir>', description: 'collateral bundle JSON file or artefact directory' },
  {
    flags: '--pccs-url <url>',
    description:
      'without --collateral: fetch the collateral for this quote from this PCS/PCCS (host only or …/sgx|tdx/certification/v4; ' +
      'also CCNODES_PCCS_URL; default Intel PCS https://api.trustedservices.intel.com/sgx/certification/v4)',
  },
  {
    flags: '--collateral-api <api>',
    description:
      'with --pccs-url: auto (Intel PCS for api.trustedservices.intel.com, else PCCS), pcs or pccs; decides where the Root CA CRL comes from',
    defaultValue: 'auto',
  },
  {
    flags: '--root-ca-crl-url <url>',
    description:
      "with --pccs-url: fetch the Root CA CRL here (default: PCCS /rootcacrl, or the CRL distribution point of Intel's root certificate)",
  },
  {
    flags: '--now <iso>',
    description: 'verification time (ISO 8601, e.g. 2025-07-19T10:01:17Z); default: the current time',
  },
  {
    flags: '--trust-simulated-root <pem>',
    description: 'accept chains ending in exactly this ccnodes simulated root certificate',
  },
  {
    flags: '--allow-expired-collateral',
    description: 'DANGEROUS: report expired collateral as a flag instead of failing',
  },
  { flags: '--allow-debug', description: 'DANGEROUS: accept debug enclaves and debug TDs' },
  { flags: '--json', description: 'print the result (or the error with code and step) as JSON' },
];

/** A `quote verify` invocation read without commander. */
export interface QuoteVerifyArgs {
  readonly quote: string;
  readonly flags: VerifyFlags;
}

/**
 * Reads `quote verify <quote> [options]` when the command line is one that commander would accept
 * and turn into exactly these values: the words `quote verify`, then exactly one argument not
 * starting with `-`, and options of this command only (`--name value`, `--name=value`, switches;
 * a repeated option keeps its last value; a value is the next word whatever it looks like, as in
 * commander). Anything else — help, `-V`/`--version` (also as an option's value), `--`, an unknown
 * or malformed option, a missing value or argument, an extra argument — returns undefined, and the caller hands the command line
 * to commander, which answers it (and its errors) as it always has.
 */
export function parseQuoteVerifyArgs(argv: readonly string[]): QuoteVerifyArgs | undefined {
  const read = readPlainCommandLine(argv, 'quote', 'verify', QUOTE_VERIFY_OPTIONS, false);
  // exactly one quote: none, or an extra argument, is commander's error
  if (read === undefined || read.operands.length !== 1) return undefined;
  return { quote: read.operands[0] as string, flags: read.flags as unknown as VerifyFlags };
}
