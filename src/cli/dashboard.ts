/**
 * `ccnodes dashboard …`: the operator dashboard: nodes, workloads, attestations, policies and collateral in a browser.
 * Verbs are registered below; each verb's work lives in a `dashboard-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes dashboard …`. */
export function registerDashboard(program: Command, _ctx: CliContext): void {
  areaCommand(
    program,
    'dashboard',
    'The operator dashboard: nodes, workloads, attestations, policies and collateral in a browser',
  );
}
