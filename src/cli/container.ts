/**
 * `ccnodes container …`: confidential containers: prepare, inspect, verify and run unmodified programs whose secrets are released only after attestation.
 *
 *   container prepare <app.yaml> --key <signer.pem> -o <app.sig> [--json]   hash, measure, sign
 *   container inspect <app.sig> [--json]                                    show the identity
 *   container verify <app.yaml> <app.sig> [--json]                          recheck a tree
 *   container run <app.yaml> --sig <app.sig> [options] [-- extra args]     attest, then run
 *   container gramine-manifest <app.yaml> [-o <file>]                      Gramine manifest (TOML)
 *
 * Exit status: 0 ok (run: the program's status), 1 a check failed (changed file, signature,
 * attestation refused or unreachable: the program never started), 2 usage or unreadable input.
 * Verbs are registered below; each verb's work lives in a `container-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { GramineFlags, InspectFlags, PrepareFlags, RunFlags, VerifyFlags } from './container-run.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes container …`. */
export function registerContainer(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'container',
    'Confidential containers: prepare, inspect, verify and run unmodified programs whose secrets are released only after attestation',
  );
  area
    .command('prepare')
    .description(
      'Hash the trusted files of an app manifest, measure the app identity (MRENCLAVE) and sign its SIGSTRUCT; ' +
        'write app.sig and print the identity and a ready-to-use release policy. Exit 0 ok, 2 invalid input.',
    )
    .argument('<manifest>', 'app manifest (YAML or JSON)')
    .requiredOption('--key <pem>', 'RSA-3072 private key with public exponent 3 (`ccnodes enclave keygen`)')
    .requiredOption('-o, --output <file>', 'where to write app.sig')
    .option('--json', 'print one JSON object instead of text')
    .action(async (path: string, flags: PrepareFlags) => {
      const { prepareCommand } = await import('./container-run.ts');
      await prepareCommand(ctx, path, flags);
    });
  area
    .command('inspect')
    .description(
      'Show the identity recorded in app.sig after checking its SIGSTRUCT signature. Exit 1 if it does not verify.',
    )
    .argument('<sig>', 'app.sig')
    .option('--json', 'print one JSON object instead of text')
    .action(async (path: string, flags: InspectFlags) => {
      const { inspectCommand } = await import('./container-run.ts');
      await inspectCommand(ctx, path, flags);
    });
  area
    .command('verify')
    .description(
      'Recheck a tree against app.sig: every trusted file unchanged, and the manifest measuring to the signed ' +
        'MRENCLAVE. Exit 1 with the code and the file named on a change.',
    )
    .argument('<manifest>', 'app manifest')
    .argument('<sig>', 'app.sig')
    .option('--json', 'print one JSON object instead of text')
    .action(async (manifest: string, sig: string, flags: VerifyFlags) => {
      const { verifyCommand } = await import('./container-run.ts');
      await verifyCommand(ctx, manifest, sig, flags);
    });
  area
    .command('run')
    .description(
      'Run the app under attestation: recheck the trusted files, launch the identity (EINIT), quote, attest, ' +
        'have every secret released, then start the unmodified program with its secrets (env or private ' +
        "files). Exit status: the program's; 1 when a check fails (the program never starts); 2 on bad input.",
    )
    .argument('<manifest>', 'app manifest')
    .argument('[args...]', 'extra arguments for the program, after --')
    .requiredOption('--sig <file>', 'app.sig written by `container prepare`')
    .option('--attestation-url <url>', 'attestation service (overrides attestation.url)')
    .option(
      '--aesm-socket <path>',
      'quote through this AESM socket (default: $SGX_AESM_ADDR set or /var/run/aesmd/aesm.socket present, else the in-process simulated platform)',
    )
    .option(
      '--data-dir <dir>',
      "simulated platform's data directory (as `node quote-helper --data-dir`; default $CCNODES_DATA_DIR or ~/.local/share/ccnodes)",
    )
    .option('--sim-seed <text>', 'derive the simulated platform from this seed instead (tests)')
    .option('--sim-platform <name>', 'in-process simulated platform preset (`ccnodes sim platforms`)')
    .option('--retries <n>', 'attempts to reach the attestation service (1-10)', '4')
    .option('--quiet', 'no progress lines on stderr')
    .option(
      '--allow-core-dumps',
      "leave the launcher's core-dump limit as it is (default: RLIMIT_CORE 0/0 before any secret, inherited by the program; fails closed if it cannot be set)",
    )
    .option('--json', 'launcher failures as one JSON object on stdout (the program owns stdout once started)')
    .action(async (manifest: string, args: string[], flags: RunFlags) => {
      const { runCommand } = await import('./container-run.ts');
      await runCommand(ctx, manifest, args, flags);
    });
  area
    .command('gramine-manifest')
    .description(
      'Generate a Gramine manifest (TOML) from the app manifest: entrypoint, env, trusted files, encrypted ' +
        'mounts, DCAP remote attestation, enclave size. Untried on SGX hardware (docs/confidential-containers.md).',
    )
    .argument('<manifest>', 'app manifest')
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option(
      '--libos-entrypoint <path>',
      'path of argv[0] inside the Gramine file system (default: argv[0] as given)',
    )
    .action(async (path: string, flags: GramineFlags) => {
      const { gramineCommand } = await import('./container-run.ts');
      await gramineCommand(ctx, path, flags);
    });
}
