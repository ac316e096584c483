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
import type { WarmCacheFlags } from './container-warm-cache.ts';
import {
  CONTAINER_RUN_ARGUMENTS,
  CONTAINER_RUN_DESCRIPTION,
  CONTAINER_RUN_OPTIONS,
} from './container-run-args.ts';
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
  const run = area.command('run').description(CONTAINER_RUN_DESCRIPTION);
  for (const a of CONTAINER_RUN_ARGUMENTS) run.argument(a.name, a.description);
  for (const o of CONTAINER_RUN_OPTIONS) {
    if (o.required === true) run.requiredOption(o.flags, o.description, o.defaultValue);
    else run.option(o.flags, o.description, o.defaultValue);
  }
  run.action(async (manifest: string, args: string[], flags: RunFlags) => {
    const { runCommand } = await import('./container-run.ts');
    await runCommand(ctx, manifest, args, flags);
  });
  area
    .command('warm-cache')
    .description(
      'Run one simulated launch through this precompiled CLI so that it writes the V8 code cache of its ' +
        "container run file (for images: run it in the image's last stage, with the Node binary the pods use). " +
        'Exit 0 with the cache written or already current, 1 if the launch failed or wrote none, 2 from the sources.',
    )
    .option('--json', 'print one JSON object instead of text')
    .action(async (flags: WarmCacheFlags) => {
      const { warmCacheCommand } = await import('./container-warm-cache.ts');
      await warmCacheCommand(ctx, flags);
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
