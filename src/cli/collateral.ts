/**
 * `ccnodes collateral …`: intel collateral: a PCCS-compatible caching service (serve) and offline bundles (fetch, export, import).
 * Verbs are registered below; each verb's work lives in a `collateral-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes collateral …`. */
export function registerCollateral(program: Command, _ctx: CliContext): void {
  areaCommand(
    program,
    'collateral',
    'Intel collateral: a PCCS-compatible caching service (serve) and offline bundles (fetch, export, import)',
  );
}
