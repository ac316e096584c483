/**
 * `ccnodes plan …`: EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation.
 * Verbs are registered below; each verb's work lives in a `plan-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes plan …`. */
export function registerPlan(program: Command, _ctx: CliContext): void {
  areaCommand(
    program,
    'plan',
    'EPC capacity planning: node counts per SKU for workloads, and autoscaling simulation',
  );
}
