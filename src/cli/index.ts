/**
 * The `ccnodes` command tree. Each area (`quote`, `enclave`, `sim`, …) lives in its own file and
 * registers its subcommands here; src/bin/ccnodes.ts is the only caller.
 */
import type { Command } from 'commander';
import { EXIT, type CliContext } from './context.ts';
import { cliReporter } from './errors.ts';
import { parseContainerRunArgs } from './container-run-args.ts';
import { parseQuoteVerifyArgs } from './quote-verify-args.ts';
export type { CliContext, SelfCommand } from './context.ts';
export { EXIT } from './context.ts';
// For the CommonJS start (src/bin/fast-start.ts): the fast paths' readers and the code-cache loader.
export { parseContainerRunArgs } from './container-run-args.ts';
export { parseQuoteVerifyArgs } from './quote-verify-args.ts';
export { loadWithCodeCache } from './code-cache.ts';
export { defaultHashHelper, hashHelperMode, prestartHashes } from '../hash-helper/index.ts';
export {
  CLI_ERRORS,
  type CliErrorCode,
  UsageError,
  IoError,
  InternalError,
  wantsJson,
  type JsonErrorDocument,
} from './errors.ts';

/** A function that adds one area's commands to the root program. */
export type AreaRegistrar = (program: Command, ctx: CliContext) => void;

/**
 * One file that registers commands: the top-level commands it adds to (its areas) and how to load
 * it. Files are imported only when a command of theirs runs (or for `ccnodes help <x>`), so that
 * `ccnodes --help` and each command load only what they use (issue 15: startup under 200 ms).
 */
export interface AreaFile {
  readonly areas: readonly string[];
  readonly load: () => Promise<AreaRegistrar>;
}

/**
 * Every area file, in registration order. A new area file is added here with the top-level
 * command names it registers, and a new area name also to {@link AREA_SUMMARIES}
 * (test/cli/lazy-areas.test.ts checks both against what the files really register).
 */
export const AREA_FILES: readonly AreaFile[] = [
  { areas: ['demo'], load: async () => (await import('./demo.ts')).registerDemo },
  { areas: ['attestation'], load: async () => (await import('./attestation.ts')).registerAttestation },
  { areas: ['deploy'], load: async () => (await import('./deploy.ts')).registerDeploy },
  { areas: ['enclave'], load: async () => (await import('./enclave.ts')).registerEnclave },
  { areas: ['kube'], load: async () => (await import('./kube.ts')).registerKube },
  {
    areas: ['node'],
    load: async () => (await import('./node-device-plugin.ts')).registerNodeDevicePlugin,
  },
  { areas: ['node'], load: async () => (await import('./node-doctor.ts')).registerNodeDoctor },
  { areas: ['node'], load: async () => (await import('./node-patch-node.ts')).registerNodePatchNode },
  { areas: ['node'], load: async () => (await import('./node-quote-helper.ts')).registerNodeQuoteHelper },
  { areas: ['policy'], load: async () => (await import('./policy.ts')).registerPolicyCommands },
  { areas: ['quote'], load: async () => (await import('./quote-inspect.ts')).registerQuoteInspect },
  { areas: ['quote'], load: async () => (await import('./quote-verify.ts')).registerQuoteVerify },
  { areas: ['sim'], load: async () => (await import('./sim.ts')).registerSim },
  { areas: ['container'], load: async () => (await import('./container.ts')).registerContainer },
  { areas: ['collateral'], load: async () => (await import('./collateral.ts')).registerCollateral },
  { areas: ['ratls'], load: async () => (await import('./ratls.ts')).registerRatls },
  { areas: ['plan'], load: async () => (await import('./plan.ts')).registerPlan },
  { areas: ['dashboard'], load: async () => (await import('./dashboard.ts')).registerDashboard },
];

/**
 * The top-level commands as `ccnodes --help` lists them (name, the term shown, description), so
 * that the root help loads no area file. Must match what the area files register (tested).
 */
export const AREA_SUMMARIES: readonly {
  readonly name: string;
  readonly term: string;
  readonly description: string;
}[] = [
  {
    name: 'demo',
    term: 'demo [options]',
    description:
      'Run a confidential workload end to end on this machine, in simulation: EPC allocation, enclave launch, quote, attestation, token check, secret release',
  },
  {
    name: 'attestation',
    term: 'attestation',
    description: 'Attestation service (Microsoft Azure Attestation-compatible REST API).',
  },
  {
    name: 'deploy',
    term: 'deploy',
    description: 'Deployment manifests for a Kubernetes cluster (typed values → YAML).',
  },
  {
    name: 'enclave',
    term: 'enclave',
    description: 'Measure, sign and inspect SGX enclaves (definitions, SIGSTRUCTs, keys).',
  },
  {
    name: 'kube',
    term: 'kube',
    description: 'Kubernetes integration: admission webhook, pod mutation preview, node labeller.',
  },
  { name: 'node', term: 'node', description: 'Node agents: SGX device plugin, quote helper, node doctor.' },
  {
    name: 'policy',
    term: 'policy',
    description:
      'Attestation policies (Microsoft Azure Attestation policy language 1.0–1.2): check, evaluate, defaults.',
  },
  { name: 'quote', term: 'quote', description: 'Inspect and verify Intel SGX/TDX DCAP quotes.' },
  {
    name: 'sim',
    term: 'sim',
    description: 'Simulated SGX platform (NOT FOR PRODUCTION): enclaves, DCAP quotes, simulated PCS',
  },
  {
    name: 'container',
    term: 'container',
    description:
      'Confidential containers: prepare, inspect, verify and run unmodified programs whose secrets are released only after attestation',
  },
  {
    name: 'collateral',
    term: 'collateral',
    description:
      'Intel collateral: a PCCS-compatible caching service (serve) and offline bundles (fetch, export, import)',
  },
  {
    name: 'ratls',
    term: 'ratls',
    description: 'RA-TLS certificates: create (simulated platform) and verify attested TLS certificates',
  },
  {
    name: 'plan',
    term: 'plan [options]',
    description: 'EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation',
  },
  {
    name: 'dashboard',
    term: 'dashboard',
    description:
      'The operator dashboard: nodes, workloads, attestations, policies and collateral in a browser',
  },
];

