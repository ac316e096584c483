/**
 * `ccnodes node patch-node`: brings one node to a node-settings document (extended-resource capacity
 * on the status subresource, labels and taints on the node) through the API server, with
 * @kubernetes/client-node.
 *
 * The device plugin runs this command as a short-lived child process for its node update at start
 * ({@link childProcessNodeSettings}): the Kubernetes client library costs about 70 MiB resident once
 * loaded, more than the whole daemon otherwise needs, and the daemon only talks to the API server
 * once. Operators can run it by hand too, e.g. to re-apply what a plugin would apply.
 *
 * Input (`--settings <file>`, `-` for standard input):
 *   {"capacity": {"sgx.intel.com/epc": "117440512"},
 *    "marking": {"labels": {…}, "taints": [{key, value, effect}], "removeTaints": [ … ]}}
 * Output: a summary, or with `--json` {"node", "statusPatch", "nodePatch"} (the JSON patches sent).
 * Exit status: 0 applied, 1 the API server refused or failed a call, 2 bad flags, input or kubeconfig.
 */
import { runChild, type ChildOutcome } from './child-process.ts';
import type { Command } from 'commander';
import type { NodePatches, NodeSettings, NodeSettingsApplier } from '../node/device-plugin/index.ts';
import type { CliContext, SelfCommand } from './context.ts';
import { UsageError } from './errors.ts';
import { areaCommand } from './index.ts';
import { readInputFile } from './io.ts';
import { loadKubeConfig } from './kubeconfig.ts';

interface PatchNodeFlags {
  readonly nodeName?: string;
  readonly settings: string;
  readonly kubeconfig?: string;
  readonly json: boolean;
}

type DevicePluginModule = typeof import('../node/device-plugin/index.ts');

/** In-process applier: loads the kubeconfig and the client library now, in this process. */
export async function inProcessNodeSettings(
  dp: DevicePluginModule,
  kubeconfig: string | undefined,
  ctx: CliContext,
): Promise<NodeSettingsApplier> {
  return dp.nodeSettingsApplier(await dp.kubeNodeClient(await loadKubeConfig(kubeconfig, ctx)));
}

async function readSettings(dp: DevicePluginModule, source: string, ctx: CliContext): Promise<NodeSettings> {
  let bytes: Buffer;
  if (source === '-') {
    if (ctx.readStdin === undefined) throw new UsageError('--settings -: no standard input to read');
    bytes = await ctx.readStdin();
  } else {
    bytes = await readInputFile(source);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`--settings ${source}: not JSON: ${reason}`, { cause });
  }
  try {
    return dp.parseNodeSettings(doc);
  } catch (err) {
    if (err instanceof dp.NodeSettingsError) {
      throw new UsageError(`--settings ${source}: ${err.message} (${err.code})`, {
        ...err.details,
        cause: err.code,
      });
    }
    throw err;
  }
}

function summary(nodeName: string, patches: NodePatches): string {
  const capacity = patches.statusPatch.map((op) => `${op.path.split('/').pop() ?? ''}=${String(op.value)}`);
  const lines = [
    `node ${nodeName}: capacity ${capacity.length === 0 ? 'unchanged' : capacity.join(', ').replaceAll('~1', '/')}`,
    patches.nodePatch.length === 0
      ? `node ${nodeName}: labels and taints already as wanted`
      : `node ${nodeName}: labels/taints patched (${patches.nodePatch.length} operations)`,
  ];
  return `${lines.join('\n')}\n`;
}

async function runPatchNode(flags: PatchNodeFlags, ctx: CliContext): Promise<void> {
  const nodeName = flags.nodeName ?? ctx.env['NODE_NAME'];
  if (nodeName === undefined || nodeName === '') {
    throw new UsageError('--node-name: required (or set NODE_NAME)');
  }
  const dp = await import('../node/device-plugin/index.ts');
  const settings = await readSettings(dp, flags.settings, ctx);
  const apply = await inProcessNodeSettings(dp, flags.kubeconfig, ctx);
  const patches = await apply(nodeName, settings);
  ctx.stdout(
    flags.json
      ? `${JSON.stringify({ node: nodeName, statusPatch: patches.statusPatch, nodePatch: patches.nodePatch })}\n`
      : summary(nodeName, patches),
  );
}

