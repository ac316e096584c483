/**
 * `ccnodes ratls …`: RA-TLS certificates: create (simulated platform) and verify attested TLS certificates.
 * Verbs are registered below; each verb's work lives in a `ratls-*.ts` file loaded on demand.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { CreateFlags } from './ratls-create-run.ts';
import type { RatlsVerifyFlags } from './ratls-verify-run.ts';

/** Registers `ccnodes ratls …`. */
export function registerRatls(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'ratls',
    'RA-TLS certificates: create (simulated platform) and verify attested TLS certificates',
  );
  area
    .command('create')
    .description(
      'Create an ECDSA key and a self-signed RA-TLS certificate (or, with --csr, a PKCS#10 request) whose ' +
        'extension carries a SIMULATED quote over the key hash, in Gramine legacy, Gramine TCG DICE or ' +
        'EGo/Open Enclave format (docs/ratls.md). For tests and development: the quote chains to the ' +
        'ccnodes simulated root. Exit 0 created, 2 usage or I/O error.',
    )
    .requiredOption(
      '--format <format>',
      'gramine (legacy quote extension), gramine-dice (TCG DICE tagged evidence) or ego',
    )
    .requiredOption('-o, --output <cert.pem>', 'where to write the certificate (PEM)')
    .requiredOption('--key-out <key.pem>', 'where to write the private key (PKCS#8 PEM, mode 0600)')
    .option(
      '--collateral-out <bundle.json>',
      'also write the simulated collateral, for offline `ratls verify --collateral`',
    )
    .option(
      '--root-out <root.pem>',
      'also write the simulated root certificate, for `--trust-simulated-root`',
    )
    .option('--csr', 'write a certificate signing request instead of a self-signed certificate')
    .option('--platform <name>', 'simulated platform preset (`ccnodes sim platforms`)', 'up-to-date')
    .option('--mrenclave <hex>', 'MRENCLAVE the simulated enclave report claims (64 hex digits)')
    .option('--mrsigner <hex>', 'MRSIGNER the simulated enclave report claims (64 hex digits)')
    .option('--isvprodid <n>', 'ISVPRODID of the simulated enclave (0..65535)', '0')
    .option('--isvsvn <n>', 'ISVSVN of the simulated enclave (0..65535)', '0')
    .option('--debug', 'mark the simulated enclave as a debug enclave')
    .option('--subject <dn>', 'subject distinguished name', 'CN=ccnodes RA-TLS,O=ccnodes')
    .option('--now <iso>', 'issue time of the collateral and start of the certificate validity (ISO 8601)')
    .option('--seed <text>', 'derive every simulated key from this seed (deterministic; for tests)')
    .option(
      '--data-dir <dir>',
      'directory holding the simulated master secret (mode 0600); default $CCNODES_DATA_DIR or ~/.local/share/ccnodes',
    )
    .option('--json', 'print what was created (files, format, identity) as JSON')
    .action(async (flags: CreateFlags) => {
      const { run } = await import('./ratls-create-run.ts');
      await run(flags, ctx);
    });
  area
    .command('verify')
    .description(
      'Verify an RA-TLS certificate (PEM or DER; Gramine legacy, Gramine TCG DICE, EGo/Open Enclave; SGX ' +
        'or TDX quote): the self-signature and validity, the binding of the certificate key to the quote, ' +
        'the quote against collateral (as `quote verify`), and the expected enclave identity. Exit 0 ' +
        'verified, 1 a check failed (error code printed), 2 usage or I/O error.',
    )
    .argument('<cert>', 'certificate file (PEM or DER)')
    .option(
      '--format <format>',
      'only accept this format: gramine, gramine-dice or ego (default: any, DICE first)',
    )
    .option('--mrenclave <hex>', 'expected MRENCLAVE (64 hex digits)')
    .option('--mrsigner <hex>', 'expected MRSIGNER (64 hex digits)')
    .option('--isvprodid <n>', 'expected ISVPRODID (with --mrsigner)')
    .option('--min-isvsvn <n>', 'minimum ISVSVN (with --mrsigner)')
    .option('--mrtd <hex>', 'TDX: expected MRTD (96 hex digits)')
    .option('--collateral <bundle-or-dir>', 'collateral bundle JSON file or artefact directory')
    .option(
      '--pccs-url <url>',
      'without --collateral: fetch the collateral from this PCS/PCCS (also CCNODES_PCCS_URL; default Intel PCS)',
    )
    .option('--now <iso>', 'verification time (ISO 8601); default: the current time')
    .option(
      '--trust-simulated-root <pem>',
      'accept quotes chaining to exactly this ccnodes simulated root certificate',
    )
    .option('--allow-expired-collateral', 'DANGEROUS: report expired collateral as a flag instead of failing')
    .option('--allow-debug', 'DANGEROUS: accept debug enclaves and debug TDs')
    .option('--json', 'print the result (or the error with its code) as JSON')
    .action(async (cert: string, flags: RatlsVerifyFlags) => {
      const { run } = await import('./ratls-verify-run.ts');
      await run(cert, flags, ctx);
    });
}
