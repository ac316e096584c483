/**
 * `ccnodes attestation serve`: the Microsoft Azure Attestation-compatible attestation service.
 *
 * Every option may also come from an environment variable `CCNODES_ATTESTATION_<NAME>` (flags win).
 * The key-encryption key comes from `CCNODES_ATTESTATION_KEK` (base64 or hex, 32 bytes) or from
 * `<data-dir>/kek` (created 0600). Logs are JSON lines on standard output; the service stops on
 * SIGTERM/SIGINT. Exit status: 0 after a clean stop, 2 for bad options or unusable files/ports.
 */
import type { Command } from 'commander';
import type { CliContext } from './context.ts';
import { areaCommand } from './index.ts';
import type { ServeFlags } from './attestation-run.ts';

export function registerAttestation(program: Command, ctx: CliContext): void {
  const area = areaCommand(
    program,
    'attestation',
    'Attestation service (Microsoft Azure Attestation-compatible REST API).',
  );
  area
    .command('serve')
    .description(
      'Run the attestation service: POST /attest/SgxEnclave|OpenEnclave, GET /certs, /.well-known/openid-configuration, ' +
        'policy and policy-certificate management, and /ccnodes/v1/* (secret release, audit, health, metrics). ' +
        'Every option can also be set as CCNODES_ATTESTATION_<OPTION> (e.g. CCNODES_ATTESTATION_DATA_DIR); ' +
        'the key-encryption key comes from CCNODES_ATTESTATION_KEK or <data-dir>/kek. Stops on SIGTERM.',
    )
    .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8443; port 0 = any free port)')
    .option('--data-dir <dir>', 'state directory: kek, attestation.db (SQLite) (required)')
    .option('--public-url <url>', 'public base URL, used as token issuer "iss" (default from --listen)')
    .option('--tls-cert <pem>', 'TLS certificate chain (PEM)')
    .option('--tls-key <pem>', 'TLS private key (PEM)')
    .option('--insecure-http', 'serve plain HTTP (only on loopback unless --force-insecure)')
    .option('--force-insecure', 'allow --insecure-http on a non-loopback address')
    .option(
      '--collateral <url|path>',
      'PCS/PCCS base URL (http[s]://host[:port], optionally /sgx|tdx/certification/v4), or an offline collateral bundle/directory (required)',
    )
    .option(
      '--trust-simulated-root <pem>',
      'trust the ccnodes SIMULATED root CA certificate (simulation mode; never in production)',
    )
    .option('--admin-token-file <file>', 'file holding the admin bearer token for management calls')
    .option(
      '--database-url <url>',
      'postgres://… (PostgreSQL) or sqlite:<path>; default SQLite in --data-dir',
    )
    .option('--token-lifetime <duration>', 'attestation token lifetime, e.g. 8h, 30m, 3600 (default 8h)')
    .option(
      '--isolated',
      'isolated trust model: policy changes must be signed by a policy management certificate',
    )
    .option('--policy-signer-cert <pem...>', 'isolated mode: initial policy management certificate(s)')
    .option(
      '--accept-tcb-status <list>',
      'comma-separated TCB statuses accepted (default UpToDate,SWHardeningNeeded,ConfigurationNeeded,ConfigurationAndSWHardeningNeeded)',
    )
    .option(
      '--dangerously-allow-debug-enclaves',
      'let debug enclaves pass verification (recorded in x-ccnodes-relaxations; policies decide)',
    )
    .option(
      '--collateral-api <api>',
      'with a --collateral URL: auto (default; Intel PCS for api.trustedservices.intel.com, else PCCS), pcs or pccs — decides where the Root CA CRL comes from',
    )
    .option(
      '--root-ca-crl-url <url>',
      "with a --collateral URL: fetch the Root CA CRL here (default: PCCS /sgx/certification/v4/rootcacrl, or the CRL distribution point of Intel's root certificate)",
    )
    .option('--pcs-timeout-ms <ms>', 'PCS/PCCS request timeout (default 10000)')
    .option('--pcs-retries <n>', 'PCS/PCCS retries after the first attempt (default 2)')
    .option(
      '--request-timeout <ms>',
      'a whole request (headers and body) must arrive within this (default 30000)',
    )
    .option('--header-timeout <ms>', 'request headers must arrive within this (default 10000)')
    .option(
      '--idle-timeout <ms>',
      'close a connection without traffic for this long, also between keep-alive requests (default 30000)',
    )
    .option('--max-connections <n>', 'open connections at once; further ones are closed (default 1024)')
    .option('--policy-timeout <ms>', 'wall-clock deadline of one policy evaluation (default 1000)')
    .option(
      '--draft-rate-limit <n>',
      'draft-policy attestations per client address and minute; 0 = unlimited (default 30)',
    )
    .option('--draft-burst <n>', 'draft-policy attestations one client may send at once (default 10)')
    .option(
      '--allow-insecure-data-dir',
      'start even when --data-dir is accessible by group or others (logged); refused by default',
    )
    .option('--audit-max-age <duration>', 'delete audit lines older than this, e.g. 30d, 12h (default 30d)')
    .option(
      '--audit-max-rows <n>',
      'keep at most this many audit lines, oldest deleted first (default 1000000)',
    )
    .option(
      '--audit-aggregate-window <duration>',
      'identical failures (same action, client, subject, reason) within this window are written as one line with a count; 0 = off (default 60s)',
    )
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default info)')
    .action(async (flags: ServeFlags) => {
      // The service (fastify, SQLite, verifier) is loaded only when it is started.
      const { serve } = await import('./attestation-run.ts');
      await serve(flags, ctx);
    });
}
