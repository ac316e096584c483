/**
 * `ccnodes plan …`: EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation.
 *
 *   plan --workload <yaml…> [--sku <a,b,…>] [--max-nodes N] [--sku-table <file>] [--json]
 *   plan simulate --workload <yaml…> --load <csv> [--hpa <yaml>] [--autoscaler <yaml>] -o <dir>
 *
 * `--workload` takes every following argument up to the next option (and may be repeated). Neither
 * command has positional arguments; the one bare word `plan` itself knows is its verb `simulate`,
 * which also ends a `--workload` list (a workload file named `simulate` is written `./simulate`).
 *
 * Each verb's work lives in `plan-run.ts` / `plan-simulate-run.ts`, loaded on demand (docs/planner.md).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { PlanFlags, SimulateFlags } from './plan-run.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Commander's variadic `--workload <files...>` would swallow the verb in `plan --workload a.yaml
 * simulate …`. When `plan` has not been given its verb first, a bare `simulate` inside a `--workload`
 * list (before any `--`) is moved to the front, which is how `plan simulate --workload a.yaml …` is
 * parsed (the documented order). Every other word of the list stays a file.
 */
function verbEndsWorkloadList(cmd: Command, verb: string): void {
  const parse = cmd.parseOptions.bind(cmd);
  cmd.parseOptions = (args: string[]) => {
    if (args[0] === verb) return parse(args);
    let inList = false;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i] ?? '';
      if (arg === '--') break;
      if (arg === '--workload') inList = true;
      else if (arg.length > 1 && arg.startsWith('-')) inList = false;
      else if (inList && arg === verb) return parse([verb, ...args.slice(0, i), ...args.slice(i + 1)]);
    }
    return parse(args);
  };
}

function common(cmd: Command): Command {
  return cmd
    .option(
      '--workload <files...>',
      'Kubernetes YAML/JSON with Pods, Deployments, StatefulSets, ReplicaSets, Jobs, DaemonSets (one or more files; repeatable)',
      collect,
    )
    .option('--sku <list>', 'comma-separated Azure sizes to consider (default: every size of the table)')
    .option(
      '--sku-table <file>',
      'SKU table (JSON or YAML, shape of src/planner/skus.ts) instead of the built-in one',
    )
    .option('--daemonset <file>', 'more per-node DaemonSets to reserve room for (repeatable)', collect)
    .option(
      '--no-system-daemonsets',
      "do not reserve room for ccnodes' device plugin and quote helper DaemonSets",
    )
    .option('--no-webhook', 'plan the pods as written, without what the ccnodes webhook adds to SGX pods')
    .option('--no-pool-taint', 'nodes carry no ccnodes.io/pool=confidential:NoSchedule taint')
    .option('--json', 'machine-readable output');
}

/** Registers `ccnodes plan` and `ccnodes plan simulate`. */
export function registerPlan(program: Command, ctx: CliContext): void {
  const plan = areaCommand(
    program,
    'plan',
    'EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation',
  );
  verbEndsWorkloadList(plan, 'simulate');
  common(plan)
    .option('--max-nodes <n>', 'most nodes a plan may use')
    .action(async (flags: PlanFlags) => {
      const { runPlan } = await import('./plan-run.ts');
      await runPlan(flags, ctx);
    });
  common(
    plan
      .command('simulate')
      .description(
        'Simulate HPA and cluster-autoscaler decisions over a load profile; write SVG charts and an HTML report',
      ),
  )
    .option(
      '--load <csv>',
      'load profile: header "time,<deployment>…", one row per time (seconds), total metric per deployment',
    )
    .option(
      '--hpa <file>',
      'HorizontalPodAutoscaler YAML (repeatable; also read from --workload files)',
      collect,
    )
    .option(
      '--autoscaler <file>',
      'cluster-autoscaler settings (YAML: nodeGroups, scaleDownDelayAfterAdd, …)',
    )
    .option('--scale-down-delay <duration>', 'scale-down-delay-after-add (default 10m)')
    .option('--unneeded-time <duration>', 'scale-down-unneeded-time (default 10m)')
    .option('--max-nodes <n>', 'max-nodes-total (default unlimited)')
    .option('--step <duration>', 'simulation step (default 15s, the HPA sync period)')
    .option('-o, --output <dir>', 'report directory (index.html, *.svg, report.json)')
    .action(async (own: SimulateFlags) => {
      // The root program does not use positional options, so `plan` itself consumes the options it
      // shares with `simulate` wherever they appear: take those from `plan` when given there.
      const flags: Record<string, unknown> = { ...own };
      for (const [key, value] of Object.entries(plan.opts()))
        if (plan.getOptionValueSource(key) === 'cli') flags[key] = value;
      const { runSimulate } = await import('./plan-run.ts');
      await runSimulate(flags as unknown as SimulateFlags, ctx);
    });
}
