/**
 * The `ccnodes` command tree. Each area (`quote`, `enclave`, `sim`, …) lives in its own file and
 * registers its subcommands here; src/bin/ccnodes.ts is the only caller.
 */
import { Command, CommanderError } from 'commander';
import { isCcnodesError } from '../errors/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { IoError, UsageError } from './errors.ts';
import { registerDemo } from './demo.ts';
import { registerNodeDevicePlugin } from './node-device-plugin.ts';
import { registerNodeDoctor } from './node-doctor.ts';
import { registerNodePatchNode } from './node-patch-node.ts';
import { registerAttestation } from './attestation.ts';
import { registerDeploy } from './deploy.ts';
import { registerEnclave } from './enclave.ts';
import { registerKube } from './kube.ts';
import { registerNodeQuoteHelper } from './node-quote-helper.ts';
import { registerPolicyCommands } from './policy.ts';
import { registerQuoteInspect } from './quote-inspect.ts';
import { registerQuoteVerify } from './quote-verify.ts';
import { registerSim } from './sim.ts';

export type { CliContext, SelfCommand } from './context.ts';
export { EXIT } from './context.ts';
export { CLI_ERRORS, type CliErrorCode, UsageError, IoError } from './errors.ts';

/** A function that adds one area's commands to the root program. */
export type AreaRegistrar = (program: Command, ctx: CliContext) => void;

const areas: AreaRegistrar[] = [
  // Area registrars are added here, one line each (see src/cli/<area>.ts).
  registerDemo,
  registerAttestation,
  registerDeploy,
  registerEnclave,
  registerKube,
  registerNodeDevicePlugin,
  registerNodeDoctor,
  registerNodePatchNode,
  registerNodeQuoteHelper,
  registerPolicyCommands,
  registerQuoteInspect,
  registerQuoteVerify,
  registerSim,
];

/**
 * Returns the area command `name` (e.g. `quote`, `node`), creating it on first use, so that several
 * files can add verbs to one area.
 */
export function areaCommand(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  return existing ?? program.command(name).description(description);
}

/** Builds the root program; exported for tests that inspect `--help`. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command('ccnodes')
    .description(
      'Confidential computing nodes for Kubernetes (Intel SGX): device plugin, quote helper, attestation, simulation.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  for (const register of areas) register(program, ctx);
  for (const sub of program.commands) inheritOutput(sub, ctx);
  return program;
}

function inheritOutput(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride().showHelpAfterError().configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  for (const sub of cmd.commands) inheritOutput(sub, ctx);
}

/**
 * Runs one invocation and returns the exit status: 0 success, 1 a verification/check failed,
 * 2 usage or I/O error. Never calls `process.exit`.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; parse errors were already printed by commander.
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof IoError) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      return EXIT.USAGE;
    }
    if (isCcnodesError(err)) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      return EXIT.CHECK_FAILED;
    }
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    ctx.stderr(`ccnodes: internal error: ${message}\n`);
    return EXIT.USAGE;
  }
}
