/**
 * `ccnodes sim …`: the simulated DCAP platform from the command line.
 *
 *   sim quote --report-data <hex> [--platform <name>] -o <quote> --collateral-out <bundle.json>
 *   sim quote --tdx [--quote-version 4|5] [--report-data <hex>] [--debug] -o <quote> --collateral-out <bundle.json>
 *   sim root [-o <pem>]
 *   sim pcs [--port N] [--host 127.0.0.1]
 *   sim platforms
 *
 * Keys come from `--seed` (deterministic, for tests), else from `--data-dir` (default
 * `$CCNODES_DATA_DIR`, else `$XDG_DATA_HOME/ccnodes` or `~/.local/share/ccnodes`), where the
 * simulated master secret is kept with mode 0600, so `sim root` and `sim quote` agree across runs.
 * Everything produced chains to "ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)"; verifiers
 * refuse it unless given that root explicitly (`quote verify --trust-simulated-root`).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import { ENCODING_FLAG, encodingHelp } from './input-encoding.ts';
import type { PcsFlags, QuoteFlags, RootFlags } from './sim-run.ts';

/** Default port of `sim pcs` (a PCCS listens on 8081 by default). */
export const SIM_PCS_DEFAULT_PORT = 8081;

function keyOpts(cmd: Command): Command {
  return cmd
    .option('--seed <text>', 'derive every simulated key from this seed (deterministic; for tests)')
    .option(
      '--data-dir <dir>',
      'directory holding the simulated master secret (mode 0600); default $CCNODES_DATA_DIR or ~/.local/share/ccnodes',
    );
}

/** Registers `ccnodes sim quote|root|pcs|platforms`. */
export function registerSim(program: Command, ctx: CliContext): void {
  const sim = areaCommand(
    program,
    'sim',
    'Simulated SGX platform (NOT FOR PRODUCTION): enclaves, DCAP quotes, simulated PCS',
  );

  keyOpts(
    sim
      .command('quote')
      .description(
        'Produce a SIMULATED DCAP quote (v3, PCK chain in the quote) and the collateral bundle to verify it',
      )
      .option('--report-data <hex>', 'REPORTDATA of a synthetic enclave report (up to 64 bytes, zero-padded)')
      .option(
        '--report-body <file>',
        'quote this 384-byte report body or 432-byte REPORT instead (binary, hex or base64)',
      )
      .option(ENCODING_FLAG, encodingHelp('the --report-body file'), 'auto')
      .option(
        '--platform <name>',
        'simulated platform preset (see "ccnodes sim platforms"; default up-to-date)',
      )
      .option('-o, --output <quote>', 'where to write the binary quote')
      .option(
        '--collateral-out <bundle.json>',
        'where to write the collateral bundle (ccnodes-collateral/1 JSON)',
      )
      .option('--mrenclave <hex>', 'MRENCLAVE of the synthetic report (32 bytes)')
      .option('--mrsigner <hex>', 'MRSIGNER of the synthetic report (32 bytes)')
      .option('--debug', 'set the DEBUG attribute in the synthetic report (with --tdx: TDATTRIBUTES.DEBUG)')
      .option(
        '--tdx',
        'produce a SIMULATED TDX quote of a TD report instead (TDX TCB Info and TD_QE identity in the bundle)',
      )
      .option('--mrtd <hex>', 'with --tdx: MRTD of the TD report (48 bytes)')
      .option(
        '--quote-version <n>',
        'quote version: 3 (default) or 4 (certification data type 6); with --tdx 4 (default, TD report 1.0) or 5 (TD report 1.5)',
      )
      .option('--now <iso>', 'issue time of the collateral (default: now)')
      .option('--json', 'machine-readable output'),
  ).action(async (flags: QuoteFlags) => {
    const { runQuote } = await import('./sim-run.ts');
    await runQuote(flags, ctx);
  });

  keyOpts(
    sim
      .command('root')
      .description(
        'Write the simulated root certificate "ccnodes Simulated SGX Root CA (NOT FOR PRODUCTION)" (PEM)',
      )
      .option('-o, --output <pem>', 'write to this file instead of standard output')
      .option('--json', 'machine-readable output'),
  ).action(async (flags: RootFlags) => {
    const { runRoot } = await import('./sim-run.ts');
    await runRoot(flags, ctx);
  });

  keyOpts(
    sim
      .command('pcs')
      .description(
        'Serve the simulated collateral with Intel PCS/PCCS v4 paths and headers (/sgx/certification/v4/..., /tdx/certification/v4/...) until stopped',
      )
      .option('--port <n>', 'TCP port (0: any free port)', String(SIM_PCS_DEFAULT_PORT))
      .option('--host <addr>', 'interface to listen on', '127.0.0.1')
      .option('--json', 'print the listening URL and platforms as one JSON line'),
  ).action(async (flags: PcsFlags) => {
    const { runPcs } = await import('./sim-run.ts');
    await runPcs(flags, ctx);
  });

  sim
    .command('platforms')
    .description('List the simulated platform presets and the TCB status each one yields')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }) => {
      const { runPlatforms } = await import('./sim-run.ts');
      runPlatforms(flags, ctx);
    });
}
