/**
 * `ccnodes collateral …`: intel collateral: a PCCS-compatible caching service (serve) and offline bundles (fetch, export, import).
 * Verbs are registered below; each verb's work lives in a `collateral-*.ts` file loaded on demand.
 *
 *   collateral serve --upstream <url> --mode lazy|req|offline --listen <host:port> [--data-dir <dir>]
 *                    [--database-url <url>] [--api-key-file <f>] [--tls-cert <pem> --tls-key <pem> | --insecure-http]
 *                    [--trust-simulated-root <pem>] [--json]
 *   collateral fetch --fmspc <hex> --upstream <url> -o <bundle.json> [--tee sgx|tdx] [--ca processor|platform]
 *   collateral export -o <bundle.json> [--data-dir <dir> | --database-url <url>]
 *   collateral import <bundle.json> [--data-dir <dir> | --database-url <url>]
 *   collateral qcnl-conf --url <pccs-url> [-o <file>]
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { ExportFlags, FetchFlags, ImportFlags, QcnlFlags, ServeFlags } from './collateral-run.ts';

/** Default port of `collateral serve` (Intel's PCCS listens on 8081). */
export const COLLATERAL_DEFAULT_LISTEN = '127.0.0.1:8081';

function trustOpt(cmd: Command): Command {
  return cmd.option(
    '--trust-simulated-root <pem>',
    "trust the ccnodes simulated root (this PEM) instead of Intel's SGX Root CA (simulation only)",
  );
}

function storeOpts(cmd: Command): Command {
  return cmd
    .option(
      '--data-dir <dir>',
      'directory of the SQLite cache collateral.db, mode 0700 (default $CCNODES_COLLATERAL_DATA_DIR, else $XDG_DATA_HOME/ccnodes/collateral, else ~/.local/share/ccnodes/collateral)',
    )
    .option(
      '--database-url <url>',
      'PostgreSQL cache (postgres://…) instead of SQLite (env CCNODES_COLLATERAL_DATABASE_URL)',
    );
}

/** Registers `ccnodes collateral serve|fetch|export|import|qcnl-conf`. */
export function registerCollateral(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'collateral',
    'Intel collateral: a PCCS-compatible caching service (serve) and offline bundles (fetch, export, import)',
  );

  trustOpt(
    storeOpts(
      area
        .command('serve')
        .description(
          "Serve Intel's PCCS API v4 (SGX and TDX) from a verified, persistent collateral cache in front of a PCS/PCCS",
        )
        .option(
          '--upstream <url>',
          'upstream PCS/PCCS base URL (required for lazy and req; env CCNODES_COLLATERAL_UPSTREAM)',
        )
        .option(
          '--mode <mode>',
          'caching mode: lazy (fetch on a miss), req (PCK certificates at registration), offline (imported only)',
          'lazy',
        )
        .option(
          '--listen <host:port>',
          `address to listen on (default ${COLLATERAL_DEFAULT_LISTEN}; port 0 = any free port)`,
        )
        .option(
          '--api-key-file <file>',
          'Intel PCS subscription key, sent as Ocp-Apim-Subscription-Key on PCK certificate requests',
        )
        .option(
          '--upstream-api <api>',
          'what the upstream is: auto, pcs (Intel) or pccs (decides where the Root CA CRL comes from)',
          'auto',
        )
        .option('--root-ca-crl-url <url>', 'fetch the Root CA CRL from this URL')
        .option('--upstream-timeout-ms <ms>', 'per-request timeout of upstream fetches', '10000')
        .option('--refresh-before-seconds <s>', 'renew an artefact this long before its nextUpdate', '86400')
        .option(
          '--refresh-interval-seconds <s>',
          'how often the refresh looks for due artefacts (0 = never)',
          '300',
        )
        .option('--tls-cert <pem>', 'TLS certificate chain (PEM)')
        .option('--tls-key <pem>', 'TLS private key (PEM)')
        .option(
          '--insecure-http',
          'serve plain HTTP (the artefacts are signed and verified by every client, but QCNL wants HTTPS unless use_secure_cert is false)',
        )
        .option('--log-level <level>', 'log level (fatal, error, warn, info, debug)', 'warn')
        .option('--json', 'print the listening URL as one JSON line'),
    ),
  ).action(async (flags: ServeFlags) => {
    const { runServe } = await import('./collateral-run.ts');
    await runServe(flags, ctx);
  });

  trustOpt(
    area
      .command('fetch')
      .description(
        'Fetch and verify the collateral of one FMSPC from a PCS/PCCS into a bundle for offline use',
      )
      .requiredOption('--fmspc <hex>', 'FMSPC (12 hex digits)')
      .requiredOption('--upstream <url>', 'PCS/PCCS base URL')
      .requiredOption('-o, --output <bundle.json>', 'where to write the bundle')
      .option('--tee <tee>', 'sgx or tdx (which TCB Info and QE Identity)', 'sgx')
      .option('--ca <ca>', 'PCK CA whose CRL to include: processor, platform or both', 'both')
      .option('--upstream-api <api>', 'auto, pcs or pccs', 'auto')
      .option('--root-ca-crl-url <url>', 'fetch the Root CA CRL from this URL')
      .option('--json', 'machine-readable output'),
  ).action(async (flags: FetchFlags) => {
    const { runFetch } = await import('./collateral-run.ts');
    await runFetch(flags, ctx);
  });

  trustOpt(
    storeOpts(
      area
        .command('export')
        .description('Write every verified artefact of a collateral cache, as received, to a bundle')
        .requiredOption('-o, --output <bundle.json>', 'where to write the bundle')
        .option('--json', 'machine-readable output'),
    ),
  ).action(async (flags: ExportFlags) => {
    const { runExport } = await import('./collateral-run.ts');
    await runExport(flags, ctx);
  });

  trustOpt(
    storeOpts(
      area
        .command('import')
        .description('Verify the artefacts of a bundle and add them to a collateral cache (for offline mode)')
        .argument('<bundle>', 'bundle written by collateral fetch or export')
        .option('--json', 'machine-readable output'),
    ),
  ).action(async (bundle: string, flags: ImportFlags) => {
    const { runImport } = await import('./collateral-run.ts');
    await runImport(bundle, flags, ctx);
  });

  area
    .command('qcnl-conf')
    .description(
      "Render an sgx_default_qcnl.conf that points Intel's quote provider library at a collateral service",
    )
    .requiredOption(
      '--url <pccs-url>',
      'the collateral service base URL (e.g. https://ccnodes-collateral.ccnodes-system.svc:8081)',
    )
    .option('--insecure-cert', 'use_secure_cert false (a self-signed or cluster-internal certificate)')
    .option('--retry-times <n>', 'retries of the quote provider library', '6')
    .option('--retry-delay <s>', 'seconds between retries', '10')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .action(async (flags: QcnlFlags) => {
      const { runQcnlConf } = await import('./collateral-run.ts');
      await runQcnlConf(flags, ctx);
    });
}