/**
 * Which area files an invocation needs: those of its first word when that is a known area; none
 * for the root alone (`--help`, `--version`: the root help is built from {@link AREA_SUMMARIES});
 * every file otherwise (`help <area>`, an unknown word, `--`), so that commander's own handling
 * and messages stay as they are with the full tree.
 */
export function areaFilesFor(argv: readonly string[] | undefined): 'all' | 'none' | readonly string[] {
  if (argv === undefined) return 'all';
  const first = argv.find((a) => !a.startsWith('-') || a === '--');
  if (first === undefined) return 'none';
  return AREA_FILES.some((f) => f.areas.includes(first)) ? [first] : 'all';
}

/**
 * Returns the area command `name` (e.g. `quote`, `node`), creating it on first use, so that several
 * files can add verbs to one area.
 */
export function areaCommand(program: Command, name: string, description: string): Command {
  const existing = program.commands.find((c) => c.name() === name);
  return existing ?? program.command(name).description(description);
}

/**
 * Builds the root program. Without `argv`, with every area's commands (tests that enumerate the
 * tree); with `argv`, with only the area files that invocation needs ({@link areaFilesFor}).
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
  // Loaded here, not at the top: `quote verify` runs without commander (runCli).
  const { Command, Help } = await import('commander');
  const program = new Command('ccnodes')
    .description(
      'Confidential computing nodes for Kubernetes (Intel SGX): device plugin, quote helper, attestation, simulation.',
    )
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  const wanted = areaFilesFor(argv);
  if (wanted === 'none') {
    // Root help without loading any area file: one stub per area, shown as the real one would be.
    const terms = new Map(AREA_SUMMARIES.map((a) => [a.name, a.term]));
    for (const a of AREA_SUMMARIES) program.command(a.name).description(a.description);
    program.configureHelp({
      subcommandTerm: (cmd) => terms.get(cmd.name()) ?? new Help().subcommandTerm(cmd),
    });
  } else {
    const files = AREA_FILES.filter((f) => wanted === 'all' || f.areas.some((a) => wanted.includes(a)));
    const registrars = await Promise.all(files.map((f) => f.load()));
    for (const register of registrars) register(program, ctx);
  }
  for (const sub of program.commands) inheritOutput(sub, ctx);
  return program;
}

function inheritOutput(cmd: Command, ctx: CliContext): void {
  cmd.exitOverride().showHelpAfterError().configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr });
  for (const sub of cmd.commands) inheritOutput(sub, ctx);
}

/**
 * Runs one invocation and returns the exit status: 0 success, 1 a verification/check failed,
 * 2 usage or I/O error. Never calls `process.exit`. With `--json`, an error that reaches this point
 * is printed as one {@link JsonErrorDocument} on stdout (unless the command already wrote its own
 * JSON document), besides the plain-text line on stderr.
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  // `quote verify` as scripts run it: straight to the command, without loading commander (issue 15).
  const quoteVerify = parseQuoteVerifyArgs(argv);
  if (quoteVerify !== undefined) {
    let fast: typeof import('./quote-verify-fast.ts');
    try {
      fast = await import('./quote-verify-fast.ts');
    } catch (err) {
      return cliReporter(argv, ctx).fail(err); // as the commander path reports a failed import
    }
    return fast.runQuoteVerify(quoteVerify, argv, ctx);
  }
  // `container run` likewise (issue 14: launch overhead), from its own self-contained build file.
  const containerRun = parseContainerRunArgs(argv);
  if (containerRun !== undefined) {
    let fast: typeof import('./container-run-fast.ts');
    try {
      fast = await import('./container-run-fast.ts');
    } catch (err) {
      return cliReporter(argv, ctx).fail(err); // as the commander path reports a failed import
    }
    return fast.runContainerRun(containerRun, argv, ctx);
  }
  return runWithCommander(argv, ctx);
}

/**
 * {@link runCli} through commander whatever the command line (runCli's path for everything but the
 * `quote verify` and `container run` invocations quote-verify-args.ts and container-run-args.ts read
 * themselves; tests compare the two).
 */
export async function runWithCommander(argv: readonly string[], ctx: CliContext): Promise<number> {
  const reporter = cliReporter(argv, ctx);
  const program = await buildProgram(reporter.ctx, argv);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return reporter.ctx.exitCode;
  } catch (err) {
    const { CommanderError } = await import('commander');
    if (err instanceof CommanderError) {
      // --help and --version end with exit code 0; parse errors were already printed by commander.
      if (err.exitCode === 0) return EXIT.OK;
      reporter.emit('ERR_USAGE', err.message.replace(/^error: /, ''), { commanderCode: err.code });
      return EXIT.USAGE;
    }
    return reporter.fail(err);
  }
}