/** Options of {@link childProcessNodeSettings}. */
export interface ChildProcessNodeSettingsOptions {
  /** How to start this CLI (CliContext.self). */
  readonly self: SelfCommand;
  /** Absolute kubeconfig path, or undefined for in-cluster / default. */
  readonly kubeconfig?: string;
  /** Environment of the child (the daemon's: NODE_NAME, KUBERNETES_SERVICE_HOST, KUBECONFIG…). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Kill the child and fail after this long (default 60 s). */
  readonly timeoutMs?: number;
}

const OUTPUT_CAP = 1 << 20;

/**
 * An applier that runs `ccnodes node patch-node --settings - --json` as a child process and returns
 * the patches it reports. Any failure (non-zero exit, timeout, unreadable answer) rejects with the
 * device plugin's NodePatchError, carrying the child's error line.
 */
export function childProcessNodeSettings(
  dp: DevicePluginModule,
  options: ChildProcessNodeSettingsOptions,
): NodeSettingsApplier {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return async (nodeName, settings) => {
    const args = [
      ...options.self.args,
      'node',
      'patch-node',
      '--node-name',
      nodeName,
      '--settings',
      '-',
      '--json',
      ...(options.kubeconfig === undefined ? [] : ['--kubeconfig', options.kubeconfig]),
    ];
    const fail = (message: string, details: Record<string, unknown> = {}, cause?: unknown): never => {
      throw new dp.NodePatchError(`patching node ${nodeName}: ${message}`, { nodeName, ...details }, cause);
    };
    let r: ChildOutcome;
    try {
      r = await runChild(options.self.command, args, {
        env: options.env,
        timeoutMs,
        input: JSON.stringify(settings),
        outputCap: OUTPUT_CAP,
      });
    } catch (err) {
      return fail(`cannot start ${options.self.command}: ${(err as Error).message}`, {}, err);
    }
    const errLine = r.stderr.trim().split('\n').filter(Boolean).pop() ?? '';
    if (r.timedOut)
      return fail(`the patch-node process did not finish in ${timeoutMs} ms and was killed`, { timeoutMs });
    if (r.signal !== null) return fail(`the patch-node process ended by ${r.signal}`, { signal: r.signal });
    if (r.code !== 0)
      return fail(
        `the patch-node process failed (exit ${String(r.code)}): ${errLine.replace(/^ccnodes: /, '')}`,
        {
          exitCode: r.code,
          stderr: r.stderr.slice(-2000),
        },
      );
    let out: { statusPatch?: unknown; nodePatch?: unknown };
    try {
      out = JSON.parse(r.stdout) as { statusPatch?: unknown; nodePatch?: unknown };
      if (!Array.isArray(out.statusPatch) || !Array.isArray(out.nodePatch)) throw new Error('no patches');
    } catch (cause) {
      return fail(`unreadable answer from the patch-node process: ${r.stdout.slice(0, 200)}`, {}, cause);
    }
    return {
      statusPatch: out.statusPatch as NodePatches['statusPatch'],
      nodePatch: out.nodePatch as NodePatches['nodePatch'],
    };
  };
}

/** Registers `ccnodes node patch-node`. */
export function registerNodePatchNode(program: Command, ctx: CliContext): void {
  areaCommand(program, 'node', 'Node agents: SGX device plugin, quote helper, node doctor.')
    .command('patch-node')
    .description(
      'Apply a node-settings document (status capacity, labels, taints) to a node through the API ' +
        'server. The device plugin runs this in a short-lived child process at start, and again when its ' +
        'enclave device node goes or returns.',
    )
    .option('--node-name <name>', 'node to patch (default: $NODE_NAME)')
    .option('--settings <file>', 'node-settings JSON ("-" reads standard input)', '-')
    .option('--kubeconfig <path>', 'kubeconfig for the API server (default: in-cluster service account)')
    .option('--json', 'print the JSON patches sent', false)
    .action(async (flags: PatchNodeFlags) => {
      await runPatchNode(flags, ctx);
    });
}
