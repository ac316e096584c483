/**
 * `ccnodes enclave …`: build-side tools for simulated (and real) SGX enclaves.
 *
 *   ccnodes enclave measure <definition> [--json] [--log <file>]   MRENCLAVE and page layout
 *   ccnodes enclave sign --key <pem> <definition> -o <file>        write the SIGSTRUCT (.sig)
 *   ccnodes enclave sigstruct <file> [--definition <def>] [--json] show fields, verify signature
 *   ccnodes enclave keygen -o <pem> [--force]                     RSA-3072, e = 3 signing key
 *
 * Exit status: 0 ok, 1 a check failed (signature, ENCLAVEHASH), 2 usage / unreadable or invalid input.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import type { KeygenFlags, MeasureFlags, SignFlags, SigstructFlags } from './enclave-run.ts';
import { areaCommand } from './index.ts';
import { ENCODING_FLAG, encodingHelp } from './input-encoding.ts';

/** Registers `ccnodes enclave measure|sign|sigstruct|keygen`. */
export function registerEnclave(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'enclave',
    'Measure, sign and inspect SGX enclaves (definitions, SIGSTRUCTs, keys).',
  );
  area
    .command('measure')
    .description(
      'Lay out an enclave definition (JSON or YAML) and compute its MRENCLAVE with the ECREATE/EADD/EEXTEND ' +
        'algorithm. Exit 0 on success, 2 when the definition or a file it names is invalid or unreadable.',
    )
    .argument(
      '<definition>',
      'enclave definition file (.json, .yaml or .yml); file paths in it are relative to it',
    )
    .option('--json', 'print one JSON object instead of text')
    .option(
      '--log <file>',
      'also write the measurement log (SGXS-style record stream; SHA-256 of it = MRENCLAVE)',
    )
    .action(async (path: string, flags: MeasureFlags) => {
      const { measureCommand } = await import('./enclave-run.ts');
      await measureCommand(ctx, path, flags);
    });
  area
    .command('sign')
    .description(
      'Measure an enclave definition and write its SIGSTRUCT (1808 bytes) signed with an RSA-3072, e = 3 key ' +
        '(PKCS#1 v1.5, SHA-256; deterministic). Exit 0 on success, 2 on invalid input or an unsuitable key.',
    )
    .argument('<definition>', 'enclave definition file')
    .requiredOption(
      '--key <pem>',
      'RSA-3072 private key with public exponent 3 (see `ccnodes enclave keygen`)',
    )
    .requiredOption('-o, --output <file>', 'where to write the SIGSTRUCT')
    .option('--json', 'print one JSON object instead of text')
    .action(async (path: string, flags: SignFlags) => {
      const { signCommand } = await import('./enclave-run.ts');
      await signCommand(ctx, path, flags);
    });
  area
    .command('sigstruct')
    .description(
      'Show the fields of a SIGSTRUCT (ours, or a real .sig/.ss/css file; binary, hex or base64) and verify its ' +
        'RSA signature, exponent and Q1/Q2. With --definition, also check ENCLAVEHASH against the measured ' +
        'MRENCLAVE. Exit 0 when valid, 1 when a check fails, 2 when the file is unreadable or not a SIGSTRUCT.',
    )
    .argument('<file>', 'SIGSTRUCT file')
    .option(ENCODING_FLAG, encodingHelp('the SIGSTRUCT file'), 'auto')
    .option('--definition <file>', 'enclave definition whose MRENCLAVE must equal ENCLAVEHASH')
    .option('--json', 'print JSON: bytes as hex, 64-bit values as 0x… strings')
    .action(async (file: string, flags: SigstructFlags) => {
      const { sigstructCommand } = await import('./enclave-run.ts');
      await sigstructCommand(ctx, file, flags);
    });
  area
    .command('keygen')
    .description(
      'Generate an enclave signing key: RSA-3072 with public exponent 3, PKCS#8 PEM, written with mode 0600.',
    )
    .requiredOption(
      '-o, --output <pem>',
      'where to write the private key (refuses to overwrite without --force)',
    )
    .option('--force', 'overwrite an existing file')
    .option('--json', 'print one JSON object instead of text')
    .action(async (flags: KeygenFlags) => {
      const { keygenCommand } = await import('./enclave-run.ts');
      await keygenCommand(ctx, flags);
    });
}
