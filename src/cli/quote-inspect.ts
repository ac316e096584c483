/**
 * `ccnodes quote inspect <file> [--encoding auto|binary|hex|base64] [--json]`: decodes a DCAP quote (binary, hex or base64 text) and
 * prints every field: a readable table by default, JSON with `--json` (bytes as hex, 64-bit values
 * as `0x…` hex strings).
 *
 * Exit status: 0 decoded, 2 unreadable file or undecodable quote (the error code is printed).
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import { ENCODING_FLAG, encodingHelp } from './input-encoding.ts';
import type { InspectFlags } from './quote-inspect-run.ts';

/** Registers `quote inspect`. */
export function registerQuoteInspect(program: Command, ctx: CliContext): void {
  areaCommand(program, 'quote', 'Inspect and verify Intel SGX/TDX DCAP quotes.')
    .command('inspect')
    .description(
      'Decode a DCAP quote (SGX v3/v4/v5, TDX v4/v5) and print every field. The file may hold the quote ' +
        'as binary, hex or base64/base64url text, detected (text valid as both hex and base64 is read ' +
        'the way that yields a quote) or named with --encoding. Exit 0 when decoded, 2 when unreadable ' +
        'or malformed (the error code names the field and byte offset).',
    )
    .argument('<file>', 'quote file (binary, hex or base64)')
    .option(ENCODING_FLAG, encodingHelp('the quote file'), 'auto')
    .option('--json', 'print JSON: bytes as hex, 64-bit values as 0x… hex strings')
    .action(async (file: string, flags: InspectFlags) => {
      const { inspect } = await import('./quote-inspect-run.ts');
      await inspect(file, flags, ctx);
    });
}
