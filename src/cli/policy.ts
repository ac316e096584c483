/**
 * `ccnodes policy …`: check, evaluate and print attestation policies (docs/policy.md).
 *
 *   ccnodes policy check <file> [--json]                     parse; report errors with line:column
 *   ccnodes policy eval <file> --claims <json|file> [--json] evaluate; print permit/deny + issued claims
 *   ccnodes policy default [--mode …] [--type …]              print a default policy
 *
 * Exit status: 0 valid / permitted, 1 invalid policy, evaluation error or deny, 2 usage or I/O.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { DefaultFlags, EvalFlags, JsonFlag } from './policy-run.ts';

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** Registers `ccnodes policy check|eval|default`. */
export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'policy',
    'Attestation policies (Microsoft Azure Attestation policy language 1.0–1.2): check, evaluate, defaults.',
  );
  area
    .command('check')
    .description(
      'Parse a policy file (plain text, or a policy JWS whose payload is {"AttestationPolicy": …}) and report the first error with line:column. Exit 1 if it is invalid.',
    )
    .argument('<file>', 'policy text file')
    .option('--json', 'print one JSON object instead of text')
    .action(async (file: string, flags: JsonFlag) => {
      const { checkCommand } = await import('./policy-run.ts');
      await checkCommand(ctx, file, flags);
    });
  area
    .command('eval')
    .description(
      'Evaluate a policy over claims and print permit/deny and the issued claims. Exit 1 on deny or on an invalid policy.',
    )
    .argument('<file>', 'policy text file')
    .requiredOption(
      '--claims <json|file>',
      'incoming claims: inline JSON or a file; an object {"x-ms-sgx-svn": 1, …} (issuer AttestationService) or an array of {type, value, issuer?} (issuer defaults to CustomClaim)',
    )
    .option(
      '--no-legacy-aliases',
      'do not add the deprecated $is-debuggable, $sgx-mrsigner, … incoming aliases',
    )
    .option('--read-only <type>', 'treat claims of this type as read-only (repeatable)', collect)
    .option('--json', 'print one JSON object instead of text')
    .action(async (file: string, flags: EvalFlags) => {
      const { evalCommand } = await import('./policy-run.ts');
      await evalCommand(ctx, file, flags);
    });
  area
    .command('default')
    .description('Print the default policy ccnodes uses when none is set.')
    .option('--mode <mode>', `production (denies simulated evidence) or simulation`, 'production')
    .option('--type <type>', `attestation type: SgxEnclave, OpenEnclave or TdxVm`, 'SgxEnclave')
    .action(async (flags: DefaultFlags) => {
      const { defaultCommand } = await import('./policy-run.ts');
      defaultCommand(ctx, flags);
    });
}
