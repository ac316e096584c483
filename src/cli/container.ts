/**
 * `ccnodes container …`: confidential containers: prepare, inspect, verify and run unmodified programs whose secrets are released only after attestation.
 * Verbs are registered below; each verb's work lives in a `container-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes container …`. */
export function registerContainer(program: Command, _ctx: CliContext): void {
  areaCommand(
    program,
    'container',
    'Confidential containers: prepare, inspect, verify and run unmodified programs whose secrets are released only after attestation',
  );
}
