/**
 * `ccnodes plan …`: EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation.
 *
 *   plan --workload <yaml…> [--sku <a,b,…>] [--max-nodes N] [--sku-table <file>] [--json]
 *   plan simulate --workload <yaml…> --load <csv> [--hpa <yaml>] [--autoscaler <yaml>] -o <dir>
 *
 * Each verb's work lives in `plan-run.ts` / `plan-simulate-run.ts`, loaded on demand (docs/planner.md).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { PlanFlags, SimulateFlags } from './plan-run.ts';

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function common(cmd: Command): Command {
  return cmd
    .option(
      '--workload <file>',
      'Kubernetes YAML/JSON with Pods, Deployments, StatefulSets, ReplicaSets, Jobs, DaemonSets (repeatable)',
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
