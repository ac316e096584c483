/**
 * The `ccnodes` command tree. Each area (`quote`, `enclave`, `sim`, …) lives in its own file and
 * registers its subcommands here; src/bin/ccnodes.ts is the only caller.
 */
import { Command, CommanderError } from 'commander';
import { isCcnodesError } from '../errors/index.ts';
import { EXIT, type CliContext } from './context.ts';
import { InternalError, IoError, UsageError } from './errors.ts';
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
import { registerContainer } from './container.ts';
import { registerCollateral } from './collateral.ts';
import { registerRatls } from './ratls.ts';
import { registerPlan } from './plan.ts';
import { registerDashboard } from './dashboard.ts';

export type { CliContext, SelfCommand } from './context.ts';
export { EXIT } from './context.ts';
export { CLI_ERRORS, type CliErrorCode, UsageError, IoError, InternalError } from './errors.ts';

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
  registerContainer,
  registerCollateral,
  registerRatls,
  registerPlan,
  registerDashboard,
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
 * True when `--json` is among the options of this invocation (before a `--` terminator): errors are
 * then reported as one JSON object on stdout, even when commander rejects the command line before a
 * command's action (and its own `--json` handling) runs.
 */
export function wantsJson(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--json') return true;
  }
  return false;
}

/** The JSON error document printed on stdout under `--json` (the shape every command uses). */
export interface JsonErrorDocument {
  readonly ok: false;
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  };
}

/**
 * Runs one invocation and returns the exit status: 0 success, 1 a verification/check failed,
 * 2 usage or I/O error. Never calls `process.exit`. With `--json`, an error that reaches this point
 * is printed as one {@link JsonErrorDocument} on stdout (unless the command already wrote its own
 * JSON document), besides the plain-text line on stderr.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const json = wantsJson(argv);
  let wroteStdout = false;
  const stdout = ctx.stdout;
  // Track whether anything reached stdout, so that a JSON error never follows another document.
  const tracked: CliContext = {
    ...ctx,
    stdout: (text: string) => {
      if (text.length > 0) wroteStdout = true;
      stdout(text);
    },
  };
  const program = buildProgram(tracked);
  const emit = (code: string, message: string, details: Readonly<Record<string, unknown>>): void => {
    if (!json || wroteStdout) return;
    const doc: JsonErrorDocument = { ok: false, error: { code, message, details } };
    stdout(`${JSON.stringify(doc, null, 2)}\n`);
  };
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return tracked.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; parse errors were already printed by commander.
      if (err.exitCode === 0) return EXIT.OK;
      emit('ERR_USAGE', err.message.replace(/^error: /, ''), { commanderCode: err.code });
      return EXIT.USAGE;
    }
    if (err instanceof UsageError || err instanceof IoError) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      emit(err.code, err.message, err.details);
      return EXIT.USAGE;
    }
    if (isCcnodesError(err)) {
      ctx.stderr(`ccnodes: ${err.message} (${err.code})\n`);
      emit(err.code, err.message, err.details);
      return EXIT.CHECK_FAILED;
    }
    const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
    ctx.stderr(`ccnodes: internal error: ${message}\n`);
    const internal = new InternalError(err instanceof Error ? err.message : String(err), { cause: err });
    emit(internal.code, internal.message, internal.details);
    return EXIT.USAGE;
  }
}
