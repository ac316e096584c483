/**
 * `ccnodes ratls …`: RA-TLS certificates: create (simulated platform) and verify attested TLS certificates.
 * Verbs are registered below; each verb's work lives in a `ratls-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';

/** Registers `ccnodes ratls …`. */
export function registerRatls(program: Command, _ctx: CliContext): void {
  areaCommand(
    program,
    'ratls',
    'RA-TLS certificates: create (simulated platform) and verify attested TLS certificates',
  );
}
